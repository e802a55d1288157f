// The desktop app's operations, typed by the local protocol's generated
// declaration: each is one call of the app's single `rpc` command
// (src-tauri/src/commands.rs), served by the same dispatch as the owner's
// socket. A method or params that the protocol does not declare does not
// compile.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  Change, Method, News, Operations, RegisterRequest, Session, SessionFilter, SettingCategory, UiError,
} from './types';

/** Turns whatever a command threw into a `UiError`. */
export function asUiError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return e as UiError;
  }
  return { code: 'failed', message: String(e) };
}

/** One operation of the protocol, by name. */
export async function rpc<M extends Method>(
  method: M,
  params: Operations[M]['params'],
): Promise<Operations[M]['result']> {
  try {
    return await invoke<Operations[M]['result']>('rpc', { method, params });
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
    const filter: SessionFilter = { workspace: null, tag: null, include_archived: true, limit: READ_PAGE, before };
    const page = await rpc('list_sessions', { filter });
    all.push(...page);
    if (page.length < READ_PAGE) return all;
  }
}

export const api = {
  status: () => rpc('status', {}),
  whoami: () => rpc('whoami', {}),
  login: (server: string, email: string, password: string) => rpc('login', { server, email, password }),
  register: (server: string, request: RegisterRequest) => rpc('register', { server, request }),
  logout: () => rpc('logout', {}),
  tenants: () => rpc('tenants', {}),
  switchTenant: (id: string) => rpc('switch_tenant', { id }),

  recentSessions: (limit: number) => rpc('recent_sessions', { limit }),
  allSessions,
  findSession: (id: string) => rpc('find_session', { id }),
  startSession: (name: string, workspace: string, tags: string[]) =>
    rpc('start_session', { session: { name, workspace, tags } }),
  updateSession: (id: string, changes: Change[]) => rpc('update_session', { id, changes }),
  forkSession: (id: string, name: string) => rpc('fork_session', { id, name }),
  deleteSession: (id: string) => rpc('delete_session', { id }),
  resumeSession: (id: string) => rpc('resume_session', { id }),
  openInEditor: (id: string, tool: string) => rpc('open_in_editor', { id, tool }),
  resumeInWindow: (id: string) => rpc('resume_in_window', { id }),
  children: (id: string) => rpc('children', { id }),
  related: (id: string, limit = 20) => rpc('related', { id, limit }),
  conversations: (id: string) => rpc('conversations', { id }),

  syncNow: () => rpc('sync', {}),
  conflicts: () => rpc('conflicts', {}),
  resolveConflict: (id: string, takeMine: boolean) => rpc('resolve_conflict', { id, take_mine: takeMine }),

  files: (id: string) => rpc('files', { id, changed_since: null }),
  watchWorkspace: (id: string) => rpc('watch_workspace', { id }),
  unwatchWorkspace: (id: string) => rpc('unwatch_workspace', { id }),
  watchStatuses: () => rpc('watch_statuses', {}),

  windowState: () => rpc('window_state', {}),
  saveWindowState: (state: Operations['save_window_state']['params']['state']) =>
    rpc('save_window_state', { state }),

  settings: () => rpc('settings', {}),
  setSetting: (category: SettingCategory, key: string, value: Operations['set_setting']['params']['value']) =>
    rpc('set_setting', { category, key, value }),
};

/** Calls `handler` with every piece of news the app pushes. */
export function onNews(handler: (news: News) => void): Promise<UnlistenFn> {
  return listen<News>('news', (event) => handler(event.payload));
}
