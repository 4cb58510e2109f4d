/**
 * The seam between a socket object and what carries its connection.
 *
 * A socket the application holds — the browser-style `WebSocket`, and sockets of other shapes
 * to come (a `ws`-compatible one, a runtime's native socket wrapped) — is built on a
 * {@linkcode SocketBackend}, and receives what happens through {@linkcode SocketEvents}. The
 * shared `Driver` (a core connection over a byte transport) is one backend; a native backend
 * (a runtime's own server WebSocket) is another, and socket classes need not know which.
 *
 * @module
 */

import type { ConnectionEvent, ReadyState } from "../core/connection.ts";
import type { WebSocketVersion } from "../handshake/rfc6455.ts";
import type { AdapterError } from "./_errors.ts";

/** What a socket object needs from whatever carries its connection. */
export interface SocketBackend {
  /** The connection's lifecycle state. */
  readonly state: ReadyState;
  /** The negotiated subprotocol, or an empty string. */
  readonly protocol: string;
  /** The negotiated `Sec-WebSocket-Extensions` value, or an empty string. */
  readonly extensions: string;
  /** The protocol revision in use, or null before the handshake decided it. */
  readonly version: WebSocketVersion | null;
  /** Bytes queued for the peer and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Whether reading from the peer is paused (by `pause()` or by backpressure). */
  readonly paused: boolean;
  /** Send a whole message: a string as text, bytes as binary (not copied: do not change them). */
  send(data: string | Uint8Array): void;
  /**
   * Send whole frames built once for many connections (server sockets; the core's
   * `sendFrames` rules apply): the way a publish reaches its subscribers without framing the
   * message again for each.
   */
  sendFrames(frames: Uint8Array): void;
  /** Send a ping (up to 125 bytes). */
  ping(data?: string | Uint8Array): void;
  /** Start the closing handshake (the core's `close` rules for code and reason apply). */
  close(code?: number, reason?: string): void;
  /** Give up on the connection at once (close 1006). */
  abort(): void;
  /** Stop reading from the peer until `resume()`. */
  pause(): void;
  /** Read from the peer again. */
  resume(): void;
  /** An application handler threw: report it where the server (or client) reports errors. */
  reportUncaught(error: unknown): void;
}

/** What a backend reports to the socket object built on it. */
export interface SocketEvents {
  /** Each core event, in order. */
  event(event: ConnectionEvent): void;
  /** A failure that is not a protocol violation: refused, TLS, timeout, dead peer, reset. */
  failure(error: AdapterError): void;
  /** Unsent output drained: writers waiting for room may go on. */
  drained(): void;
}
