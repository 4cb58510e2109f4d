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
import { Driver, type DriverHandlers, type DriverOptions } from "./_driver.ts";
import {
  serverSocket,
  socketDrained,
  socketEvent,
  socketFailure,
  type WebSocket,
} from "./_websocket.ts";
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
export interface ServeOptions extends ServerOptions, DriverOptions {
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
}

/** A running server, the same on every runtime. */
export interface WebSocketServer {
  /** Resolves with the address actually listened on (port 0 picks a free one). */
  readonly listening: Promise<{ hostname: string; port: number }>;
  /** Stop accepting connections; open connections stay open. Resolves once the listener is closed. */
  close(): Promise<void>;
}

/** Called with each server-side socket once its handshake completed. */
export type ConnectionHandler = (socket: WebSocket, request: UpgradeRequest) => void;

/**
 * Start a server session for one accepted transport. The adapter attaches the transport to the
 * returned driver and feeds it.
 * @param options Connection options, hooks and timeouts.
 * @param secure Whether the transport is TLS.
 * @param handler Called with each socket once open.
 */
export function startServerSession(
  options: ServeOptions,
  secure: boolean,
  handler: ConnectionHandler,
): Driver {
  const conn = new ServerConnection({ ...options, secure, plainHttp: options.http !== undefined });
  const session = new ServerSession(conn, options, secure, handler);
  return session.driver;
}

/**
 * One accepted connection: answers the handshake, then hands the driver's reports to the socket.
 * A class rather than closures, as a server keeps one per open connection.
 */
class ServerSession implements DriverHandlers {
  readonly driver: Driver;
  readonly #conn: ServerConnection;
  readonly #options: ServeOptions;
  readonly #secure: boolean;
  readonly #handler: ConnectionHandler;
  #socket: WebSocket | null = null;

  constructor(
    conn: ServerConnection,
    options: ServeOptions,
    secure: boolean,
    handler: ConnectionHandler,
  ) {
    this.#conn = conn;
    this.#options = options;
    this.#secure = secure;
    this.#handler = handler;
    this.driver = new Driver(conn, this, options);
  }

  event(ev: ConnectionEvent): void {
    if (this.#socket !== null) return socketEvent(this.#socket, ev);
    const conn = this.#conn;
    if (ev.type === "request") {
      return decide(this.driver, conn, ev.request, this.#options.onUpgrade);
    }
    if (ev.type === "http") return answer(this.driver, conn, ev.request, this.#options.http!);
    if (ev.type === "open") {
      const socket = serverSocket(this.driver, conn.request!, this.#secure);
      this.#socket = socket;
      this.#handler(socket, conn.request!);
    }
  }

  failure(error: Error): void {
    if (this.#socket !== null) socketFailure(this.#socket, error);
  }

  drained(): void {
    if (this.#socket !== null) socketDrained(this.#socket);
  }
}

function answer(
  driver: Driver,
  conn: ServerConnection,
  request: HttpRequestHead,
  http: (request: HttpRequestHead) => HttpAnswer | Promise<HttpAnswer>,
): void {
  const apply = (a: HttpAnswer): void => {
    if (conn.state !== "connecting") return;
    conn.respond(a.status ?? 200, a.headers ?? {}, request.method === "HEAD" ? "" : a.body ?? "");
  };
  const fail = (error: unknown): void => {
    console.error(error);
    if (conn.state === "connecting") conn.respond(500, {}, "Internal Server Error");
  };
  run(driver, () => http(request), apply, fail);
}

function decide(
  driver: Driver,
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
    console.error(error);
    if (conn.state === "connecting") conn.reject(500);
  };
  if (hook === undefined) return apply(undefined);
  run(driver, () => hook(request), apply, fail);
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
