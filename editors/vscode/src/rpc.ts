// The device's local protocol (JSON-RPC 2.0, one message per line) through
// `stint rpc --agent`: it relays to the desktop app or `stint agent`, and
// starts the agent when neither runs, so this editor never holds the
// replica itself. Every method and its params and result are typed by the
// declaration generated from the Rust side (editors/protocol).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

import { PROTOCOL, type Method, type Notice, type Operations, type RpcError } from '../../protocol/stint-protocol';

/** This extension, as `hello` names it. */
export const CLIENT = 'stint-vscode 0.1.0';

/** After `stint rpc` stopped, it is not started again for this long. */
const RETRY_MS = 5000;
/** The longest a listening window waits before it starts `stint rpc` again. */
const MAX_RESTART_MS = 300000;

/** An error the owner answered, or why it could not be asked. */
export class StintError extends Error {
  constructor(
    message: string,
    /** JSON-RPC's code, or 0 when the owner was not reached. */
    readonly code: number,
    /** `data.kind` of a failed operation (`not_found`, `invalid`, …). */
    readonly kind: string | null = null,
  ) {
    super(message);
  }

  /** The session (or other record) named is not there. */
  get notFound(): boolean {
    return this.kind === 'not_found';
  }
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: StintError) => void;
}

/** One `stint rpc --agent` process, started at the first call and again
 * (after a pause) when it stops. */
export class Connection {
  private child: ChildProcessWithoutNullStreams | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private waiting = new Map<number, Waiting>();
  private retryAt = 0;
  private stderr = '';
  /** Set when `stint` cannot run at all: said once, not retried. */
  private missing: StintError | null = null;
  /** What this window listens as, said again at each start. */
  private listening: Operations['listen']['params'] | null = null;
  /** Whether the owner said it will send notices to this window. */
  private heard: Promise<boolean> = Promise.resolve(false);
  private restart: ReturnType<typeof setTimeout> | null = null;
  /** Restarts in a row that were not heard: each waits twice as long. */
  private unheard = 0;

  constructor(
    /** The `stint` program (the `stint.command` setting). */
    private readonly program: () => string,
    /** Told once when `stint` cannot be started, or stopped. */
    private readonly report: (message: string) => void,
    /** Told what the owner sends unasked (this window listens). */
    private readonly notice: (notice: Notice) => void = () => undefined,
  ) {}

  /** Listens as an editor window on `params.folders`: the owner may ask it
   * to resume a session (`stint session resume ID --open`, the desktop
   * app's Resume). Said again at every start of `stint rpc`, which starts
   * again by itself while this window listens. Whether the owner will
   * send notices. */
  listen(params: Operations['listen']['params']): Promise<boolean> {
    this.listening = params;
    if (this.ready) {
      this.heard = this.ready.then(() => this.send('listen', params) as Promise<boolean>).catch(() => false);
      return this.heard;
    }
    // Started here: the start says it (below).
    return this.start().then(() => this.heard, () => false);
  }

  /** Whether the owner will send notices to this window, once it said so. */
  get listened(): Promise<boolean> {
    return this.heard;
  }

  /** Calls `method` and waits for its result. */
  async call<M extends Method>(
    method: M,
    params: Operations[M]['params'],
  ): Promise<Operations[M]['result']> {
    await this.start();
    return (await this.send(method, params)) as Operations[M]['result'];
  }

  /** Whether a process is running now. */
  get running(): boolean {
    return this.child !== null;
  }

  /** Stops the process (the owner goes on). */
  dispose(): void {
    this.listening = null;
    if (this.restart) clearTimeout(this.restart);
    this.stop();
  }

  private stop(): void {
    this.child?.stdin.end();
    this.child?.kill();
    this.child = null;
  }

  private start(): Promise<void> {
    if (this.missing) return Promise.reject(this.missing);
    if (this.ready) return this.ready;
    if (Date.now() < this.retryAt) {
      return Promise.reject(new StintError('Stint is not reachable now: it starts again in a few seconds', 0));
    }
    const program = this.program();
    const child = spawn(program, ['rpc', '--agent'], { stdio: 'pipe' });
    this.child = child;
    this.stderr = '';
    createInterface({ input: child.stdout }).on('line', (line) => this.received(line));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          this.missing = new StintError(
            `\`${program}\` is not installed or not on PATH: install Stint (see its README), or set "stint.command"`,
            0,
          );
          this.report(this.missing.message);
          reject(this.missing);
        } else {
          reject(new StintError(`could not start ${program}: ${e.message}`, 0));
        }
      });
    });
    child.once('exit', (code, signal) => this.stopped(child, code, signal));
    this.ready = spawned
      .then(() => this.send('hello', { protocol: PROTOCOL, client: CLIENT }))
      .then(() => {
        // A restarted `stint rpc` is a new connection: the window listens again.
        if (this.listening) {
          this.heard = this.send('listen', this.listening).then(
            (yes) => {
              if (yes) this.unheard = 0;
              return yes as boolean;
            },
            () => false,
          );
        }
      })
      .catch((e: StintError) => {
        if (e.code === -32001) {
          // Another protocol version: nothing will work until one updates.
          this.missing = e;
          this.report(e.message);
        }
        this.stop();
        this.ready = null;
        throw e;
      });
    return this.ready;
  }

  private send(method: string, params: unknown): Promise<unknown> {
    const child = this.child;
    if (!child) return Promise.reject(new StintError('Stint is not running', 0));
    const id = this.nextId++;
    const message = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      child.stdin.write(message + '\n');
    });
  }

  private received(line: string): void {
    if (line.trim() === '') return;
    let message: { id?: number | null; result?: unknown; error?: RpcError };
    try {
      message = JSON.parse(line);
    } catch {
      this.report(`the protocol answered something else than JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (typeof message.id !== 'number') {
      const notice = message as unknown as Notice;
      if (message.id === undefined && typeof notice.method === 'string') this.notice(notice);
      return;
    }
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    this.waiting.delete(message.id);
    if (message.error) {
      const data = message.error.data as { kind?: string } | null | undefined;
      waiting.reject(new StintError(message.error.message, message.error.code, data?.kind ?? null));
    } else {
      waiting.resolve(message.result ?? null);
    }
  }

  private stopped(child: ChildProcessWithoutNullStreams, code: number | null, signal: string | null): void {
    if (this.child !== child && this.child !== null) return;
    this.child = null;
    this.ready = null;
    const why = this.stderr.trim() || (signal ? `signal ${signal}` : `exit ${code}`);
    for (const waiting of this.waiting.values()) {
      waiting.reject(new StintError(`\`stint rpc\` stopped: ${why}`, 0));
    }
    this.waiting.clear();
    if (code !== 0 && signal !== 'SIGTERM' && !this.missing) {
      this.retryAt = Date.now() + RETRY_MS;
      this.report(`\`stint rpc\` stopped (${why}); it starts again at the next change`);
    }
    this.heard = Promise.resolve(false);
    if (this.listening && !this.missing) {
      // A window that listens is reachable again without waiting for a
      // change; while no owner hears it, less and less often (at most
      // every 5 minutes).
      const wait = Math.min(RETRY_MS * 2 ** this.unheard, MAX_RESTART_MS);
      this.unheard++;
      this.restart = setTimeout(() => {
        this.restart = null;
        if (this.listening && !this.child) void this.listen(this.listening);
      }, wait + 50);
    }
  }
}
