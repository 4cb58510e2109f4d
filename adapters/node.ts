/**
 * Node adapter: servers on `net.createServer` (`wss:` by wrapping each accepted socket in a
 * `tls.TLSSocket`), a browser-compatible `WebSocket` client on `net.connect` / `tls.connect`,
 * and WebSocket endpoints inside an existing `http` / `https` server (plain `http`, Express,
 * Fastify, ...) through its `upgrade` event, so an application serves its pages and its
 * WebSockets on one port.
 *
 * It also runs on Deno and Bun through their Node compatibility layers.
 *
 * @example An echo server
 * ```ts ignore
 * import { serve } from "@omniws/omniws/node";
 * const server = serve({ port: 9001 }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * console.log(await server.listening); // { hostname: "127.0.0.1", port: 9001 }
 * ```
 *
 * @example A client
 * ```ts ignore
 * import { WebSocket } from "@omniws/omniws/node";
 * const ws = new WebSocket("ws://127.0.0.1:9001/");
 * ws.onopen = () => ws.send("hello");
 * ws.onmessage = (e) => console.log(e.data);
 * ```
 *
 * @example A stream client with backpressure
 * ```ts ignore
 * import { WebSocketStream } from "@omniws/omniws/node";
 * const wss = new WebSocketStream("ws://127.0.0.1:9001/");
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write("hello");
 * for await (const message of readable) console.log(message);
 * ```
 *
 * @example WebSockets next to the routes of an http server
 * ```ts ignore
 * import http from "node:http";
 * import { attach } from "@omniws/omniws/node";
 * const server = http.createServer((req, res) => res.end("hello over http"));
 * attach(server, { path: "/ws" }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * server.listen(8080, "127.0.0.1");
 * ```
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { Driver, Transport } from "./_driver.ts";
import { AdapterError, listenError } from "./_errors.ts";
import { joinParts } from "../core/connection.ts";
import {
  type ConnectionHandler,
  type ServeOptions as SessionServeOptions,
  ServerSessions,
  startServerSession,
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
 * Options of {@linkcode handleUpgrade}: the server options of {@linkcode serve} that apply to one
 * upgrade request (limits, versions, extensions, hooks, timeouts). Plain HTTP requests are the
 * http server's business, so there is no `http` hook.
 */
export type UpgradeOptions = Omit<SessionServeOptions, "http">;

/** Options of {@linkcode attach}. */
export interface AttachOptions extends UpgradeOptions {
  /**
   * Which upgrade requests are WebSocket requests for this endpoint: a path compared with the
   * request's path (query excluded), or a predicate. Default: every upgrade request.
   */
  path?: string | ((request: IncomingMessage) => boolean);
}

/** An `http.Server` or `https.Server` (Express and Fastify expose theirs). */
export type UpgradeServer = HttpServer | HttpsServer;

/**
 * Serve WebSocket connections (and, with `http`, plain HTTP requests) on a TCP port.
 *
 * @example Echo, with a health check on the same port
 * ```ts ignore
 * import { serve } from "@omniws/omniws/node";
 * const server = serve({ port: 0, http: () => ({ body: "ok" }) }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * const { port } = await server.listening;
 * await server.close();
 * ```
 *
 * A `wss:` server wraps each accepted TCP socket in a `TLSSocket` itself, so the session (and its
 * `handshakeTimeout`) starts at the TCP accept: a slow or silent TLS handshake counts against the
 * handshake timeout, and a client that gives up (FIN or reset) before its TLS handshake is closed
 * at once. TLS failures are reported to `onError` as `ERR_TLS`, accept failures as `ERR_ACCEPT`.
 *
 * @param options Where to listen, TLS, limits, timeouts, the upgrade and HTTP hooks.
 * @param handler Called with each socket once its handshake completed.
 * @returns The running server. If the address cannot be bound (in use, not permitted), its
 *   `listening` rejects with an `AdapterError` `ERR_LISTEN` naming the address; nothing else
 *   reports it, so a program that never awaits `listening` ends with an unhandled rejection, as
 *   before. Invalid options (a port out of range) throw.
 */
export function serve(options: ServeOptions, handler: ConnectionHandler): WebSocketServer {
  const port = options.port ?? 9001;
  const hostname = options.hostname ?? "127.0.0.1";
  const secure = options.tls !== undefined;
  const sessions = new ServerSessions(options, handler);
  const context = options.tls === undefined
    ? null
    : tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key });
  // allowHalfOpen: a peer's FIN is reported to the driver, which closes after our close frame.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true);
    const driver = sessions.start(secure);
    if (context === null) return runSession(socket, driver, null);
    // The TLS handshake runs under the session's handshake timeout; its errors are the
    // TLSSocket's (the raw socket's too, once wrapped), so the raw one only needs a listener.
    socket.on("error", ignore);
    const tlsSocket = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
    runSession(tlsSocket, driver, null, true);
  });
  let failed: AdapterError | null = null;
  const listening = new Promise<{ hostname: string; port: number }>((resolve, reject) => {
    const onError = (error: Error): void => {
      failed = listenError(hostname, port, error);
      reject(failed);
    };
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      // After listening, errors are about accepting one connection (out of file descriptors):
      // the server goes on (libuv retries), the application hears of it.
      server.on("error", (error: Error) =>
        sessions.report(
          new AdapterError("ERR_ACCEPT", `Cannot accept a connection: ${error.message}`, {
            cause: error,
          }),
          null,
          null,
        ));
      const addr = server.address() as net.AddressInfo;
      resolve({ hostname: addr.address, port: addr.port });
    });
  });
  // A bad port or hostname throws here (RangeError, TypeError), as on the other runtimes.
  server.listen({ port, host: hostname });
  return {
    listening,
    close: async (closeOptions) => {
      await listening.catch(() => {});
      // The listening socket is closed when close() returns; its callback would wait for every
      // connection to end, which closeAll sees to.
      if (failed === null && server.listening) server.close();
      await sessions.closeAll(closeOptions);
    },
    get connections() {
      return sessions.size;
    },
  };
}

function ignore(): void {}

/**
 * Take over a socket that an `http`/`https` server's `upgrade` event handed out: the request
 * head Node already parsed is rebuilt byte for byte (`rawHeaders` keeps order and repeats) and
 * given to the core with `head`, so the handshake is validated exactly as on {@linkcode serve}.
 *
 * @example Routing upgrades yourself
 * ```ts ignore
 * import http from "node:http";
 * import { handleUpgrade } from "@omniws/omniws/node";
 * const server = http.createServer((req, res) => res.end("hello"));
 * server.on("upgrade", (req, socket, head) => {
 *   if (req.url === "/echo") {
 *     handleUpgrade(req, socket, head, {}, (ws) => ws.onmessage = (e) => ws.send(e.data));
 *   } else {
 *     socket.destroy();
 *   }
 * });
 * ```
 *
 * @param request The request of the `upgrade` event.
 * @param socket The socket of the `upgrade` event.
 * @param head The bytes that followed the request head (third argument of the event).
 * @param options Limits, versions, extensions, the upgrade hook, timeouts.
 * @param handler Called with the socket once its handshake completed.
 */
export function handleUpgrade(
  request: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
  options: UpgradeOptions,
  handler: ConnectionHandler,
): void {
  upgrade(request, socket, head, (secure) => startServerSession(options, secure, handler));
}

/** Take over an upgrade's socket with a session that `start` makes (given whether it is TLS). */
function upgrade(
  request: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
  start: (secure: boolean) => Driver,
): void {
  const s = socket as net.Socket;
  s.setTimeout?.(0);
  s.setNoDelay?.(true);
  const secure = (socket as { encrypted?: boolean }).encrypted === true;
  const requestHead = rebuildHead(request);
  const all = head.length === 0 ? requestHead : Buffer.concat([requestHead, head]);
  const first = new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  runSession(s, start(secure), first);
}

interface Route {
  matches(request: IncomingMessage): boolean;
  sessions: ServerSessions;
}

/** The endpoints attached to each server, served by one `upgrade` listener per server. */
const ROUTES = new WeakMap<UpgradeServer, { routes: Route[]; listener: UpgradeListener }>();

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Serve WebSocket upgrades on an existing `http` or `https` server, next to its ordinary routes.
 * With Express or Fastify, pass the underlying server (`app.listen(...)`'s result,
 * `fastify.server`). Several endpoints may be attached to one server. An upgrade request that no
 * endpoint's `path` matches is left to the server's other `upgrade` listeners if it has any, else
 * answered 404.
 *
 * @example Express
 * ```ts ignore
 * import express from "express";
 * import { attach } from "@omniws/omniws/node";
 * const app = express();
 * app.get("/", (_req, res) => res.send("hello"));
 * const server = app.listen(8080);
 * attach(server, { path: "/chat" }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * ```
 *
 * @param server The `http.Server` or `https.Server`.
 * @param options The endpoint's path, limits, versions, extensions, the upgrade hook, timeouts.
 * @param handler Called with each socket once its handshake completed.
 * @returns A handle whose `listening` resolves with the server's address once it listens, and
 *   whose `close()` detaches this endpoint (the http server and open sockets stay open).
 */
export function attach(
  server: UpgradeServer,
  options: AttachOptions,
  handler: ConnectionHandler,
): WebSocketServer {
  let entry = ROUTES.get(server);
  if (entry === undefined) {
    const routes: Route[] = [];
    const listener: UpgradeListener = (request, socket, head) => {
      const route = routes.find((r) => r.matches(request));
      if (route !== undefined) {
        return upgrade(request, socket, head, (secure) => route.sessions.start(secure));
      }
      // Some other listener's endpoint, or nobody's.
      if (server.listenerCount("upgrade") > 1) return;
      refuse(socket, 404, "Not Found");
    };
    entry = { routes, listener };
    ROUTES.set(server, entry);
    server.on("upgrade", listener);
  }
  const { path, ...upgradeOptions } = options;
  const route: Route = {
    matches: matcher(path),
    sessions: new ServerSessions(upgradeOptions, handler),
  };
  entry.routes.push(route);
  const listening = new Promise<{ hostname: string; port: number }>((resolve) => {
    const resolveAddress = (): void => {
      const addr = server.address();
      if (addr !== null && typeof addr === "object") {
        resolve({ hostname: addr.address, port: addr.port });
      }
    };
    if (server.listening) resolveAddress();
    else server.once("listening", resolveAddress);
  });
  return {
    listening,
    close: (closeOptions) => {
      const current = ROUTES.get(server);
      if (current !== undefined) {
        const i = current.routes.indexOf(route);
        if (i >= 0) current.routes.splice(i, 1);
        if (current.routes.length === 0) {
          server.off("upgrade", current.listener);
          ROUTES.delete(server);
        }
      }
      return route.sessions.closeAll(closeOptions);
    },
    get connections() {
      return route.sessions.size;
    },
  };
}

function matcher(path: AttachOptions["path"]): (request: IncomingMessage) => boolean {
  if (path === undefined) return () => true;
  if (typeof path === "function") return path;
  return (request) => pathOf(request.url ?? "/") === path;
}

/** The path of a request target (origin-form or absolute-form), without the query. */
function pathOf(target: string): string {
  if (!target.startsWith("/")) {
    try {
      return new URL(target).pathname;
    } catch {
      return target;
    }
  }
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

/** Answer an upgrade request nobody serves, then close. */
function refuse(socket: Duplex, status: number, reason: string): void {
  socket.on("error", () => {});
  const body = reason;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * The request head as the client sent it, from what Node's parser kept. Header names and values
 * were decoded as latin-1, so encoding them back as latin-1 restores the original bytes.
 */
function rebuildHead(request: IncomingMessage): Buffer {
  let head = `${request.method ?? "GET"} ${request.url ?? "/"} HTTP/${request.httpVersion}\r\n`;
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(head + "\r\n", "latin1");
}

/**
 * Run a server session's driver on a socket; `first` holds bytes read before (the head). A
 * server TLSSocket may still be in its handshake: failures until `secure` are TLS failures.
 */
function runSession(
  socket: net.Socket,
  driver: Driver,
  first: Uint8Array | null,
  tlsPending = false,
): void {
  // The driver has the sink's methods: no forwarding closures per connection.
  const transport = new NodeTransport(socket, driver, tlsPending);
  driver.attach(transport);
  if (first !== null) driver.receive(first);
  transport.start();
}

/**
 * A Node socket dialed (or upgraded to TLS) for a client, not yet driven: raw reads pause the
 * socket after each chunk, so what the exchange leaves unread waits in the socket for the
 * transport. An `error` listener stays on the socket meanwhile (an error is reported by the
 * next `read` or `write`, or by the step under way).
 */
class NodeDialed implements Dialed {
  readonly socket: net.Socket;
  /** The TLS socket a `startTls` in progress runs over this one: `close()` destroys it too. */
  upgrading: tls.TLSSocket | null = null;
  #error: Error | null = null;
  readonly #onError = (error: Error): void => {
    this.#error ??= error;
  };

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("error", this.#onError);
  }

  read(): Promise<Uint8Array | null> {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      if (this.#error !== null) return reject(this.#error);
      if (socket.readableEnded) return resolve(null);
      const done = (): void => {
        socket.pause();
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.off("error", onError);
      };
      const onData = (chunk: Buffer): void => {
        done();
        resolve(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      };
      const onEnd = (): void => {
        done();
        resolve(null);
      };
      const onError = (error: Error): void => {
        done();
        reject(error);
      };
      socket.on("data", onData);
      socket.once("end", onEnd);
      socket.once("error", onError);
      socket.resume();
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#error !== null) return reject(this.#error);
      this.socket.write(bytes, (error) => (error == null ? resolve() : reject(error)));
    });
  }

  close(): void {
    this.upgrading?.destroy();
    this.socket.destroy();
  }

  /** The transport takes the socket over: its own listeners report from now on. */
  release(): net.Socket {
    this.socket.off("error", this.#onError);
    return this.socket;
  }
}

function nodeDialed(dialed: Dialed): NodeDialed {
  if (dialed instanceof NodeDialed) return dialed;
  throw new TypeError("This connection was not dialed by the Node adapter");
}

const connector: Connector = {
  dial: ({ hostname: host, port }) =>
    new Promise<Dialed>((resolve, reject) => {
      const socket = net.connect({ host, port, allowHalfOpen: true });
      const onError = (error: Error): void => {
        socket.destroy();
        reject(
          new AdapterError(
            "ERR_CONNECT",
            `Cannot connect to ${host}:${port}: ${error.message.replace(/^connect /, "")}`,
            { cause: error, hostname: host, port },
          ),
        );
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        socket.setNoDelay(true);
        resolve(new NodeDialed(socket));
      });
    }),

  startTls: (dialed, o) =>
    new Promise<Dialed>((resolve, reject) => {
      const raw = nodeDialed(dialed);
      const { hostname: host, port } = o;
      // `allowHalfOpen` is passed on to the TLSSocket, though @types/node does not list it.
      const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
        socket: raw.socket,
        allowHalfOpen: true,
      };
      if (net.isIP(host) === 0) options.servername = host;
      if (o.ca !== undefined) options.ca = o.ca;
      if (o.rejectUnauthorized !== undefined) options.rejectUnauthorized = o.rejectUnauthorized;
      const socket = tls.connect(options);
      raw.upgrading = socket;
      const onError = (error: Error & { code?: string }): void => {
        raw.upgrading = null;
        socket.destroy();
        raw.socket.destroy();
        const why = error.message.replace(/^connect /, "");
        const code = error.code !== undefined && !why.includes(error.code)
          ? ` (${error.code})`
          : "";
        reject(
          new AdapterError(
            "ERR_TLS",
            `Cannot connect to ${host}:${port}: TLS handshake failed: ${why}${code}`,
            { cause: error, hostname: host, port },
          ),
        );
      };
      socket.once("error", onError);
      socket.once("secureConnect", () => {
        raw.upgrading = null;
        socket.off("error", onError);
        resolve(new NodeDialed(socket));
      });
    }),

  transport: (dialed, sink) => {
    const socket = nodeDialed(dialed).release();
    const transport = new NodeTransport(socket, sink, false);
    transport.start();
    // A raw read paused the socket: flowing again from here.
    socket.resume();
    return transport;
  },
};

/** A browser-compatible WebSocket client on Node's sockets. */
export const WebSocket: typeof WebSocketClass = withConnector(connector);
/** A browser-compatible WebSocket client on Node's sockets. */
export type WebSocket = WebSocketClass;
/** The stream-shaped client, with backpressure, on Node's sockets. */
export const WebSocketStream: typeof WebSocketStreamClass = streamWithConnector(connector);
/** The stream-shaped client, with backpressure, on Node's sockets. */
export type WebSocketStream = WebSocketStreamClass;

/** Runs of chunks smaller than this are copied into one buffer; larger chunks go as they are. */
const SMALL_CHUNK = 4 * 1024;
/** The most bytes gathered into one buffer. */
const GATHER_LIMIT = 16 * 1024;

/**
 * A Node socket as a {@linkcode Transport}: one socket write per `write` call (small chunks
 * gathered, large ones sent vectored by a corked writev), pausable reads, and a `drained` report
 * each time a write has been handed to the operating system.
 */
class NodeTransport implements Transport {
  readonly #socket: net.Socket;
  readonly #sink: TransportSink;
  #closed = false;
  #ended = false;
  /** A server TLSSocket whose handshake has not finished: its failures are TLS failures. */
  #tlsPending: boolean;
  readonly #onWritten: (error?: Error | null) => void;

  constructor(socket: net.Socket, sink: TransportSink, tlsPending: boolean) {
    this.#socket = socket;
    this.#sink = sink;
    this.#tlsPending = tlsPending;
    this.#onWritten = (error) => {
      if (error == null && !this.#closed) this.#sink.drained();
    };
  }

  /**
   * Start listening; a socket handed over by an http server starts flowing from here. The
   * listeners are shared by every socket (Node calls them with the socket as `this`), so an
   * idle connection carries no closures of its own.
   */
  start(): void {
    const socket = this.#socket as TransportSocket;
    socket[TRANSPORT] = this;
    socket.on("data", onSocketData);
    socket.on("end", onSocketEnd);
    socket.on("error", onSocketError);
    socket.on("close", onSocketClose);
    if (this.#tlsPending) socket.once("secure", onSocketSecure);
  }

  /** @internal The TLS handshake finished. */
  secure(): void {
    this.#tlsPending = false;
  }

  /** @internal Bytes arrived. */
  data(chunk: Buffer): void {
    // A plain Uint8Array view of the same memory: a Buffer's `slice()` shares memory where
    // Uint8Array's copies, and one input type keeps the core's hot paths monomorphic.
    if (!this.#closed) {
      this.#sink.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  }

  /** @internal The peer ended its side. */
  end(): void {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    this.#sink.receiveEnd();
  }

  /** @internal The socket failed. */
  error(error: Error): void {
    if (this.#closed) return;
    this.#sink.fail(
      this.#tlsPending
        ? new AdapterError("ERR_TLS", `TLS handshake failed: ${error.message}`, { cause: error })
        : new Error(`Connection failed: ${error.message}`, { cause: error }),
    );
  }

  /** @internal The socket closed. */
  closed(): void {
    // Destroyed by someone else (an http server shutting down, a proxy): not a clean end.
    if (!this.#closed && !this.#ended) {
      this.#sink.fail(new Error("Connection closed unexpectedly"));
    }
  }

  get bufferedAmount(): number {
    return this.#closed ? 0 : this.#socket.writableLength;
  }

  write(chunks: Uint8Array[]): void {
    const socket = this.#socket;
    if (this.#closed || socket.destroyed || socket.writableEnded || chunks.length === 0) return;
    if (chunks.length === 1) {
      socket.write(chunks[0], this.#onWritten);
      return;
    }
    const list = gather(chunks);
    if (list.length === 1) {
      socket.write(list[0], this.#onWritten);
      return;
    }
    socket.cork();
    const last = list.length - 1;
    for (let i = 0; i < last; i++) socket.write(list[i]);
    socket.write(list[last], this.#onWritten);
    socket.uncork();
  }

  closeWrite(): void {
    const socket = this.#socket;
    if (!this.#closed && !socket.destroyed && !socket.writableEnded) socket.end();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
  }

  pauseReading(): void {
    // Deno's node:tls goes on reading into a paused TLSSocket's buffer without bound; reading
    // on keeps the bytes visible to the driver, which drops a peer that sends on regardless.
    if (IS_DENO && this.#socket instanceof tls.TLSSocket) return;
    this.#socket.pause();
  }

  resumeReading(): void {
    this.#socket.resume();
  }
}

const IS_DENO = "Deno" in globalThis;

const TRANSPORT = Symbol("omniws.transport");
type TransportSocket = net.Socket & { [TRANSPORT]: NodeTransport };

function onSocketData(this: TransportSocket, chunk: Buffer): void {
  this[TRANSPORT].data(chunk);
}
function onSocketEnd(this: TransportSocket): void {
  this[TRANSPORT].end();
}
function onSocketError(this: TransportSocket, error: Error): void {
  this[TRANSPORT].error(error);
}
function onSocketClose(this: TransportSocket): void {
  this[TRANSPORT].closed();
}
function onSocketSecure(this: TransportSocket): void {
  this[TRANSPORT].secure();
}

/** Copy runs of small chunks into one buffer each; large chunks stay as they are (no copy). */
function gather(chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const flush = (): void => {
    if (run.length === 1) out.push(run[0]);
    else if (run.length > 1) out.push(joinParts(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (c.length >= SMALL_CHUNK) {
      flush();
      out.push(c);
      continue;
    }
    if (runBytes + c.length > GATHER_LIMIT) flush();
    run.push(c);
    runBytes += c.length;
  }
  flush();
  return out;
}
