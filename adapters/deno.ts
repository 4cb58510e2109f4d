/**
 * Deno adapter: servers on `Deno.listen`, and a browser-compatible `WebSocket` client on
 * `Deno.connect` / `Deno.startTls`.
 *
 * `wss:` servers run on Deno's `node:tls` (the Node adapter's server), not `Deno.listenTls`:
 * a `Deno.listenTls` connection closed before its TLS handshake finished keeps its TCP socket
 * open until the peer sends or closes (Deno 2.9: the handshake runs in a task of its own that
 * closing the connection does not cancel), so silent clients could hold file descriptors for as
 * long as they like. Measured with 50 silent clients: 24 -> 124 fds, still 126 after `close()`
 * of every connection, and none of the clients saw a close; through `node:tls` every one is
 * closed at `handshakeTimeout` and the fds come back to the baseline.
 *
 * @example An echo server
 * ```ts ignore
 * import { serve } from "@omniws/omniws/deno";
 * serve({ port: 9001 }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * ```
 *
 * @example A client
 * ```ts ignore
 * import { WebSocket } from "@omniws/omniws/deno";
 * const ws = new WebSocket("ws://127.0.0.1:9001/");
 * ws.onopen = () => ws.send("hello");
 * ```
 *
 * @module
 */

import { ReadGate, type Transport } from "./_driver.ts";
import { AdapterError, listenError } from "./_errors.ts";
import { joinParts } from "../core/connection.ts";
import {
  type ConnectionHandler,
  notListening,
  type ServeOptions as SessionServeOptions,
  ServerSessions,
  type WebSocketServer,
} from "./_session.ts";
import type { Connector, Dialed, TransportSink } from "./_client.ts";
import { type WebSocket as WebSocketClass, withConnector } from "./_websocket.ts";
import {
  streamWithConnector,
  type WebSocketStream as WebSocketStreamClass,
} from "./_websocket_stream.ts";

export type * from "./_types.ts";
export { WebSocketError } from "./_websocket_stream.ts";
export { AdapterError } from "./_errors.ts";

// The slice of Deno's API this adapter uses, declared structurally so the module type-checks
// without Deno's type package (the npm build compiles it too).
interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
  /** TLS connections: resolves once the handshake is done, rejects if it failed. */
  handshake?(): Promise<unknown>;
}
interface DenoListener {
  readonly addr: { hostname: string; port: number };
  accept(): Promise<DenoConn>;
  close(): void;
}
interface DenoNamespace {
  listen(options: { port: number; hostname?: string }): DenoListener;
  addSignalListener(signal: "SIGWINCH", handler: () => void): void;
  removeSignalListener(signal: "SIGWINCH", handler: () => void): void;
  connect(options: { hostname: string; port: number }): Promise<DenoConn>;
  startTls(conn: DenoConn, options: { hostname: string; caCerts?: string[] }): Promise<DenoConn>;
}

const deno = (): DenoNamespace => (globalThis as unknown as { Deno: DenoNamespace }).Deno;

/** Options of {@linkcode serve}. */
export interface ServeOptions extends SessionServeOptions {
  /** TCP port; 0 picks a free one. Default 9001. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** PEM certificate chain and key: serve `wss:`. */
  tls?: { cert: string; key: string };
}

/**
 * Serve WebSocket connections (and, with `http`, plain HTTP requests) on a TCP port.
 *
 * The server accepts until it is closed: a connection reset before it was accepted, or running
 * out of file descriptors, is reported to `onError` (`ERR_ACCEPT`) and accepting goes on (out of
 * file descriptors, after a pause of 10 ms doubling up to 1 s while it lasts).
 *
 * @param options Where to listen, TLS, limits, timeouts, the upgrade and HTTP hooks.
 * @param handler Called with each socket once its handshake completed.
 * @returns The running server. If the address cannot be bound (in use, not permitted), its
 *   `listening` rejects with an `AdapterError` `ERR_LISTEN` naming the address; nothing else
 *   reports it, so a program that never awaits `listening` ends with an unhandled rejection, as
 *   it ended with the exception before. Invalid options still throw.
 */
export function serve(options: ServeOptions, handler: ConnectionHandler): WebSocketServer {
  if (options.tls !== undefined) return serveTls(options, handler);
  const port = options.port ?? 9001;
  const hostname = options.hostname ?? "127.0.0.1";
  const sessions = new ServerSessions(options, handler);
  let listener: DenoListener;
  try {
    listener = deno().listen({ port, hostname });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw error;
    // Deno says "Address already in use (os error 98)"; listenError adds the code (EADDRINUSE).
    return notListening(listenError(hostname, port, error));
  }
  primeSignalHandling();
  const loop = new AcceptLoop(listener, sessions);
  return {
    listening: Promise.resolve({ hostname: listener.addr.hostname, port: listener.addr.port }),
    close: async (closeOptions) => {
      loop.stop();
      await Promise.all([loop.done, sessions.closeAll(closeOptions)]);
    },
    get connections() {
      return sessions.size;
    },
  };
}

/** The pause after accept failed for want of file descriptors: doubles up to the most. */
const FD_BACKOFF_MIN = 10;
const FD_BACKOFF_MAX = 1000;
/** Failures in a row retried at once before pausing too (a hot loop on an unknown error). */
const QUICK_RETRIES = 16;

/**
 * Accepts connections until stopped, whatever happens to a single one: Deno's listener rejects
 * `accept()` for a connection reset before it was accepted (`NotConnected`, `ConnectionReset`)
 * and when the process is out of file descriptors (EMFILE, ENFILE); neither may end the loop.
 */
class AcceptLoop {
  readonly done: Promise<void>;
  readonly #listener: DenoListener;
  readonly #sessions: ServerSessions;
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(listener: DenoListener, sessions: ServerSessions) {
    this.#listener = listener;
    this.#sessions = sessions;
    this.done = this.#run();
  }

  /** Close the listener and end the loop (at once, even while it pauses). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    this.#wake?.();
  }

  async #run(): Promise<void> {
    let backoff = 0;
    let failures = 0;
    while (!this.#stopped) {
      let conn: DenoConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopped) return;
        const name = error instanceof Error ? error.name : "";
        const gone = name === "BadResource" || name === "Interrupted";
        this.#sessions.report(
          new AdapterError(
            "ERR_ACCEPT",
            gone
              ? `Listener closed: ${(error as Error).message}`
              : `Cannot accept a connection: ${error instanceof Error ? error.message : error}`,
            { cause: error },
          ),
          null,
          null,
        );
        // Closed by someone else: nothing will ever be accepted again.
        if (gone) return;
        failures++;
        if (outOfFds(error)) {
          backoff = Math.min(Math.max(2 * backoff, FD_BACKOFF_MIN), FD_BACKOFF_MAX);
          await this.#pause(backoff);
        } else if (failures > QUICK_RETRIES) {
          await this.#pause(FD_BACKOFF_MIN);
        }
        continue;
      }
      backoff = 0;
      failures = 0;
      if (this.#stopped) {
        closeQuietly(conn);
        return;
      }
      try {
        conn.setNoDelay?.(true);
      } catch {
        // Reset already: the first read reports it.
      }
      const driver = this.#sessions.start(false);
      // The driver has the sink's methods: no forwarding closures per connection.
      driver.attach(new DenoTransport(conn, driver));
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

/**
 * Work around a Deno bug (2.9): the runtime sets up its signal handling (a socket pair) the
 * first time anything registers a signal listener, and panics if that fails — which, with no
 * listener registered before, happens during the run even in a bare accept loop, so a server
 * out of file descriptors died ("panicked at ext/signals/lib.rs:58: Too many open files").
 * Registering one listener while descriptors are free sets it up early; SIGWINCH, whose default
 * is to be ignored, and removed at once, so nothing changes for the application.
 */
function primeSignalHandling(): void {
  if (signalsPrimed) return;
  signalsPrimed = true;
  const noop = (): void => {};
  try {
    deno().addSignalListener("SIGWINCH", noop);
    deno().removeSignalListener("SIGWINCH", noop);
  } catch {
    // No signals here (Windows has no SIGWINCH listener before Deno 2.1; Deploy has none).
  }
}
let signalsPrimed = false;

/** Whether an error is the process (EMFILE) or the system (ENFILE) out of file descriptors. */
function outOfFds(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EMFILE" || code === "ENFILE") return true;
  const message = error instanceof Error ? error.message : String(error);
  return /too many open files|os error 2[34]\b/i.test(message);
}

function closeQuietly(conn: DenoConn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * A `wss:` server on Deno's `node:tls`, through the Node adapter, loaded on first use so that
 * plain servers and clients do not load Deno's Node compatibility modules. Options are checked
 * here, synchronously, as for a plain server.
 */
function serveTls(options: ServeOptions, handler: ConnectionHandler): WebSocketServer {
  new ServerSessions(options, handler); // throws on bad options, as serve() promises
  const server = import("./node.ts").then((node) => node.serve(options, handler));
  let started: WebSocketServer | null = null;
  server.then((s) => (started = s), () => {});
  return {
    listening: server.then((s) => s.listening),
    close: (closeOptions) => server.then((s) => s.close(closeOptions)),
    get connections() {
      return started?.connections ?? 0;
    },
  };
}

/** Deno's slice of a TCP connection a client dialed, or of its TLS connection. */
class DenoDialed implements Dialed {
  readonly conn: DenoConn;
  /** The TLS connection a `startTls` in progress made of this one: `close()` closes it too. */
  upgrading: DenoConn | null = null;
  #closed = false;

  constructor(conn: DenoConn) {
    this.conn = conn;
  }

  async read(): Promise<Uint8Array | null> {
    const buf = new Uint8Array(MAX_READ);
    const n = await this.conn.read(buf);
    return n === null ? null : buf.slice(0, n);
  }

  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.upgrading !== null) closeQuietly(this.upgrading);
    closeQuietly(this.conn);
  }
}

function denoDialed(dialed: Dialed): DenoDialed {
  if (dialed instanceof DenoDialed) return dialed;
  throw new TypeError("This connection was not dialed by the Deno adapter");
}

/**
 * Deno's client connections: `Deno.connect`, then `Deno.startTls` for `wss:` (or after a
 * proxy's exchange). Deno 2.9's TLS has no per-connection way to accept a certificate that does
 * not verify (`StartTlsOptions` has `caCerts` and `unsafelyDisableHostnameVerification` only),
 * so `rejectUnauthorized: false` is not honoured here: trust the certificate with `ca`, or run
 * with `--unsafely-ignore-certificate-errors`.
 */
const connector: Connector = {
  async dial({ hostname, port }) {
    let conn: DenoConn;
    try {
      conn = await deno().connect({ hostname, port });
    } catch (error) {
      throw new AdapterError(
        "ERR_CONNECT",
        `Cannot connect to ${hostname}:${port}: ${(error as Error).message}`,
        { cause: error, hostname, port },
      );
    }
    conn.setNoDelay?.(true);
    return new DenoDialed(conn);
  },

  async startTls(dialed, { hostname, port, ca }) {
    const raw = denoDialed(dialed);
    const caCerts = ca === undefined ? undefined : Array.isArray(ca) ? ca : [ca];
    try {
      // Deno.startTls resolves before the handshake; `handshake()` finishes it, or fails (an
      // unknown issuer: "invalid peer certificate: UnknownIssuer").
      const conn = await deno().startTls(raw.conn, { hostname, ...(caCerts ? { caCerts } : {}) });
      raw.upgrading = conn;
      await conn.handshake?.();
      raw.upgrading = null;
      return new DenoDialed(conn);
    } catch (error) {
      raw.close();
      const why = error instanceof Error ? error.message : String(error);
      throw new AdapterError(
        "ERR_TLS",
        `Cannot connect to ${hostname}:${port}: TLS handshake failed: ${why}`,
        { cause: error, hostname, port },
      );
    }
  },

  transport: (dialed, sink) => new DenoTransport(denoDialed(dialed).conn, sink),
};

/** A browser-compatible WebSocket client on Deno's sockets. */
export const WebSocket: typeof WebSocketClass = withConnector(connector);
/** A browser-compatible WebSocket client on Deno's sockets. */
export type WebSocket = WebSocketClass;
/** The stream-shaped client, with backpressure, on Deno's sockets. */
export const WebSocketStream: typeof WebSocketStreamClass = streamWithConnector(connector);
/** The stream-shaped client, with backpressure, on Deno's sockets. */
export type WebSocketStream = WebSocketStreamClass;

/**
 * Read buffer sizes. A pending read holds its buffer, so an idle connection costs one buffer:
 * reads start small and double while they fill the buffer, up to the largest.
 */
const MIN_READ = 512;
const MAX_READ = 64 * 1024;
/** Chunks smaller than this are gathered into one buffer per write. */
const GATHER_LIMIT = 16 * 1024;
/** Above this many buffered bytes, `drained` is reported once the buffer empties. */
const HIGH_WATER = 64 * 1024;

/** A Deno connection as a {@linkcode Transport}: serialised, gathered writes; pausable reads. */
class DenoTransport implements Transport {
  readonly #conn: DenoConn;
  readonly #sink: TransportSink;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #wantCloseWrite = false;
  #closed = false;
  readonly #gate = new ReadGate();
  /**
   * @param conn The connection.
   * @param sink Where reads and failures go.
   */
  constructor(conn: DenoConn, sink: TransportSink) {
    this.#conn = conn;
    this.#sink = sink;
    this.#readLoop();
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  write(chunks: Uint8Array[]): void {
    if (this.#closed) return;
    for (const c of chunks) {
      this.#queue.push(c);
      this.#queued += c.length;
    }
    if (!this.#writing) this.#flush();
  }

  closeWrite(): void {
    this.#wantCloseWrite = true;
    if (!this.#writing) this.#flush();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    this.resumeReading();
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  pauseReading(): void {
    this.#gate.pause();
  }

  resumeReading(): void {
    this.#gate.resume();
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(MIN_READ);
    try {
      while (!this.#closed) {
        const wait = this.#gate.open();
        if (wait !== null) await wait;
        if (this.#closed) break;
        const n = await this.#conn.read(buf);
        if (n === null) break;
        // The core keeps views into what it is given: a small read is copied out (and the buffer
        // read into again), a large one handed over with the buffer.
        if (n < buf.length / 2) {
          this.#sink.receive(buf.slice(0, n));
          if (n < buf.length / 8 && buf.length > MIN_READ) buf = new Uint8Array(buf.length / 2);
        } else {
          this.#sink.receive(buf.subarray(0, n));
          buf = new Uint8Array(n === buf.length ? Math.min(2 * buf.length, MAX_READ) : buf.length);
        }
      }
    } catch (error) {
      if (!this.#closed) {
        return this.#sink.fail(new Error(`Connection failed: ${(error as Error).message}`));
      }
    }
    if (!this.#closed) this.#sink.receiveEnd();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    const wasHigh = this.#queued > HIGH_WATER;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const buf = gather(this.#queue);
        let off = 0;
        while (off < buf.length) off += await this.#conn.write(buf.subarray(off));
        this.#queued -= buf.length;
      }
      if (this.#wantCloseWrite && !this.#closed) {
        this.#wantCloseWrite = false;
        await this.#conn.closeWrite();
      }
    } catch (error) {
      this.#writing = false;
      if (!this.#closed) this.#sink.fail(new Error(`Write failed: ${(error as Error).message}`));
      return;
    }
    this.#writing = false;
    if (wasHigh || this.#queued === 0) this.#sink.drained();
  }
}

/** Take the first chunk, or several small ones copied into one buffer. */
function gather(queue: Uint8Array[]): Uint8Array {
  let n = 0;
  let bytes = 0;
  while (n < queue.length && (n === 0 || bytes + queue[n].length <= GATHER_LIMIT)) {
    bytes += queue[n++].length;
  }
  return n === 1 ? queue.shift()! : joinParts(queue.splice(0, n), bytes);
}
