// Stint for VS Code: each workspace folder's session fills itself (tabs in
// their groups, cursors and selections, the active tab, breakpoints with
// their conditions and log messages), and "Stint: Resume Session…" brings
// a session back, from any device. It speaks the device's local protocol
// through `stint rpc --agent` (src/rpc.ts); nothing here touches the
// replica, and it works offline.
//
// Layout: rpc.ts (the protocol's client), capture.ts (what VS Code shows,
// as Stint's model), recorder.ts (a folder's session and its debounced
// updates), resume.ts (reopening a session), this file (events, commands,
// status bar).
import * as vscode from 'vscode';

import type { WorkspaceSession } from '../../protocol/stint-protocol';
import { Seen } from './capture';
import { Recorder } from './recorder';
import { type Restored, restore } from './resume';
import { Connection, StintError } from './rpc';

/** What the extension hands to other extensions and to its tests. */
export interface Api {
  /** Sends every folder's pending update now and waits for it. */
  flush(): Promise<void>;
  /** Resumes session `id` in this window. */
  resume(id: string): Promise<Restored & { answer_ms: number }>;
  /** The problems shown so far (each once). */
  readonly problems: string[];
  /** How many updates the folders' recorders sent so far. */
  readonly updates: number;
  /** The session each folder records into (binding it if needed). */
  sessions(): Promise<({ id: string; name: string; folder: string } | null)[]>;
  /** What Resume Session… lists, in its order. */
  choices(): Promise<{ label: string; description: string; detail?: string }[]>;
  /** Whether the owner can reach this window (it listens on its folders). */
  listening(): Promise<boolean>;
  /** How many resumes asked from outside (`stint session resume ID --open`,
   * the desktop app) this window finished, failed ones included. */
  readonly resumedFromOutside: number;
}

export function activate(context: vscode.ExtensionContext): Api {
  const output = vscode.window.createOutputChannel('Stint');
  const said = new Set<string>();
  const report = (message: string) => {
    output.appendLine(message);
    // A problem is shown once, not at every change.
    if (!said.has(message)) {
      said.add(message);
      running?.problems.push(message);
      void vscode.window.showWarningMessage(`Stint: ${message}`);
    }
  };
  let resumedFromOutside = 0;
  const rpc = new Connection(
    () => vscode.workspace.getConfiguration('stint').get('command', 'stint'),
    report,
    (notice) => {
      // The owner asks this window to resume a session: as its own command does.
      if (notice.method !== 'resume') return;
      output.appendLine(`resuming ${notice.params.name}, as asked from outside VS Code`);
      void resume(notice.params.id)
        .catch(fail)
        .finally(() => resumedFromOutside++);
    },
  );
  const seen = new Seen();
  const editor = `${vscode.env.appName} ${vscode.version}`;
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  status.command = 'stint.resume';
  status.name = 'Stint session';

  const recorders = new Map<string, Recorder>();
  const add = (folder: vscode.WorkspaceFolder) => {
    if (folder.uri.scheme !== 'file' || recorders.has(folder.uri.toString())) return;
    recorders.set(
      folder.uri.toString(),
      new Recorder(folder, rpc, seen, editor, () => void showStatus(), report),
    );
  };
  for (const folder of vscode.workspace.workspaceFolders ?? []) add(folder);

  /** The recorder of the folder the active editor is in, else the first. */
  const current = (): Recorder | undefined => {
    const uri = vscode.window.activeTextEditor?.document.uri;
    const folder = uri && vscode.workspace.getWorkspaceFolder(uri);
    return (folder && recorders.get(folder.uri.toString())) ?? recorders.values().next().value;
  };

  const showStatus = async () => {
    const recorder = current();
    const session = recorder?.session;
    if (!session) {
      status.text = '$(history) Stint';
      status.tooltip = 'Stint: no session yet. Click to resume one.';
      status.show();
      return;
    }
    let sync = '';
    try {
      const s = await rpc.call('status', {});
      sync = !s.server
        ? 'kept on this device (not signed in)'
        : s.sync.pending > 0
          ? `${s.sync.pending} change${s.sync.pending === 1 ? '' : 's'} waiting to sync`
          : s.sync.last_sync
            ? `synced ${new Date(s.sync.last_sync).toLocaleTimeString()}`
            : 'not synced yet';
      status.text = `$(history) ${session.name}${s.server && s.sync.pending > 0 ? ' $(cloud-upload)' : ''}`;
    } catch (e) {
      sync = `Stint is not reachable: ${(e as Error).message}`;
      status.text = `$(history) ${session.name} $(warning)`;
    }
    status.tooltip = `Stint: ${session.name} — ${sync}. Click to resume another session.`;
    status.show();
  };

  /** Tells the owner this window is open on its folders, so that a resume
   * asked elsewhere comes here; again when the window gains focus, so that
   * of several windows on a folder the one used last is asked. */
  const listen = () =>
    rpc.listen({ editor, folders: [...recorders.values()].map((r) => r.folder) });

  const scheduleAll = () => {
    for (const r of recorders.values()) r.schedule();
  };
  const flushAll = async () => {
    await Promise.all([...recorders.values()].map((r) => r.flush()));
  };

  context.subscriptions.push(
    output,
    status,
    { dispose: () => rpc.dispose() },
    { dispose: () => recorders.forEach((r) => r.dispose()) },
    vscode.window.onDidChangeTextEditorSelection((e) => {
      seen.note(e.textEditor);
      scheduleAll();
    }),
    vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
      seen.note(e.textEditor);
      scheduleAll();
    }),
    vscode.window.onDidChangeActiveTextEditor(() => {
      scheduleAll();
      void showStatus();
    }),
    vscode.window.tabGroups.onDidChangeTabs(scheduleAll),
    vscode.window.tabGroups.onDidChangeTabGroups(scheduleAll),
    vscode.debug.onDidChangeBreakpoints(scheduleAll),
    vscode.workspace.onDidCloseTextDocument((doc) => seen.forget(doc.uri)),
    vscode.workspace.onDidChangeWorkspaceFolders((e) => {
      for (const folder of e.added) add(folder);
      for (const folder of e.removed) {
        recorders.get(folder.uri.toString())?.dispose();
        recorders.delete(folder.uri.toString());
      }
      scheduleAll();
      void listen();
    }),
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) void listen();
    }),
  );

  const fail = (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    output.appendLine(message);
    void vscode.window.showErrorMessage(`Stint: ${message}`);
  };

  /** The recorder to act on; says why when there is none. */
  const acting = (): Recorder => {
    const recorder = current();
    if (!recorder) throw new Error('open a folder first: sessions belong to a workspace folder');
    return recorder;
  };

  /** The folder of the workspace that holds `recorder`'s, on this device
   * (VS Code may have opened a folder inside it); no session is started. */
  const workspaceOf = async (recorder: Recorder): Promise<string> => {
    const found = await rpc.call('session_of_folder', { folder: recorder.folder, start: false });
    return found?.folder ?? recorder.folder;
  };

  /** The recorder to act on, with its session; says why when there is none. */
  const withSession = async () => {
    const recorder = acting();
    const bound = await recorder.bind();
    if (!bound) throw new Error(`no session for ${recorder.folder}`);
    return { recorder, bound };
  };

  const resume = async (id: string): Promise<Restored & { answer_ms: number }> => {
    const asked = Date.now();
    const answer = await rpc.call('resume_session', { id });
    const answered = Date.now() - asked;
    const all = [...recorders.values()];
    all.forEach((r) => (r.paused = true));
    let restored;
    try {
      restored = { ...(await restore(answer)), answer_ms: answered };
    } finally {
      all.forEach((r) => (r.paused = false));
    }
    const folder = answer.preflight.folder!;
    const recorder = all.find(
      (r) => r.folder === folder || folder.startsWith(r.folder + '/') || r.folder.startsWith(folder + '/'),
    );
    if (recorder) {
      // From now on this window records into the resumed session, starting
      // with the whole of what it restored.
      recorder.use(answer.session, folder);
      recorder.touch();
      await recorder.flush();
    }
    const warnings = restored.warnings.length ? ` (${restored.warnings.join('; ')})` : '';
    void vscode.window.showInformationMessage(`Stint: resumed ${answer.session.name}: ${restored.summary}${warnings}`);
    return restored;
  };

  /** The sessions of this workspace, every device's, newest first, as the
   * picker lists them. */
  const choices = async () => {
    const workspace = await workspaceOf(acting());
    const sessions = await rpc.call('list_sessions', {
      filter: { workspace, tag: null, include_archived: false, limit: 200, before: null },
    });
    sessions.sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    const items = sessions.map((s) => {
      const notes = [...s.memory.decisions.map((n) => `decided: ${n.text}`), ...s.memory.facts.map((n) => n.text)];
      const where = s.editor_state.device ? ` on ${s.editor_state.device}` : '';
      return {
        label: s.name,
        description: `${new Date(s.updated_at).toLocaleString()}${where} · ${s.editor_state.open_tabs.length} tabs`,
        detail: notes.length ? notes.join(' · ') : undefined,
        session: s,
      };
    });
    return { workspace, items };
  };

  /** A quick pick of the sessions of this workspace, every device's, newest first. */
  const pick = async (): Promise<WorkspaceSession | undefined> => {
    const { workspace, items } = await choices();
    if (items.length === 0) {
      void vscode.window.showInformationMessage(`Stint: no session of ${workspace} yet`);
      return undefined;
    }
    const choice = await vscode.window.showQuickPick(items, {
      title: 'Resume which session?',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    return choice?.session;
  };

  const command = (name: string, run: (...args: any[]) => Promise<unknown>) =>
    vscode.commands.registerCommand(name, (...args: any[]) => run(...args).catch(fail));

  context.subscriptions.push(
    command('stint.resume', async (id?: string) => {
      const session = typeof id === 'string' ? { id } : await pick();
      if (session) return resume(session.id);
    }),
    command('stint.newSession', async (name?: string) => {
      const recorder = acting();
      name ??= await vscode.window.showInputBox({ title: 'Stint: New Session', prompt: 'What are you working on?' });
      if (name === undefined) return;
      const workspace = await workspaceOf(recorder);
      const session = await rpc.call('start_session', { session: { name, workspace, tags: [] } });
      recorder.use(session, workspace);
      recorder.touch();
      await recorder.flush();
      return session;
    }),
    command('stint.forkSession', async (name?: string) => {
      const { recorder, bound } = await withSession();
      name ??= await vscode.window.showInputBox({
        title: `Stint: Fork ${bound.name}`,
        prompt: 'A name for the fork (empty: the same name, with "(fork)")',
      });
      if (name === undefined) return;
      await recorder.flush();
      const fork = await rpc.call('fork_session', { id: bound.id, name });
      recorder.use(fork, bound.folder);
      return fork;
    }),
    command('stint.addNote', async (text?: string) => {
      const { bound } = await withSession();
      text ??= await vscode.window.showInputBox({ title: `Stint: Note in ${bound.name}`, prompt: 'What did you learn?' });
      if (!text) return;
      const session = await rpc.call('update_session', { id: bound.id, changes: [{ fact: text }] });
      void vscode.window.showInformationMessage(`Stint: noted in ${session.name}`);
      return session;
    }),
    command('stint.addDecision', async (text?: string, rationale?: string) => {
      const { bound } = await withSession();
      text ??= await vscode.window.showInputBox({ title: `Stint: Decision in ${bound.name}`, prompt: 'What did you decide?' });
      if (!text) return;
      rationale ??= await vscode.window.showInputBox({ title: 'Why? (optional)' });
      const session = await rpc.call('update_session', {
        id: bound.id,
        changes: [{ decision: [text, rationale ? rationale : null] }],
      });
      void vscode.window.showInformationMessage(`Stint: decision kept in ${session.name}`);
      return session;
    }),
  );

  void showStatus();
  // The first capture: what the window restored at start-up.
  scheduleAll();
  void listen();

  running = {
    problems: [...said],
    get updates() {
      return [...recorders.values()].reduce((n, r) => n + r.updates, 0);
    },
    flush: flushAll,
    resume,
    listening: () => rpc.listened,
    choices: async () => (await choices()).items.map(({ label, description, detail }) => ({ label, description, detail })),
    get resumedFromOutside() {
      return resumedFromOutside;
    },
    sessions: () =>
      Promise.all(
        [...recorders.values()].map((r) =>
          r.bind().catch((e: unknown) => {
            if (e instanceof StintError) return null;
            throw e;
          }),
        ),
      ),
  };
  return running;
}

/** The running extension, for `deactivate`. */
let running: Api | null = null;

/** The last capture goes before the window closes (VS Code waits for it). */
export function deactivate(): Promise<void> | undefined {
  return running?.flush().catch(() => undefined);
}
