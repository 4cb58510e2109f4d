/**
 * The opening handshake of draft-hixie-thewebsocketprotocol-75, plus the pieces that hixie-76
 * shares with it (location, subprotocol list, checking a server's answer).
 *
 * A hixie-75 client sends `Upgrade: WebSocket` and `Connection: Upgrade` with no key; the server
 * answers with a fixed 85-byte prefix, then `WebSocket-Origin`, `WebSocket-Location` and
 * optionally `WebSocket-Protocol`:
 *
 * ```text
 * HTTP/1.1 101 Web Socket Protocol Handshake
 * Upgrade: WebSocket
 * Connection: Upgrade
 * WebSocket-Origin: http://example.com
 * WebSocket-Location: ws://example.com/demo
 * WebSocket-Protocol: sample
 * ```
 *
 * Pure functions over parsed heads, like the RFC 6455 module: {@linkcode validateHixie75Request}
 * and {@linkcode buildHixie75Response} for a server, {@linkcode buildHixie75Request} and
 * {@linkcode validateHixie75Response} for a client.
 *
 * Decisions:
 *
 * - **No origin, no origin header.** A server echoes the request's `Origin` into
 *   `WebSocket-Origin` (hixie-76: `Sec-WebSocket-Origin`). When the request had none, the header
 *   is left out rather than invented: browsers always send `Origin`, and a client that sent none
 *   has nothing to compare the answer with (faye's websocket-driver behaves the same way).
 * - **Subprotocols.** The drafts define the protocol header as one string; omniws reads it as a
 *   comma-separated list (one element for a draft client, several for clients that send a list),
 *   each element printable ASCII (spaces inside allowed, as hixie-75 allowed them). The server
 *   echoes the chosen element exactly.
 * - **A client checks the raw prefix.** Hixie-75 clients compare the first 85 bytes of the answer
 *   byte for byte. A parsed head cannot show those bytes (whitespace is trimmed, case folded), so
 *   the connection must keep the first 85 bytes it receives and call
 *   {@linkcode hixie75PrefixMatches} on them, in addition to {@linkcode validateHixie75Response}.
 *
 * @module
 */

import { encodeLatin1, serializeHead } from "./_head.ts";
import type { HttpRequestHead, HttpResponseHead } from "./http.ts";
import { parseHeaderList } from "./http.ts";
import type {
  HandshakeErrorCode,
  HandshakeRejection,
  HandshakeResult,
  UpgradeRequest,
} from "./types.ts";
import { hasToken, upgradeRequest, validateCommon } from "./rfc6455.ts";

/** What a hixie (75 or 76) client needs to write its request. */
export interface HixieRequestOptions {
  /** `Host` header value, with the port when it is not the scheme's default. */
  host: string;
  /** Request target: path and query (`/chat?room=1`). */
  path: string;
  /** Origin to declare, or null. */
  origin: string | null;
  /**
   * Subprotocols to offer, most preferred first. The drafts allow one; several are sent as a
   * comma-separated list. Each must be printable ASCII without spaces or commas.
   */
  protocols: readonly string[];
  /** Extra headers (already validated), written after the WebSocket ones. */
  headers: Array<[string, string]>;
}

/** What a hixie client checks the server's answer against: what it asked for. */
export interface HixieResponseExpectation {
  /** The `Host` the client sent. */
  host: string;
  /** The request target the client sent (path and query). */
  path: string;
  /** True for `wss`, false for `ws`. */
  secure: boolean;
  /** The origin the client sent, or null. */
  origin: string | null;
  /** The subprotocols the client offered. */
  protocols: readonly string[];
}

/**
 * The first 85 bytes of every hixie-75 answer, which hixie-75 clients compare byte for byte:
 * `HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n`.
 * Shared: never modify it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HIXIE75_RESPONSE_PREFIX } from "./hixie75.ts";
 *
 * assert.equal(HIXIE75_RESPONSE_PREFIX.length, 85);
 * ```
 */
export const HIXIE75_RESPONSE_PREFIX: Uint8Array = encodeLatin1(
  "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n",
);

/**
 * Tells whether a hixie-75 answer starts with exactly {@linkcode HIXIE75_RESPONSE_PREFIX}, as
 * the draft requires a client to check.
 *
 * A client connection keeps the first 85 bytes it receives (a copy of at most 85 bytes, since
 * the head parser does not keep the raw head) and calls this once it has them or once the head
 * is complete, failing the handshake when it returns false. A complete answer is always longer
 * than 85 bytes.
 *
 * @param bytes The first bytes of the server's answer.
 * @returns True if there are at least 85 bytes and the first 85 equal the prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hixie75PrefixMatches } from "./hixie75.ts";
 *
 * const ok = "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\n" +
 *   "Connection: Upgrade\r\nWebSocket-Origin: null\r\n";
 * assert.equal(hixie75PrefixMatches(new TextEncoder().encode(ok)), true);
 * assert.equal(hixie75PrefixMatches(new TextEncoder().encode(ok.replace("Web Socket", "WebSocket"))), false);
 * ```
 */
export function hixie75PrefixMatches(bytes: Uint8Array): boolean {
  const prefix = HIXIE75_RESPONSE_PREFIX;
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function reject(
  status: number,
  code: HandshakeErrorCode,
  message: string,
): { ok: false; rejection: HandshakeRejection } {
  return { ok: false, rejection: { status, code, message, headers: [] } };
}

/**
 * Parses a hixie subprotocol header (`WebSocket-Protocol` in 75, `Sec-WebSocket-Protocol` in 76)
 * as a comma-separated list whose elements are printable ASCII (U+0020 to U+007E; spaces inside
 * an element are kept). Shared by the hixie-75 and hixie-76 modules.
 *
 * @param head The request head.
 * @param name The header name.
 * @returns The offered subprotocols (empty when the header is absent), or null when a value
 *   holds a character outside printable ASCII.
 */
export function hixieProtocols(head: HttpRequestHead, name: string): string[] | null {
  const out: string[] = [];
  for (const value of head.headers.getAll(name)) {
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return null;
    }
    for (const p of parseHeaderList(value)) out.push(p);
  }
  return out;
}

/**
 * The resource name of a request as hixie clients compare it in the location header: the target
 * as sent when it is origin-form (so `/a?` keeps its `?`), else path and query.
 *
 * @param request The validated request.
 * @returns The resource name, starting with `/`.
 */
export function hixieResource(request: UpgradeRequest): string {
  if (request.target.startsWith("/")) return request.target;
  return request.query === "" ? request.path : `${request.path}?${request.query}`;
}

/**
 * Throws a TypeError when a value to be written into a header could split or forge a line (CR,
 * LF, another control character but HTAB, or a character above U+00FF).
 */
function checkValue(what: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) {
      throw new TypeError(`Invalid character in ${what}`);
    }
  }
}

/**
 * Validates a hixie subprotocol the client offers, and joins them into one header value.
 * Shared by the hixie-75 and hixie-76 modules.
 *
 * @param protocols The subprotocols to offer.
 * @returns The header value, or an empty string for none.
 * @throws {TypeError} If a subprotocol is empty or holds a character outside U+0021 to U+007E,
 *   or a comma.
 */
export function hixieProtocolOffer(protocols: readonly string[]): string {
  for (const p of protocols) {
    let valid = p.length > 0;
    for (let i = 0; valid && i < p.length; i++) {
      const c = p.charCodeAt(i);
      valid = c > 0x20 && c < 0x7f && c !== 0x2c;
    }
    if (!valid) throw new TypeError(`Invalid subprotocol: ${JSON.stringify(p)}`);
  }
  return protocols.join(", ");
}

/**
 * The head of a hixie server's 101 answer. Shared by the hixie-75 and hixie-76 modules.
 *
 * @param statusLine The status line, without CRLF.
 * @param prefix `WebSocket-` (hixie-75) or `Sec-WebSocket-` (hixie-76).
 * @param request The validated request.
 * @param secure Whether the connection uses TLS (`wss`).
 * @param protocol The chosen subprotocol, or an empty string.
 * @param headers Extra headers (already validated), written last.
 * @returns The serialized head, ending with the blank line.
 * @throws {TypeError} If the protocol, host, target or origin holds a control character.
 */
export function buildHixieResponse(
  statusLine: string,
  prefix: string,
  request: UpgradeRequest,
  secure: boolean,
  protocol: string,
  headers: Array<[string, string]>,
): Uint8Array {
  checkValue("the subprotocol", protocol);
  checkValue("the Host header", request.host);
  checkValue("the request target", request.target);
  const all: Array<[string, string]> = [["Upgrade", "WebSocket"], ["Connection", "Upgrade"]];
  if (request.origin !== null) {
    checkValue("the origin", request.origin);
    all.push([`${prefix}Origin`, request.origin]);
  }
  const location = `${secure ? "wss" : "ws"}://${request.host}${hixieResource(request)}`;
  all.push([`${prefix}Location`, location]);
  if (protocol !== "") all.push([`${prefix}Protocol`, protocol]);
  for (const h of headers) all.push(h);
  return serializeHead(statusLine, all);
}

/**
 * The head of a hixie client's request. Shared by the hixie-75 and hixie-76 modules.
 *
 * @param o What goes into the request.
 * @param prefix `WebSocket-` (hixie-75) or `Sec-WebSocket-` (hixie-76), for the protocol header.
 * @param keys Key headers to write after the protocol (hixie-76), or none.
 * @returns The serialized head, ending with the blank line.
 * @throws {TypeError} If the host, path or origin holds a control character (or the path a
 *   space), or a subprotocol is invalid.
 */
export function buildHixieRequest(
  o: HixieRequestOptions,
  prefix: string,
  keys: Array<[string, string]>,
): Uint8Array {
  const path = o.path === "" ? "/" : o.path;
  checkValue("the host", o.host);
  checkValue("the path", path);
  if (path.includes(" ") || path.includes("\t")) {
    throw new TypeError("Invalid character in the path");
  }
  const protocol = hixieProtocolOffer(o.protocols);
  // The order of draft-hixie-75's client: GET, Upgrade, Connection, Host, Origin, protocol.
  const all: Array<[string, string]> = [
    ["Upgrade", "WebSocket"],
    ["Connection", "Upgrade"],
    ["Host", o.host],
  ];
  if (o.origin !== null) {
    checkValue("the origin", o.origin);
    all.push(["Origin", o.origin]);
  }
  if (protocol !== "") all.push([`${prefix}Protocol`, protocol]);
  for (const k of keys) all.push(k);
  for (const h of o.headers) all.push(h);
  return serializeHead(`GET ${path} HTTP/1.1`, all);
}

/** ASCII lower case (header values are latin-1, so `toLowerCase` could map more than ASCII). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** `host[:port]` lower-cased, with the scheme's default port removed. */
function normalizeAuthority(authority: string, secure: boolean): string {
  const a = asciiLower(authority);
  const port = secure ? ":443" : ":80";
  return a.endsWith(port) ? a.slice(0, a.length - port.length) : a;
}

/**
 * Checks the parts of a hixie server's 101 answer that hixie-75 and hixie-76 share: the status,
 * `Upgrade: WebSocket`, `Connection: Upgrade`, and the origin, location and protocol headers.
 *
 * Strict about Upgrade and Connection (each one field, `WebSocket` and `Upgrade` compared
 * case-insensitively, as the drafts' clients do). The origin must match, ASCII case-insensitively,
 * when the client sent one. The location must be present, use the right scheme, name the host
 * (case-insensitively, default port optional) and the exact resource. A protocol header is
 * optional (answer "no subprotocol"), but when present must name an offered subprotocol or echo
 * the whole offer.
 *
 * @param head The parsed response head.
 * @param o What the client asked for.
 * @param prefix `WebSocket-` (hixie-75) or `Sec-WebSocket-` (hixie-76).
 * @returns The chosen subprotocol, or why the answer is refused.
 */
export function validateHixieResponse(
  head: HttpResponseHead,
  o: HixieResponseExpectation,
  prefix: string,
): HandshakeResult<{ protocol: string }> {
  if (head.status !== 101) {
    return reject(
      head.status,
      "HANDSHAKE_REJECTED",
      `Server answered ${head.status} ${head.reason}`.trim(),
    );
  }
  const h = head.headers;
  const upgrade = h.getAll("upgrade");
  if (upgrade.length !== 1 || asciiLower(upgrade[0]) !== "websocket") {
    return reject(101, "HANDSHAKE_BAD_RESPONSE", "Upgrade header is not WebSocket");
  }
  const connection = h.getAll("connection");
  if (connection.length !== 1 || asciiLower(connection[0]) !== "upgrade") {
    return reject(101, "HANDSHAKE_BAD_RESPONSE", "Connection header is not Upgrade");
  }
  if (o.origin !== null) {
    const origins = h.getAll(`${prefix}origin`);
    if (origins.length !== 1 || asciiLower(origins[0]) !== asciiLower(o.origin)) {
      return reject(
        101,
        "HANDSHAKE_BAD_RESPONSE",
        `${prefix}Origin does not match the origin sent`,
      );
    }
  }
  const locations = h.getAll(`${prefix}location`);
  if (locations.length !== 1 || !locationMatches(locations[0], o)) {
    return reject(
      101,
      "HANDSHAKE_BAD_RESPONSE",
      `${prefix}Location does not match the URL requested`,
    );
  }
  const chosen = h.getAll(`${prefix}protocol`);
  let protocol = "";
  if (chosen.length > 0) {
    const offer = o.protocols.join(", ");
    if (chosen.length !== 1 || (!o.protocols.includes(chosen[0]) && chosen[0] !== offer)) {
      return reject(
        101,
        "HANDSHAKE_BAD_PROTOCOL",
        `Server chose a subprotocol that was not offered: ${chosen.join(", ")}`,
      );
    }
    protocol = chosen[0];
  }
  return { ok: true, value: { protocol } };
}

function locationMatches(location: string, o: HixieResponseExpectation): boolean {
  const scheme = o.secure ? "wss://" : "ws://";
  if (asciiLower(location.slice(0, scheme.length)) !== scheme) return false;
  const rest = location.slice(scheme.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return false;
  const path = o.path === "" ? "/" : o.path;
  return rest.slice(slash) === path &&
    normalizeAuthority(rest.slice(0, slash), o.secure) === normalizeAuthority(o.host, o.secure);
}

/**
 * Validates a hixie-75 upgrade request: GET, HTTP/1.1, one `Host`, `Upgrade: WebSocket` and
 * `Connection: Upgrade` (case-insensitively), no key headers (a request with
 * `Sec-WebSocket-Key`, `-Key1` or `-Key2` is not hixie-75). The origin comes from `Origin`, the
 * subprotocols from `WebSocket-Protocol`.
 *
 * @param head The parsed request head.
 * @returns The request for the application (version `"hixie-75"`, key `""`), or the rejection
 *   to answer with (400; 405 for a method other than GET).
 *
 * @example The draft's example request
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpHeaders } from "./http.ts";
 * import { validateHixie75Request } from "./hixie75.ts";
 *
 * const result = validateHixie75Request({
 *   method: "GET",
 *   target: "/demo",
 *   version: "1.1",
 *   headers: new HttpHeaders([
 *     ["Upgrade", "WebSocket"],
 *     ["Connection", "Upgrade"],
 *     ["Host", "example.com"],
 *     ["Origin", "http://example.com"],
 *     ["WebSocket-Protocol", "sample"],
 *   ]),
 * });
 * assert.equal(result.ok, true);
 * if (result.ok) assert.deepEqual(result.value.protocols, ["sample"]);
 * ```
 */
export function validateHixie75Request(head: HttpRequestHead): HandshakeResult<UpgradeRequest> {
  const common = validateCommon(head);
  if (common !== null) return { ok: false, rejection: common };
  const h = head.headers;
  if (!hasToken(h, "upgrade", "websocket")) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Upgrade header is not WebSocket");
  }
  if (!hasToken(h, "connection", "upgrade")) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Connection header does not contain Upgrade");
  }
  if (h.has("sec-websocket-key") || h.has("sec-websocket-key1") || h.has("sec-websocket-key2")) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "A hixie-75 request has no key header");
  }
  const protocols = hixieProtocols(head, "websocket-protocol");
  if (protocols === null) {
    return reject(
      400,
      "HANDSHAKE_BAD_REQUEST",
      "WebSocket-Protocol holds a character outside printable ASCII",
    );
  }
  return {
    ok: true,
    value: upgradeRequest(head, {
      origin: h.get("origin"),
      protocols,
      extensions: [],
      version: "hixie-75",
      key: "",
    }),
  };
}

/**
 * Builds the 101 answer to a hixie-75 request, byte for byte as the draft has it: the 85-byte
 * {@linkcode HIXIE75_RESPONSE_PREFIX}, then `WebSocket-Origin` (only when the request had an
 * origin), `WebSocket-Location: ws[s]://<host><target>`, `WebSocket-Protocol` when one was
 * chosen, extra headers, and the blank line.
 *
 * @param request The validated request.
 * @param secure Whether the connection uses TLS (`wss`).
 * @param protocol The chosen subprotocol, or an empty string for none.
 * @param headers Extra headers (already validated), written last.
 * @returns The whole answer; nothing follows it but frames.
 * @throws {TypeError} If the protocol, host, target or origin holds a control character.
 *
 * @example The draft's example answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpHeaders } from "./http.ts";
 * import { buildHixie75Response, validateHixie75Request } from "./hixie75.ts";
 *
 * const result = validateHixie75Request({
 *   method: "GET",
 *   target: "/demo",
 *   version: "1.1",
 *   headers: new HttpHeaders([
 *     ["Upgrade", "WebSocket"],
 *     ["Connection", "Upgrade"],
 *     ["Host", "example.com"],
 *     ["Origin", "http://example.com"],
 *   ]),
 * });
 * assert.equal(result.ok, true);
 * if (result.ok) {
 *   const bytes = buildHixie75Response(result.value, false, "");
 *   assert.equal(
 *     new TextDecoder().decode(bytes),
 *     "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\n" +
 *       "Connection: Upgrade\r\nWebSocket-Origin: http://example.com\r\n" +
 *       "WebSocket-Location: ws://example.com/demo\r\n\r\n",
 *   );
 * }
 * ```
 */
export function buildHixie75Response(
  request: UpgradeRequest,
  secure: boolean,
  protocol: string,
  headers: Array<[string, string]> = [],
): Uint8Array {
  return buildHixieResponse(
    "HTTP/1.1 101 Web Socket Protocol Handshake",
    "WebSocket-",
    request,
    secure,
    protocol,
    headers,
  );
}

/**
 * Builds a hixie-75 client's request: `GET <path> HTTP/1.1`, `Upgrade: WebSocket`,
 * `Connection: Upgrade`, `Host`, `Origin` (when not null), `WebSocket-Protocol` (when offering),
 * extra headers, blank line. The server answers without waiting for anything more.
 *
 * @param o What goes into the request.
 * @returns The request head.
 * @throws {TypeError} If the host, path or origin holds a control character, the path a space,
 *   or a subprotocol is empty or holds a space, comma or non-ASCII character.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildHixie75Request } from "./hixie75.ts";
 *
 * const head = buildHixie75Request({
 *   host: "example.com",
 *   path: "/demo",
 *   origin: "http://example.com",
 *   protocols: ["sample"],
 *   headers: [],
 * });
 * assert.equal(
 *   new TextDecoder().decode(head),
 *   "GET /demo HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: example.com\r\n" +
 *     "Origin: http://example.com\r\nWebSocket-Protocol: sample\r\n\r\n",
 * );
 * ```
 */
export function buildHixie75Request(o: HixieRequestOptions): Uint8Array {
  return buildHixieRequest(o, "WebSocket-", []);
}

/**
 * Validates a server's answer to a hixie-75 request, as far as a parsed head allows: status 101,
 * reason `Web Socket Protocol Handshake`, `Upgrade: WebSocket`, `Connection: Upgrade`, a
 * `WebSocket-Origin` equal to the origin sent (when one was sent), a `WebSocket-Location` naming
 * the URL requested, and a `WebSocket-Protocol` that was offered (or none).
 *
 * The draft's byte-exact check of the first 85 bytes needs the raw answer: the connection must
 * also call {@linkcode hixie75PrefixMatches}.
 *
 * @param head The parsed response head.
 * @param o What the client asked for.
 * @returns The chosen subprotocol (an empty string for none), or why the answer is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpHeaders } from "./http.ts";
 * import { validateHixie75Response } from "./hixie75.ts";
 *
 * const result = validateHixie75Response({
 *   version: "1.1",
 *   status: 101,
 *   reason: "Web Socket Protocol Handshake",
 *   headers: new HttpHeaders([
 *     ["Upgrade", "WebSocket"],
 *     ["Connection", "Upgrade"],
 *     ["WebSocket-Origin", "http://example.com"],
 *     ["WebSocket-Location", "ws://example.com/demo"],
 *   ]),
 * }, { host: "example.com", path: "/demo", secure: false, origin: "http://example.com", protocols: [] });
 * assert.deepEqual(result, { ok: true, value: { protocol: "" } });
 * ```
 */
export function validateHixie75Response(
  head: HttpResponseHead,
  o: HixieResponseExpectation,
): HandshakeResult<{ protocol: string }> {
  if (
    head.status === 101 &&
    (head.version !== "1.1" || head.reason !== "Web Socket Protocol Handshake")
  ) {
    return reject(
      101,
      "HANDSHAKE_BAD_RESPONSE",
      "Status line is not HTTP/1.1 101 Web Socket Protocol Handshake",
    );
  }
  return validateHixieResponse(head, o, "WebSocket-");
}
