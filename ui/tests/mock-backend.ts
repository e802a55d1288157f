// Stands in for the desktop app's Rust side in the component tests: a
// small in-memory device answering the same operations of the local
// protocol through the app's one `rpc` command, installed with Tauri's own
// `mockIPC`. Each handler is typed by the operation's generated params, so
// the mock cannot read a field the protocol does not send. The test page
// drives it through `window.stint`; `calls` records each operation by name.
import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import type { Method, Operations } from '../../editors/protocol/stint-protocol';

type Args = Record<string, any>;
interface Backend {
  state: Record<string, any>;
  calls: { cmd: string; args: Args }[];
  fail: Record<string, { code: string; message: string }>;
  /** Commands whose answer waits until `release(cmd)`: a slow device. */
  hold: string[];
  release: (cmd: string) => void;
  news: (payload: unknown) => Promise<void>;
}

const now = () => new Date().toISOString();

function session(over: Record<string, any>) {
  return {
    id: crypto.randomUUID(), tenant_id: 't', name: 'untitled', workspace_path: '/src/app', active_files: [],
    editor_state: { open_tabs: [], active_tab_index: null, layout: 'single' },
    terminal_state: { cwd: null, command_history: [], environment_vars: {} },
    breakpoints: [], watch_expressions: [], memory: { facts: [], decisions: [] },
    parent_session_id: null, tags: [], status: 'active',
    created_at: now(), updated_at: now(), last_accessed_at: now(), ...over,
  };
}

const waiting: { cmd: string; answer: () => void }[] = [];

const backend: Backend = {
  state: {
    account: null, sessions: [], conflicts: [], files: {}, watches: [], settings: [],
    status: {
      data_dir: '/home/me/.local/share/stint', device_id: 'dev-1', server: null, signed_in_as: null,
      login_kept_in: null, tenant: 'local', sessions: 0, replica_bytes: 4096, replica_cache_bytes: 33554432,
      sync: { pending: 0, set_aside: 0, conflicts: 0, last_sync: null },
    },
  },
  calls: [],
  fail: {},
  hold: [],
  release: (cmd) => waiting.splice(0).forEach((w) => (w.cmd === cmd ? w.answer() : waiting.push(w))),
  news: (payload) => emit('news', payload),
};

function find(id: string) {
  const s = backend.state.sessions.find((s: any) => s.id === id);
  if (!s) throw { code: 'not_found', message: `no session ${id}` };
  return s;
}

function apply(s: any, change: Record<string, any>) {
  const [[kind, value]] = Object.entries(change);
  if (kind === 'name') s.name = value;
  else if (kind === 'add_tag') s.tags = [...new Set([...s.tags, value])];
  else if (kind === 'remove_tag') s.tags = s.tags.filter((t: string) => t !== value);
  else if (kind === 'fact') s.memory.facts.push({ text: value, rationale: null, created_at: now() });
  else if (kind === 'decision') s.memory.decisions.push({ text: value[0], rationale: value[1], created_at: now() });
  else if (kind === 'status') s.status = value;
  else if (kind === 'forget_command') {
    const [at, shown] = value;
    const history = s.terminal_state.command_history;
    if (at >= history.length || (shown !== null && history[at] !== shown)) {
      throw { code: 'invalid', field: 'command', message: `command ${at + 1} is no longer the one shown` };
    }
    history.splice(at, 1);
  }
  s.updated_at = now();
}

type Handlers = { [M in Method]?: (a: Operations[M]['params']) => unknown };

const handlers: Handlers = {
  status: () => ({ ...backend.state.status, sessions: backend.state.sessions.length }),
  whoami: () => backend.state.account,
  login: (a) => {
    if (a.password !== 'right password') throw { code: 'rejected', message: 'wrong email or password' };
    backend.state.account = { server: a.server, user: { id: 'u', email: a.email }, tenant: { id: 't', name: 'Personal' }, role: 'owner' };
    return backend.state.account;
  },
  // The server's rules, as it answers them: the field at fault.
  register: ({ server, request }) => {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(request.email)) throw { code: 'invalid', field: 'email', message: 'must be an email address' };
    if (request.password.length < 8) throw { code: 'invalid', field: 'password', message: 'must be at least 8 characters' };
    if ((backend.state.accounts ?? []).includes(request.email)) throw { code: 'invalid', field: 'email', message: 'an account with this email exists' };
    backend.state.accounts = [...(backend.state.accounts ?? []), request.email];
    backend.state.account = { server, user: { id: 'u', email: request.email }, tenant: { id: 't', name: 'Personal' }, role: 'owner' };
    return backend.state.account;
  },
  logout: () => ((backend.state.account = null), true),
  tenants: () => backend.state.tenants ?? [],
  switch_tenant: (a) => {
    const t = (backend.state.tenants ?? []).find((t: any) => t.tenant.id === a.id);
    if (!t) throw { code: 'not_found', message: 'no such tenant' };
    backend.state.account = { ...backend.state.account, tenant: t.tenant, role: t.role };
    backend.state.sessions = backend.state.sessions.filter((s: any) => s.tenant_id === a.id);
    return backend.state.account;
  },
  // The array's order stands for the index's.
  list_sessions: ({ filter }) => {
    const all = backend.state.sessions;
    const from = filter.before ? all.findIndex((s: any) => s.id === filter.before) + 1 : 0;
    return filter.limit ? all.slice(from, from + filter.limit) : all.slice(from);
  },
  recent_sessions: (a) =>
    backend.state.sessions
      .filter((s: any) => s.status === 'active')
      .sort((x: any, y: any) => y.updated_at.localeCompare(x.updated_at))
      .slice(0, a.limit),
  find_session: (a) => find(a.id),
  start_session: (a) => {
    if (!a.session.workspace.startsWith('/')) throw { code: 'invalid', message: 'must be an absolute path' };
    const s = session({ name: a.session.name, workspace_path: a.session.workspace, tags: a.session.tags });
    backend.state.sessions.push(s);
    return s;
  },
  update_session: (a) => {
    const s = find(a.id);
    a.changes.forEach((c: any) => apply(s, c));
    return s;
  },
  fork_session: (a) => {
    const parent = find(a.id);
    const s = session({ ...structuredClone(parent), id: crypto.randomUUID(), name: a.name, parent_session_id: parent.id });
    backend.state.sessions.push(s);
    return s;
  },
  delete_session: (a) => {
    const s = find(a.id);
    backend.state.sessions = backend.state.sessions.filter((x: any) => x !== s);
    return s;
  },
  resume_session: (a) => ({
    session: find(a.id),
    preflight: (backend.state.preflights ?? {})[a.id] ?? {
      session_id: a.id, workspace_id: null, folder: find(a.id).workspace_path, clone: null, same: 0,
      changed: [], missing: [], extra: [], unverified: [], hashed: 0, live: false, branch: null, head: null,
      tabs: [], breakpoints: [], warnings: [], summary: `${find(a.id).workspace_path}: content not compared (the session has no file index)`,
    },
    // As the device gives them: `code` only when there are tabs to open.
    commands: [
      ...(find(a.id).editor_state.open_tabs.length ? [{ tool: 'vscode', command: `code ${find(a.id).workspace_path}` }] : []),
      { tool: 'shell', command: `cd ${find(a.id).workspace_path}` },
    ],
  }),
  open_in_editor: (a) => {
    if (!find(a.id).editor_state.open_tabs.length) throw { code: 'not_found', message: 'nothing to open in vscode (no open files)' };
    return { tool: a.tool, command: 'code .' };
  },
  // An editor window on a folder, when the test has one listening.
  resume_in_window: (a) => {
    const folder = find(a.id).workspace_path;
    const window = (backend.state.windows ?? []).find((w: any) => w.folder === folder);
    return window ? { editor: window.editor, folder } : null;
  },
  children: (a) => backend.state.sessions.filter((s: any) => s.parent_session_id === a.id),
  related: (a) => (backend.state.related ?? {})[a.id] ?? [],
  conversations: (a) => (backend.state.conversations ?? {})[a.id] ?? [],
  sync: () => ({ pushed: 0, conflicts: 0, set_aside: 0, pulled: 0, refetched: false }),
  conflicts: () => backend.state.conflicts,
  resolve_conflict: (a) => {
    const c = backend.state.conflicts.find((c: any) => c.id === a.id);
    if (a.take_mine) Object.assign(find(c.record_id), c.fields);
    backend.state.conflicts = backend.state.conflicts.filter((x: any) => x !== c);
    return c;
  },
  files: (a) => backend.state.files[a.id] ?? [],
  watch_workspace: (a) => ({ session_id: a.id }),
  unwatch_workspace: () => true,
  watch_statuses: () => backend.state.watches,
  settings: () => backend.state.settings,
  window_state: () => backend.state.window ?? null,
  save_window_state: (a) => ((backend.state.window = a.state), null),
  set_setting: (a) => {
    const setting = { category: a.category, key: a.key, value: a.value, updated_at: now() };
    backend.state.settings = [...backend.state.settings.filter((s: any) => !(s.category === a.category && s.key === a.key)), setting];
    return setting;
  },
};

mockIPC(
  (command, args) => {
    if (command !== 'rpc') throw { code: 'failed', message: `the app has no command ${command}, only rpc` };
    const { method: cmd, params } = args as { method: Method; params: Args };
    const a = params ?? {};
    backend.calls.push({ cmd, args: structuredClone(a) });
    if (backend.fail[cmd]) throw backend.fail[cmd];
    const handler = handlers[cmd] as ((a: Args) => unknown) | undefined;
    if (!handler) throw { code: 'failed', message: `the mock has no command ${cmd}` };
    if (backend.hold.includes(cmd)) {
      return new Promise((resolve) => waiting.push({ cmd, answer: () => resolve(structuredClone(handler(a))) }));
    }
    return structuredClone(handler(a));
  },
  { shouldMockEvents: true },
);

(window as any).stint = { backend, session };
