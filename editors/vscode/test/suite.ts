// The extension's tests, run by VS Code's own extension host (code-server,
// driven headless by test/run.mjs). One phase per run, named by
// STINT_TEST_PHASE; the Rust test (tests/tests/vscode.rs) that starts the
// runs reads the replica through the CLI between them and passes what a
// phase must find in STINT_TEST_EXPECT (a JSON file). Each phase writes
// what it saw to STINT_TEST_OUT/<phase>.json.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

import type { WorkspaceSession } from '../../protocol/stint-protocol';
import type { Api } from '../src/extension';

const phase = process.env.STINT_TEST_PHASE ?? '';
const out = process.env.STINT_TEST_OUT ?? '';
const folder = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const file = (rel: string) => vscode.Uri.file(path.join(folder(), rel));
const expected = () => JSON.parse(readFileSync(process.env.STINT_TEST_EXPECT!, 'utf8'));
const save = (what: unknown) => writeFileSync(path.join(out, `${phase}.json`), JSON.stringify(what, null, 2));

async function api(): Promise<Api> {
  const ext = vscode.extensions.getExtension<Api>('stint-dev.stint');
  assert.ok(ext, 'the extension is loaded');
  return ext.isActive ? ext.exports : ext.activate();
}

/** Until `check` holds (the workbench applies some changes a moment later). */
async function eventually(check: () => boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Asks test/run.mjs for a screenshot of the window, and waits for it. */
async function screenshot(): Promise<void> {
  writeFileSync(path.join(out, 'screenshot-now'), '');
  await eventually(() => existsSync(path.join(out, 'screenshot-done')), 'the screenshot', 30000);
}

async function open(rel: string, column: vscode.ViewColumn, selections: vscode.Selection[]) {
  const editor = await vscode.window.showTextDocument(file(rel), { viewColumn: column, preview: false });
  editor.selections = selections;
  return editor;
}

const sel = (l1: number, c1: number, l2 = l1, c2 = c1) => new vscode.Selection(l1, c1, l2, c2);

/** What the window shows: tabs per group with their selections (each
 * tab shown in turn: VS Code keeps a selection per document and group),
 * the active tab, the source breakpoints (paths relative to the folder). */
async function shown() {
  const rel = (uri: vscode.Uri) => path.relative(folder(), uri.fsPath).split(path.sep).join('/');
  const active = vscode.window.activeTextEditor;
  const tabs = [];
  for (const g of vscode.window.tabGroups.all) {
    for (const t of g.tabs) {
      if (!(t.input instanceof vscode.TabInputText)) continue;
      const uri = t.input.uri;
      const e = await vscode.window.showTextDocument(uri, { viewColumn: g.viewColumn, preserveFocus: true, preview: false });
      tabs.push({
        file: rel(uri),
        group: g.viewColumn,
        pinned: t.isPinned,
        selections: e.selections.map((s) => [s.anchor.line, s.anchor.character, s.active.line, s.active.character]),
      });
    }
  }
  if (active) await vscode.window.showTextDocument(active.document, { viewColumn: active.viewColumn, preview: false });
  const breakpoints = vscode.debug.breakpoints
    .filter((b): b is vscode.SourceBreakpoint => b instanceof vscode.SourceBreakpoint)
    .map((b) => ({
      file: rel(b.location.uri),
      line: b.location.range.start.line,
      condition: b.condition ?? null,
      log: b.logMessage ?? null,
      enabled: b.enabled,
    }))
    .sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return { tabs, active: active ? rel(active.document.uri) : null, breakpoints };
}

const phases: Record<string, () => void> = {
  capture() {
    test('what the window shows is what the session holds', async function () {
      this.timeout(60000);
      const stint = await api();
      // Group 1: a.js (cursor after the emoji on its non-ASCII line), then
      // notes.md, pinned; group 2: src/ü.js with a selection over two
      // lines and a second cursor; a file outside the folder too.
      await open('a.js', vscode.ViewColumn.One, [sel(2, 13)]);
      await open('notes.md', vscode.ViewColumn.One, [sel(0, 0)]);
      await vscode.commands.executeCommand('workbench.action.pinEditor');
      await open(path.join('..', 'outside.js'), vscode.ViewColumn.One, [sel(0, 0)]);
      await open('src/ü.js', vscode.ViewColumn.Two, [sel(1, 0, 2, 3), sel(4, 2)]);
      vscode.debug.addBreakpoints([
        new vscode.SourceBreakpoint(new vscode.Location(file('a.js'), new vscode.Position(1, 0)), true, 'x > 1'),
        new vscode.SourceBreakpoint(
          new vscode.Location(file('src/ü.js'), new vscode.Position(0, 0)),
          true,
          undefined,
          undefined,
          'hit {x}',
        ),
        new vscode.SourceBreakpoint(new vscode.Location(file('src/ü.js'), new vscode.Position(3, 0)), false),
      ]);
      await eventually(() => vscode.debug.breakpoints.length === 3, 'the breakpoints');
      await stint.flush();
      const [session] = await stint.sessions();
      assert.ok(session, 'the folder has a session');
      if (out) await screenshot();
      save({ session: session.id, shown: await shown() });
    });

    test('a burst of cursor moves is one update, a second later', async function () {
      this.timeout(30000);
      const stint = await api();
      await stint.flush();
      const editor = vscode.window.activeTextEditor!;
      const before = stint.updates;
      for (let i = 0; i < 40; i++) editor.selections = [sel(i % 5, 1)];
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(stint.updates, before, 'nothing sent within the debounce');
      await eventually(() => stint.updates > before, 'the debounced update', 5000);
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal(stint.updates, before + 1, 'one update for the whole burst');
      // Back where the first test left it, for the Rust side to check.
      await open('src/ü.js', vscode.ViewColumn.Two, [sel(1, 0, 2, 3), sel(4, 2)]);
      await stint.flush();
    });
  },

  /** No owner runs: the extension starts `stint agent` (the Rust side
   * finds it) and records as usual. */
  alone() {
    test('with no owner running, the extension starts one and records', async function () {
      this.timeout(60000);
      const stint = await api();
      await open('a.js', vscode.ViewColumn.One, [sel(1, 2)]);
      await stint.flush();
      const [session] = await stint.sessions();
      assert.ok(session, 'a session was started');
      save({ session: session.id });
    });
  },

  /** The commands, as a user runs them: New Session, Add Note, Add
   * Decision, Fork Session, then Resume Session… through its quick pick. */
  commands() {
    test('new, note, decision, fork, and the picker', async function () {
      this.timeout(90000);
      const stint = await api();
      await open('a.js', vscode.ViewColumn.One, [sel(0, 1)]);
      await stint.flush();
      const [first] = await stint.sessions();
      assert.ok(first, 'the folder records into a session');
      const run = <T>(command: string, ...args: unknown[]) => vscode.commands.executeCommand<T>(command, ...args);
      const second = await run<WorkspaceSession>('stint.newSession', 'Second ✓');
      assert.equal((await stint.sessions())[0]?.id, second.id, 'the window records into the new session');
      await run('stint.addNote', 'tokens rotate');
      await run('stint.addDecision', 'Use Argon2id', 'OWASP says so');
      const fork = await run<WorkspaceSession>('stint.forkSession', 'Try redb');
      assert.equal((await stint.sessions())[0]?.id, fork.id, 'and then into the fork');
      await open('notes.md', vscode.ViewColumn.One, [sel(0, 2)]);
      await stint.flush();
      const choices = await stint.choices();
      // Newest first: the fork (which just recorded notes.md), its parent, the first.
      assert.deepEqual(
        choices.map((c) => c.label),
        ['Try redb', 'Second ✓', first.name],
      );
      assert.match(choices[1].detail ?? '', /decided: Use Argon2id · tokens rotate/);
      assert.match(choices[0].description, / on .+ · 2 tabs$/);
      // The picker itself: Resume Session…, then Enter on the first item.
      // (The window is left as it is: closing its tabs would be recorded.)
      let done = false;
      const resumed = Promise.resolve(run<{ opened: number } | undefined>('stint.resume')).finally(() => (done = true));
      const end = Date.now() + 30000;
      while (!done && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 250));
        if (!done) await run('workbench.action.acceptSelectedQuickOpenItem');
      }
      const restored = await resumed;
      assert.ok(restored, 'a session was picked and resumed');
      assert.equal(restored.opened, 2, 'the fork\'s two tabs');
      await stint.flush();
      save({ first: first.id, second: second.id, fork: fork.id, choices, problems: stint.problems });
    });
  },

  /** `stint.command` names no program: said once, clearly; VS Code goes on. */
  missing() {
    test('without stint installed, it says so and VS Code works on', async function () {
      this.timeout(60000);
      const stint = await api();
      await open('a.js', vscode.ViewColumn.One, [sel(1, 2)]);
      await stint.flush().catch(() => undefined);
      await open('notes.md', vscode.ViewColumn.One, [sel(0, 0)]);
      await stint.flush().catch(() => undefined);
      await eventually(() => stint.problems.length > 0, 'the problem to be reported');
      save({ problems: stint.problems });
      assert.equal(stint.problems.length, 1, 'said once');
      assert.match(stint.problems[0], /is not installed or not on PATH/);
    });
  },

  /** `make bench-vscode`: a large session resumed, beside VS Code opening
   * the same files and setting the same breakpoints by itself, in turns. */
  bench() {
    test('resume of a large session, beside the same work done directly', async function () {
      this.timeout(300000);
      const stint = await api();
      const want: { session: string; tabs: [string, number][]; breakpoints: [string, number][]; runs: number } = expected();
      // A window that has been open a while: the extension is connected.
      // It records nothing here: the peer's tabs would replace the session's.
      await vscode.workspace.getConfiguration('stint').update('capture', false, vscode.ConfigurationTarget.Global);
      await stint.sessions();
      const reset = async () => {
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        await eventually(() => vscode.window.tabGroups.all.every((g) => g.tabs.length === 0), 'closed editors');
      };
      const direct = async () => {
        const started = Date.now();
        const docs = await Promise.all(want.tabs.map(([f]) => vscode.workspace.openTextDocument(file(f))));
        for (const [i, doc] of docs.entries()) {
          const line = want.tabs[i][1] - 1;
          const t = Date.now();
          await vscode.window.showTextDocument(doc, { preview: false, preserveFocus: true, selection: sel(line, 0) });
          perTab.push(Date.now() - t);
        }
        vscode.debug.addBreakpoints(
          want.breakpoints.map(([f, l]) => new vscode.SourceBreakpoint(new vscode.Location(file(f), new vscode.Position(l - 1, 0)))),
        );
        return Date.now() - started;
      };
      const runs = [];
      const perTab: number[] = [];
      await reset();
      for (let i = 0; i < want.runs; i++) {
        const peer = await direct();
        await reset();
        const started = Date.now();
        const restored = await vscode.commands.executeCommand<any>('stint.resume', want.session);
        const total = Date.now() - started;
        runs.push({ peer, total, answer: restored.answer_ms, ...restored.took, opened: restored.opened, set: restored.breakpoints, warnings: restored.warnings });
        await reset();
      }
      save({ runs, perTab });
      for (const run of runs) {
        assert.equal(run.opened, want.tabs.length, run.warnings.join('; '));
        assert.equal(run.set, want.breakpoints.length, run.warnings.join('; '));
      }
    });
  },

  /** A window left open while a resume is asked from outside VS Code
   * (`stint session resume ID --open`, run by the Rust side once this
   * phase says, by a file in --out, that the owner can reach the window). */
  outside() {
    test('a resume asked outside VS Code happens in the open window', async function () {
      this.timeout(120000);
      const stint = await api();
      const want = expected();
      const end = Date.now() + 30000;
      while (!(await stint.listening())) {
        if (Date.now() > end) throw new Error(`the owner never heard this window: ${stint.problems.join('; ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      writeFileSync(path.join(out, 'listening'), '');
      await eventually(() => stint.resumedFromOutside > 0, 'the resume asked from outside', 90000);
      await eventually(() => vscode.debug.breakpoints.length === want.shown.breakpoints.length, 'the breakpoints');
      const now = await shown();
      await stint.flush();
      save({ shown: now, problems: stint.problems });
      assert.deepEqual(now, want.shown);
    });
  },

  resume() {
    test('Resume in a fresh window restores exactly what was captured', async function () {
      this.timeout(60000);
      const stint = await api();
      const want = expected();
      assert.equal(vscode.window.tabGroups.all.flatMap((g) => g.tabs).length, 0, 'a fresh window');
      const started = Date.now();
      const restored = await vscode.commands.executeCommand<{ opened: number } | undefined>('stint.resume', want.session);
      const took = Date.now() - started;
      assert.ok(restored, 'the resume ran');
      await eventually(() => vscode.debug.breakpoints.length === want.shown.breakpoints.length, 'the breakpoints');
      const now = await shown();
      // What the window recorded last is what it shows (shown() moved the focus about).
      await stint.flush();
      save({ shown: now, took_ms: took });
      assert.deepEqual(now, want.shown);
    });
  },
};

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 30000 });
  mocha.suite.emit('pre-require', globalThis, 'suite', mocha);
  const define = phases[phase];
  if (!define) return Promise.reject(new Error(`no test phase ${phase} (STINT_TEST_PHASE)`));
  suite(phase, define);
  return new Promise((resolve, reject) => {
    mocha.run((failures: number) => (failures ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
  });
}
