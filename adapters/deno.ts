/**
 * Deno adapter: serve WebSockets on `Deno.listen`.
 *
 * @example An echo server
 * ```ts ignore
 * import { serve } from "@omniws/omniws/deno";
 * serve({ port: 9001, hostname: "127.0.0.1" }, (socket) => {
 *   socket.onmessage = (data) => socket.send(data);
 * });
 * ```
 *
 * @module
 */

import type { Transport } from "./_driver.ts";
import { type ServerSocket, type SessionOptions, startServerSession } from "./_session.ts";

export type { CloseInfo, ServerSocket, SessionOptions, UpgradeDecision } from "./_session.ts";

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
}

/** Options of {@linkcode serve}. */
export interface ServeOptions extends SessionOptions {
  /** TCP port; 0 picks a free one. Default 9001. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
}

/** A running server. */
export interface WebSocketServer {
  /** The address actually listened on. */
  readonly addr: { hostname: string; port: number };
  /** Stop accepting connections (open ones stay open). */
  close(): void;
  /** Resolves when the accept loop has ended. */
  readonly finished: Promise<void>;
}

const READ_SIZE = 64 * 1024;
/** Chunks smaller than this are gathered into one buffer per write. */
const GATHER_LIMIT = 16 * 1024;

/**
 * Serve WebSocket connections on a TCP port.
 *
 * @param options Where to listen, connection limits, timeouts and the upgrade hook.
 * @param handler Called with each socket once its handshake completed.
 * @returns The running server.
 */
export function serve(options: ServeOptions, handler: (socket: ServerSocket) => void): WebSocketServer {
  const deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno;
  const listener = deno.listen({ port: options.port ?? 9001, hostname: options.hostname ?? "127.0.0.1" });
  const finished = (async () => {
    try {
      for await (const conn of listener) runConnection(conn, options, handler);
    } catch {
      // The listener was closed.
    }
  })();
  return { addr: listener.addr, close: () => listener.close(), finished };
}

function runConnection(conn: DenoConn, options: SessionOptions, handler: (socket: ServerSocket) => void): void {
  conn.setNoDelay?.(true);
  const transport = new DenoTransport(conn);
  const driver = startServerSession(transport, options, handler);
  transport.onFailure = () => driver.receiveEnd();
  (async () => {
    try {
      for (;;) {
        const buf = new Uint8Array(READ_SIZE);
        const n = await conn.read(buf);
        if (n === null) break;
        // The core keeps views into what it is given: hand it memory nobody reuses.
        driver.receive(n < READ_SIZE / 2 ? buf.slice(0, n) : buf.subarray(0, n));
      }
    } catch {
      // Reset by the peer, or closed by us.
    }
    driver.receiveEnd();
  })();
}

/** Serialises writes on a Deno connection; gathers small chunks so one batch is one write. */
class DenoTransport implements Transport {
  onFailure: () => void = () => {};
  readonly #conn: DenoConn;
  #queue: Uint8Array[] = [];
  #writing = false;
  #wantCloseWrite = false;
  #closed = false;

  constructor(conn: DenoConn) {
    this.#conn = conn;
  }

  write(chunks: Uint8Array[]): void {
    if (this.#closed) return;
    for (const c of chunks) this.#queue.push(c);
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
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const buf = gather(this.#queue);
        let off = 0;
        while (off < buf.length) off += await this.#conn.write(buf.subarray(off));
      }
      if (this.#wantCloseWrite && !this.#closed) {
        this.#wantCloseWrite = false;
        await this.#conn.closeWrite();
      }
    } catch {
      this.#writing = false;
      if (!this.#closed) this.onFailure();
      return;
    }
    this.#writing = false;
  }
}

/** Take the first chunk, or several small ones copied into one buffer. */
function gather(queue: Uint8Array[]): Uint8Array {
  let n = 0;
  let bytes = 0;
  while (n < queue.length && (n === 0 || bytes + queue[n].length <= GATHER_LIMIT)) bytes += queue[n++].length;
  if (n === 1) return queue.shift()!;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of queue.splice(0, n)) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
