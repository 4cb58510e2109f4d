/**
 * Serialising HTTP/1.1 heads, with the checks that keep a caller's header from splitting one.
 *
 * @module
 */

import { isToken } from "./http.ts";

/** Header entries as accepted by the public API. */
export type HeaderInit = Iterable<readonly [string, string]> | Record<string, string>;

/**
 * Normalise caller-supplied headers to a list, throwing a TypeError on a name that is not a
 * token or a value containing CR, LF, NUL or characters above U+00FF (they would forge headers).
 */
export function headerEntries(init: HeaderInit | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (init === undefined) return out;
  const list = Symbol.iterator in init
    ? init as Iterable<readonly [string, string]>
    : Object.entries(init as Record<string, string>);
  for (const [name, value] of list) {
    if (typeof name !== "string" || !isToken(name)) {
      throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
    }
    const v = String(value);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c === 0x0d || c === 0x0a || c === 0 || c > 0xff) {
        throw new TypeError(`Invalid character in the value of header ${name}`);
      }
    }
    out.push([name, v.trim()]);
  }
  return out;
}

/**
 * Encode a start line and headers as an HTTP head (latin-1, CRLF line ends, blank line last).
 * @param startLine The request or status line, without CRLF.
 * @param headers Header entries in order.
 */
export function serializeHead(startLine: string, headers: Array<[string, string]>): Uint8Array {
  let text = startLine + "\r\n";
  for (const [name, value] of headers) text += name + ": " + value + "\r\n";
  text += "\r\n";
  return encodeLatin1(text);
}

/** One byte per character; the caller has checked every character is <= U+00FF. */
export function encodeLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Standard reason phrases for the statuses a handshake answers with. */
export const REASONS: Readonly<Record<number, string>> = {
  101: "Switching Protocols",
  301: "Moved Permanently",
  302: "Found",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/**
 * Build a complete non-101 HTTP response (head + body) that closes the connection.
 * @param status An HTTP status, 200-599.
 * @param headers Extra header entries.
 * @param body The body; a string is sent as UTF-8 text/plain.
 */
export function buildHttpResponse(
  status: number,
  headers: Array<[string, string]>,
  body: string | Uint8Array,
): Uint8Array {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const all: Array<[string, string]> = [["Connection", "close"]];
  let hasType = false;
  for (const [name] of headers) if (name.toLowerCase() === "content-type") hasType = true;
  if (!hasType && bytes.length > 0) all.push(["Content-Type", "text/plain; charset=utf-8"]);
  all.push(["Content-Length", String(bytes.length)]);
  for (const h of headers) {
    const lower = h[0].toLowerCase();
    if (lower !== "content-length" && lower !== "connection") all.push(h);
  }
  const head = serializeHead(`HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}`, all);
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}
