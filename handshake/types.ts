/**
 * The types every opening handshake shares, whatever the protocol revision: the revision itself,
 * the request handed to the application, the extension offers, and the one result shape of every
 * validator (the value, or the rejection with the HTTP status to answer).
 *
 * The handshake modules (RFC 6455 and hybi-07/08, hixie-76, hixie-75) and the HTTP head parser
 * import their shared types from here and nothing from the connection core; the core builds on
 * them (its `ProtocolErrorCode` includes {@linkcode HandshakeErrorCode}).
 *
 * @module
 */

import type { HttpHeaders } from "./http.ts";

/**
 * A protocol revision omniws speaks. The numbers are `Sec-WebSocket-Version` values:
 * 13 is RFC 6455, 8 covers drafts hybi-08 to hybi-12, 7 is hybi-07.
 */
export type WebSocketVersion = 13 | 8 | 7 | "hixie-76" | "hixie-75";

/** Stable codes of the handshake's failures; part of the `ProtocolError` codes. */
export type HandshakeErrorCode =
  | "HANDSHAKE_BAD_HEAD"
  | "HANDSHAKE_BAD_REQUEST"
  | "HANDSHAKE_UNSUPPORTED_VERSION"
  | "HANDSHAKE_BAD_RESPONSE"
  | "HANDSHAKE_REJECTED"
  | "HANDSHAKE_BAD_EXTENSION"
  | "HANDSHAKE_BAD_PROTOCOL"
  | "HANDSHAKE_EARLY_DATA"
  | "HANDSHAKE_ORIGIN";

/** One offer (or answer) of a `Sec-WebSocket-Extensions` header, as `parseExtensions` returns it. */
export interface ExtensionOffer {
  /** Extension token, case preserved (`"permessage-deflate"`). */
  name: string;
  /** Parameters in order: the value (quoted-string values unquoted), or `true` when valueless. */
  params: Map<string, string | true>;
  /**
   * Parameter names given more than once in this element, present only then (`params` keeps the
   * first value). The header is still well formed; the extension decides, and RFC 7692 §7 has
   * permessage-deflate decline such an offer and fail on such a response.
   */
  repeatedParams?: string[];
}

/** A parsed, validated WebSocket upgrade request, handed to the application to decide on. */
export interface UpgradeRequest {
  /** The HTTP method (always `GET` once validated). */
  method: string;
  /** The request target as sent (`/chat?room=1`). */
  target: string;
  /** The path part of the target (`/chat`). */
  path: string;
  /** The query part without `?` (`room=1`), or an empty string. */
  query: string;
  /** Every request header. */
  headers: HttpHeaders;
  /** The `Host` header. */
  host: string;
  /** The origin the client declared (`Origin` or, for hybi-07/08, `Sec-WebSocket-Origin`), or null. */
  origin: string | null;
  /** Subprotocols the client offered, in its order of preference. */
  protocols: string[];
  /** Extensions the client offered, in order. */
  extensions: ExtensionOffer[];
  /** The protocol revision the client speaks. */
  version: WebSocketVersion;
  /** `Sec-WebSocket-Key` for hybi versions; an empty string for hixie. */
  key: string;
}

/** The parts of an {@linkcode UpgradeRequest} that differ between protocol revisions. */
export interface UpgradeFields {
  /** The declared origin, or null. */
  origin: string | null;
  /** Offered subprotocols. */
  protocols: string[];
  /** Offered extensions. */
  extensions: ExtensionOffer[];
  /** The detected revision. */
  version: WebSocketVersion;
  /** `Sec-WebSocket-Key`, or an empty string (hixie). */
  key: string;
}

/** What the server agreed to in its 101 response. */
export interface UpgradeResponse {
  /** The chosen subprotocol, or an empty string. */
  protocol: string;
  /** The accepted extensions, parsed. */
  extensions: ExtensionOffer[];
  /** The raw `Sec-WebSocket-Extensions` value, or an empty string. */
  extensionsHeader: string;
}

/** Why a handshake cannot go on: the HTTP status to answer and headers that go with it. */
export interface HandshakeRejection {
  /** HTTP status for the answer (400, 405, 426, ...), or the one received (client). */
  status: number;
  /** Stable code naming the problem. */
  code: HandshakeErrorCode;
  /** What was wrong, in sentence case. */
  message: string;
  /** Headers the answer must carry (e.g. `Sec-WebSocket-Version` on 426). */
  headers: Array<[string, string]>;
}

/**
 * Result of a handshake step that can refuse (validating a request or a response, negotiating
 * extensions): the value, or why not.
 */
export type HandshakeResult<T> = { ok: true; value: T } | {
  ok: false;
  rejection: HandshakeRejection;
};
