// Component tests of the UI: the built app (ui/dist) in headless Chromium,
// with the Rust side replaced by an in-memory backend (mock-backend.ts,
// installed with Tauri's mockIPC). Each test seeds that backend, drives the
// page like a user and checks both what is shown and which commands ran.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' };

const mock = buildSync({
  entryPoints: [join(here, 'mock-backend.ts')],
  bundle: true,
  write: false,
  format: 'iife',
  target: 'es2022',
}).outputFiles[0].text;

let server;
let base;
let browser;

before(async () => {
  server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    try {
      const body = await readFile(join(dist, path === '/' ? 'index.html' : path));
      res.writeHead(200, { 'content-type': types[extname(path) || '.html'] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

const hoursAgo = (h) => new Date(Date.now() - h * 3600e3).toISOString();

/** A page of the app over a backend seeded with `seed`. */
async function open(seed = {}, viewport = { width: 1180, height: 760 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.addInitScript(mock);
  await page.addInitScript((seed) => {
    const { backend, session } = window.stint;
    backend.state.sessions = (seed.sessions ?? []).map(session);
    for (const [k, v] of Object.entries(seed)) {
      if (k === 'hold') backend.hold = v;
      else if (k !== 'sessions') backend.state[k] = v;
    }
  }, seed);
  await page.goto(base);
  await page.waitForSelector('[data-nav="sessions"]');
  page.errors = errors;
  return page;
}

const calls = (page, cmd) =>
  page.evaluate((cmd) => window.stint.backend.calls.filter((c) => c.cmd === cmd).map((c) => c.args), cmd);
const rowNames = (page) => page.$$eval('.session-row .name', (rows) => rows.map((r) => r.textContent));

const three = [
  { id: 'a', name: 'Fix the login bug', workspace_path: '/src/api', tags: ['auth'], updated_at: hoursAgo(5), last_accessed_at: hoursAgo(5),
    memory: { facts: [{ text: 'tokens rotate on refresh', rationale: null, created_at: hoursAgo(5) }], decisions: [] } },
  { id: 'b', name: 'Refactor sync', workspace_path: '/src/engine', tags: ['sync'], updated_at: hoursAgo(1), last_accessed_at: hoursAgo(1) },
  { id: 'c', name: 'Old spike', workspace_path: '/src/api', tags: [], status: 'archived', updated_at: hoursAgo(48), last_accessed_at: hoursAgo(48) },
];

describe('session list', () => {
  test('recent first, archived hidden until asked', async () => {
    const page = await open({ sessions: three });
    await page.waitForSelector('.session-row');
    assert.deepEqual(await rowNames(page), ['Refactor sync', 'Fix the login bug']);
    await page.check('text=Archived');
    assert.deepEqual(await rowNames(page), ['Refactor sync', 'Fix the login bug', 'Old spike']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('search, workspace and tag filters', async () => {
    const page = await open({ sessions: three });
    await page.waitForSelector('.session-row');
    const check = async (action, expected) => {
      await action();
      assert.deepEqual(await rowNames(page), expected);
    };
    await check(() => page.fill('[data-testid=search]', 'refresh'), ['Fix the login bug']); // a note's text
    await check(() => page.fill('[data-testid=search]', ''), ['Refactor sync', 'Fix the login bug']);
    await check(() => page.selectOption('[data-testid=filter-workspace]', '/src/engine'), ['Refactor sync']);
    await check(() => page.selectOption('[data-testid=filter-workspace]', ''), ['Refactor sync', 'Fix the login bug']);
    await check(() => page.selectOption('[data-testid=filter-tag]', 'auth'), ['Fix the login bug']);
    await page.close();
  });

  test('keyboard: / searches, j moves, Enter opens, Escape comes back', async () => {
    const page = await open({ sessions: three });
    await page.waitForSelector('.session-row');
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=session-name]');
    assert.equal(await page.textContent('[data-testid=session-name]'), 'Fix the login bug');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=search]');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'search');
    await page.close();
  });

  test('new session: started through start_session; a refused one says why and stays', async () => {
    const page = await open({ sessions: [] });
    await page.click('[data-testid=new-session]');
    await page.fill('input[name=name]', 'Try the new cache');
    await page.fill('input[name=workspace]', 'relative/path');
    await page.click('text=Start');
    await page.waitForSelector('[data-testid=toast]');
    assert.match(await page.textContent('[data-testid=toast]'), /absolute path/);
    await page.fill('input[name=workspace]', '/src/cache');
    await page.fill('input[name=tags]', 'perf, cache');
    await page.click('text=Start');
    await page.waitForSelector('[data-testid=session-name]');
    assert.equal(await page.textContent('[data-testid=session-name]'), 'Try the new cache');
    assert.deepEqual(await calls(page, 'start_session'), [
      { session: { name: 'Try the new cache', workspace: 'relative/path', tags: [] } },
      { session: { name: 'Try the new cache', workspace: '/src/cache', tags: ['perf', 'cache'] } },
    ]);
    await page.close();
  });

  test('news from the app (a CLI command, another device) shows without a reload', async () => {
    const page = await open({ sessions: [three[0]] });
    await page.waitForSelector('.session-row');
    await page.evaluate(() => {
      const { backend, session } = window.stint;
      backend.state.sessions.push(session({ name: 'Made on the laptop' }));
      return backend.news({ kind: 'changed' });
    });
    await page.waitForSelector('text=Made on the laptop');
    assert.deepEqual(await rowNames(page), ['Made on the laptop', 'Fix the login bug']);
    await page.close();
  });

  test('10,000 sessions: the most recent show before all are read', async () => {
    const many = Array.from({ length: 10000 }, (_, i) => {
      const at = hoursAgo(i / 100);
      return { name: `session ${i}`, updated_at: at, last_accessed_at: at };
    });
    const page = await open({ sessions: many, hold: ['list_sessions'] });
    await page.waitForSelector('.session-row');
    const first = await rowNames(page);
    assert.equal(first.length, 50, 'a screenful first');
    assert.deepEqual(first.slice(0, 3), ['session 0', 'session 1', 'session 2']);
    assert.equal(await page.textContent('.sidebar .count'), '10000');
    assert.equal(await page.textContent('[data-testid=reading-all]'), 'Reading all 10000 sessions…');
    await page.evaluate(() => {
      window.stint.backend.hold = [];
      window.stint.backend.release('list_sessions');
    });
    await page.waitForSelector('[data-testid=reading-all]', { state: 'detached' });
    // Read in answers of 1,000, each after the last one's last session.
    const reads = await calls(page, 'list_sessions');
    assert.equal(reads.length, 11);
    assert.deepEqual(reads.map((r) => r.filter.before === null), [true, ...Array(10).fill(false)]);
    const all = await rowNames(page);
    assert.equal(all.length, 200);
    assert.deepEqual(all.slice(0, 50), first, 'the same rows on top once all are read');
    assert.equal(await page.textContent('.sidebar .count'), '10000');
    await page.close();
  });

  test('10,000 sessions: the first page is drawn, the rest on demand', async () => {
    const many = Array.from({ length: 10000 }, (_, i) => ({ name: `session ${i}`, updated_at: hoursAgo(i / 100) }));
    const page = await open({ sessions: many });
    await page.waitForSelector('.session-row');
    assert.equal((await rowNames(page)).length, 200);
    assert.equal(await page.textContent('.sidebar .count'), '10000');
    await page.click('text=Show more');
    assert.equal((await rowNames(page)).length, 400);
    await page.close();
  });
});

describe('session page', () => {
  const full = {
    id: 's', name: 'Auth rewrite', workspace_path: '/src/api', tags: ['auth', 'backend'],
    editor_state: { open_tabs: [
      { file_path: 'src/login.rs', cursor: { line: 42, column: 7 }, selections: [], scroll_top: 0, is_pinned: false },
      { file_path: 'src/token.rs', cursor: { line: 3, column: 1 }, selections: [], scroll_top: 0, is_pinned: false },
    ], active_tab_index: 0, layout: 'single', editor: 'Neovim 0.7.2', device: 'ada-laptop' },
    terminal_state: { cwd: '/src/api/tests', command_history: ['cargo test', 'git status'], environment_vars: {} },
    breakpoints: [{ file_path: 'src/login.rs', line: 40, condition: 'attempts > 3', enabled: true }],
    memory: { facts: [], decisions: [{ text: 'Use Argon2id', rationale: 'OWASP', created_at: hoursAgo(1) }] },
  };
  const files = { s: [{ id: 'f1', file_path: 'src/login.rs', file_size: 2048, checksum: 'ab'.repeat(32), modified_at: hoursAgo(2), updated_at: hoursAgo(2) }] };

  test('shows files and cursors, terminal, breakpoints, notes, and files with checksums', async () => {
    const page = await open({ sessions: [full], files });
    await page.click('text=Auth rewrite');
    await page.waitForSelector('[data-testid=open-files]');
    const text = await page.textContent('[data-testid=session-page]');
    assert.equal(await page.textContent('[data-testid=captured-by]'), 'Captured in Neovim 0.7.2 on ada-laptop');
    for (const expected of ['src/login.rs', 'line 42, col 7', '/src/api/tests', 'git status', 'attempts > 3', 'Use Argon2id', 'OWASP', '#auth']) {
      assert.ok(text.includes(expected), `the page shows ${expected}`);
    }
    await page.click('[data-tab=files]');
    await page.waitForSelector('[data-testid=files]');
    assert.match(await page.textContent('[data-testid=files]'), /src\/login\.rs.*2\.0 KB.*abababababababab/s);
    await page.close();
  });

  test('rename, tag, note, archive: each one update_session with its change', async () => {
    const page = await open({ sessions: [full] });
    await page.click('text=Auth rewrite');
    await page.click('[data-testid=rename]');
    await page.fill('[data-testid=rename-input]', 'Auth rewrite v2');
    await page.press('[data-testid=rename-input]', 'Enter');
    await page.waitForSelector('text=Auth rewrite v2');
    await page.fill('[data-testid=tag-input]', 'security');
    await page.press('[data-testid=tag-input]', 'Enter');
    await page.waitForSelector('text=#security');
    await page.fill('[data-testid=note-input]', 'Refresh tokens are single use');
    await page.press('[data-testid=note-input]', 'Enter');
    await page.waitForSelector('text=Refresh tokens are single use');
    await page.click('[data-testid=archive]');
    await page.waitForSelector('text=Unarchive');
    assert.deepEqual((await calls(page, 'update_session')).map((c) => c.changes), [
      [{ name: 'Auth rewrite v2' }], [{ add_tag: 'security' }], [{ fact: 'Refresh tokens are single use' }], [{ status: 'archived' }],
    ]);
    await page.close();
  });

  test('a recorded command can be forgotten: its position and text are sent, the rest stay', async () => {
    const many = { ...full, terminal_state: { ...full.terminal_state, command_history: Array.from({ length: 40 }, (_, i) => `cmd ${i + 1}`) } };
    const page = await open({ sessions: [many] });
    await page.click('text=Auth rewrite');
    await page.waitForSelector('[data-testid=history]');
    assert.equal(await page.$$eval('[data-testid=history] li', (l) => l.length), 30, 'the last 30 first');
    await page.click('[data-testid=all-history]');
    await page.waitForSelector('[data-forget-command="1"]');
    await page.click('[data-forget-command="12"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=history] li').length === 39);
    assert.deepEqual((await calls(page, 'update_session')).map((c) => c.changes), [[{ forget_command: [11, 'cmd 12'] }]]);
    const shown = await page.$$eval('[data-testid=history] li code', (l) => l.map((c) => c.textContent));
    assert.ok(!shown.includes('cmd 12') && shown.includes('cmd 11') && shown.includes('cmd 13'));
    await page.close();
  });

  test('fork shows the new session, and the parent lists it in its fork tree', async () => {
    const page = await open({ sessions: [full] });
    await page.click('text=Auth rewrite');
    await page.click('[data-testid=fork]');
    await page.fill('[data-testid=fork-name]', 'Auth with passkeys');
    await page.press('[data-testid=fork-name]', 'Enter');
    await page.waitForSelector('text=forked from');
    assert.equal(await page.textContent('[data-testid=session-name]'), 'Auth with passkeys');
    await page.click('button:has-text("Auth rewrite")');
    await page.click('[data-tab=related]');
    await page.waitForSelector('[data-testid=fork-tree]');
    assert.match(await page.textContent('[data-testid=fork-tree]'), /Auth with passkeys/);
    await page.close();
  });

  test('conversations, and related sessions with the reason for each', async () => {
    const conversations = { s: [{
      conversation: { id: 'c1', title: 'Why do refresh tokens rotate?', status: 'active', message_count: 2, created_at: hoursAgo(1) },
      messages: { messages: [
        { id: 'm1', role: 'user', content: 'Why rotate refresh tokens?', created_at: hoursAgo(1) },
        { id: 'm2', role: 'assistant', content: 'So a stolen one is caught on reuse.', created_at: hoursAgo(1) },
      ], next: null },
    }] };
    const related = { s: [{ session: { ...three[0], id: 'a' }, shared_tags: ['auth'], same_workspace: true, reasons: ['shared tags: auth', 'same workspace'] }] };
    const page = await open({ sessions: [full, three[0]], conversations, related });
    await page.click('text=Auth rewrite');
    await page.click('[data-tab=conversations]');
    await page.waitForSelector('text=Why do refresh tokens rotate?');
    assert.match(await page.textContent('[data-testid=session-page]'), /assistant\s*So a stolen one is caught on reuse\./);
    await page.click('[data-tab=related]');
    await page.waitForSelector('[data-testid=related]');
    assert.match(await page.textContent('[data-testid=related]'), /Fix the login bug\s*— shared tags: auth; same workspace/);
    await page.close();
  });

  test('resume lists the commands that bring the workspace back', async () => {
    const page = await open({ sessions: [{ ...full, editor_state: { open_tabs: [], active_tab_index: null, layout: 'single' } }] });
    await page.click('text=Auth rewrite');
    await page.click('[data-testid=resume]');
    await page.waitForSelector('[data-testid=resume-panel]');
    assert.match(await page.textContent('[data-testid=resume-panel]'), /shell\s*cd \/src\/api/);
    assert.deepEqual(await calls(page, 'resume_session'), [{ id: 's' }]);
    await page.close();
  });

  test('resume goes to the editor window open on the workspace, when one is', async () => {
    const windows = [{ editor: 'Visual Studio Code 1.96.0', folder: '/src/api' }];
    const page = await open({ sessions: [full], windows });
    await page.click('text=Auth rewrite');
    await page.click('[data-testid=resume]');
    await page.waitForSelector('[data-testid=resumed-in]');
    assert.match(
      await page.textContent('[data-testid=resumed-in]'),
      /Resuming in Visual Studio Code 1\.96\.0, in its window on \/src\/api/,
    );
    assert.deepEqual(await calls(page, 'resume_in_window'), [{ id: 's' }]);
    // Resumed once: Open in VS Code is not offered to do it again.
    assert.match(await page.textContent('[data-testid=resume-panel]'), /vscode\s*code \/src\/api/);
    assert.equal(await page.$('[data-testid=open-vscode]'), null);
    await page.close();

    // No window on it: the panel alone, and Open in VS Code starts one.
    const page2 = await open({ sessions: [full], windows: [{ editor: 'Code', folder: '/elsewhere' }] });
    await page2.click('text=Auth rewrite');
    await page2.click('[data-testid=resume]');
    await page2.waitForSelector('[data-testid=resume-panel]');
    assert.equal(await page2.$('[data-testid=resumed-in]'), null);
    await page2.click('[data-testid=open-vscode]');
    await page2.waitForFunction(() => document.body.textContent.includes('Started: code'));
    assert.deepEqual(await calls(page2, 'resume_in_window'), [{ id: 's' }, { id: 's' }]);
    assert.deepEqual((await calls(page2, 'open_in_editor')).map((c) => c.tool), ['vscode']);
    await page2.close();
  });

  test('resume shows the preflight first: what differs here, or how to get a checkout', async () => {
    const pre = {
      session_id: 's', workspace_id: 'git:github.com/ada/api@903af048f9b2', folder: '/Users/ada/api', clone: null, same: 40,
      changed: ['src/main.rs'], missing: ['docs/a.md'], extra: [], unverified: ['.env'], hashed: 1, live: false,
      branch: ['main', 'experiment'], head: null, tabs: [], breakpoints: [],
      warnings: ['src/lib.rs changed and line 3 could not be found in it: it opens at the top'],
      summary: '/Users/ada/api: same content except 2 files (1 changed, 1 missing); branch experiment here, main in the session',
    };
    const page = await open({ sessions: [full], preflights: { s: pre } });
    await page.click('text=Auth rewrite');
    await page.click('[data-testid=resume]');
    const panel = await page.textContent('[data-testid=preflight]');
    assert.match(panel, /same content except 2 files \(1 changed, 1 missing\); branch experiment here/);
    assert.match(panel, /changed\s*src\/main\.rs/);
    assert.match(panel, /missing\s*docs\/a\.md/);
    assert.match(panel, /1 secret file\(s\) not compared/);
    assert.match(panel, /src\/lib\.rs changed and line 3 could not be found/);
    assert.match(await page.textContent('[data-testid=resume-panel]'), /shell\s*cd \/src\/api/);
    await page.close();

    // No checkout here: the clone to make, and no command to open a
    // folder that is not there.
    const none = { ...pre, folder: null, clone: 'git clone https://github.com/ada/api', summary: 'no checkout of this workspace here: git clone https://github.com/ada/api' };
    const page2 = await open({ sessions: [full], preflights: { s: none } });
    await page2.click('text=Auth rewrite');
    await page2.click('[data-testid=resume]');
    const panel2 = await page2.textContent('[data-testid=resume-panel]');
    assert.match(panel2, /clone\s*git clone https:\/\/github\.com\/ada\/api/);
    assert.doesNotMatch(panel2, /cd \/src\/api/);
    await page2.close();
  });

  test('delete asks first, then goes back to the list', async () => {
    const page = await open({ sessions: [full, three[1]] });
    await page.click('text=Auth rewrite');
    await page.click('[data-testid=delete]');
    assert.deepEqual(await calls(page, 'delete_session'), []);
    await page.click('[data-testid=confirm-delete]');
    await page.waitForSelector('[data-testid=search]');
    assert.deepEqual(await rowNames(page), ['Refactor sync']);
    await page.close();
  });

  test('an unknown session says so', async () => {
    const page = await open({ sessions: [full] });
    await page.evaluate(() => { window.stint.backend.state.sessions = []; });
    await page.click('text=Auth rewrite');
    await page.waitForSelector('text=no session s');
    await page.close();
  });
});

describe('conflicts', () => {
  const account = { server: 'http://127.0.0.1:1', user: { id: 'u', email: 'ada@example.com' }, tenant: { id: 't', name: 'Personal' }, role: 'owner' };
  const conflict = { id: 'k1', kind: 'workspace_session', record_id: 'a', fields: { name: 'Fix login (laptop)' }, device_id: 'dev-2', created_at: hoursAgo(0.1) };

  for (const [button, takeMine, name] of [['take-other', true, 'Fix login (laptop)'], ['keep-current', false, 'Fix the login bug']]) {
    test(`both versions side by side; ${button} settles it`, async () => {
      const page = await open({ sessions: [three[0]], account, conflicts: [conflict] });
      assert.equal(await page.textContent('[data-testid=conflict-badge]'), '1');
      await page.click('[data-nav=conflicts]');
      await page.waitForSelector('[data-testid=conflict] [data-testid=kept]:has-text("Fix the login bug")');
      assert.equal((await page.textContent('[data-testid=set-aside]')).trim(), 'Fix login (laptop)');
      await page.click(`[data-testid=${button}]`);
      await page.waitForSelector('[data-testid=no-conflicts]');
      assert.deepEqual(await calls(page, 'resolve_conflict'), [{ id: 'k1', take_mine: takeMine }]);
      assert.equal(await page.$('[data-testid=conflict-badge]'), null);
      assert.deepEqual(await rowNamesAfterNav(page), [name]);
      await page.close();
    });
  }

  async function rowNamesAfterNav(page) {
    await page.click('[data-nav=sessions]');
    await page.waitForSelector('.session-row');
    return rowNames(page);
  }
});

describe('account, status, settings', () => {
  test('sign in: a wrong password says why; the right one shows who and where', async () => {
    const page = await open();
    await page.click('[data-nav=account]');
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=sign-in-error]');
    assert.match(await page.textContent('[data-testid=sign-in-error]'), /wrong email or password/);
    await page.fill('input[name=password]', 'right password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=signed-in-as]');
    assert.equal(await page.textContent('[data-testid=signed-in-as]'), 'ada@example.com');
    assert.match(await page.textContent('.who'), /Personal · owner/);
    assert.equal(await page.textContent('[data-testid=online]'), 'Online');
    await page.close();
  });

  test('create an account: errors shown at their field, nothing created; then signed in', async () => {
    const page = await open({ accounts: ['taken@example.com'] });
    await page.click('[data-nav=account]');
    await page.click('[data-testid=to-create-account]');
    const submit = () => page.click('[data-testid=create-account] button[type=submit]');
    const fieldError = (name) => page.textContent(`[data-field-error=${name}]`);
    await page.fill('input[name=email]', 'not an email');
    await page.fill('input[name=password]', 'long enough');
    await page.fill('input[name=again]', 'long enough');
    await submit();
    assert.match(await fieldError('email'), /email address/);
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=password]', 'short');
    await page.fill('input[name=again]', 'short');
    await submit();
    assert.match(await fieldError('password'), /at least 8/);
    assert.equal(await page.$('[data-field-error=email]'), null, 'the fixed field is clear');
    await page.fill('input[name=password]', 'long enough');
    await submit();
    assert.match(await fieldError('again'), /differ/);
    assert.equal((await calls(page, 'register')).length, 2, 'mismatched passwords are not sent');
    await page.fill('input[name=email]', 'taken@example.com');
    await page.fill('input[name=again]', 'long enough');
    await submit();
    assert.match(await fieldError('email'), /exists/);
    assert.equal(await page.$('[data-testid=signed-in-as]'), null);
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=first_name]', 'Ada');
    await submit();
    await page.waitForSelector('[data-testid=signed-in-as]');
    assert.equal(await page.textContent('[data-testid=signed-in-as]'), 'ada@example.com');
    const sent = (await calls(page, 'register')).at(-1);
    assert.deepEqual(sent.request, { email: 'ada@example.com', password: 'long enough', first_name: 'Ada', last_name: '' });
    await page.close();
  });

  test('first run: the guide says what is recorded, how to hook the shell, where data lives', async () => {
    const page = await open();
    const guide = await page.textContent('[data-testid=first-run] [data-testid=guide]');
    assert.match(guide, /stint init bash/);
    assert.match(guide, /redacted/);
    assert.equal(await page.textContent('[data-testid=guide-data-dir]'), '/home/me/.local/share/stint');
    await page.click('[data-testid=guide-sign-in]');
    await page.waitForSelector('[data-testid=sign-in]');
    await page.click('[data-nav=guide]');
    await page.waitForSelector('[data-testid=guide]');
    await page.close();
  });

  test('sign out: back to a local-only device', async () => {
    const account = { server: 'http://x', user: { id: 'u', email: 'a@b.c' }, tenant: { id: 't', name: 'P' }, role: 'owner' };
    const page = await open({ account });
    await page.click('[data-nav=account]');
    await page.click('[data-testid=sign-out]');
    await page.waitForSelector('[data-testid=sign-in]');
    assert.equal(await page.$('[data-testid=signed-in-as]'), null);
    assert.match(await page.textContent('[data-testid=statusbar]'), /Local only/);
    assert.equal((await calls(page, 'logout')).length, 1);
    await page.close();
  });

  test('sync news: offline with the reason, then online again', async () => {
    const account = { server: 'http://x', user: { id: 'u', email: 'a@b.c' }, tenant: { id: 't', name: 'P' }, role: 'owner' };
    const page = await open({ account });
    await page.evaluate(() => window.stint.backend.news({ kind: 'synced', report: null, error: 'connection refused', code: 'unreachable' }));
    await page.waitForSelector('[data-testid=online]:has-text("Offline")');
    await page.evaluate(() => window.stint.backend.news({ kind: 'synced', report: { pushed: 0, pulled: 0, conflicts: 0, set_aside: 0, refetched: false }, error: null, code: null }));
    await page.waitForSelector('[data-testid=online]:has-text("Online")');
    await page.close();
  });

  test('indexing progress from watch news, as a progress bar', async () => {
    const page = await open({ sessions: [three[1]] });
    await page.evaluate(() => window.stint.backend.news({
      kind: 'watch', session_id: 'b', workspace: '/src/engine', state: 'indexing', files: 0, files_seen: 900,
      files_to_hash: 900, files_hashed: 300, bytes_to_hash: 4000000, bytes_hashed: 1000000, problems: [], message: null,
    }));
    await page.waitForSelector('[data-testid=indexing]');
    assert.match(await page.textContent('[data-testid=indexing]'), /engine: 300\/900 files, 1\.0 MB/);
    assert.equal(await page.getAttribute('[data-testid=indexing] progress', 'value'), '25');
    await page.close();
  });

  test('the theme setting is saved and applied', async () => {
    const page = await open();
    await page.click('[data-nav=settings]');
    await page.selectOption('[data-setting="theme.mode"] select', 'dark');
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    assert.deepEqual(await calls(page, 'set_setting'), [{ category: 'theme', key: 'mode', value: 'dark' }]);
    await page.close();
  });

  test('an app that could not open the replica says so', async () => {
    const page = await browser.newPage();
    await page.addInitScript(mock);
    await page.addInitScript(() => {
      window.stint.backend.fail.whoami = { code: 'not_owner', message: 'another Stint process is using the replica' };
    });
    await page.goto(base);
    await page.waitForSelector('[data-testid=fatal]');
    assert.match(await page.textContent('[data-testid=fatal]'), /another Stint process/);
    await page.close();
  });

  test('no layout break at 800×600', async () => {
    const page = await open({ sessions: three }, { width: 800, height: 600 });
    for (const nav of ['sessions', 'conflicts', 'settings', 'account']) {
      await page.click(`[data-nav=${nav}]`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${nav} overflows by ${overflow}px`);
    }
    await page.click('[data-nav=sessions]');
    await page.click('text=Fix the login bug');
    await page.waitForSelector('[data-testid=session-page]');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    await page.close();
  });
});

describe('window state', () => {
  test('the page shown is remembered, and the next start opens on it', async () => {
    const page = await open({ sessions: three });
    await page.click('text=Refactor sync');
    await page.waitForSelector('[data-testid=session-page]');
    const saved = await page.evaluate(() => window.stint.backend.state.window);
    assert.deepEqual(saved, { view: { name: 'session', id: 'b' } });
    await page.close();

    const reopened = await open({ sessions: three, window: saved });
    await reopened.waitForSelector('[data-testid=session-name]');
    assert.equal(await reopened.textContent('[data-testid=session-name]'), 'Refactor sync');
    await reopened.close();
  });

  test('a remembered session that is gone opens the list instead', async () => {
    const page = await open({ sessions: three, window: { view: { name: 'session', id: 'gone' } } });
    await page.waitForSelector('[data-testid=search]');
    assert.equal(await page.$('[data-testid=session-page]'), null);
    await page.close();
  });
});

describe('tenants', () => {
  test('switching tenant shows that tenant and its sessions only', async () => {
    const personal = { id: 't', name: 'Personal', tenant_type: 'personal' };
    const acme = { id: 'acme', name: 'Acme', tenant_type: 'organization' };
    const page = await open({
      sessions: [three[0], { ...three[1], tenant_id: 'acme' }],
      account: { server: 'http://x', user: { id: 'u', email: 'ada@example.com' }, tenant: personal, role: 'owner' },
      tenants: [{ tenant: personal, role: 'owner' }, { tenant: acme, role: 'member' }],
    });
    await page.click('[data-nav=account]');
    await page.click('[data-switch-tenant=acme]');
    await page.waitForSelector('.who:has-text("Acme · member")');
    assert.deepEqual(await calls(page, 'switch_tenant'), [{ id: 'acme' }]);
    await page.click('[data-nav=sessions]');
    assert.deepEqual(await rowNames(page), ['Refactor sync']);
    await page.close();
  });
});
