// The shapes that cross from `stint-client` (serde's JSON of its types).

export type Timestamp = string;

export interface Position { line: number; column: number }
export interface EditorTab {
  file_path: string;
  cursor: Position;
  selections: { start: Position; end: Position }[];
  scroll_top: number;
  is_pinned: boolean;
}
export interface Breakpoint { file_path: string; line: number; condition: string | null; enabled: boolean }
export interface Note { text: string; rationale: string | null; created_at: Timestamp }

export interface Session {
  id: string;
  tenant_id: string;
  name: string;
  workspace_path: string;
  /** The workspace's identity on every device and path (`git:…`, `fp:…`). */
  workspace_id?: string | null;
  git?: { remote: string | null; branch: string | null; head: string | null } | null;
  active_files: string[];
  /** `editor`: the editor that captured it (`Neovim 0.7.2`); `device`: where. */
  editor_state: { open_tabs: EditorTab[]; active_tab_index: number | null; layout: string; editor?: string | null; device?: string | null };
  terminal_state: { cwd: string | null; command_history: string[]; environment_vars: Record<string, string> };
  breakpoints: Breakpoint[];
  watch_expressions: string[];
  memory: { facts: Note[]; decisions: Note[] };
  parent_session_id: string | null;
  tags: string[];
  status: 'active' | 'archived';
  created_at: Timestamp;
  updated_at: Timestamp;
  last_accessed_at: Timestamp;
}

export interface Account {
  server: string;
  user: { id: string; email: string; first_name?: string | null; last_name?: string | null };
  tenant: { id: string; name: string; slug?: string };
  role: string;
}

export interface TenantWithRole { tenant: { id: string; name: string; tenant_type: string }; role: string }

export interface SyncStatus { pending: number; set_aside: number; conflicts: number; last_sync: Timestamp | null }
export interface Status {
  data_dir: string;
  device_id: string;
  server: string | null;
  sign_in_server: string | null;
  signed_in_as: string | null;
  login_kept_in: string | null;
  tenant: string;
  sessions: number;
  replica_bytes: number;
  /** Most bytes of the replica kept in memory (`STINT_REPLICA_CACHE_MB`). */
  replica_cache_bytes: number;
  sync: SyncStatus;
}

export interface SyncReport { pushed: number; conflicts: number; set_aside: number; pulled: number; refetched: boolean }

export interface Conflict {
  id: string;
  kind: string;
  record_id: string;
  fields: Record<string, unknown>;
  /** The losing edit was a delete: taking it deletes the record. */
  deleted?: boolean;
  device_id: string;
  created_at: Timestamp;
}

export interface FileRecord {
  id: string;
  file_path: string;
  file_size: number;
  checksum: string | null;
  modified_at: Timestamp | null;
  updated_at: Timestamp;
}

export type WatchState = 'indexing' | 'watching' | 'degraded' | 'failed';
export interface WatchStatus {
  session_id: string;
  workspace: string;
  state: WatchState;
  files: number;
  files_seen: number;
  files_to_hash: number;
  files_hashed: number;
  bytes_to_hash: number;
  bytes_hashed: number;
  problems: string[];
  message: string | null;
}

export interface RelatedSession { session: Session; shared_tags: string[]; same_workspace: boolean; reasons: string[] }
export interface OpenCommand { tool: string; command: string }
/** How a recorded cursor or breakpoint lands in this device's checkout. */
export type Placed = 'exact' | 'moved' | 'lost' | 'missing';
export interface Placement { file_path: string; recorded_line: number; line: number; column: number; placed: Placed }
/** What differs between a session and this device's checkout of its workspace. */
export interface Preflight {
  session_id: string;
  workspace_id: string | null;
  folder: string | null;
  clone: string | null;
  same: number;
  changed: string[];
  missing: string[];
  extra: string[];
  unverified: string[];
  hashed: number;
  /** The local index was a live watch's, in memory: no rescan. */
  live: boolean;
  branch: [string | null, string | null] | null;
  head: [string | null, string | null] | null;
  tabs: Placement[];
  breakpoints: Placement[];
  warnings: string[];
  summary: string;
}
export interface Resume { session: Session; preflight: Preflight; commands: OpenCommand[] }

export interface Message { id: string; role: string; content: string; created_at: Timestamp }
export interface ConversationWithMessages {
  conversation: { id: string; title: string; status: string; message_count: number; created_at: Timestamp };
  messages: { messages: Message[]; next: string | null };
}

export type SettingCategory = 'editor' | 'theme' | 'llm' | 'terminal' | 'workspace';
export interface Setting { category: SettingCategory; key: string; value: unknown; updated_at: Timestamp }

export interface SessionFilter {
  workspace?: string | null;
  tag?: string | null;
  include_archived?: boolean;
  limit?: number;
  /** Only sessions created before this one: the page after it. */
  before?: string | null;
}

/** A change to a session, as `stint_client::Change` serializes. */
export type Change =
  | { name: string }
  | { add_tag: string }
  | { remove_tag: string }
  | { fact: string }
  | { decision: [string, string | null] }
  | { cwd: string }
  /** Removes the command at this 0-based position, if it is still this one. */
  | { forget_command: [number, string | null] }
  | { status: 'active' | 'archived' };

/** What the owner tells the window (`stint_client::News`). */
export type News =
  | { kind: 'changed' }
  | { kind: 'synced'; report: SyncReport | null; error: string | null; code: string | null }
  | ({ kind: 'watch' } & WatchStatus);

/** Every error from the app: a stable code, a message for people, and
 * the field at fault when the input broke a rule. */
export interface UiError { code: string; message: string; field?: string }

/** A new account (`POST /auth/register`); the names may be empty. */
export interface RegisterRequest { email: string; password: string; first_name: string; last_name: string }
