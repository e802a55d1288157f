// Resume: a session's tabs reopened in their groups with their cursors and
// selections, and its breakpoints set again, at the places the device's
// preflight found for them in this checkout (a cursor follows the lines
// it was on when the file changed on this device).
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { Placement, Resume, Selection, WorkspaceSession } from '../../protocol/stint-protocol';
import { characterOf } from './capture';

/** What a resume did, for the message and the tests. */
export interface Restored {
  opened: number;
  breakpoints: number;
  summary: string;
  warnings: string[];
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
  // Every document is read at once; then they are shown in order, which is
  // what VS Code must do one at a time.
  const docs = await Promise.all(
    tabs.map((tab, i) =>
      pre.tabs[i]?.placed === 'missing'
        ? null
        : Promise.resolve(vscode.workspace.openTextDocument(vscode.Uri.file(path.join(folder, tab.file_path)))).catch(
            () => null,
          ),
    ),
  );
  let opened = 0;
  const shown: ({ editor: vscode.TextEditor; selections: vscode.Selection[] } | null)[] = [];
  for (const [i, tab] of tabs.entries()) {
    const doc = docs[i];
    const placed = pre.tabs[i];
    if (!doc || !placed) {
      shown.push(null);
      continue;
    }
    const selections = selectionsOf(doc, placed, tab.selections);
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn: tab.group ?? vscode.ViewColumn.One,
      preview: false,
      preserveFocus: !tab.is_pinned,
      selection: selections[0],
    });
    editor.selections = selections;
    editor.revealRange(
      new vscode.Range(Math.min(tab.scroll_top, doc.lineCount - 1), 0, Math.min(tab.scroll_top, doc.lineCount - 1), 0),
      vscode.TextEditorRevealType.AtTop,
    );
    if (tab.is_pinned) await vscode.commands.executeCommand('workbench.action.pinEditor');
    shown.push({ editor, selections });
    opened++;
  }
  const active = session.editor_state.active_tab_index;
  const last = active === null ? null : shown[active];
  if (last) {
    const editor = await vscode.window.showTextDocument(last.editor.document, {
      viewColumn: last.editor.viewColumn,
      preview: false,
    });
    editor.selections = last.selections;
  }
  const restored = restoreBreakpoints(folder, session, pre.breakpoints);
  return { opened, breakpoints: restored, summary: pre.summary, warnings: pre.warnings };
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
