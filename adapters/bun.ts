/**
 * Bun adapter: servers on `Bun.listen` (TCP or TLS), and a browser-compatible `WebSocket` client
 * on `Bun.connect` (and `upgradeTLS` for `wss:`).
 *
 * Bun's sockets are callback based: one handler object per listener receives `open`, `data`,
 * `drain`, `end` and `close` for every connection, and `socket.write()` hands to the kernel what
 * it takes right now and returns that count. This adapter keeps the rest in its own queue, in
 * order, and goes on when Bun reports `drain`; small chunks are gathered so that what the core
 * produced for one read leaves in one `write` call. What Bun measured (1.4):
 *
 * - `write()` is partial under a slow reader (about 4 MB fit on loopback, then 0): the remainder
 *   waits here, in order, and counts in `bufferedAmount`; each `drain` writes on and wakes the
 *   writers waiting for room (`drained()`, `WebSocketStream` writes).
 * - Each `data` buffer is fresh memory of its own (a new `ArrayBuffer` per call, never reused,
 *   TCP and TLS), so it is handed to the core without a copy; `tests/bun_adapter_test.ts` pins it.
 * - `pause()` / `resume()` stop and restart reading, so the peer's sends stall (TCP backpressure).
 * - `end()` closes both directions at once; `shutdown()` sends a FIN and keeps reading, which is
 *   the graceful half-close the closing handshake wants. Sockets are opened with
 *   `allowHalfOpen: true` so that the adapter, not Bun, decides when to close after the peer's FIN.
 *
 * @example An echo server
 * ```ts ignore
 * import { serve } from "@omniws/omniws/bun";
 * const server = serve({ port: 9001 }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * console.log(await server.listening); // { hostname: "127.0.0.1", port: 9001 }
 * ```
 *
 * @example A client
 * ```ts ignore
 * import { WebSocket } from "@omniws/omniws/bun";
 * const ws = new WebSocket("ws://127.0.0.1:9001/");
 * ws.onopen = () => ws.send("hello");
 * ws.onmessage = (e) => {
 *   console.log(e.data);
 *   ws.close();
 * };
 * ```
 *
 * @example Streams with backpressure: a slow reader pauses the socket
 * ```ts ignore
 * import { WebSocketStream } from "@omniws/omniws/bun";
 * const wss = new WebSocketStream("ws://127.0.0.1:9001/");
 * const { readable, writable } = await wss.opened;
 * await writable.getWriter().write("hello");
 * for await (const message of readable) console.log(message);
 * ```
 *
 * @example A `wss:` server and a client trusting its certificate
 * ```ts ignore
 * import { serve, WebSocket } from "@omniws/omniws/bun";
 * const cert = await Bun.file("cert.pem").text();
 * const key = await Bun.file("key.pem").text();
 * serve({ port: 9443, tls: { cert, key } }, (socket) => socket.send("hi"));
 * const ws = new WebSocket("wss://localhost:9443/", [], { tls: { ca: cert } });
 * ```
 *
 * @module
 */

import type { Transport } from "./_driver.ts";
import { AdapterError, listenError } from "./_errors.ts";
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

// The slice of Bun's API this adapter uses, declared structurally so the module type-checks
// without bun-types (and loads, without running, on Deno and Node).
interface BunSocket {
  /** What `Bun.connect({ data })` set, or what the adapter stored at `open`. */
  data: SocketOwner | undefined;
  /** Bytes handed to the kernel (or TLS), possibly fewer than given; -1 once closed. */
  write(data: Uint8Array): number;
  /** Half-close: send a FIN, keep reading. */
  shutdown(halfClose?: boolean): void;
  /** Close gracefully (both directions). */
  end(): void;
  /** Close at once. */
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  /** Start TLS over this socket: the raw socket and the TLS socket (Bun 1.4). */
  upgradeTLS(options: {
    data: SocketOwner;
    tls: BunClientTls;
    socket: BunSocketHandler;
  }): [BunSocket, BunSocket];
}
/** What a socket reports to: its transport, or a client's connection being opened. */
interface SocketOwner {
  opened(s: BunSocket): void;
  onData(chunk: Uint8Array): void;
  flush(onDrain?: boolean): void;
  onEnd(): void;
  onClose(error?: Error): void;
  onError(error: Error): void;
  onHandshake(s: BunSocket, success: boolean, authorizationError: Error | null): void;
}
interface BunSocketHandler {
  open?(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain?(socket: BunSocket): void;
  end?(socket: BunSocket): void;
  close?(socket: BunSocket, error?: Error): void;
  error?(socket: BunSocket, error: Error): void;
  handshake?(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
}
interface BunListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}
interface BunNamespace {
  listen(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    tls?: { cert: string; key: string };
    socket: BunSocketHandler;
  }): BunListener;
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    data?: SocketOwner;
    socket: BunSocketHandler;
  }): Promise<BunSocket>;
}

const bun = (): BunNamespace => (globalThis as unknown as { Bun: BunNamespace }).Bun;

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
 * Bun calls `open` at the TCP accept, before a TLS handshake, so the session's
 * `handshakeTimeout` covers the TLS handshake too: a silent or slow TLS client is closed when it
 * runs out (measured at a 2 s timeout: every silent and half-ClientHello client closed by 2.1 s,
 * fds back to the baseline).
 *
 * @param options Where to listen, TLS, limits, timeouts, the upgrade and HTTP hooks.
 * @param handler Called with each socket once its handshake completed.
 * @returns The running server. If the address cannot be bound (in use, not permitted), its
 *   `listening` rejects with an `AdapterError` `ERR_LISTEN` naming the address; nothing else
 *   reports it, so a program that never awaits `listening` ends with an unhandled rejection, as
 *   it ended with the exception before. Invalid options (a port out of range) still throw.
 */
export function serve(options: ServeOptions, handler: ConnectionHandler): WebSocketServer {
  const secure = options.tls !== undefined;
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 9001;
  const sessions = new ServerSessions(options, handler);
  const socket: BunSocketHandler = {
    ...HANDLER,
    open(s) {
      s.setNoDelay?.(true);
      const driver = sessions.start(secure);
      // The driver has the sink's methods: no forwarding closures per connection.
      const transport = new BunTransport(driver);
      transport.opened(s);
      driver.attach(transport);
    },
  };
  let listener: BunListener;
  try {
    listener = bun().listen({
      hostname,
      port,
      allowHalfOpen: true,
      ...(secure ? { tls: { cert: options.tls!.cert, key: options.tls!.key } } : {}),
      socket,
    });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw error;
    // Bun says "Failed to listen at HOST" and keeps the reason in `code` (EADDRINUSE).
    return notListening(listenError(hostname, port, error));
  }
  let stopped: Promise<void> | null = null;
  return {
    listening: Promise.resolve({ hostname: listener.hostname, port: listener.port }),
    close: (closeOptions) => {
      // Stop accepting, then close the open connections with a closing handshake.
      stopped ??= Promise.resolve().then(() => {
        listener.stop(false);
        return sessions.closeAll(closeOptions);
      });
      return stopped;
    },
    get connections() {
      return sessions.size;
    },
  };
}

/** Bun's TLS options of a client socket. */
interface BunClientTls {
  serverName: string;
  ca?: string | string[];
  rejectUnauthorized?: boolean;
}

/**
 * A Bun socket a client dialed (or upgraded to TLS), not yet driven: the socket's `data` until
 * a transport takes it over. It settles the step under way (connect or TLS handshake), keeps
 * what arrives for `read` (reading pauses while a chunk waits), and writes on at each `drain`.
 */
class BunDialed implements Dialed, SocketOwner {
  socket: BunSocket | null = null;
  /** The step under way: `dial`'s connect or `startTls`'s handshake. */
  settling: { resolve(d: BunDialed): void; reject(reason: Error): void } | null = null;
  /** A TLS handshake is the step under way (its failures are TLS failures). */
  readonly tls: boolean;
  /** Upgraded to TLS: the TLS socket's own handle reports from now on. */
  #handedOver = false;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | null = null;
  #reader: { resolve(c: Uint8Array | null): void; reject(e: Error): void } | null = null;
  #writes: { bytes: Uint8Array; resolve(): void; reject(e: Error): void }[] = [];

  constructor(tls: boolean) {
    this.tls = tls;
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    this.socket?.resume();
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#error !== null) return Promise.reject(this.#error);
    return new Promise<void>((resolve, reject) => {
      this.#writes.push({ bytes, resolve, reject });
      if (this.#writes.length === 1) this.flush();
    });
  }

  close(): void {
    this.#handedOver = true;
    this.#fail(new Error("Connection closed"));
    try {
      this.socket?.terminate();
    } catch {
      // Already closed.
    }
  }

  /** Stop reporting: the socket is upgraded to TLS, or a transport takes it over. */
  handOver(): Uint8Array[] {
    this.#handedOver = true;
    const rest = this.#chunks;
    this.#chunks = [];
    return rest;
  }

  opened(s: BunSocket): void {
    this.socket = s;
  }

  onHandshake(s: BunSocket, success: boolean, authorizationError: Error | null): void {
    if (this.settling === null) return;
    if (success) {
      const pending = this.settling;
      this.settling = null;
      this.socket = s;
      return pending.resolve(this);
    }
    const reason = authorizationError?.message ?? "unknown error";
    this.#settleFailed(new Error(`TLS handshake failed: ${reason}`, { cause: authorizationError }));
    try {
      s.terminate();
    } catch {
      // Already closed.
    }
  }

  onData(chunk: Uint8Array): void {
    if (this.#handedOver) return;
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const reader = this.#reader;
    this.#reader = null;
    if (reader !== null) return reader.resolve(bytes);
    this.#chunks.push(bytes);
    this.socket?.pause();
  }

  flush(): void {
    const s = this.socket;
    if (s === null || this.#handedOver) return;
    while (this.#writes.length > 0) {
      const w = this.#writes[0];
      const n = s.write(w.bytes);
      if (n < 0) return this.#fail(new Error("Connection closed"));
      if (n < w.bytes.length) {
        w.bytes = w.bytes.subarray(n);
        return;
      }
      this.#writes.shift();
      w.resolve();
    }
  }

  onEnd(): void {
    if (this.settling !== null) {
      return this.#settleFailed(new Error("Connection closed during the TLS handshake"));
    }
    if (this.#handedOver) return;
    this.#ended = true;
    const reader = this.#reader;
    this.#reader = null;
    reader?.resolve(null);
  }

  onClose(error?: Error): void {
    if (this.settling !== null) {
      return this.#settleFailed(error ?? new Error("Connection closed during the TLS handshake"));
    }
    if (this.#handedOver) return;
    if (error !== undefined && error !== null) this.#fail(error);
    else this.onEnd();
    this.#handedOver = true;
  }

  onError(error: Error): void {
    if (this.settling !== null) return this.#settleFailed(error);
    if (!this.#handedOver) this.#fail(error);
  }

  /** The step under way failed: its promise rejects, with Bun's error code in the message. */
  #settleFailed(error: unknown): void {
    const pending = this.settling;
    this.settling = null;
    this.#handedOver = true;
    if (pending === null) return;
    const e = error instanceof Error ? error : new Error(String(error));
    const code = (e as { code?: unknown }).code;
    pending.reject(
      typeof code === "string" && !e.message.includes(code)
        ? new Error(`${e.message} (${code})`, { cause: e })
        : e,
    );
  }

  #fail(error: Error): void {
    this.#error ??= error;
    const reader = this.#reader;
    this.#reader = null;
    reader?.reject(error);
    for (const w of this.#writes.splice(0)) w.reject(error);
  }
}

function bunDialed(dialed: Dialed): BunDialed {
  if (dialed instanceof BunDialed) return dialed;
  throw new TypeError("This connection was not dialed by the Bun adapter");
}

/** Settle a step of `dialed` (`where` names the address), as an `AdapterError` if it fails. */
function settle(dialed: BunDialed, hostname: string, port: number): Promise<BunDialed> {
  return new Promise<BunDialed>((resolve, reject) => {
    dialed.settling = {
      resolve,
      reject: (reason) =>
        reject(
          new AdapterError(
            dialed.tls ? "ERR_TLS" : "ERR_CONNECT",
            `Cannot connect to ${hostname}:${port}: ${reason.message}`,
            { cause: reason, hostname, port },
          ),
        ),
    };
  });
}

/**
 * Bun's client connections: `Bun.connect`, then `socket.upgradeTLS()` for `wss:` (or after a
 * proxy's exchange), whose `handshake` callback settles the TLS step.
 */
const connector: Connector = {
  dial({ hostname, port }) {
    const dialed = new BunDialed(false);
    const settled = settle(dialed, hostname, port);
    let connecting: Promise<BunSocket>;
    try {
      connecting = bun().connect({
        hostname,
        port,
        allowHalfOpen: true,
        data: dialed,
        socket: HANDLER,
      });
    } catch (error) {
      dialed.onError(error instanceof Error ? error : new Error(String(error)));
      return settled;
    }
    connecting.then(
      (s) => {
        const pending = dialed.settling;
        dialed.settling = null;
        dialed.socket = s;
        pending?.resolve(dialed);
      },
      (error: unknown) => dialed.onError(error instanceof Error ? error : new Error(String(error))),
    );
    return settled;
  },

  startTls(dialed, { hostname, port, ca, rejectUnauthorized }) {
    const raw = bunDialed(dialed);
    const upgraded = new BunDialed(true);
    const settled = settle(upgraded, hostname, port);
    const tls: BunClientTls = { serverName: hostname };
    if (ca !== undefined) tls.ca = ca;
    if (rejectUnauthorized !== undefined) tls.rejectUnauthorized = rejectUnauthorized;
    try {
      raw.handOver();
      const [, tlsSocket] = raw.socket!.upgradeTLS({ data: upgraded, tls, socket: HANDLER });
      upgraded.socket = tlsSocket;
      raw.socket = tlsSocket;
    } catch (error) {
      upgraded.onError(error instanceof Error ? error : new Error(String(error)));
    }
    return settled;
  },

  transport(dialed, sink) {
    const d = bunDialed(dialed);
    const rest = d.handOver();
    const transport = new BunTransport(sink);
    transport.opened(d.socket!);
    d.socket!.resume();
    // Bytes that arrived and were not read: delivered once the driver has its transport.
    if (rest.length > 0) queueMicrotask(() => rest.forEach((c) => transport.onData(c)));
    return transport;
  },
};

/** A browser-compatible WebSocket client on Bun's sockets. */
export const WebSocket: typeof WebSocketClass = withConnector(connector);
/** A browser-compatible WebSocket client on Bun's sockets. */
export type WebSocket = WebSocketClass;
/** The stream-shaped client, with backpressure (reading pauses the Bun socket), on Bun's sockets. */
export const WebSocketStream: typeof WebSocketStreamClass = streamWithConnector(connector);
/** The stream-shaped client, with backpressure (reading pauses the Bun socket), on Bun's sockets. */
export type WebSocketStream = WebSocketStreamClass;

/** Chunks are gathered (copied) into buffers of up to this size; larger ones are written as they are. */
const GATHER_LIMIT = 16 * 1024;

/** One handler object for every socket: each socket's `data` is its transport. */
const HANDLER: BunSocketHandler = {
  open(s) {
    s.setNoDelay?.(true);
    s.data?.opened(s);
  },
  data(s, chunk) {
    s.data?.onData(chunk);
  },
  drain(s) {
    s.data?.flush(true);
  },
  end(s) {
    s.data?.onEnd();
  },
  close(s, error) {
    s.data?.onClose(error);
  },
  error(s, error) {
    s.data?.onError(error);
  },
  handshake(s, success, authorizationError) {
    s.data?.onHandshake(s, success, authorizationError);
  },
};

/** A Bun socket as a {@linkcode Transport}: an ordered queue behind partial writes, gathered. */
class BunTransport implements Transport, SocketOwner {
  #socket: BunSocket | null = null;
  readonly #sink: TransportSink;
  /** Bytes not yet taken by the socket: `#queue[#head]` from `#offset` on, then the rest. */
  #queue: Uint8Array[] = [];
  #head = 0;
  #offset = 0;
  #queued = 0;
  #waiting = false;
  #wantCloseWrite = false;
  #writeClosed = false;
  #ended = false;
  #closed = false;

  constructor(sink: TransportSink) {
    this.#sink = sink;
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  write(chunks: Uint8Array[]): void {
    if (this.#closed || this.#writeClosed) return;
    for (const c of chunks) {
      if (c.length === 0) continue;
      this.#queue.push(c);
      this.#queued += c.length;
    }
    if (!this.#waiting) this.flush();
  }

  closeWrite(): void {
    if (this.#closed || this.#writeClosed) return;
    this.#wantCloseWrite = true;
    if (this.#queued === 0) this.#shutdown();
  }

  close(): void {
    if (this.#closed) return;
    // Hand over what the kernel takes now (usually the close frame answering the peer's), then
    // end gracefully; if bytes would be lost, reset instead so the peer cannot mistake the
    // truncated stream for a whole one.
    if (this.#queued > 0 && !this.#writeClosed && this.#socket !== null) this.flush();
    this.#closed = true;
    const lost = this.#queued > 0;
    this.#queue = [];
    this.#head = 0;
    this.#offset = 0;
    this.#queued = 0;
    const s = this.#socket;
    if (s === null) return;
    try {
      if (lost) s.terminate();
      else s.end();
    } catch {
      // Already closed.
    }
  }

  pauseReading(): void {
    if (!this.#closed) this.#socket?.pause();
  }

  resumeReading(): void {
    if (!this.#closed) this.#socket?.resume();
  }

  /** The socket is connected (TCP); a server transport is ready at once. */
  opened(s: BunSocket): void {
    this.#socket = s;
    s.data = this;
  }

  onHandshake(): void {
    // Server side: a failed TLS handshake ends in `close`, which ends the session.
  }

  onData(chunk: Uint8Array): void {
    if (this.#closed || this.#ended) return;
    // Bun hands each read over in fresh memory (measured): the core may keep and unmask it in
    // place. A plain Uint8Array view (not a Buffer) keeps the core's types the same everywhere.
    this.#sink.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  onEnd(): void {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    this.#sink.receiveEnd();
  }

  onClose(error?: Error): void {
    if (this.#closed) return;
    if (error !== undefined && error !== null) this.onError(error);
    else this.onEnd();
    this.#closed = true;
  }

  onError(error: Error): void {
    if (this.#closed) return;
    this.#sink.fail(new Error(`Connection failed: ${error.message}`, { cause: error }));
  }

  /**
   * Write as much of the queue as the socket takes; the rest waits for `drain`, which calls
   * this again and then tells waiting writers (each compares `bufferedAmount` with its own
   * threshold: `drained(n)`, a stream's high-water mark).
   */
  flush(onDrain = false): void {
    const s = this.#socket;
    if (s === null || this.#closed) return;
    // Output queued before the socket opened drains here without a `drain`: report it too.
    if (this.#queued > 0 && !this.#waiting) onDrain = true;
    while (this.#queued > 0) {
      const buf = this.#next();
      const n = s.write(buf);
      if (n < 0) return; // Closed under us: `close` reports it.
      this.#consume(n);
      if (n < buf.length) {
        this.#waiting = true;
        break;
      }
    }
    if (this.#queued === 0) {
      this.#waiting = false;
      if (this.#wantCloseWrite) this.#shutdown();
    }
    if (onDrain) this.#sink.drained();
  }

  /** The next buffer to write: the head chunk's rest if large, else small chunks gathered. */
  #next(): Uint8Array {
    const head = this.#queue[this.#head];
    const rest = head.length - this.#offset;
    if (rest >= GATHER_LIMIT || this.#queue.length === this.#head + 1) {
      return this.#offset === 0 ? head : head.subarray(this.#offset);
    }
    const size = Math.min(this.#queued, GATHER_LIMIT);
    const out = new Uint8Array(size);
    let at = 0;
    let off = this.#offset;
    for (let i = this.#head; at < size; i++) {
      const c = this.#queue[i];
      const take = Math.min(c.length - off, size - at);
      out.set(off === 0 && take === c.length ? c : c.subarray(off, off + take), at);
      at += take;
      off = 0;
    }
    return out;
  }

  /** Drop `n` written bytes from the front of the queue. */
  #consume(n: number): void {
    this.#queued -= n;
    while (n > 0) {
      const rest = this.#queue[this.#head].length - this.#offset;
      if (n < rest) {
        this.#offset += n;
        return;
      }
      n -= rest;
      this.#offset = 0;
      if (++this.#head === this.#queue.length) {
        this.#queue.length = 0;
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        // Drop written chunks in bulk, not one shift() per chunk.
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
    }
  }

  #shutdown(): void {
    this.#wantCloseWrite = false;
    this.#writeClosed = true;
    try {
      this.#socket?.shutdown();
    } catch {
      // Already closed.
    }
  }
}
