/**
 * Deno adapter: servers on `Deno.listen` / `Deno.listenTls`, and a browser-compatible
 * `WebSocket` client on `Deno.connect` / `Deno.connectTls`.
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

import type { Transport } from "./_driver.ts";
import {
  type ConnectionHandler,
  type ServeOptions as SessionServeOptions,
  ServerSessions,
  type WebSocketServer,
} from "./_session.ts";
import {
  type Connector,
  type TransportSink,
  type WebSocket as WebSocketClass,
  withConnector,
} from "./_websocket.ts";
import {
  streamWithConnector,
  type WebSocketStream as WebSocketStreamClass,
} from "./_websocket_stream.ts";

export type * from "./_types.ts";
export { WebSocketError } from "./_websocket_stream.ts";

// The slice of Deno's API this adapter uses, declared structurally so the module type-checks
// without Deno's type package (the npm build compiles it too).
interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}
interface DenoListener extends AsyncIterable<DenoConn> {
  readonly addr: { hostname: string; port: number };
  close(): void;
}
interface DenoNamespace {
  listen(options: { port: number; hostname?: string }): DenoListener;
  listenTls(options: { port: number; hostname?: string; cert: string; key: string }): DenoListener;
  connect(options: { hostname: string; port: number }): Promise<DenoConn>;
  connectTls(options: { hostname: string; port: number; caCerts?: string[] }): Promise<DenoConn>;
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
 * @param options Where to listen, TLS, limits, timeouts, the upgrade and HTTP hooks.
 * @param handler Called with each socket once its handshake completed.
 * @returns The running server.
 */
export function serve(options: ServeOptions, handler: ConnectionHandler): WebSocketServer {
  const port = options.port ?? 9001;
  const hostname = options.hostname ?? "127.0.0.1";
  const listener = options.tls === undefined
    ? deno().listen({ port, hostname })
    : deno().listenTls({ port, hostname, cert: options.tls.cert, key: options.tls.key });
  const secure = options.tls !== undefined;
  const sessions = new ServerSessions(options, handler);
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conn.setNoDelay?.(true);
        const driver = sessions.start(secure);
        // The driver has the sink's methods: no forwarding closures per connection.
        driver.attach(new DenoTransport(conn, driver));
      }
    } catch {
      // The listener was closed.
    }
  })();
  return {
    listening: Promise.resolve({ hostname: listener.addr.hostname, port: listener.addr.port }),
    close: async (closeOptions) => {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await Promise.all([accepting, sessions.closeAll(closeOptions)]);
    },
    get connections() {
      return sessions.size;
    },
  };
}

const connector: Connector = async (target, sink, tls) => {
  // The client's `tls: { ca }` option, named as on Node and Bun.
  const ca = (tls as { ca?: string | string[] } | undefined)?.ca;
  const caCerts = ca === undefined ? undefined : Array.isArray(ca) ? ca : [ca];
  let conn: DenoConn;
  try {
    conn = target.tls
      ? await deno().connectTls({
        hostname: target.hostname,
        port: target.port,
        ...(caCerts ? { caCerts } : {}),
      })
      : await deno().connect({ hostname: target.hostname, port: target.port });
  } catch (error) {
    throw new Error(
      `Cannot connect to ${target.hostname}:${target.port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  conn.setNoDelay?.(true);
  return new DenoTransport(conn, sink);
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
  #paused: (() => void) | null = null;
  #pauseRequested = false;

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
    this.#pauseRequested = true;
  }

  resumeReading(): void {
    this.#pauseRequested = false;
    const resume = this.#paused;
    this.#paused = null;
    resume?.();
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(MIN_READ);
    try {
      while (!this.#closed) {
        if (this.#pauseRequested) await new Promise<void>((resolve) => (this.#paused = resolve));
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
  if (n === 1) return queue.shift()!;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of queue.splice(0, n)) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
