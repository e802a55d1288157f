// The shapes that cross from `stint-client`: generated from the local
// protocol's declaration (`editors/protocol/stint-protocol.ts`, written by
// `make types`), under the names the UI uses. Only what the window adds on
// its own side is written here.

export type {
  Account, Breakpoint, Change, Conflict, ConversationWithMessages, EditorTab, File as FileRecord,
  Message, Method, Note, OpenCommand, Operations, Placed, Placement, Position, Preflight,
  RegisterRequest, RelatedSession, Resume, ResumedIn, SessionFilter, Setting, SettingCategory, Status,
  SyncReport, SyncStatus, TenantWithRole, WatchState, WatchStatus, WorkspaceSession as Session,
} from '../../../editors/protocol/stint-protocol';

import type { SyncReport, WatchStatus } from '../../../editors/protocol/stint-protocol';

export type Timestamp = string;

/** What the owner tells the window (`stint_client::News`). */
export type News =
  | { kind: 'changed' }
  | { kind: 'synced'; report: SyncReport | null; error: string | null; code: string | null }
  | ({ kind: 'watch' } & WatchStatus);

/** Every error from the app: a stable code, a message for people, and
 * the field at fault when the input broke a rule. */
export interface UiError { code: string; message: string; field?: string }
