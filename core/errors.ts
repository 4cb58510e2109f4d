/**
 * The two error types of omniws.
 *
 * - {@linkcode UsageError}: the caller misused the API (send before open, send after close, a
 *   feature the negotiated protocol version lacks). Always thrown, with a stable `code`.
 * - {@linkcode ProtocolError}: the peer broke the protocol. Never thrown out of `receive()`;
 *   delivered as an `error` event carrying the close code (or HTTP status) that was sent back.
 *
 * A normal close is neither: it is a `close` event.
 *
 * @module
 */

import type { HandshakeErrorCode } from "../handshake/types.ts";
import type { FrameErrorCode } from "../framing/rfc6455.ts";

/** Stable machine-readable codes of {@linkcode UsageError}. */
export type UsageErrorCode =
  | "ERR_NOT_OPEN"
  | "ERR_CLOSED"
  | "ERR_WRONG_STATE"
  | "ERR_WRONG_ROLE"
  | "ERR_MESSAGE_IN_PROGRESS"
  | "ERR_NO_MESSAGE_IN_PROGRESS"
  | "ERR_UNSUPPORTED_BY_VERSION";

/**
 * Thrown when the caller uses the API in a way the connection's state or protocol version forbids.
 *
 * @example Sending before the handshake completed
 * ```ts
 * import { ClientConnection, UsageError } from "@omniws/omniws";
 * const conn = new ClientConnection({ host: "example.com", path: "/" });
 * try {
 *   conn.send("too early");
 * } catch (e) {
 *   console.assert(e instanceof UsageError && e.code === "ERR_NOT_OPEN");
 * }
 * ```
 */
export class UsageError extends Error {
  /** Stable code for programs to branch on. */
  readonly code: UsageErrorCode;

  /**
   * A usage error with its stable code.
   * @param code Stable machine-readable code.
   * @param message Human-readable explanation, sentence case, no trailing period.
   */
  constructor(code: UsageErrorCode, message: string) {
    super(message);
    this.name = "UsageError";
    this.code = code;
  }
}

/**
 * Stable machine-readable codes of {@linkcode ProtocolError}: the handshake's
 * ({@linkcode HandshakeErrorCode}, `HANDSHAKE_*`), the frame parser's ({@linkcode FrameErrorCode})
 * and those of the connection's own checks on messages, close frames and extensions.
 */
export type ProtocolErrorCode =
  | HandshakeErrorCode
  | FrameErrorCode
  | "FRAME_CONTINUATION"
  | "FRAME_CLOSE_PAYLOAD"
  | "FRAME_CLOSE_CODE"
  | "TEXT_INVALID_UTF8"
  | "MESSAGE_TOO_MANY_FRAGMENTS"
  | "EXTENSION_FAILED";

/**
 * A protocol violation by the peer. Delivered in an `error` event, never thrown by `receive()`.
 *
 * `closeCode` is the RFC 6455 close code the connection answered with (0 when the failure
 * happened during the HTTP handshake); `status` is the HTTP status answered (server) or received
 * (client), 0 when the failure happened after the handshake.
 *
 * @example Inspecting a peer's violation
 * ```ts
 * import { ProtocolError } from "@omniws/omniws";
 * const err = new ProtocolError("FRAME_MASK", "Client frame is not masked", 1002, 0);
 * console.assert(err.closeCode === 1002);
 * ```
 */
export class ProtocolError extends Error {
  /** Stable code for programs to branch on. */
  readonly code: ProtocolErrorCode;
  /** The close code sent to the peer (1002, 1007, 1009, ...), or 0 during the handshake. */
  readonly closeCode: number;
  /** The HTTP status of the failed handshake, or 0 once the connection was open. */
  readonly status: number;

  /**
   * A protocol error with its stable code and the close code or HTTP status answered.
   * @param code Stable machine-readable code.
   * @param message Human-readable explanation, sentence case, no trailing period.
   * @param closeCode The close code sent to the peer, or 0.
   * @param status The HTTP status involved, or 0.
   */
  constructor(code: ProtocolErrorCode, message: string, closeCode: number, status: number) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.closeCode = closeCode;
    this.status = status;
  }
}
