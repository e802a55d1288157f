// What VS Code shows, as Stint's model keeps it: the tabs of every group in
// order with their cursors and selections, the active tab, the
// breakpoints. Paths are relative to the workspace's folder on this
// device (which may hold VS Code's folder: a checkout opened at `src/`);
// files outside it, and git's own files, are never sent.
//
// Columns: VS Code counts UTF-16 code units from 0, Stint counts
// characters (code points) from 1, as every editor can: `ü` and `😀` are
// one column each.
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { Breakpoint, EditorLayout, EditorState, EditorTab, Selection } from '../../protocol/stint-protocol';

/** `file` relative to `folder` with `/` separators, or null when it is
 * outside it or inside `.git/`. */
export function relativeTo(folder: string, file: string): string | null {
  const rel = path.relative(folder, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  if (parts[0] === '.git') return null;
  return parts.join('/');
}

/** A 0-based UTF-16 offset in `text` as a 1-based character column. */
export function columnOf(text: string, character: number): number {
  // A string's iterator walks code points: a surrogate pair is one.
  return [...text.slice(0, character)].length + 1;
}

/** A 1-based character column of `text` as a 0-based UTF-16 offset (the
 * end of the line when the line is shorter). */
export function characterOf(text: string, column: number): number {
  let offset = 0;
  for (const char of text) {
    if (column <= 1) break;
    offset += char.length;
    column--;
  }
  return offset;
}

/** What the editor last showed of each file: its selections and first
 * visible line, kept as events come (a tab in the background has no
 * editor to ask). */
export class Seen {
  private readonly byFile = new Map<string, { selections: readonly vscode.Selection[]; top: number }>();

  /** Records `editor`'s selections and scroll: cheap, called on every
   * selection event. */
  note(editor: vscode.TextEditor): void {
    this.byFile.set(editor.document.uri.toString(), {
      selections: editor.selections,
      top: editor.visibleRanges[0]?.start.line ?? 0,
    });
  }

  get(uri: vscode.Uri) {
    return this.byFile.get(uri.toString());
  }

  forget(uri: vscode.Uri): void {
    this.byFile.delete(uri.toString());
  }
}

/** A position as the model keeps it. */
function position(doc: vscode.TextDocument | undefined, at: vscode.Position) {
  const text = doc && at.line < doc.lineCount ? doc.lineAt(at.line).text : '';
  return { line: at.line + 1, column: columnOf(text, at.character) };
}

/** The tabs, active tab and layout of VS Code's editors under `folder`. */
export function editorState(folder: string, seen: Seen, editor: string): EditorState {
  for (const e of vscode.window.visibleTextEditors) seen.note(e);
  const docs = new Map(vscode.workspace.textDocuments.map((d) => [d.uri.toString(), d]));
  const groups = [...vscode.window.tabGroups.all].sort((a, b) => a.viewColumn - b.viewColumn);
  const active = vscode.window.tabGroups.activeTabGroup.activeTab;
  const tabs: EditorTab[] = [];
  let activeIndex: number | null = null;
  for (const group of groups) {
    for (const tab of group.tabs) {
      if (!(tab.input instanceof vscode.TabInputText) || tab.input.uri.scheme !== 'file') continue;
      const uri = tab.input.uri;
      const file = relativeTo(folder, uri.fsPath);
      if (file === null) continue;
      const doc = docs.get(uri.toString());
      const last = seen.get(uri);
      const selections = last?.selections ?? [];
      const primary = selections[0];
      const cursor = primary ? position(doc, primary.active) : { line: 1, column: 1 };
      // One empty selection is just the cursor; anything more (a
      // selection, several cursors) is kept whole, anchor then active.
      const kept: Selection[] =
        selections.length === 1 && primary.isEmpty
          ? []
          : selections.map((s) => ({ start: position(doc, s.anchor), end: position(doc, s.active) }));
      if (tab === active) activeIndex = tabs.length;
      tabs.push({
        file_path: file,
        cursor,
        selections: kept,
        scroll_top: last?.top ?? 0,
        is_pinned: tab.isPinned,
        group: group.viewColumn,
      });
    }
  }
  const layout: EditorLayout = groups.length <= 1 ? 'single' : groups.length === 2 ? 'split_vertical' : 'grid';
  return { open_tabs: tabs, active_tab_index: activeIndex, layout, editor };
}

/** VS Code's source breakpoints under `folder`, in file and line order. */
export function breakpoints(folder: string): Breakpoint[] {
  const out: Breakpoint[] = [];
  for (const bp of vscode.debug.breakpoints) {
    if (!(bp instanceof vscode.SourceBreakpoint) || bp.location.uri.scheme !== 'file') continue;
    const file = relativeTo(folder, bp.location.uri.fsPath);
    if (file === null) continue;
    out.push({
      file_path: file,
      line: bp.location.range.start.line + 1,
      condition: bp.condition || null,
      ...(bp.logMessage ? { log_message: bp.logMessage } : {}),
      enabled: bp.enabled,
    });
  }
  return out.sort((a, b) => (a.file_path === b.file_path ? a.line - b.line : a.file_path < b.file_path ? -1 : 1));
}
