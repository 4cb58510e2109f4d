/**
 * The server session every runtime adapter runs per accepted socket: a {@linkcode ServerConnection}
 * on a {@linkcode Driver}, the application's upgrade decision (possibly asynchronous), plain HTTP
 * answers on the same port, and a {@linkcode WebSocket} handed to the application once open.
 *
 * @module
 */

import { type AcceptOptions, ServerConnection, type ServerOptions } from "../core/server.ts";
import type { HttpRequestHead } from "../handshake/http.ts";
import type { UpgradeRequest } from "../handshake/rfc6455.ts";
import type { HeaderInit } from "../handshake/_head.ts";
import { Driver, type DriverHandlers, type DriverOptions, MemoryBudget } from "./_driver.ts";
import { AdapterError, adapterError } from "./_errors.ts";
import { isValidCloseCode } from "../framing/rfc6455.ts";
import { refuseStreamMessages } from "./_client.ts";
import { serverSocket, type WebSocket } from "./_websocket.ts";
import type { SocketBackend, SocketEvents } from "./_backend.ts";
import type { ConnectionEvent } from "../core/connection.ts";

/** What the upgrade hook may answer: accept (optionally choosing a subprotocol) or reject. */
export type UpgradeDecision =
  | AcceptOptions
  | { reject: number; headers?: HeaderInit; body?: string | Uint8Array }
  | undefined
  | void;

/** The answer to a plain HTTP request. */
export interface HttpAnswer {
  /** Status, 200-599. Default 200. */
  status?: number;
  /** Response headers. */
  headers?: HeaderInit;
  /** Body; a string is sent as UTF-8. */
  body?: string | Uint8Array;
}

/** Options of a server, shared by every runtime adapter. */
export interface ServeOptions<S = WebSocket>
  extends Omit<ServerOptions, "streamMessages">, DriverOptions {
  /**
   * Decide on each upgrade request before anything is sent: return (or resolve to) accept
   * options, `{ reject: status }`, or nothing to accept without a subprotocol. A throw or a
   * rejected promise answers 500.
   */
  onUpgrade?: (request: UpgradeRequest) => UpgradeDecision | Promise<UpgradeDecision>;
  /**
   * Answer requests that ask for no upgrade (pages, health checks) on the same port. Without
   * it they get 400. The connection closes after the answer.
   */
  http?: (request: HttpRequestHead) => HttpAnswer | Promise<HttpAnswer>;
  /**
   * Where the server reports what goes wrong outside the protocol: an exception thrown by the
   * handler, a hook or a socket's listeners (`ERR_HANDLER`), and per-connection failures —
   * resets, timeouts, slow consumers, TLS and accept failures (see `AdapterError`'s codes).
   * `socket` and `request` are given once the connection has them. Default: handler exceptions
   * are logged with `console.error`; per-connection failures, which are routine, are not.
   */
  onError?: (error: AdapterError, socket: S | null, request: UpgradeRequest | null) => void;
  /**
   * The most bytes all of this server's connections may hold in incomplete messages together;
   * a connection whose message would pass it is closed with 1013 (try again later), so many
   * stalled large messages cannot exhaust memory. Default 256 MiB; `Infinity` for no limit.
   */
  maxIncompleteBytes?: number;
}

/** Options of {@linkcode WebSocketServer.close}. */
export interface ServerCloseOptions {
  /** Close code sent to every open socket. Default 1001 (going away). */
  code?: number;
  /** Close reason sent with it. Default `"Server shutting down"`. */
  reason?: string;
  /**
   * How long to wait for the closing handshakes before dropping the connections still open.
   * Default the server's `closeTimeout` (5000).
   */
  timeout?: number;
}

/** A running server, the same on every runtime. */
export interface WebSocketServer {
  /** Resolves with the address actually listened on (port 0 picks a free one). */
  readonly listening: Promise<{ hostname: string; port: number }>;
  /**
   * Stop accepting connections, close every open socket (1001 unless told otherwise), and
   * resolve once the listener is closed and every connection is gone; connections that do not
   * finish their closing handshake within `timeout` are dropped.
   */
  close(options?: ServerCloseOptions): Promise<void>;
  /** How many connections are open (handshaking, open or closing). */
  readonly connections: number;
}

/** Called with each server-side socket once its handshake completed. */
export type ConnectionHandler<S = WebSocket> = (socket: S, request: UpgradeRequest) => void;

/**
 * Makes the socket object a server hands its handler, on an accepted connection's backend;
 * returns it with the receiver the backend reports to. The browser-style `WebSocket` is the
 * default; other socket shapes plug in here.
 */
export type SocketFactory<S> = (
  backend: SocketBackend,
  request: UpgradeRequest,
  secure: boolean,
) => { socket: S; events: SocketEvents };

const DEFAULT_INCOMPLETE_BUDGET = 256 * 1024 * 1024;

/**
 * The server `serve` returns when its address could not be bound: `listening` rejects with
 * `error` (an `AdapterError` `ERR_LISTEN`), and there is nothing to close.
 */
export function notListening(error: AdapterError): WebSocketServer {
  return {
    listening: Promise.reject(error),
    close: () => Promise.resolve(),
    connections: 0,
  };
}

/**
 * The connections of one server (a `serve`, an `attach` endpoint, or `accept` calls sharing
 * options): starts a session per accepted transport, reports errors to `onError`, shares the
 * incomplete-message budget, and closes them all on shutdown.
 */
export class ServerSessions<S = WebSocket> {
  readonly #options: ServeOptions<S>;
  readonly #handler: ConnectionHandler<S>;
  readonly #factory: SocketFactory<S>;
  readonly #budget: MemoryBudget;
  readonly #open = new Set<ServerSession<S>>();
  /** Waiting `closeAll` calls, told once the last connection is gone. */
  #gone: Array<() => void> = [];

  /**
   * @param options Connection options, hooks and timeouts; checked here, so a bad option
   *   throws from `serve` rather than from the first connection.
   * @param handler Called with each socket once open.
   * @param factory Makes each socket; default the browser-style `WebSocket`.
   */
  constructor(
    options: ServeOptions<S>,
    handler: ConnectionHandler<S>,
    factory: SocketFactory<S> = serverSocket as unknown as SocketFactory<S>,
  ) {
    if (typeof handler !== "function") {
      throw new TypeError("The connection handler must be a function");
    }
    refuseStreamMessages(options);
    const limit = options.maxIncompleteBytes ?? DEFAULT_INCOMPLETE_BUDGET;
    if (!(limit > 0)) {
      throw new RangeError(`Option maxIncompleteBytes must be positive, got ${limit}`);
    }
    this.#options = options;
    this.#handler = handler;
    this.#factory = factory;
    this.#budget = new MemoryBudget(limit);
    // Fail fast on bad limits and timeouts: build (and drop) one connection's worth.
    new Driver(new ServerConnection(options), NO_HANDLERS, options);
  }

  /** Connections open now (handshaking, open or closing). */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Start a session for one accepted transport. The adapter attaches the transport to the
   * returned driver and feeds it.
   * @param secure Whether the transport is TLS.
   */
  start(secure: boolean): Driver {
    const options = this.#options;
    const conn = new ServerConnection({
      ...options,
      secure,
      plainHttp: options.http !== undefined,
    });
    const session = new ServerSession(conn, this, secure, this.#budget);
    this.#open.add(session);
    return session.driver;
  }

  /**
   * Close every open connection with `code` and `reason`; resolves once all are gone, dropping
   * those still open after `timeout` ms.
   */
  closeAll(options: ServerCloseOptions = {}): Promise<void> {
    const code = options.code ?? 1001;
    const reason = options.reason ?? "Server shutting down";
    const timeout = options.timeout ?? this.#options.closeTimeout ?? 5000;
    if (!Number.isInteger(code) || !isValidCloseCode(code)) {
      throw new RangeError(`Invalid close code ${code}: use 1000-1003, 1007-1014 or 3000-4999`);
    }
    for (const session of [...this.#open]) session.shutDown(code, reason);
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const session of [...this.#open]) {
          session.driver.fail(new AdapterError("ERR_CONNECTION", "Dropped at server shutdown"));
        }
        resolve(); // each failed driver reported its end; this is only a safety net
      }, timeout);
      this.#gone.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** @internal The options every session runs with. */
  get options(): ServeOptions<S> {
    return this.#options;
  }

  /** @internal Makes each session's socket. */
  get factory(): SocketFactory<S> {
    return this.#factory;
  }

  /** @internal The application's connection handler. */
  get handler(): ConnectionHandler<S> {
    return this.#handler;
  }

  /** @internal A session's connection is gone. */
  ended(session: ServerSession<S>): void {
    this.#open.delete(session);
    if (this.#open.size === 0) { for (const gone of this.#gone.splice(0)) gone(); }
  }

  /**
   * Report an error to `onError`; without one, handler exceptions go to `console.error` and
   * routine per-connection failures nowhere.
   */
  report(error: AdapterError, socket: S | null, request: UpgradeRequest | null): void {
    const onError = this.#options.onError;
    if (onError !== undefined) {
      try {
        return onError(error, socket, request);
      } catch (e) {
        error = adapterError("ERR_HANDLER", "onError threw", e);
      }
    }
    if (error.code === "ERR_HANDLER") {
      // deno-lint-ignore no-console
      console.error(error.cause ?? error);
    }
  }
}

/** The sessions of each (options, handler) pair used with {@linkcode startServerSession}. */
const GROUPS = new WeakMap<ServeOptions, Map<ConnectionHandler, ServerSessions>>();

/**
 * Start a server session for one accepted transport outside a server object (`accept`,
 * `handleUpgrade`): calls with the same options and handler share one {@linkcode ServerSessions}
 * (its budget and error reporting).
 * @param options Connection options, hooks and timeouts.
 * @param secure Whether the transport is TLS.
 * @param handler Called with each socket once open.
 */
export function startServerSession(
  options: ServeOptions,
  secure: boolean,
  handler: ConnectionHandler,
): Driver {
  let byHandler = GROUPS.get(options);
  if (byHandler === undefined) GROUPS.set(options, byHandler = new Map());
  let group = byHandler.get(handler);
  if (group === undefined) byHandler.set(handler, group = new ServerSessions(options, handler));
  return group.start(secure);
}

/** Handlers for the driver built only to check options. */
const NO_HANDLERS: DriverHandlers = {
  event() {},
  failure() {},
  drained() {},
  uncaught() {},
};

/**
 * One accepted connection: answers the handshake, then hands the driver's reports to the socket.
 * A class rather than closures, as a server keeps one per open connection.
 */
class ServerSession<S> implements DriverHandlers {
  readonly driver: Driver;
  readonly #conn: ServerConnection;
  readonly #server: ServerSessions<S>;
  readonly #secure: boolean;
  #socket: S | null = null;
  #events: SocketEvents | null = null;

  constructor(
    conn: ServerConnection,
    server: ServerSessions<S>,
    secure: boolean,
    budget: MemoryBudget,
  ) {
    this.#conn = conn;
    this.#server = server;
    this.#secure = secure;
    this.driver = new Driver(conn, this, server.options, budget);
  }

  event(ev: ConnectionEvent): void {
    if (this.#events !== null) return this.#events.event(ev);
    const conn = this.#conn;
    const options = this.#server.options;
    if (ev.type === "request") {
      return decide(this, conn, ev.request, options.onUpgrade);
    }
    if (ev.type === "http") return answer(this, conn, ev.request, options.http!);
    if (ev.type === "open") {
      // The socket gets events (a failure from its first send) before the handler returns.
      const made = this.#server.factory(this.driver, conn.request!, this.#secure);
      this.#socket = made.socket;
      this.#events = made.events;
      this.#server.handler(made.socket, conn.request!);
    }
  }

  failure(error: AdapterError): void {
    this.#events?.failure(error);
    this.#server.report(error, this.#socket, this.#conn.request);
  }

  drained(): void {
    this.#events?.drained();
  }

  uncaught(error: unknown): void {
    this.#server.report(
      adapterError("ERR_HANDLER", "A handler threw", error),
      this.#socket,
      this.#conn.request,
    );
  }

  closed(): void {
    this.#server.ended(this);
  }

  /** Server shutdown: close the socket with `code`, or drop a connection not yet open. */
  shutDown(code: number, reason: string): void {
    const conn = this.#conn;
    if (conn.state === "open") conn.close(code, reason);
    else if (conn.state === "connecting") conn.abort();
    this.driver.pump();
  }
}

function answer<S>(
  session: ServerSession<S>,
  conn: ServerConnection,
  request: HttpRequestHead,
  http: (request: HttpRequestHead) => HttpAnswer | Promise<HttpAnswer>,
): void {
  const apply = (a: HttpAnswer): void => {
    if (conn.state !== "connecting") return;
    conn.respond(a.status ?? 200, a.headers ?? {}, request.method === "HEAD" ? "" : a.body ?? "");
  };
  const fail = (error: unknown): void => {
    session.uncaught(error);
    if (conn.state === "connecting") conn.respond(500, {}, "Internal Server Error");
  };
  run(session.driver, () => http(request), apply, fail);
}

function decide<S>(
  session: ServerSession<S>,
  conn: ServerConnection,
  request: UpgradeRequest,
  hook: ServeOptions["onUpgrade"],
): void {
  const apply = (d: UpgradeDecision): void => {
    if (conn.state !== "connecting") return; // timed out or aborted meanwhile
    if (d !== undefined && "reject" in d) {
      const r: { headers?: HeaderInit; body?: string | Uint8Array } = {};
      if (d.headers !== undefined) r.headers = d.headers;
      if (d.body !== undefined) r.body = d.body;
      conn.reject(d.reject, r);
    } else {
      conn.accept(d ?? {});
    }
  };
  const fail = (error: unknown): void => {
    session.uncaught(error);
    if (conn.state === "connecting") conn.reject(500);
  };
  if (hook === undefined) return apply(undefined);
  run(session.driver, () => hook(request), apply, fail);
}

/** Call a hook that may be synchronous or asynchronous; pump once an async answer is applied. */
function run<T>(
  driver: Driver,
  hook: () => T | Promise<T>,
  apply: (v: T) => void,
  fail: (e: unknown) => void,
): void {
  let result: T | Promise<T>;
  try {
    result = hook();
  } catch (error) {
    return fail(error);
  }
  if (result instanceof Promise) {
    result.then(apply).catch(fail).finally(() => driver.pump());
    return;
  }
  try {
    apply(result);
  } catch (error) {
    fail(error);
  }
}
