/**
 * The extension interface (RFC 6455 §9): negotiation, RSV bits, and message transforms.
 *
 * An {@linkcode ExtensionFactory} takes part in the handshake; once negotiated it yields an
 * {@linkcode Extension} that owns some RSV bits and transforms whole messages on the way out and
 * the way in. permessage-deflate (RFC 7692) is the extension this interface is shaped for: its
 * RSV1 marks the first frame of a compressed message, and control frames are never transformed.
 *
 * {@linkcode negotiateExtensions} is the one place where offers and answers meet factories: the
 * server and client connections call it during the HTTP/1.1 handshake, and
 * `NegotiatedConnection` calls it for a handshake made elsewhere (HTTP/2, a native socket).
 *
 * @module
 */

import { parseExtensions } from "../handshake/http.ts";
import type { ExtensionOffer, HandshakeRejection, HandshakeResult } from "../handshake/types.ts";
import type { Role } from "./connection.ts";
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

/** The extension a handshake settled on, as {@linkcode negotiateExtensions} returns it. */
export interface NegotiatedExtension {
  /** The active extension, or null when none was agreed on. */
  extension: Extension | null;
  /**
   * The `Sec-WebSocket-Extensions` value of the server's answer, or an empty string for none: on
   * a server the value to send, on a client the value received.
   */
  response: string;
}

/**
 * Negotiate extensions (RFC 6455 §9.1), for either end, given the peer's
 * `Sec-WebSocket-Extensions` value.
 *
 * - Server: `peer` is the client's offer. Factories are tried in the server's order of
 *   preference; each sees the client's offers of its extension (in the client's order) and the
 *   first one to accept wins. Declining everything is not a failure: no extension is used.
 * - Client: `peer` is the server's answer to the offer `factories` made. Every element must name
 *   an offered extension, at most once, and the factory must accept its parameters; otherwise the
 *   connection must fail (`HANDSHAKE_BAD_EXTENSION`, status 101).
 *
 * A malformed value is refused: 400 `HANDSHAKE_BAD_REQUEST` on a server, 101
 * `HANDSHAKE_BAD_EXTENSION` on a client.
 *
 * @param role Which end is negotiating.
 * @param factories The extensions this end supports (server) or offered (client), in order of
 *   preference.
 * @param peer The peer's `Sec-WebSocket-Extensions` value (an empty string for none), or its
 *   elements already parsed.
 * @returns The active extension and the answer's header value, or the rejection.
 *
 * @example Both ends of a permessage-deflate negotiation
 * ```ts
 * import assert from "node:assert/strict";
 * import { negotiateExtensions } from "@omniws/omniws";
 * import { permessageDeflate } from "@omniws/omniws/permessage-deflate";
 *
 * const offer = "permessage-deflate; client_max_window_bits, x-unknown";
 * const server = negotiateExtensions("server", [permessageDeflate()], offer);
 * assert.ok(server.ok && server.value.extension?.name === "permessage-deflate");
 *
 * const client = negotiateExtensions("client", [permessageDeflate()], server.value.response);
 * assert.ok(client.ok && client.value.extension?.name === "permessage-deflate");
 *
 * const bogus = negotiateExtensions("client", [permessageDeflate()], "x-never-offered");
 * assert.ok(!bogus.ok && bogus.rejection.code === "HANDSHAKE_BAD_EXTENSION");
 * ```
 */
export function negotiateExtensions(
  role: Role,
  factories: readonly ExtensionFactory[],
  peer: string | readonly ExtensionOffer[],
): HandshakeResult<NegotiatedExtension> {
  const server = role === "server";
  // An empty value is no header at all here (the HTTP/1.1 parsers tell the two apart).
  const offers = typeof peer !== "string" ? peer : peer === "" ? [] : parseExtensions(peer);
  if (offers === null) {
    return server
      ? refuse(400, "HANDSHAKE_BAD_REQUEST", "Sec-WebSocket-Extensions is malformed")
      : refuse(101, "HANDSHAKE_BAD_EXTENSION", "Sec-WebSocket-Extensions is malformed");
  }
  if (server) {
    for (const factory of factories) {
      const mine = offers.filter((e) => e.name === factory.name);
      if (mine.length === 0) continue;
      const chosen = factory.accept(mine);
      if (chosen !== null) {
        return { ok: true, value: { extension: chosen.extension, response: chosen.response } };
      }
    }
    return { ok: true, value: { extension: null, response: "" } };
  }
  const seen = new Set<string>();
  for (const e of offers) {
    if (seen.has(e.name) || !factories.some((f) => f.name === e.name)) {
      return refuse(
        101,
        "HANDSHAKE_BAD_EXTENSION",
        `Server accepted an extension that was not offered: ${e.name}`,
      );
    }
    seen.add(e.name);
  }
  let extension: Extension | null = null;
  for (const offer of offers) {
    const active = factories.find((f) => f.name === offer.name)!.accepted(offer);
    if (typeof active === "string") return refuse(101, "HANDSHAKE_BAD_EXTENSION", active);
    extension = active;
  }
  const response = typeof peer === "string" ? peer : offers.map(formatElement).join(", ");
  return { ok: true, value: { extension, response } };
}

function refuse(
  status: number,
  code: HandshakeRejection["code"],
  message: string,
): { ok: false; rejection: HandshakeRejection } {
  return { ok: false, rejection: { status, code, message, headers: [] } };
}

/** One `Sec-WebSocket-Extensions` element written back out (parameter values are tokens). */
function formatElement(e: ExtensionOffer): string {
  let out = e.name;
  for (const [name, value] of e.params) out += value === true ? `; ${name}` : `; ${name}=${value}`;
  return out;
}
