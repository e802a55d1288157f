// One recorder per workspace folder: it finds (or starts) the session the
// folder records into, and sends what VS Code shows into it, at most once
// a second, and only when something changed. An event costs a flag and a
// timer; the work is done when the timer fires.
import { realpathSync } from 'node:fs';
import * as vscode from 'vscode';

import type { Change, FolderSession, WorkspaceSession } from '../../protocol/stint-protocol';
import { breakpoints, editorState, Seen } from './capture';
import { type Connection, StintError } from './rpc';

/** At most one update per folder in this many milliseconds. */
export const DEBOUNCE_MS = 1000;

/** The session a folder records into. */
export interface Bound {
  id: string;
  name: string;
  /** The workspace's folder on this device: paths are relative to it. */
  folder: string;
}

function real(folder: string): string {
  try {
    return realpathSync(folder);
  } catch {
    return folder;
  }
}

export class Recorder {
  /** VS Code's folder, as the device sees it (symlinks resolved). */
  readonly folder: string;
  private bound: Bound | null = null;
  private binding: Promise<Bound | null> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The last update sent, as JSON: a repeat is not sent. */
  private sent = '';
  /** Whether a file of the folder was shown (or a session resumed): a
   * window that never showed one does not wipe what a session recorded. */
  private touched = false;
  private flushing: Promise<void> = Promise.resolve();
  /** Updates sent so far. */
  updates = 0;
  /** While a resume reopens tabs one by one, nothing is sent: a half-done
   * window must not replace the session it is restoring. */
  paused = false;

  constructor(
    readonly workspaceFolder: vscode.WorkspaceFolder,
    private readonly rpc: Connection,
    private readonly seen: Seen,
    private readonly editor: string,
    /** Told when the session bound changes, or an update was sent. */
    private readonly changed: (recorder: Recorder) => void,
    private readonly report: (message: string) => void,
  ) {
    this.folder = real(workspaceFolder.uri.fsPath);
  }

  /** The session this folder records into, if known yet. */
  get session(): Bound | null {
    return this.bound;
  }

  /** Finds the folder's session, started when there is none. */
  bind(start = true): Promise<Bound | null> {
    if (this.bound) return Promise.resolve(this.bound);
    this.binding ??= this.rpc
      .call('session_of_folder', { folder: this.folder, start })
      .then((found: FolderSession | null) => {
        this.binding = null;
        if (!found) return null;
        this.use(found.session, found.folder);
        return this.bound;
      })
      .catch((e: unknown) => {
        this.binding = null;
        throw e;
      });
    return this.binding;
  }

  /** Records into `session` from now on (after New, Fork, Resume). */
  use(session: WorkspaceSession, folder: string): void {
    this.bound = { id: session.id, name: session.name, folder: real(folder) };
    this.sent = '';
    this.changed(this);
  }

  /** Something changed on screen: an update goes within a second. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().catch((e: unknown) => this.report(String((e as Error).message ?? e)));
    }, DEBOUNCE_MS);
  }

  /** Marks the folder as shown: from now on an empty editor is recorded. */
  touch(): void {
    this.touched = true;
  }

  /** Sends what VS Code shows now, if it changed; one at a time. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.flushing = this.flushing.catch(() => undefined).then(() => this.send());
    return this.flushing;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async send(again = false): Promise<void> {
    if (this.paused) return;
    if (!vscode.workspace.getConfiguration('stint').get<boolean>('capture', true)) return;
    const root = this.bound?.folder ?? this.folder;
    const editor = editorState(root, this.seen, this.editor);
    if (editor.open_tabs.length > 0) this.touched = true;
    if (!this.touched) return;
    const bound = await this.bind();
    if (!bound) return;
    // The workspace's folder can be above VS Code's: computed again from it.
    const state = bound.folder === root ? editor : editorState(bound.folder, this.seen, this.editor);
    const changes: Change[] = [{ editor: state }, { breakpoints: breakpoints(bound.folder) }];
    const encoded = JSON.stringify([bound.id, changes]);
    if (encoded === this.sent) return;
    try {
      const session = await this.rpc.call('update_session', { id: bound.id, changes });
      this.sent = encoded;
      this.updates++;
      this.bound = { ...bound, name: session.name };
      this.changed(this);
    } catch (e) {
      // Deleted elsewhere: the folder's session is found (or started) again.
      if (e instanceof StintError && e.notFound && !again) {
        this.bound = null;
        return this.send(true);
      }
      throw e;
    }
  }
}
