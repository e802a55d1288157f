// Generated from crates/client/src/protocol.rs (`operations!`) by ts-rs.
// Do not edit: run `make types` after changing an operation or a type it carries.

/** The protocol version `hello` names. */
export const PROTOCOL = 1;

/**
 * Who a device is signed in as (no tokens: safe to show and to pass around).
 */
export type Account = { 
/**
 * The server.
 */
server: string, 
/**
 * The user.
 */
user: UserProfile, 
/**
 * The tenant the device acts in.
 */
tenant: Tenant, 
/**
 * The role there.
 */
role: UserRole, };

/**
 * A debugger breakpoint.
 */
export type Breakpoint = { 
/**
 * Path relative to the workspace root.
 */
file_path: string, 
/**
 * 1-based line.
 */
line: number, 
/**
 * Break only when this expression holds.
 */
condition: string | null, 
/**
 * A logpoint's message: logged instead of breaking.
 */
log_message?: string | null, 
/**
 * Whether it is armed.
 */
enabled: boolean, 
/**
 * The lines around it, hashed (see [`LineAnchor`]).
 */
anchor?: LineAnchor | null, };

/**
 * A change to a session. Several can be applied at once.
 */
export type Change = { "name": string } | { "add_tag": string } | { "remove_tag": string } | { "fact": string } | { "decision": [string, string | null] } | { "editor": EditorState } | { "cwd": string } | { "history": Array<string> } | { "forget_command": [number, string | null] } | { "env": Array<[string, string]> } | { "breakpoints": Array<Breakpoint> } | { "watches": Array<string> } | { "status": SessionStatus };

/**
 * The losing side of concurrent edits of one record.
 */
export type Conflict = { 
/**
 * This conflict.
 */
id: ConflictId, 
/**
 * The tenant of the record.
 */
tenant_id: TenantId, 
/**
 * The kind of the record.
 */
kind: RecordKind, 
/**
 * The record whose fields conflicted.
 */
record_id: string, 
/**
 * The values that lost, by field name (none for a delete).
 */
fields: { [key in string]: JsonValue }, 
/**
 * The losing edit was a delete: taking it deletes the record.
 */
deleted?: boolean, 
/**
 * The device whose edit lost.
 */
device_id: DeviceId, 
/**
 * The member whose personal record (a setting) conflicted: only they
 * see the conflict.
 */
owner?: UserId | null, 
/**
 * When the server saw the conflict.
 */
created_at: string, };

/**
 * A conflict: the losing side of two edits of one field.
 */
export type ConflictId = string;

/**
 * An AI conversation.
 */
export type Conversation = { 
/**
 * Its id.
 */
id: ConversationId, 
/**
 * Owning tenant.
 */
tenant_id: TenantId, 
/**
 * The user who started it.
 */
user_id: UserId, 
/**
 * The workspace session it belongs to, if any.
 */
workspace_session_id: SessionId | null, 
/**
 * Which AI provider answers (`openai`, `anthropic`, `local`, …).
 */
ai_provider: string, 
/**
 * Title.
 */
title: string, 
/**
 * Longer description.
 */
description: string | null, 
/**
 * Tags.
 */
tags: Array<string>, 
/**
 * Active, archived or deleted.
 */
status: ConversationStatus, 
/**
 * Number of messages (kept by the repository as messages are added).
 */
message_count: number, 
/**
 * Sum of the messages' token counts (kept likewise).
 */
token_count: number, 
/**
 * Conversations the user linked.
 */
related_conversations: Array<ConversationId>, 
/**
 * A summary for context in later sessions.
 */
summary: string | null, 
/**
 * When it was started.
 */
created_at: string, 
/**
 * When it last changed.
 */
updated_at: string, };

/**
 * An AI conversation.
 */
export type ConversationId = string;

/**
 * Whether a conversation is in use.
 */
export type ConversationStatus = "active" | "archived" | "deleted";

/**
 * A conversation with its first page of messages.
 */
export type ConversationWithMessages = { 
/**
 * The conversation.
 */
conversation: Conversation, 
/**
 * Its first messages.
 */
messages: MessagePageResponse, };

/**
 * A device (a desktop app or CLI installation) that writes records.
 */
export type DeviceId = string;

/**
 * How editor groups are arranged.
 */
export type EditorLayout = "single" | "split_horizontal" | "split_vertical" | "grid";

/**
 * The editor as the user left it.
 */
export type EditorState = { 
/**
 * Open tabs, in order.
 */
open_tabs: Array<EditorTab>, 
/**
 * Index of the focused tab in `open_tabs`.
 */
active_tab_index: number | null, 
/**
 * Group arrangement.
 */
layout: EditorLayout, 
/**
 * The editor that captured it, as it names itself (`Neovim 0.7.2`,
 * `VS Code 1.100.3`); none when typed in (`stint session update`).
 */
editor?: string | null, 
/**
 * The device it was captured on (its host name), set by the device
 * itself whatever the editor says.
 */
device?: string | null, };

/**
 * One open editor tab.
 */
export type EditorTab = { 
/**
 * Path relative to the workspace root.
 */
file_path: string, 
/**
 * Where the cursor is.
 */
cursor: Position, 
/**
 * Selections, if any.
 */
selections: Array<Selection>, 
/**
 * First visible line.
 */
scroll_top: number, 
/**
 * Whether the tab is pinned.
 */
is_pinned: boolean, 
/**
 * The editor group (split) it is in, from 1 (VS Code's view column);
 * none where the editor has no groups.
 */
group?: number | null, 
/**
 * The lines around the cursor, hashed, so that the cursor can follow
 * an edit of the file on another device (see [`LineAnchor`]).
 */
anchor?: LineAnchor | null, };

/**
 * One file of a workspace session.
 */
export type File = { 
/**
 * Its id.
 */
id: FileId, 
/**
 * Owning tenant.
 */
tenant_id: TenantId, 
/**
 * The session whose workspace holds it.
 */
workspace_session_id: SessionId, 
/**
 * The workspace root (copied from the session, for the by-path index).
 */
workspace_path: string, 
/**
 * Path relative to the workspace root.
 */
file_path: string, 
/**
 * Size in bytes.
 */
file_size: number, 
/**
 * MIME type guessed from the name or content.
 */
mime_type: string, 
/**
 * Hex SHA-256 of the content, once hashed.
 */
checksum: string | null, 
/**
 * The file's modification time on disk.
 */
modified_at: string | null, 
/**
 * When the record was created.
 */
created_at: string, 
/**
 * When it last changed.
 */
updated_at: string, 
/**
 * When the file was last opened in the editor.
 */
last_accessed_at: string | null, 
/**
 * Soft delete: the file is gone, the record is kept until purged.
 */
is_deleted: boolean, 
/**
 * When it was soft-deleted.
 */
deleted_at: string | null, };

/**
 * The metadata record of one workspace file.
 */
export type FileId = string;

/**
 * A file that matched "which sessions touched this?", and where the
 * answer came from.
 */
export type FileMatch = { 
/**
 * The file record.
 */
file: File, 
/**
 * The session's name, when the session is on this device.
 */
session_name: string | null, 
/**
 * `"replica"` or `"server"`.
 */
source: string, };

/**
 * What to look for.
 */
export type FileQuery = { "path": string } | { "checksum": string };

/**
 * The session an editor's folder records into, and the folder of this
 * device that its files are relative to.
 */
export type FolderSession = { 
/**
 * The session.
 */
session: WorkspaceSession, 
/**
 * Its workspace's folder here: the editor's, or one holding it.
 */
folder: string, };

/**
 * The git side of a session's workspace, as it was when last recorded.
 */
export type GitState = { 
/**
 * The `origin` remote (else the first one), credentials removed:
 * what `git clone` takes on a device without a checkout.
 */
remote: string | null, 
/**
 * The checked-out branch (`main`); none on a detached HEAD.
 */
branch: string | null, 
/**
 * The commit checked out, in hex.
 */
head: string | null, };

/**
 * `hello`'s result.
 */
export type Hello = { 
/**
 * The version the owner speaks.
 */
protocol: number, 
/**
 * The owner's build: `stint 0.1.0`.
 */
server: string, 
/**
 * Every operation it serves.
 */
operations: Array<Operation>, };

/**
 * `hello`'s params.
 */
export type HelloParams = { 
/**
 * The protocol version the client speaks.
 */
protocol: number, 
/**
 * The client, for the owner's log: `stint-vscode 0.1.0`.
 */
client: string | null, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

/**
 * Where a line is, told by the lines around it: the hashes of a few
 * lines before it, the line itself and a few after (never their text,
 * which does not leave the device). When the file has changed, the line
 * is found again where the same lines are (`stint_watch::anchor`).
 */
export type LineAnchor = { 
/**
 * A 32-bit hash of each line of the window, in order.
 */
hashes: Array<number>, 
/**
 * Which of them is the anchored line.
 */
at: number, };

/**
 * One message.
 */
export type Message = { 
/**
 * Its id.
 */
id: MessageId, 
/**
 * Owning tenant.
 */
tenant_id: TenantId, 
/**
 * The conversation it belongs to.
 */
conversation_id: ConversationId, 
/**
 * Who wrote it.
 */
role: MessageRole, 
/**
 * The text.
 */
content: string, 
/**
 * Which model produced it.
 */
model: string | null, 
/**
 * Tokens it used, when known.
 */
token_count: number | null, 
/**
 * When it was written.
 */
created_at: string, };

/**
 * One message of a conversation.
 */
export type MessageId = string;

/**
 * A page of messages.
 */
export type MessagePageResponse = { 
/**
 * Messages, oldest first.
 */
messages: Array<Message>, 
/**
 * Pass as `after` for the next page; absent on the last.
 */
next: MessageId | null, };

/**
 * Who wrote a message.
 */
export type MessageRole = "user" | "assistant" | "system";

/**
 * What to start a session with.
 */
export type NewSession = { 
/**
 * Display name; empty names it after the folder and the day
 * (`app 2026-12-02`).
 */
name: string, 
/**
 * The workspace folder (made absolute by the caller).
 */
workspace: string, 
/**
 * Tags.
 */
tags: Array<string>, };

/**
 * A note in a session's memory: a fact learned or a decision taken.
 */
export type Note = { 
/**
 * What was learned or decided.
 */
text: string, 
/**
 * Why, for decisions.
 */
rationale: string | null, 
/**
 * When it was noted.
 */
created_at: string, };

/**
 * What the owner sends unasked to a connection that listens (an editor
 * window): a JSON-RPC notification, `{"jsonrpc":"2.0","method":…,"params":{…}}`.
 */
export type Notice = { "method": "resume", "params": { 
/**
 * The session's id.
 */
id: string, 
/**
 * Its name, to show.
 */
name: string, } };

/**
 * One command line.
 */
export type OpenCommand = { 
/**
 * `vscode`, `vim` or `shell`.
 */
tool: string, 
/**
 * The command line.
 */
command: string, };

/**
 * One operation, as `hello` lists it.
 */
export type Operation = { 
/**
 * Its method name.
 */
name: string, 
/**
 * Whether it may change the replica.
 */
writes: boolean, };

/**
 * How a recorded place (a cursor, a breakpoint) lands in the local file.
 */
export type Placed = "exact" | "moved" | "lost" | "missing";

/**
 * One cursor or breakpoint, placed.
 */
export type Placement = { 
/**
 * The file, relative to the workspace.
 */
file_path: string, 
/**
 * The line as recorded.
 */
recorded_line: number, 
/**
 * The line to open at here.
 */
line: number, 
/**
 * The column to open at here.
 */
column: number, 
/**
 * How it was placed.
 */
placed: Placed, };

/**
 * A place in a file: 1-based line and column, as editors show them.
 */
export type Position = { 
/**
 * 1-based line.
 */
line: number, 
/**
 * 1-based column.
 */
column: number, };

/**
 * What differs between a session and the local checkout of its
 * workspace, said before anything opens.
 */
export type Preflight = { 
/**
 * The session.
 */
session_id: SessionId, 
/**
 * Its workspace's identity.
 */
workspace_id: string | null, 
/**
 * The local checkout, when this device has one.
 */
folder: string | null, 
/**
 * What to run when it has none: `git clone URL`.
 */
clone: string | null, 
/**
 * Files whose content is the session's.
 */
same: number, 
/**
 * Files whose content differs, in path order.
 */
changed: Array<string>, 
/**
 * Files of the session missing here.
 */
missing: Array<string>, 
/**
 * Files here the session does not have.
 */
extra: Array<string>, 
/**
 * Files whose checksum stayed on the device that recorded them
 * (secrets): not compared.
 */
unverified: Array<string>, 
/**
 * Files hashed for this preflight (not in the local index yet, or
 * changed since).
 */
hashed: number, 
/**
 * Whether the local index was a live watch's, held in memory by this
 * device's owner: current without a rescan.
 */
live: boolean, 
/**
 * The session's branch and this checkout's, when they differ.
 */
branch: [string | null, string | null] | null, 
/**
 * The session's HEAD and this checkout's, when they differ.
 */
head: [string | null, string | null] | null, 
/**
 * The editor tabs' cursors, placed.
 */
tabs: Array<Placement>, 
/**
 * The breakpoints, placed.
 */
breakpoints: Array<Placement>, 
/**
 * What a person should know before resuming.
 */
warnings: Array<string>, 
/**
 * The preflight in one line, for people ([`Preflight::summary`]).
 */
summary: string, };

/**
 * One of the ten record types.
 */
export type RecordKind = "tenant" | "user" | "auth_session" | "workspace_session" | "conversation" | "message" | "audit" | "file" | "agent" | "setting" | "conflict";

/**
 * `POST /auth/register`.
 */
export type RegisterRequest = { 
/**
 * Email, unique across the server.
 */
email: string, 
/**
 * At least 8 characters.
 */
password: string, 
/**
 * Given name; may be left out (the display name is then the email).
 */
first_name: string, 
/**
 * Family name; may be left out.
 */
last_name: string, 
/**
 * The device signing up, if it has an id (see [`LoginRequest`]).
 */
device_id: DeviceId | null, };

/**
 * A session related to another, with the reasons.
 */
export type RelatedSession = { 
/**
 * The related session.
 */
session: WorkspaceSession, 
/**
 * Tags it shares.
 */
shared_tags: Array<string>, 
/**
 * Whether it is of the same workspace folder.
 */
same_workspace: boolean, 
/**
 * The reasons, for people: `shared tags: auth, backend`, `same workspace`.
 */
reasons: Array<string>, };

/**
 * A session and the command lines that reopen it.
 */
export type Resume = { 
/**
 * The whole session.
 */
session: WorkspaceSession, 
/**
 * How this device's checkout differs from it, and where its cursors
 * land here.
 */
preflight: Preflight, 
/**
 * Commands that reopen the files at their cursors, per editor, and
 * return the terminal to its directory.
 */
commands: Array<OpenCommand>, };

/**
 * Where a resume went.
 */
export type ResumedIn = { 
/**
 * The editor, as its plugin named itself (`Visual Studio Code 1.96.0`).
 */
editor: string, 
/**
 * The folder that window is open on.
 */
folder: string, };

/**
 * A JSON-RPC error object.
 */
export type RpcError = { 
/**
 * One of [`code`].
 */
code: number, 
/**
 * For a person.
 */
message: string, 
/**
 * `{kind, field}` for a failed operation.
 */
data?: JsonValue | null, };

/**
 * A selected range.
 */
export type Selection = { 
/**
 * Where it starts.
 */
start: Position, 
/**
 * Where it ends.
 */
end: Position, };

/**
 * Which sessions to list; every field may be left out (`{}`: all active
 * sessions).
 */
export type SessionFilter = { 
/**
 * Only this workspace: a folder (its sessions on every device, once
 * its identity is known) or an identity.
 */
workspace: string | null, 
/**
 * Only sessions with this tag.
 */
tag: string | null, 
/**
 * Include archived sessions.
 */
include_archived: boolean, 
/**
 * At most this many (0: all).
 */
limit: number, 
/**
 * Only sessions created before this one: the next page after a page
 * that ended with it (lists are newest first).
 */
before: SessionId | null, };

/**
 * A workspace session (the thing Stint remembers).
 */
export type SessionId = string;

/**
 * What the session remembers beyond editor state, for the user and for AI
 * assistants ("last time we decided to…").
 */
export type SessionMemory = { 
/**
 * Facts about the work.
 */
facts: Array<Note>, 
/**
 * Decisions taken, with their rationale.
 */
decisions: Array<Note>, };

/**
 * Whether a session is in use.
 */
export type SessionStatus = "active" | "archived";

/**
 * One setting.
 */
export type Setting = { 
/**
 * Its id: derived from `(user_id, category, key)`, see [`SettingId::for_key`].
 */
id: SettingId, 
/**
 * Owning tenant.
 */
tenant_id: TenantId, 
/**
 * Whose preference it is.
 */
user_id: UserId, 
/**
 * Its group.
 */
category: SettingCategory, 
/**
 * Its name within the group (`font_size`).
 */
key: string, 
/**
 * Its value.
 */
value: JsonValue, 
/**
 * When it last changed.
 */
updated_at: string, };

/**
 * The groups of settings the apps show.
 */
export type SettingCategory = "editor" | "theme" | "llm" | "terminal" | "workspace";

/**
 * One user setting.
 */
export type SettingId = string;

/**
 * What `stint status` shows.
 */
export type Status = { 
/**
 * The data directory.
 */
data_dir: string, 
/**
 * This device.
 */
device_id: DeviceId, 
/**
 * The server signed in to.
 */
server: string | null, 
/**
 * Where a sign-in goes unless told otherwise: the server signed in
 * to, else `STINT_SERVER` (what `make run` sets for the desktop app).
 */
sign_in_server: string | null, 
/**
 * Who is signed in, if anyone.
 */
signed_in_as: string | null, 
/**
 * Where the login's refresh token is kept: `"OS keyring"` or the
 * credentials file's path.
 */
login_kept_in: string | null, 
/**
 * The tenant sessions are written in (`local` before any login).
 */
tenant: string, 
/**
 * Sessions on this device (archived included).
 */
sessions: number, 
/**
 * Bytes of the local replica on disk.
 */
replica_bytes: number, 
/**
 * Most bytes of the replica kept in memory (`STINT_REPLICA_CACHE_MB`).
 */
replica_cache_bytes: number, 
/**
 * What waits to sync, conflicts, and the last sync.
 */
sync: SyncStatus, };

/**
 * What one round did.
 */
export type SyncReport = { 
/**
 * Edits the server accepted.
 */
pushed: number, 
/**
 * Of those, how many collided with another device's edit (the losing
 * values are kept as conflicts).
 */
conflicts: number, 
/**
 * Edits the server refused, set aside.
 */
set_aside: number, 
/**
 * Records received.
 */
pulled: number, 
/**
 * The cursor had to start over (the server compacted past it).
 */
refetched: boolean, };

/**
 * What `stint status` shows of sync.
 */
export type SyncStatus = { 
/**
 * Local edits waiting to be pushed.
 */
pending: number, 
/**
 * Edits the server refused, kept aside.
 */
set_aside: number, 
/**
 * Open conflicts in the signed-in tenant.
 */
conflicts: number, 
/**
 * When a round last completed.
 */
last_sync: string | null, };

/**
 * A tenant.
 */
export type Tenant = { 
/**
 * Its id; the first element of every key that holds its data.
 */
id: TenantId, 
/**
 * Display name.
 */
name: string, 
/**
 * Personal or organization.
 */
tenant_type: TenantType, 
/**
 * Billing plan.
 */
plan: TenantPlan, 
/**
 * Limits and features.
 */
settings: TenantSettings, 
/**
 * The user who created it.
 */
owner_id: UserId, 
/**
 * False once suspended; a suspended tenant's members cannot sign in to it.
 */
is_active: boolean, 
/**
 * When it was created.
 */
created_at: string, 
/**
 * When it last changed.
 */
updated_at: string, };

/**
 * A tenant: a user's personal space or an organization.
 */
export type TenantId = string;

/**
 * What a tenant pays for; it sets the default [`TenantSettings`].
 */
export type TenantPlan = "free" | "starter" | "pro" | "enterprise";

/**
 * The limits and features a plan grants.
 */
export type TenantSettings = { 
/**
 * Most members.
 */
max_users: number, 
/**
 * Most live workspace sessions.
 */
max_workspace_sessions: number, 
/**
 * Most bytes of stored records.
 */
max_storage_bytes: number, 
/**
 * Named features switched on (`sync`, `ai_conversations`, `audit_export`, …).
 */
features: Array<string>, };

/**
 * A user's own tenant, or an organization that several users share.
 */
export type TenantType = "personal" | "organization";

/**
 * A tenant with the caller's role in it.
 */
export type TenantWithRole = { 
/**
 * The tenant.
 */
tenant: Tenant, 
/**
 * The caller's role.
 */
role: UserRole, };

/**
 * The terminal as the user left it. History and environment are scrubbed of
 * secrets by the client before they are stored.
 */
export type TerminalState = { 
/**
 * Working directory.
 */
cwd: string | null, 
/**
 * Commands, oldest first, at most [`validate::MAX_HISTORY`].
 */
command_history: Array<string>, 
/**
 * Environment variables the user set for this workspace.
 */
environment_vars: { [key in string]: string }, };

/**
 * A user account.
 */
export type UserId = string;

/**
 * A user as the API shows it (never the password hash).
 */
export type UserProfile = { 
/**
 * Id.
 */
id: UserId, 
/**
 * Personal tenant.
 */
tenant_id: TenantId, 
/**
 * Email.
 */
email: string, 
/**
 * Given name.
 */
first_name: string, 
/**
 * Family name.
 */
last_name: string, 
/**
 * Whether the email was confirmed.
 */
email_verified: boolean, 
/**
 * Last successful login.
 */
last_login_at: string | null, 
/**
 * When the account was created.
 */
created_at: string, };

/**
 * What a member may do in a tenant (see ARCHITECTURE.md, "Roles").
 */
export type UserRole = "viewer" | "developer" | "manager" | "admin";

/**
 * Where a watch is.
 */
export type WatchState = "indexing" | "watching" | "degraded" | "failed";

/**
 * What a user sees of one watched workspace.
 */
export type WatchStatus = { 
/**
 * The session.
 */
session_id: SessionId, 
/**
 * Its workspace root.
 */
workspace: string, 
/**
 * Where the watch is.
 */
state: WatchState, 
/**
 * Files in the index (in the replica).
 */
files: number, 
/**
 * Files the current scan found.
 */
files_seen: number, 
/**
 * Files the current scan must hash.
 */
files_to_hash: number, 
/**
 * Of those, hashed.
 */
files_hashed: number, 
/**
 * Bytes the current scan must hash.
 */
bytes_to_hash: number, 
/**
 * Of those, hashed.
 */
bytes_hashed: number, 
/**
 * Files left out, and why (the newest few).
 */
problems: Array<string>, 
/**
 * Said for a person: why a watch is degraded or failed.
 */
message: string | null, };

/**
 * A workspace session.
 */
export type WorkspaceSession = { 
/**
 * Its id.
 */
id: SessionId, 
/**
 * Owning tenant.
 */
tenant_id: TenantId, 
/**
 * The user who started it.
 */
user_id: UserId, 
/**
 * Display name.
 */
name: string, 
/**
 * Absolute path of the workspace folder on the device that started it.
 */
workspace_path: string, 
/**
 * The workspace's identity, the same on every device and path (see
 * [`crate::workspace`]); `None` where none could be read, or for a
 * session older than identities that no device has migrated yet.
 */
workspace_id: string | null, 
/**
 * Its git remote, branch and HEAD as last recorded.
 */
git: GitState | null, 
/**
 * Files being worked on, relative to the workspace root.
 */
active_files: Array<string>, 
/**
 * Editor tabs, cursors, selections and layout.
 */
editor_state: EditorState, 
/**
 * Terminal cwd, history and environment.
 */
terminal_state: TerminalState, 
/**
 * Debugger breakpoints.
 */
breakpoints: Array<Breakpoint>, 
/**
 * Debugger watch expressions.
 */
watch_expressions: Array<string>, 
/**
 * The AI conversation attached to the session.
 */
conversation_id: ConversationId | null, 
/**
 * Files given to AI assistants as context.
 */
context_files: Array<string>, 
/**
 * Facts and decisions.
 */
memory: SessionMemory, 
/**
 * The session this one was forked from.
 */
parent_session_id: SessionId | null, 
/**
 * Sessions the user linked by hand.
 */
related_sessions: Array<SessionId>, 
/**
 * Tags for cross-session queries.
 */
tags: Array<string>, 
/**
 * Active or archived.
 */
status: SessionStatus, 
/**
 * When it was started.
 */
created_at: string, 
/**
 * When its state last changed.
 */
updated_at: string, 
/**
 * When it was last resumed or viewed.
 */
last_accessed_at: string, };

/**
 * A workspace as `stint workspace list` shows it.
 */
export type WorkspaceView = { 
/**
 * Its identity.
 */
id: string, 
/**
 * Its folders on this device.
 */
folders: Array<string>, 
/**
 * Its git remote, when it has one.
 */
remote: string | null, 
/**
 * How many sessions of it this device holds (every device's).
 */
sessions: number, };

/** Every operation: its params, its result, whether it may change the replica. */
export interface Operations {
  /**
   * Whether the owner answers.
   */
  ping: { params: Record<symbol, never>; result: boolean; writes: false };
  /**
   * Takes what the shell hook spooled (every operation does it first).
   */
  drain_hook: { params: Record<symbol, never>; result: boolean; writes: true };
  /**
   * Starts a session ([`Device::start_session`]).
   */
  start_session: { params: { session: NewSession, }; result: WorkspaceSession; writes: true };
  /**
   * A page of sessions ([`Device::list_sessions`]). Declared a read,
   * though listing by a folder not identified yet identifies it (and
   * gives older sessions of it their workspace, an edit that syncs at
   * the next round): as a write, every listing would start a sync round.
   */
  list_sessions: { params: { filter: SessionFilter, }; result: Array<WorkspaceSession>; writes: false };
  /**
   * The session an editor open on a folder records into, started if
   * asked and there is none ([`Device::session_of_folder`]).
   */
  session_of_folder: { params: { folder: string, start: boolean, }; result: FolderSession | null; writes: true };
  /**
   * A session by id or prefix ([`Device::find_session`]).
   */
  find_session: { params: { id: string, }; result: WorkspaceSession; writes: false };
  /**
   * Changes a session ([`Device::update_session`]).
   */
  update_session: { params: { id: string, changes: Array<Change>, }; result: WorkspaceSession; writes: true };
  /**
   * Forks a session ([`Device::fork_session`]).
   */
  fork_session: { params: { id: string, name: string, }; result: WorkspaceSession; writes: true };
  /**
   * Deletes a session ([`Device::delete_session`]).
   */
  delete_session: { params: { id: string, }; result: WorkspaceSession; writes: true };
  /**
   * A session with its preflight and the commands that reopen it
   * ([`Device::resume_session`]).
   */
  resume_session: { params: { id: string, }; result: Resume; writes: true };
  /**
   * Asks the editor window open on a session's folder, if one listens,
   * to resume it there ([`Device::resume_in_window`]): where it went, or
   * `null`.
   */
  resume_in_window: { params: { id: string, }; result: ResumedIn | null; writes: true };
  /**
   * This connection is an editor window on `folders`: the owner may send
   * it a [`Notice`] from now on, until it closes or listens again. `false`
   * when nothing can: the call did not come through an owner's socket.
   */
  listen: { params: { editor: string, folders: Array<string>, }; result: boolean; writes: false };
  /**
   * The command that opens a session in one tool
   * ([`Device::open_in_editor`]).
   */
  open_in_editor: { params: { id: string, tool: string, }; result: OpenCommand; writes: true };
  /**
   * A session's AI conversations with their messages
   * ([`Device::conversations`]).
   */
  conversations: { params: { id: string, }; result: Array<ConversationWithMessages>; writes: false };
  /**
   * The most recently used sessions ([`Device::recent_sessions`]).
   */
  recent_sessions: { params: { limit: number, }; result: Array<WorkspaceSession>; writes: false };
  /**
   * A session's forks ([`Device::children`]).
   */
  children: { params: { id: string, }; result: Array<WorkspaceSession>; writes: false };
  /**
   * Sessions related to one ([`Device::related`]).
   */
  related: { params: { id: string, limit: number, }; result: Array<RelatedSession>; writes: false };
  /**
   * The device's state ([`Device::status`]).
   */
  status: { params: Record<symbol, never>; result: Status; writes: false };
  /**
   * Who is signed in ([`Device::whoami`]).
   */
  whoami: { params: Record<symbol, never>; result: Account | null; writes: false };
  /**
   * Signs in ([`Device::login`]).
   */
  login: { params: { server: string, email: string, password: string, }; result: Account; writes: true };
  /**
   * Creates an account and signs in ([`Device::register`]).
   */
  register: { params: { server: string, request: RegisterRequest, }; result: Account; writes: true };
  /**
   * Signs out ([`Device::logout`]).
   */
  logout: { params: Record<symbol, never>; result: boolean; writes: true };
  /**
   * The tenants one may switch to ([`Device::tenants`]).
   */
  tenants: { params: Record<symbol, never>; result: Array<TenantWithRole>; writes: false };
  /**
   * Switches tenant ([`Device::switch_tenant`]).
   */
  switch_tenant: { params: { id: string, }; result: Account; writes: true };
  /**
   * Syncs now ([`Device::sync`]).
   */
  sync: { params: Record<symbol, never>; result: SyncReport; writes: false };
  /**
   * Edits that conflicted ([`Device::conflicts`]).
   */
  conflicts: { params: Record<symbol, never>; result: Array<Conflict>; writes: false };
  /**
   * Settles a conflict ([`Device::resolve_conflict`]).
   */
  resolve_conflict: { params: { id: string, take_mine: boolean, }; result: Conflict; writes: true };
  /**
   * Watches a session's workspace ([`Device::watch_workspace`]).
   */
  watch_workspace: { params: { id: string, }; result: WatchStatus; writes: true };
  /**
   * Stops watching it ([`Device::unwatch_workspace`]).
   */
  unwatch_workspace: { params: { id: string, }; result: boolean; writes: true };
  /**
   * The watches and their progress ([`Device::watch_statuses`]).
   */
  watch_statuses: { params: Record<symbol, never>; result: Array<WatchStatus>; writes: false };
  /**
   * A session's files ([`Device::files`]).
   */
  files: { params: { id: string, changed_since: string | null, }; result: Array<File>; writes: false };
  /**
   * The sessions that touched a file ([`Device::which_sessions`]).
   */
  which_sessions: { params: { query: FileQuery, }; result: Array<FileMatch>; writes: false };
  /**
   * What differs between a session and this checkout
   * ([`Device::preflight`]).
   */
  preflight: { params: { id: string, }; result: Preflight; writes: false };
  /**
   * The user's settings ([`Device::settings`]).
   */
  settings: { params: Record<symbol, never>; result: Array<Setting>; writes: false };
  /**
   * Changes one ([`Device::set_setting`]).
   */
  set_setting: { params: { category: SettingCategory, key: string, value: JsonValue, }; result: Setting; writes: true };
  /**
   * What the desktop app's window showed last ([`Device::window_state`]).
   */
  window_state: { params: Record<symbol, never>; result: JsonValue; writes: false };
  /**
   * Keeps it for the next start ([`Device::save_window_state`]); a file
   * beside the replica, not a record.
   */
  save_window_state: { params: { state: JsonValue, }; result: null; writes: false };
  /**
   * The workspaces this device knows ([`Device::workspaces`]).
   */
  workspaces: { params: Record<symbol, never>; result: Array<WorkspaceView>; writes: true };
  /**
   * Links a folder to a workspace ([`Device::link_workspace`]).
   */
  link_workspace: { params: { id: string, path: string, }; result: WorkspaceView; writes: true };
  /**
   * Forgets a workspace's folder ([`Device::forget_workspace`]).
   */
  forget_workspace: { params: { id: string, path: string | null, }; result: WorkspaceView; writes: true };
}

/** An operation's name. */
export type Method = keyof Operations;
