#!/usr/bin/env node
// Runs one phase of the extension's tests (test/suite.ts) inside the real
// VS Code: code-server's server (installed in editors/vscode/host by
// scripts/install-deps.sh) with a throwaway user-data-dir, and its
// workbench in Debian's Chromium, headless. The workbench loads this
// extension from its folder and calls the suite's `run()` in the real
// Node extension host; the exit code comes back through
// `codeAutomationExit`. See ../shared/notes/vscode-extension-tests.md.
//
//   node test/run.mjs --folder WS --phase capture --out DIR [--expect F] [--screenshot PNG] [--stint BIN]
//
// The environment (STINT_DATA_DIR, PATH with `stint`) reaches the
// extension host through code-server's; so do STINT_TEST_PHASE,
// STINT_TEST_OUT and STINT_TEST_EXPECT.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const extension = path.resolve(here, '..');
const host = path.join(extension, 'host');
const require = createRequire(path.join(host, 'package.json'));

const { values: args } = parseArgs({
  options: {
    folder: { type: 'string' },
    phase: { type: 'string' },
    out: { type: 'string' },
    expect: { type: 'string' },
    screenshot: { type: 'string' },
    // The `stint` to run (the extension's `stint.command` setting): VS Code
    // builds the extension host's PATH from a login shell, not from ours.
    stint: { type: 'string', default: 'stint' },
    timeout: { type: 'string', default: '120' },
  },
});
if (!args.folder || !args.phase || !args.out) {
  console.error('usage: run.mjs --folder WS --phase NAME --out DIR [--expect FILE] [--screenshot PNG]');
  process.exit(2);
}
const codeServer = path.join(host, 'node_modules', '.bin', 'code-server');
if (!existsSync(codeServer)) {
  console.error(`no code-server in ${host}: run scripts/install-deps.sh (make deps)`);
  process.exit(2);
}
mkdirSync(args.out, { recursive: true });

const state = mkdtempSync(path.join(tmpdir(), 'stint-vscode-'));
mkdirSync(path.join(state, 'ud', 'User'), { recursive: true });
writeFileSync(
  path.join(state, 'ud', 'User', 'settings.json'),
  JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'extensions.autoCheckUpdates': false,
    'telemetry.telemetryLevel': 'off',
    'stint.command': args.stint,
  }),
);

const server = spawn(
  codeServer,
  [
    '--auth', 'none',
    '--bind-addr', '127.0.0.1:0',
    '--user-data-dir', path.join(state, 'ud'),
    '--extensions-dir', path.join(state, 'ext'),
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override',
  ],
  {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      HOME: state,
      XDG_CONFIG_HOME: path.join(state, 'xdg'),
      STINT_TEST_PHASE: args.phase,
      STINT_TEST_OUT: path.resolve(args.out),
      ...(args.expect ? { STINT_TEST_EXPECT: path.resolve(args.expect) } : {}),
    },
  },
);
let log = '';
const port = new Promise((resolve, reject) => {
  const seen = (chunk) => {
    log += chunk;
    const m = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    if (m) resolve(Number(m[1]));
  };
  server.stdout.on('data', seen);
  server.stderr.on('data', seen);
  server.once('exit', (code) => reject(new Error(`code-server exited (${code}):\n${log}`)));
});

let browser;
const stop = (code) => {
  try {
    process.kill(-server.pid, 'SIGKILL');
  } catch {}
  Promise.resolve(browser?.close())
    .catch(() => {})
    .finally(() => {
      rmSync(state, { recursive: true, force: true });
      process.exit(code);
    });
};
const timer = setTimeout(() => {
  console.error(`the ${args.phase} phase did not end in ${args.timeout} s\n--- code-server:\n${log}`);
  stop(3);
}, Number(args.timeout) * 1000);

try {
  const p = await port;
  const base = `http://127.0.0.1:${p}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 200) throw new Error('code-server did not answer /healthz');
    await new Promise((r) => setTimeout(r, 50));
  }
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
  await page.exposeFunction('codeAutomationLog', (_type, messages) => {
    for (const m of messages ?? []) console.log(typeof m === 'string' ? m : JSON.stringify(m));
  });
  const remote = (file) => `vscode-remote://127.0.0.1:${p}${file}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(extension)],
    ['extensionTestsPath', remote(path.join(extension, 'dist', 'test', 'suite.js'))],
  ]);
  await page.goto(`${base}/?folder=${encodeURIComponent(path.resolve(args.folder))}&payload=${encodeURIComponent(payload)}`);
  // The suite asks for a screenshot by a file in --out, and waits for the answer.
  const marker = path.join(args.out, 'screenshot-now');
  const shooting = (async () => {
    while (true) {
      if (existsSync(marker)) {
        rmSync(marker);
        if (args.screenshot) await page.screenshot({ path: args.screenshot });
        writeFileSync(path.join(args.out, 'screenshot-done'), '');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  void shooting;
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) console.error(`--- code-server:\n${log}`);
  stop(code);
} catch (e) {
  clearTimeout(timer);
  console.error(`${e.stack ?? e}\n--- code-server:\n${log}`);
  stop(1);
}
