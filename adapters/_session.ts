/**
 * The server session every runtime adapter runs per accepted socket: a {@linkcode ServerConnection}
 * on a {@linkcode Driver}, the application's upgrade decision (possibly asynchronous), and a
 * {@linkcode ServerSocket} handed to the application once open.
 *
 * @module
 */

import { ServerConnection, type AcceptOptions, type ServerOptions } from "../core/server.ts";
import type { ProtocolError } from "../core/errors.ts";
import type { ReadyState } from "../core/connection.ts";
import type { UpgradeRequest } from "../handshake/rfc6455.ts";
import type { HeaderInit } from "../handshake/_head.ts";
import { Driver, type DriverTimeouts, type Transport } from "./_driver.ts";

/** What the upgrade hook may answer: accept (optionally choosing a subprotocol) or reject. */
export type UpgradeDecision =
  | AcceptOptions
  | { reject: number; headers?: HeaderInit; body?: string | Uint8Array }
  | undefined
  | void;

/** Options of a server, shared by every runtime adapter. */
export interface SessionOptions extends ServerOptions, DriverTimeouts {
  /**
   * Decide on each upgrade request before anything is sent. Return (or resolve to) accept
   * options, `{ reject: status }`, or nothing to accept without a subprotocol. A throw or a
   * rejected promise answers 500.
   */
  onUpgrade?: (request: UpgradeRequest) => UpgradeDecision | Promise<UpgradeDecision>;
}

/** The close details given to `onclose`. */
export interface CloseInfo {
  /** The peer's close code (1005: none given, 1006: no close frame). */
  code: number;
  /** The peer's close reason. */
  reason: string;
  /** Whether the closing handshake completed. */
  wasClean: boolean;
}

/**
 * A server-side WebSocket, handed to the application once the handshake completed.
 * Set the `on*` callbacks in the connection handler.
 */
export class ServerSocket {
  /** Called for each message: a string for text, bytes for binary. */
  onmessage: ((data: string | Uint8Array) => void) | null = null;
  /** Called once when the connection is closed. */
  onclose: ((info: CloseInfo) => void) | null = null;
  /** Called when the peer broke the protocol (onclose follows). */
  onerror: ((error: ProtocolError) => void) | null = null;
  /** Called for each ping (already answered). */
  onping: ((data: Uint8Array) => void) | null = null;
  /** Called for each pong. */
  onpong: ((data: Uint8Array) => void) | null = null;
  /** The upgrade request this socket answered. */
  readonly request: UpgradeRequest;
  readonly #driver: Driver;

  /** @internal Created by the adapters. */
  constructor(driver: Driver, request: UpgradeRequest) {
    this.#driver = driver;
    this.request = request;
  }

  /** The connection state. */
  get readyState(): ReadyState {
    return this.#driver.conn.state;
  }

  /** The negotiated subprotocol, or an empty string. */
  get protocol(): string {
    return this.#driver.conn.protocol;
  }

  /** Send a message: a string as text, bytes as binary. */
  send(data: string | Uint8Array): void {
    this.#driver.conn.send(data);
    this.#driver.pump();
  }

  /** Send a ping with up to 125 bytes of payload. */
  ping(data?: string | Uint8Array): void {
    this.#driver.conn.ping(data);
    this.#driver.pump();
  }

  /** Start the closing handshake. */
  close(code?: number, reason?: string): void {
    this.#driver.conn.close(code, reason);
    this.#driver.pump();
  }
}

/**
 * Run a server session on a transport. The adapter feeds the returned driver with
 * `receive`/`receiveEnd`.
 * @param transport The accepted socket, mapped onto the neutral interface.
 * @param options Connection options and the upgrade hook.
 * @param handler Called with each socket once open.
 */
export function startServerSession(
  transport: Transport,
  options: SessionOptions,
  handler: (socket: ServerSocket) => void,
): Driver {
  const conn = new ServerConnection(options);
  let socket: ServerSocket | null = null;
  const driver: Driver = new Driver(conn, transport, (ev) => {
    switch (ev.type) {
      case "request":
        decide(driver, conn, ev.request, options.onUpgrade);
        break;
      case "open":
        socket = new ServerSocket(driver, conn.request!);
        handler(socket);
        break;
      case "message":
        socket?.onmessage?.(ev.data);
        break;
      case "ping":
        socket?.onping?.(ev.data);
        break;
      case "pong":
        socket?.onpong?.(ev.data);
        break;
      case "error":
        socket?.onerror?.(ev.error);
        break;
      case "close":
        socket?.onclose?.({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
        break;
      case "fragment":
        break;
    }
  }, options);
  return driver;
}

function decide(
  driver: Driver,
  conn: ServerConnection,
  request: UpgradeRequest,
  hook: SessionOptions["onUpgrade"],
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
  let decision: UpgradeDecision | Promise<UpgradeDecision>;
  try {
    decision = hook(request);
  } catch (error) {
    return fail(error);
  }
  if (decision instanceof Promise) {
    decision.then(apply, fail).then(() => driver.pump(), (error) => {
      fail(error);
      driver.pump();
    });
  } else {
    try {
      apply(decision);
    } catch (error) {
      fail(error);
    }
  }
}
