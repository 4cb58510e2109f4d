/**
 * The extension interface (RFC 6455 §9): negotiation, RSV bits, and message transforms.
 *
 * An {@linkcode ExtensionFactory} takes part in the handshake; once negotiated it yields an
 * {@linkcode Extension} that owns some RSV bits and transforms whole messages on the way out and
 * the way in. permessage-deflate (RFC 7692) is the extension this interface is shaped for: its
 * RSV1 marks the first frame of a compressed message, and control frames are never transformed.
 *
 * @module
 */

import type { ExtensionOffer } from "../handshake/types.ts";
import type { ProtocolError } from "./errors.ts";

/** A negotiated extension, active on one connection. */
export interface Extension {
  /** The extension's registered name, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The RSV bits it defines, in first-header-byte position (`RSV1` = 0x40). */
  readonly rsvBits: number;
  /**
   * Transform an outgoing message.
   * @param payload The message bytes (UTF-8 for text).
   * @param binary Whether the message is binary.
   * @returns The bytes to send and the RSV bits for the message's first frame (0: untransformed).
   */
  encode(payload: Uint8Array, binary: boolean): { payload: Uint8Array; rsv: number };
  /**
   * Transform an incoming message whose first frame carried some of this extension's RSV bits.
   * @param payload The received message bytes.
   * @param rsv The RSV bits of the message's first frame.
   * @param maxSize The largest result allowed; exceed it while producing and fail with 1009.
   * @returns The decoded bytes, or the violation (with its close code) to fail the connection.
   */
  decode(payload: Uint8Array, rsv: number, maxSize: number): Uint8Array | ProtocolError;
}

/** Takes part in negotiating one extension. */
export interface ExtensionFactory {
  /** The extension's registered name. */
  readonly name: string;
  /**
   * Client: the offer to put in `Sec-WebSocket-Extensions`, with parameters, e.g.
   * `permessage-deflate; client_max_window_bits`.
   */
  offer(): string;
  /**
   * Server: choose among the client's offers of this extension (in the client's order).
   * @returns The response parameters and the active extension, or null to decline.
   */
  accept(offers: ExtensionOffer[]): { response: string; extension: Extension } | null;
  /**
   * Client: check the server's response to the offer.
   * @returns The active extension, or an error message when the response is unacceptable.
   */
  accepted(response: ExtensionOffer): Extension | string;
}
