// Resume: a session's tabs reopened in their groups with their cursors and
// selections, and its breakpoints set again, at the places the device's
// preflight found for them in this checkout (a cursor follows the lines
// it was on when the file changed on this device).
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { Placement, Resume, Selection, WorkspaceSession } from '../../protocol/stint-protocol';
import { characterOf } from './capture';

/** What a resume did, for the message, the tests and the benchmark. */
export interface Restored {
  opened: number;
  breakpoints: number;
  summary: string;
  warnings: string[];
  /** Milliseconds spent reading the documents, showing the tabs, setting
   * the breakpoints (the owner's answer is timed by the caller). */
  took: { read: number; show: number; breakpoints: number };
}

function at(doc: vscode.TextDocument, line: number, column: number): vscode.Position {
  const l = Math.min(Math.max(line, 1), doc.lineCount) - 1;
  return new vscode.Position(l, characterOf(doc.lineAt(l).text, column));
}

/** The selections to restore: the recorded ones moved as the cursor moved,
 * or the cursor alone where the file changed past recognition. */
function selectionsOf(doc: vscode.TextDocument, placed: Placement, recorded: Selection[]): vscode.Selection[] {
  const cursor = at(doc, placed.line, placed.column);
  if (recorded.length === 0 || placed.placed === 'lost') return [new vscode.Selection(cursor, cursor)];
  const shift = placed.line - placed.recorded_line;
  return recorded.map(
    (s) =>
      new vscode.Selection(
        at(doc, s.start.line + shift, s.start.column),
        at(doc, s.end.line + shift, s.end.column),
      ),
  );
}

/** Reopens `resume`'s session in this window; the folder is the
 * preflight's (this device's checkout of the session's workspace). */
export async function restore(resume: Resume): Promise<Restored> {
  const pre = resume.preflight;
  const session: WorkspaceSession = resume.session;
  if (!pre.folder) throw new Error(pre.summary + (pre.clone ? ` — ${pre.clone}` : ''));
  const folder = pre.folder;
  const tabs = session.editor_state.open_tabs;
  const t0 = Date.now();
  const warnings = [...pre.warnings];
  // Every document is read at once; then they are shown in order, which is
  // what VS Code must do one at a time.
  const docs = await Promise.all(
    tabs.map((tab, i) =>
      pre.tabs[i]?.placed === 'missing'
        ? null
        : Promise.resolve(vscode.workspace.openTextDocument(vscode.Uri.file(path.join(folder, tab.file_path)))).catch(
            (e: unknown) => {
              warnings.push(`${tab.file_path} could not be opened: ${(e as Error).message ?? e}`);
              return null;
            },
          ),
    ),
  );
  const t1 = Date.now();
  const active = session.editor_state.active_tab_index;
  // VS Code renders every tab it shows, and that is most of a resume's
  // time; a tab opened in the background is not rendered until clicked.
  // Shown: the active tab, the last tab of each group (what the group
  // shows), and the tabs that only a visible editor can restore (several
  // selections, a backward one, pinned). The others open in the
  // background at their cursor (or their one selection).
  const lastOfGroup = new Set<number>();
  const groups = new Map<number, number>();
  tabs.forEach((tab, i) => groups.set(tab.group ?? 1, i));
  for (const i of groups.values()) lastOfGroup.add(i);
  let opened = 0;
  const shown: ({ editor: vscode.TextEditor; selections: vscode.Selection[] } | null)[] = [];
  for (const [i, tab] of tabs.entries()) {
    const doc = docs[i];
    const placed = pre.tabs[i];
    shown.push(null);
    if (!doc || !placed) continue;
    opened++;
    const selections = selectionsOf(doc, placed, tab.selections);
    const viewColumn = tab.group ?? vscode.ViewColumn.One;
    const show =
      i === active || lastOfGroup.has(i) || tab.is_pinned || selections.length > 1 || selections[0].isReversed;
    if (!show) {
      await vscode.commands.executeCommand('vscode.open', doc.uri, {
        viewColumn,
        preview: false,
        preserveFocus: true,
        background: true,
        selection: selections[0],
      });
      continue;
    }
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn,
      preview: false,
      preserveFocus: !tab.is_pinned,
      selection: selections[0],
    });
    editor.selections = selections;
    const top = Math.min(tab.scroll_top, doc.lineCount - 1);
    editor.revealRange(new vscode.Range(top, 0, top, 0), vscode.TextEditorRevealType.AtTop);
    if (tab.is_pinned) await vscode.commands.executeCommand('workbench.action.pinEditor');
    shown[i] = { editor, selections };
  }
  const last = active === null ? null : shown[active];
  if (last) {
    const editor = await vscode.window.showTextDocument(last.editor.document, {
      viewColumn: last.editor.viewColumn,
      preview: false,
    });
    editor.selections = last.selections;
  }
  const t2 = Date.now();
  const restored = restoreBreakpoints(folder, session, pre.breakpoints);
  const took = { read: t1 - t0, show: t2 - t1, breakpoints: Date.now() - t2 };
  return { opened, breakpoints: restored, summary: pre.summary, warnings, took };
}

/** Sets the session's breakpoints (those not set already) at their places. */
function restoreBreakpoints(folder: string, session: WorkspaceSession, places: Placement[]): number {
  const present = new Set(
    vscode.debug.breakpoints
      .filter((b): b is vscode.SourceBreakpoint => b instanceof vscode.SourceBreakpoint)
      .map((b) => `${b.location.uri.fsPath}:${b.location.range.start.line}`),
  );
  const add: vscode.SourceBreakpoint[] = [];
  for (const [i, bp] of session.breakpoints.entries()) {
    const placed = places[i];
    if (!placed || placed.placed === 'missing') continue;
    const uri = vscode.Uri.file(path.join(folder, bp.file_path));
    const line = Math.max(placed.line, 1) - 1;
    if (present.has(`${uri.fsPath}:${line}`)) continue;
    add.push(
      new vscode.SourceBreakpoint(
        new vscode.Location(uri, new vscode.Position(line, 0)),
        bp.enabled,
        bp.condition ?? undefined,
        undefined,
        bp.log_message ?? undefined,
      ),
    );
  }
  vscode.debug.addBreakpoints(add);
  return add.length;
}
