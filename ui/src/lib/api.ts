// One typed function per command of the desktop app (src-tauri/src/commands).
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  Account, Change, Conflict, ConversationWithMessages, FileRecord, News, OpenCommand,
  RegisterRequest, RelatedSession, Resume, Session, SessionFilter, Setting, SettingCategory, Status,
  SyncReport, TenantWithRole, UiError, WatchStatus,
} from './types';

/** Turns whatever a command threw into a `UiError`. */
export function asUiError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return e as UiError;
  }
  return { code: 'failed', message: String(e) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asUiError(e);
  }
}

/** Sessions per answer when all are read: a replica of thousands comes
 * in answers small enough that the window stays responsive meanwhile. */
const READ_PAGE = 1000;

/** Every session, archived too, read page by page. */
async function allSessions(): Promise<Session[]> {
  const all: Session[] = [];
  for (;;) {
    const before = all.at(-1)?.id ?? null;
    const filter: SessionFilter = { include_archived: true, limit: READ_PAGE, before };
    const page = await call<Session[]>('list_sessions', { filter });
    all.push(...page);
    if (page.length < READ_PAGE) return all;
  }
}

export const api = {
  status: () => call<Status>('status'),
  whoami: () => call<Account | null>('whoami'),
  login: (server: string, email: string, password: string) =>
    call<Account>('login', { server, email, password }),
  register: (server: string, request: RegisterRequest) => call<Account>('register', { server, request }),
  logout: () => call<boolean>('logout'),
  tenants: () => call<TenantWithRole[]>('tenants'),
  switchTenant: (id: string) => call<Account>('switch_tenant', { id }),

  recentSessions: (limit: number) => call<Session[]>('recent_sessions', { limit }),
  allSessions,
  findSession: (id: string) => call<Session>('find_session', { id }),
  startSession: (name: string, workspace: string, tags: string[]) =>
    call<Session>('start_session', { session: { name, workspace, tags } }),
  updateSession: (id: string, changes: Change[]) => call<Session>('update_session', { id, changes }),
  forkSession: (id: string, name: string) => call<Session>('fork_session', { id, name }),
  deleteSession: (id: string) => call<Session>('delete_session', { id }),
  resumeSession: (id: string) => call<Resume>('resume_session', { id }),
  openInEditor: (id: string, tool: string) => call<OpenCommand>('open_in_editor', { id, tool }),
  children: (id: string) => call<Session[]>('children', { id }),
  related: (id: string, limit = 20) => call<RelatedSession[]>('related', { id, limit }),
  conversations: (id: string) => call<ConversationWithMessages[]>('conversations', { id }),

  syncNow: () => call<SyncReport>('sync_now'),
  conflicts: () => call<Conflict[]>('conflicts'),
  resolveConflict: (id: string, takeMine: boolean) => call<Conflict>('resolve_conflict', { id, takeMine }),

  files: (id: string) => call<FileRecord[]>('files', { id }),
  watchWorkspace: (id: string) => call<WatchStatus>('watch_workspace', { id }),
  unwatchWorkspace: (id: string) => call<boolean>('unwatch_workspace', { id }),
  watchStatuses: () => call<WatchStatus[]>('watch_statuses'),

  windowState: () => call<unknown>('window_state'),
  saveWindowState: (state: unknown) => call<null>('save_window_state', { state }),

  settings: () => call<Setting[]>('settings'),
  setSetting: (category: SettingCategory, key: string, value: unknown) =>
    call<Setting>('set_setting', { category, key, value }),
};

/** Calls `handler` with every piece of news the app pushes. */
export function onNews(handler: (news: News) => void): Promise<UnlistenFn> {
  return listen<News>('news', (event) => handler(event.payload));
}
