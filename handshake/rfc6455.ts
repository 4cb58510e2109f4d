/**
 * The RFC 6455 §4 opening handshake (also hybi-07 and hybi-08, which differ only in the version
 * number and in naming the origin header `Sec-WebSocket-Origin`).
 *
 * Pure functions over parsed heads: {@linkcode validateUpgradeRequest} turns a request head into
 * an {@linkcode UpgradeRequest} or a rejection with the HTTP status to answer;
 * {@linkcode buildAcceptResponse} writes the 101; {@linkcode buildClientRequest} and
 * {@linkcode validateUpgradeResponse} are the client's side.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "./_base64.ts";
import { sha1 } from "./_sha1.ts";
import { encodeLatin1, serializeHead } from "./_head.ts";
import {
  type HttpHeaders,
  type HttpRequestHead,
  type HttpResponseHead,
  isToken,
  parseExtensions,
  parseHeaderList,
} from "./http.ts";
import type {
  ExtensionOffer,
  HandshakeErrorCode,
  HandshakeRejection,
  HandshakeResult,
  UpgradeFields,
  UpgradeRequest,
  UpgradeResponse,
} from "./types.ts";

// Their home is ./types.ts; re-exported where they were first defined.
export type { UpgradeRequest, UpgradeResponse, WebSocketVersion } from "./types.ts";

/** The GUID appended to the key before hashing (RFC 6455 §1.3). */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The hybi versions, in order of preference, as listed in a 426 answer. */
export const HYBI_VERSIONS: readonly (13 | 8 | 7)[] = [13, 8, 7];

/**
 * Compute `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)).
 *
 * @param key The client's `Sec-WebSocket-Key`.
 * @returns The accept value.
 *
 * @example The RFC 6455 §1.3 vector
 * ```ts
 * import { acceptKey } from "@omniws/omniws";
 * console.assert(acceptKey("dGhlIHNhbXBsZSBub25jZQ==") === "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 */
export function acceptKey(key: string): string {
  return encodeBase64(sha1(encodeLatin1(key + WEBSOCKET_GUID)));
}

function reject(
  status: number,
  code: HandshakeErrorCode,
  message: string,
  headers: Array<[string, string]> = [],
): { ok: false; rejection: HandshakeRejection } {
  return { ok: false, rejection: { status, code, message, headers } };
}

/** Whether a header's comma-separated list contains `token`, compared case-insensitively. */
export function hasToken(headers: HttpHeaders, name: string, token: string): boolean {
  const value = headers.get(name);
  if (value === null) return false;
  for (const t of parseHeaderList(value)) if (t.toLowerCase() === token) return true;
  return false;
}

/** Split a request target into path and query; absolute-form targets lose scheme and authority. */
export function splitTarget(target: string): { path: string; query: string } {
  let t = target;
  if (!t.startsWith("/")) {
    const scheme = t.indexOf("://");
    if (scheme > 0) {
      const slash = t.indexOf("/", scheme + 3);
      t = slash < 0 ? "/" : t.slice(slash);
    }
  }
  const q = t.indexOf("?");
  return q < 0 ? { path: t, query: "" } : { path: t.slice(0, q), query: t.slice(q + 1) };
}

/** Build the request handed to the application from a validated head and its revision's fields. */
export function upgradeRequest(head: HttpRequestHead, fields: UpgradeFields): UpgradeRequest {
  const { path, query } = splitTarget(head.target);
  return {
    method: head.method,
    target: head.target,
    path,
    query,
    headers: head.headers,
    host: head.headers.get("host") as string,
    ...fields,
  };
}

/** Validate the parts every upgrade request shares (method, HTTP version, Host). */
export function validateCommon(head: HttpRequestHead): HandshakeRejection | null {
  if (head.method !== "GET") {
    return reject(405, "HANDSHAKE_BAD_REQUEST", `Method ${head.method} is not GET`, [[
      "Allow",
      "GET",
    ]])
      .rejection;
  }
  if (head.version !== "1.1") {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "WebSocket requires HTTP/1.1").rejection;
  }
  if (head.headers.getAll("host").length !== 1 || head.headers.get("host") === "") {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Missing or repeated Host header").rejection;
  }
  return null;
}

/** Parse the subprotocol offer; null when an entry is not a token. */
export function offeredProtocols(headers: HttpHeaders): string[] | null {
  const value = headers.get("sec-websocket-protocol");
  if (value === null) return [];
  const list = parseHeaderList(value);
  for (const p of list) if (!isToken(p)) return null;
  return list;
}

/**
 * `Sec-WebSocket-Version` as RFC 6455 §11.3.5 defines it: `DIGIT / (NZDIGIT DIGIT) /
 * ("1" DIGIT DIGIT) / ("2" DIGIT DIGIT)`, a number without leading zeros. `013`, `+13` or `13.0`
 * are not 13: they are versions nobody speaks, answered 426 like any other. (The HTTP parser has
 * already trimmed the value of surrounding SP and HTAB, which is HTTP's optional whitespace.)
 */
const VERSION_SYNTAX = /^(?:[0-9]|[1-9][0-9]|[12][0-9][0-9])$/;

/**
 * Validate a hybi (RFC 6455, hybi-07/08) upgrade request.
 *
 * @param head The parsed request head.
 * @param versions The hybi versions this server accepts.
 * @returns The request for the application, or the rejection to answer with.
 */
export function validateUpgradeRequest(
  head: HttpRequestHead,
  versions: readonly number[] = HYBI_VERSIONS,
): HandshakeResult<UpgradeRequest> {
  const common = validateCommon(head);
  if (common !== null) return { ok: false, rejection: common };
  const h = head.headers;
  if (!hasToken(h, "upgrade", "websocket")) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Upgrade header does not name websocket");
  }
  if (!hasToken(h, "connection", "upgrade")) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Connection header does not contain Upgrade");
  }
  const versionList = versions.join(", ");
  const versionValues = h.getAll("sec-websocket-version");
  const version = versionValues.length === 1 && VERSION_SYNTAX.test(versionValues[0])
    ? Number(versionValues[0])
    : -1;
  if (!versions.includes(version)) {
    return reject(
      426,
      "HANDSHAKE_UNSUPPORTED_VERSION",
      `Unsupported Sec-WebSocket-Version ${JSON.stringify(versionValues.join(", "))}`,
      [["Sec-WebSocket-Version", versionList]],
    );
  }
  const keys = h.getAll("sec-websocket-key");
  const decoded = keys.length === 1 ? decodeBase64(keys[0]) : null;
  if (decoded === null || decoded.length !== 16) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Sec-WebSocket-Key is not 16 bytes in base64");
  }
  const protocols = offeredProtocols(h);
  if (protocols === null) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Sec-WebSocket-Protocol is not a list of tokens");
  }
  const extValue = h.get("sec-websocket-extensions");
  const extensions = extValue === null ? [] : parseExtensions(extValue);
  if (extensions === null) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Sec-WebSocket-Extensions is malformed");
  }
  const origin = version === 13
    ? h.get("origin")
    : (h.get("sec-websocket-origin") ?? h.get("origin"));
  return {
    ok: true,
    value: upgradeRequest(head, {
      origin,
      protocols,
      extensions,
      version: version as 13 | 8 | 7,
      key: keys[0],
    }),
  };
}

/**
 * Build the 101 response for an accepted hybi request.
 *
 * @param key The request's `Sec-WebSocket-Key`.
 * @param protocol The chosen subprotocol, or an empty string for none.
 * @param extensions The `Sec-WebSocket-Extensions` answer, or an empty string.
 * @param headers Extra headers (already validated).
 */
export function buildAcceptResponse(
  key: string,
  protocol: string,
  extensions: string,
  headers: Array<[string, string]>,
): Uint8Array {
  const all: Array<[string, string]> = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptKey(key)],
  ];
  if (protocol !== "") all.push(["Sec-WebSocket-Protocol", protocol]);
  if (extensions !== "") all.push(["Sec-WebSocket-Extensions", extensions]);
  for (const h of headers) all.push(h);
  return serializeHead("HTTP/1.1 101 Switching Protocols", all);
}

/** What a client needs to write its upgrade request. */
export interface ClientRequestOptions {
  /** `Host` header value, with the port when it is not the scheme's default. */
  host: string;
  /** Request target: path and query (`/chat?room=1`). */
  path: string;
  /** The base64 16-byte nonce. */
  key: string;
  /** Hybi version to announce. */
  version: 13 | 8 | 7;
  /** Subprotocols to offer, most preferred first. */
  protocols: readonly string[];
  /** Origin to declare, or null. */
  origin: string | null;
  /** The `Sec-WebSocket-Extensions` offer, or an empty string. */
  extensions: string;
  /** Extra headers (already validated). */
  headers: Array<[string, string]>;
}

/**
 * Build a hybi client's upgrade request.
 * @param o What goes into the request.
 */
export function buildClientRequest(o: ClientRequestOptions): Uint8Array {
  const all: Array<[string, string]> = [
    ["Host", o.host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", o.key],
    ["Sec-WebSocket-Version", String(o.version)],
  ];
  if (o.origin !== null) all.push([o.version === 13 ? "Origin" : "Sec-WebSocket-Origin", o.origin]);
  if (o.protocols.length > 0) all.push(["Sec-WebSocket-Protocol", o.protocols.join(", ")]);
  if (o.extensions !== "") all.push(["Sec-WebSocket-Extensions", o.extensions]);
  for (const h of o.headers) all.push(h);
  return serializeHead(`GET ${o.path} HTTP/1.1`, all);
}

/**
 * Validate a server's response to a hybi upgrade request.
 *
 * @param head The parsed response head.
 * @param key The key the client sent.
 * The extensions are only parsed here; whether the client offered them, and whether their
 * parameters are acceptable, is for the extension negotiation to decide.
 *
 * @param head The parsed response head.
 * @param key The key the client sent.
 * @param protocols The subprotocols the client offered.
 */
export function validateUpgradeResponse(
  head: HttpResponseHead,
  key: string,
  protocols: readonly string[],
): HandshakeResult<UpgradeResponse> {
  if (head.status !== 101) {
    return reject(
      head.status,
      "HANDSHAKE_REJECTED",
      `Server answered ${head.status} ${head.reason}`.trim(),
    );
  }
  const h = head.headers;
  if (!hasToken(h, "upgrade", "websocket")) {
    return reject(101, "HANDSHAKE_BAD_RESPONSE", "Upgrade header does not name websocket");
  }
  if (!hasToken(h, "connection", "upgrade")) {
    return reject(101, "HANDSHAKE_BAD_RESPONSE", "Connection header does not contain Upgrade");
  }
  const accepts = h.getAll("sec-websocket-accept");
  if (accepts.length !== 1 || accepts[0] !== acceptKey(key)) {
    return reject(101, "HANDSHAKE_BAD_RESPONSE", "Sec-WebSocket-Accept does not match the key");
  }
  const chosen = h.getAll("sec-websocket-protocol");
  let protocol = "";
  if (chosen.length > 0) {
    if (chosen.length !== 1 || !protocols.includes(chosen[0])) {
      return reject(
        101,
        "HANDSHAKE_BAD_PROTOCOL",
        `Server chose a subprotocol that was not offered: ${chosen.join(", ")}`,
      );
    }
    protocol = chosen[0];
  }
  const extValue = h.get("sec-websocket-extensions");
  let extensions: ExtensionOffer[] = [];
  if (extValue !== null) {
    const parsed = parseExtensions(extValue);
    if (parsed === null) {
      return reject(101, "HANDSHAKE_BAD_EXTENSION", "Sec-WebSocket-Extensions is malformed");
    }
    extensions = parsed;
  }
  return { ok: true, value: { protocol, extensions, extensionsHeader: extValue ?? "" } };
}
