// The window's state: what the device says, kept current by the app's news.
// Components read `app.*` and call the actions; nothing else talks to the
// backend, so a change from any source (this window, a CLI command through
// the socket, another device through sync, a watcher) lands here once.
import { api, asUiError, onNews } from './api';
import type {
  Account, Conflict, News, Session, Setting, SettingCategory, Status, UiError, WatchStatus,
} from './types';

/** Sessions read before the window first shows: a screenful. */
const FIRST_SCREEN = 50;

export type View =
  | { name: 'sessions' }
  | { name: 'session'; id: string }
  | { name: 'conflicts' }
  | { name: 'settings' }
  | { name: 'account' }
  | { name: 'guide' };

/** What the sync engine last said. */
export interface SyncState { online: boolean; syncing: boolean; message: string | null; lastRound: Date | null }

class AppState {
  ready = $state(false);
  fatal = $state<UiError | null>(null);
  account = $state<Account | null>(null);
  status = $state<Status | null>(null);
  sessions = $state.raw<Session[]>([]);
  /** False while `sessions` holds only the first screen's. */
  complete = $state(false);
  /** How many sessions the replica holds, even before all are read. */
  total = $derived(this.complete ? this.sessions.length : (this.status?.sessions ?? this.sessions.length));
  conflicts = $state<Conflict[]>([]);
  watches = $state<Record<string, WatchStatus>>({});
  settings = $state<Setting[]>([]);
  view = $state<View>({ name: 'sessions' });
  sync = $state<SyncState>({ online: false, syncing: false, message: null, lastRound: null });
  /** Bumped whenever records may have changed: open pages reload on it. */
  revision = $state(0);
  toast = $state<{ kind: 'error' | 'info'; text: string } | null>(null);

  theme = $derived(this.setting('theme', 'mode', 'system') as string);

  setting(category: SettingCategory, key: string, fallback: unknown): unknown {
    return this.settings.find((s) => s.category === category && s.key === key)?.value ?? fallback;
  }

  /** First load; then news keeps everything current. */
  async start(): Promise<void> {
    await onNews((news) => this.hear(news));
    try {
      // The first screen shows only the most recent active sessions: read
      // those (and the count) first so the window opens at once, whatever
      // the size of the replica, then everything else (`complete`).
      const [recent, status, last] = await Promise.all([
        api.recentSessions(FIRST_SCREEN),
        api.status(),
        api.windowState(),
      ]);
      this.sessions = recent;
      this.status = status;
      const view = this.restorable(last);
      if (view) this.view = view;
      this.ready = true;
      await this.reload();
      if (!view) this.view = this.restorable(last) ?? this.view;
    } catch (e) {
      this.fatal = asUiError(e);
      this.ready = true;
    }
  }

  /** The page the window showed when it closed, if it can show it again. */
  restorable(last: unknown): View | null {
    const view = (last as { view?: View } | null)?.view;
    if (!view || !['sessions', 'session', 'conflicts', 'settings', 'account', 'guide'].includes(view.name)) return null;
    if (view.name === 'session' && !this.sessions.some((s) => s.id === view.id)) return null;
    return view;
  }

  /** Reads again everything the window shows. */
  async reload(): Promise<void> {
    const [account, sessions, status, watches, settings] = await Promise.all([
      api.whoami(),
      api.allSessions(),
      api.status(),
      api.watchStatuses(),
      api.settings(),
    ]);
    this.account = account;
    this.sessions = sessions;
    this.complete = true;
    this.status = status;
    this.watches = Object.fromEntries(watches.map((w) => [w.session_id, w]));
    this.settings = settings;
    this.conflicts = account ? await api.conflicts() : [];
    this.sync.online = account !== null && this.sync.message === null;
    this.revision += 1;
  }

  hear(news: News): void {
    switch (news.kind) {
      case 'changed':
        void this.refresh();
        break;
      case 'synced':
        this.sync.lastRound = new Date();
        this.sync.online = news.error === null;
        this.sync.message = news.error;
        // What was pushed is already shown (the edit reloaded the window);
        // only what came in, or a new conflict, changes what is shown.
        if (news.report && (news.report.pulled > 0 || news.report.conflicts > 0)) {
          void this.refresh();
        } else {
          void this.refreshStatus();
        }
        break;
      case 'watch': {
        const { kind: _, ...status } = news;
        this.watches[status.session_id] = status;
        break;
      }
    }
  }

  /** Reloads without letting a failure take the window down. */
  async refresh(): Promise<void> {
    try {
      await this.reload();
    } catch (e) {
      this.fail(e);
    }
  }

  async refreshStatus(): Promise<void> {
    try {
      this.status = await api.status();
    } catch (e) {
      this.fail(e);
    }
  }

  fail(e: unknown): void {
    this.toast = { kind: 'error', text: asUiError(e).message };
  }

  say(text: string): void {
    this.toast = { kind: 'info', text };
  }

  /** Runs an action that changes records, then shows the new state. */
  async act<T>(action: () => Promise<T>, done?: string): Promise<T | undefined> {
    try {
      const value = await action();
      await this.reload();
      if (done) this.say(done);
      return value;
    } catch (e) {
      this.fail(e);
      return undefined;
    }
  }

  async syncNow(): Promise<void> {
    this.sync.syncing = true;
    try {
      const report = await api.syncNow();
      this.sync.online = true;
      this.sync.message = null;
      this.sync.lastRound = new Date();
      await this.reload();
      this.say(`Synced: ${report.pushed} sent, ${report.pulled} received`);
    } catch (e) {
      const error = asUiError(e);
      this.sync.online = error.code !== 'unreachable';
      this.sync.message = error.message;
      this.fail(error);
    } finally {
      this.sync.syncing = false;
    }
  }

  /** Shows `view`, and remembers it so the next start opens there. */
  open(view: View): void {
    this.view = view;
    api.saveWindowState({ view }).catch((e) => this.fail(e));
  }
}

export const app = new AppState();
