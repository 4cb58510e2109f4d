/**
 * The opening handshake of draft-hixie-thewebsocketprotocol-76, published again unchanged as
 * draft-ietf-hybi-thewebsocketprotocol-00.
 *
 * The client sends two keys, `Sec-WebSocket-Key1` and `Sec-WebSocket-Key2`, and after the blank
 * line 8 raw bytes, key3 (with no `Content-Length`). Each key hides a 32-bit number: its digits
 * read as one base-10 number, divided by its count of spaces. The server proves it read the
 * handshake by answering, after its own head, the 16-byte
 * `MD5(be32(number1) || be32(number2) || key3)`:
 *
 * ```text
 * GET /demo HTTP/1.1                        HTTP/1.1 101 WebSocket Protocol Handshake
 * Host: example.com                         Upgrade: WebSocket
 * Connection: Upgrade                       Connection: Upgrade
 * Sec-WebSocket-Key2: 12998 5 Y3 1  .P00    Sec-WebSocket-Origin: http://example.com
 * Sec-WebSocket-Protocol: sample            Sec-WebSocket-Location: ws://example.com/demo
 * Upgrade: WebSocket                        Sec-WebSocket-Protocol: sample
 * Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5
 * Origin: http://example.com                8jKS'y:G*Co,Wxa-
 *
 * ^n:ds[4U
 * ```
 *
 * Wiring notes for the connection:
 *
 * - Server: validate with {@linkcode validateHixie76Request} as soon as the head is parsed, and
 *   send {@linkcode buildHixie76Response} at once (proxies that do not know hixie-76 hold key3
 *   back until the server answers). Once the 8 bytes of key3 have arrived (they may come with the
 *   head, in later chunks, or a byte at a time), write {@linkcode hixie76Answer}; the bytes after
 *   key3 are frames.
 * - Client: send `head` then `key3` from {@linkcode buildHixie76Request}; check the parsed answer
 *   with {@linkcode validateHixie76Response}, then compare the 16 bytes that follow the head
 *   with `expected` before treating anything as frames.
 * - The origin and subprotocol decisions of the hixie-75 module apply here too (no `Origin`, no
 *   `Sec-WebSocket-Origin`; subprotocols read as a comma-separated list).
 *
 * @module
 */

import { md5 } from "./_md5.ts";
import type { HttpRequestHead, HttpResponseHead } from "./http.ts";
import type {
  HandshakeErrorCode,
  HandshakeRejection,
  HandshakeResult,
  UpgradeRequest,
} from "./types.ts";
import { hasToken, upgradeRequest, validateCommon } from "./rfc6455.ts";
import {
  buildHixieRequest,
  buildHixieResponse,
  hixieProtocols,
  type HixieRequestOptions,
  type HixieResponseExpectation,
  validateHixieResponse,
} from "./hixie75.ts";

const MAX_U32 = 0xffffffff;
/** Up to this many spaces, `MAX_U32 * spaces` < 2^48, so 10 times it plus 9 is still exact. */
const NUMBER_PATH_SPACES = 0xffff;

/**
 * Reads the number hidden in a hixie-76 key: the key's digits, in order, as one base-10 number,
 * divided by the key's count of spaces (U+0020).
 *
 * The digit number may exceed 2^32 (and, in a hostile key, 2^53); it is computed exactly. A key
 * whose number grows past `0xFFFFFFFF × spaces` is refused as soon as it does, so a long key
 * costs no more than reading it.
 *
 * @param key A `Sec-WebSocket-Key1` or `Sec-WebSocket-Key2` value.
 * @returns The quotient, 0 to 0xFFFFFFFF; or null if the key has no space, no digit, a number not
 *   divisible by its count of spaces, or a quotient above 0xFFFFFFFF.
 *
 * @example The draft's example keys
 * ```ts
 * import assert from "node:assert/strict";
 * import { hixie76KeyNumber } from "./hixie76.ts";
 *
 * assert.equal(hixie76KeyNumber("4 @1  46546xW%0l 1 5"), 829309203); // 4146546015 / 5
 * assert.equal(hixie76KeyNumber("12998 5 Y3 1  .P00"), 259970620); // 1299853100 / 5
 * assert.equal(hixie76KeyNumber("12345"), null); // no space
 * ```
 */
export function hixie76KeyNumber(key: string): number | null {
  let spaces = 0;
  let digits = 0;
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x20) spaces++;
    else if (c >= 0x30 && c <= 0x39) digits++;
  }
  if (spaces === 0 || digits === 0) return null;
  if (spaces <= NUMBER_PATH_SPACES) {
    // value <= limit < 2^48 before each step, so value * 10 + 9 < 2^52: every step is exact.
    const limit = MAX_U32 * spaces;
    let value = 0;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) {
        value = value * 10 + (c - 0x30);
        if (value > limit) return null;
      }
    }
    return value % spaces === 0 ? value / spaces : null;
  }
  // More spaces than any real client sends (at most 12): exact big-integer arithmetic.
  const limit = BigInt(MAX_U32) * BigInt(spaces);
  const ten = BigInt(10);
  let value = BigInt(0);
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      value = value * ten + BigInt(c - 0x30);
      if (value > limit) return null;
    }
  }
  return value % BigInt(spaces) === BigInt(0) ? Number(value / BigInt(spaces)) : null;
}

/**
 * Computes the 16 bytes a hixie-76 server sends after its 101 head:
 * `MD5(be32(number1) || be32(number2) || key3)`, where the numbers come from
 * {@linkcode hixie76KeyNumber}.
 *
 * @param key1 The `Sec-WebSocket-Key1` value.
 * @param key2 The `Sec-WebSocket-Key2` value.
 * @param key3 The 8 bytes that followed the request head.
 * @returns The 16-byte answer, or null if a key is invalid or key3 is not 8 bytes.
 *
 * @example The draft's example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hixie76Answer } from "./hixie76.ts";
 *
 * const answer = hixie76Answer(
 *   "4 @1  46546xW%0l 1 5",
 *   "12998 5 Y3 1  .P00",
 *   new TextEncoder().encode("^n:ds[4U"),
 * );
 * assert.equal(answer && new TextDecoder().decode(answer), "8jKS'y:G*Co,Wxa-");
 * ```
 */
export function hixie76Answer(key1: string, key2: string, key3: Uint8Array): Uint8Array | null {
  if (key3.length !== 8) return null;
  const n1 = hixie76KeyNumber(key1);
  const n2 = hixie76KeyNumber(key2);
  if (n1 === null || n2 === null) return null;
  const challenge = new Uint8Array(16);
  const view = new DataView(challenge.buffer);
  view.setUint32(0, n1);
  view.setUint32(4, n2);
  challenge.set(key3, 8);
  return md5(challenge);
}

function reject(
  status: number,
  code: HandshakeErrorCode,
  message: string,
): { ok: false; rejection: HandshakeRejection } {
  return { ok: false, rejection: { status, code, message, headers: [] } };
}

/**
 * Validates a hixie-76 upgrade request head: GET, HTTP/1.1, one `Host`, `Upgrade: WebSocket`
 * and `Connection: Upgrade` (case-insensitively), and exactly one valid `Sec-WebSocket-Key1` and
 * `Sec-WebSocket-Key2` (see {@linkcode hixie76KeyNumber}). The origin comes from `Origin`, the
 * subprotocols from `Sec-WebSocket-Protocol`, read as a comma-separated list of printable ASCII
 * elements.
 *
 * key3 is not part of the head: the connection reads the 8 bytes that follow it and computes
 * {@linkcode hixie76Answer} from the keys in `value.headers`.
 *
 * @param head The parsed request head.
 * @returns The request for the application (version `"hixie-76"`, key `""`), or the rejection
 *   to answer with (400; 405 for a method other than GET).
 *
 * @example The draft's example request
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpHeaders } from "./http.ts";
 * import { validateHixie76Request } from "./hixie76.ts";
 *
 * const result = validateHixie76Request({
 *   method: "GET",
 *   target: "/demo",
 *   version: "1.1",
 *   headers: new HttpHeaders([
 *     ["Host", "example.com"],
 *     ["Connection", "Upgrade"],
 *     ["Sec-WebSocket-Key2", "12998 5 Y3 1  .P00"],
 *     ["Sec-WebSocket-Protocol", "sample"],
 *     ["Upgrade", "WebSocket"],
 *     ["Sec-WebSocket-Key1", "4 @1  46546xW%0l 1 5"],
 *     ["Origin", "http://example.com"],
 *   ]),
 * });
 * assert.equal(result.ok, true);
 * if (result.ok) {
 *   assert.equal(result.value.version, "hixie-76");
 *   assert.deepEqual(result.value.protocols, ["sample"]);
 *   assert.equal(result.value.origin, "http://example.com");
 * }
 * ```
 */
export function validateHixie76Request(head: HttpRequestHead): HandshakeResult<UpgradeRequest> {
  const common = validateCommon(head);
  if (common !== null) return { ok: false, rejection: common };
  const h = head.headers;
  if (!hasToken(h, "upgrade", "websocket")) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Upgrade header is not WebSocket");
  }
  if (!hasToken(h, "connection", "upgrade")) {
    return reject(400, "HANDSHAKE_BAD_REQUEST", "Connection header does not contain Upgrade");
  }
  for (const name of ["Sec-WebSocket-Key1", "Sec-WebSocket-Key2"]) {
    const keys = h.getAll(name);
    if (keys.length !== 1) {
      return reject(400, "HANDSHAKE_BAD_REQUEST", `Missing or repeated ${name} header`);
    }
    if (hixie76KeyNumber(keys[0]) === null) {
      return reject(
        400,
        "HANDSHAKE_BAD_REQUEST",
        `${name} is invalid: its digits must be a multiple of its count of spaces, at most 2^32 - 1 times`,
      );
    }
  }
  const protocols = hixieProtocols(head, "sec-websocket-protocol");
  if (protocols === null) {
    return reject(
      400,
      "HANDSHAKE_BAD_REQUEST",
      "Sec-WebSocket-Protocol holds a character outside printable ASCII",
    );
  }
  return {
    ok: true,
    value: upgradeRequest(head, {
      origin: h.get("origin"),
      protocols,
      extensions: [],
      version: "hixie-76",
      key: "",
    }),
  };
}

/**
 * Builds the head of the 101 answer to a hixie-76 request: `HTTP/1.1 101 WebSocket Protocol
 * Handshake`, `Upgrade: WebSocket`, `Connection: Upgrade`, `Sec-WebSocket-Origin` (only when the
 * request had an origin), `Sec-WebSocket-Location: ws[s]://<host><target>`,
 * `Sec-WebSocket-Protocol` when one was chosen, extra headers, and the blank line.
 *
 * The 16-byte {@linkcode hixie76Answer} is not included: it is written after this head, once
 * key3 has arrived.
 *
 * @param request The validated request.
 * @param secure Whether the connection uses TLS (`wss`).
 * @param protocol The chosen subprotocol, or an empty string for none.
 * @param headers Extra headers (already validated), written last.
 * @returns The response head.
 * @throws {TypeError} If the protocol, host, target or origin holds a control character.
 *
 * @example The draft's example answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpHeaders } from "./http.ts";
 * import { buildHixie76Response, validateHixie76Request } from "./hixie76.ts";
 *
 * const result = validateHixie76Request({
 *   method: "GET",
 *   target: "/demo",
 *   version: "1.1",
 *   headers: new HttpHeaders([
 *     ["Host", "example.com"],
 *     ["Upgrade", "WebSocket"],
 *     ["Connection", "Upgrade"],
 *     ["Sec-WebSocket-Key1", "4 @1  46546xW%0l 1 5"],
 *     ["Sec-WebSocket-Key2", "12998 5 Y3 1  .P00"],
 *     ["Origin", "http://example.com"],
 *   ]),
 * });
 * assert.equal(result.ok, true);
 * if (result.ok) {
 *   assert.equal(
 *     new TextDecoder().decode(buildHixie76Response(result.value, false, "sample")),
 *     "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\n" +
 *       "Connection: Upgrade\r\nSec-WebSocket-Origin: http://example.com\r\n" +
 *       "Sec-WebSocket-Location: ws://example.com/demo\r\nSec-WebSocket-Protocol: sample\r\n\r\n",
 *   );
 * }
 * ```
 */
export function buildHixie76Response(
  request: UpgradeRequest,
  secure: boolean,
  protocol: string,
  headers: Array<[string, string]> = [],
): Uint8Array {
  return buildHixieResponse(
    "HTTP/1.1 101 WebSocket Protocol Handshake",
    "Sec-WebSocket-",
    request,
    secure,
    protocol,
    headers,
  );
}

/** What a hixie-76 client needs to write its request: the hixie options and a random source. */
export interface Hixie76RequestOptions extends HixieRequestOptions {
  /** Returns `n` random bytes (`crypto.getRandomValues` in production; seeded in tests). */
  random: (n: number) => Uint8Array;
}

/** A hixie-76 client's request, and what the server must answer. */
export interface Hixie76ClientRequest {
  /** The request head, ending with the blank line. */
  head: Uint8Array;
  /** The 8 bytes to send right after `head` (no header announces them). */
  key3: Uint8Array;
  /** The 16 bytes the server must send right after its 101 head. */
  expected: Uint8Array;
}

// The characters a client scatters in a key: U+0021 to U+002F and U+003A to U+007E (84 of them).
const KEY_FILLERS = (() => {
  let s = "";
  for (let c = 0x21; c <= 0x7e; c++) if (c < 0x30 || c > 0x39) s += String.fromCharCode(c);
  return s;
})();

/** A random integer in [0, bound), from 32 random bits (the bias is below 2^-32 × bound). */
function randomBelow(random: (n: number) => Uint8Array, bound: number): number {
  const b = random(4);
  const u32 = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  return u32 % bound;
}

/** One key as the draft's client generates it; returns the key and its number. */
function generateKey(random: (n: number) => Uint8Array): [string, number] {
  const spaces = 1 + randomBelow(random, 12);
  const max = Math.floor(MAX_U32 / spaces);
  // A random integer in [0, max]: 32 bits modulo max + 1 (max + 1 <= 2^32).
  const number = randomBelow(random, max + 1);
  let key = String(number * spaces);
  const fillers = 1 + randomBelow(random, 12);
  for (let i = 0; i < fillers; i++) {
    const at = randomBelow(random, key.length + 1);
    const c = KEY_FILLERS[randomBelow(random, KEY_FILLERS.length)];
    key = key.slice(0, at) + c + key.slice(at);
  }
  // Spaces never go first or last (header values are trimmed); the key has >= 2 characters here.
  for (let i = 0; i < spaces; i++) {
    const at = 1 + randomBelow(random, key.length - 1);
    key = key.slice(0, at) + " " + key.slice(at);
  }
  return [key, number];
}

/**
 * Builds a hixie-76 client's request with fresh keys, generated as the draft's client does: for
 * each key, 1 to 12 spaces, a random number up to `0xFFFFFFFF / spaces` multiplied by the
 * spaces, 1 to 12 random characters from U+0021-U+002F and U+003A-U+007E inserted anywhere, and
 * the spaces inserted anywhere but first or last; key3 is 8 random bytes.
 *
 * The head is `GET <path> HTTP/1.1`, `Upgrade: WebSocket`, `Connection: Upgrade`, `Host`,
 * `Origin` (when not null), `Sec-WebSocket-Protocol` (when offering), `Sec-WebSocket-Key1`,
 * `Sec-WebSocket-Key2`, extra headers and the blank line. Send `key3` right after it.
 *
 * @param o What goes into the request, and the random source.
 * @returns The head, key3, and the 16 bytes the server must answer.
 * @throws {TypeError} If the host, path or origin holds a control character, the path a space,
 *   or a subprotocol is empty or holds a space, comma or non-ASCII character.
 *
 * @example The answer a server computes matches `expected`
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildHixie76Request, hixie76Answer } from "./hixie76.ts";
 *
 * const req = buildHixie76Request({
 *   host: "example.com",
 *   path: "/demo",
 *   origin: "http://example.com",
 *   protocols: [],
 *   headers: [],
 *   random: (n) => crypto.getRandomValues(new Uint8Array(n)),
 * });
 * const text = new TextDecoder().decode(req.head);
 * const key = (name: string) => text.split("\r\n").find((l) => l.startsWith(name + ": "))!.slice(name.length + 2);
 * const answer = hixie76Answer(key("Sec-WebSocket-Key1"), key("Sec-WebSocket-Key2"), req.key3);
 * assert.deepEqual(answer, req.expected);
 * ```
 */
export function buildHixie76Request(o: Hixie76RequestOptions): Hixie76ClientRequest {
  const [key1, n1] = generateKey(o.random);
  const [key2, n2] = generateKey(o.random);
  const key3 = o.random(8).slice(0, 8);
  if (key3.length !== 8) throw new RangeError("The random source returned fewer bytes than asked");
  const head = buildHixieRequest(o, "Sec-WebSocket-", [
    ["Sec-WebSocket-Key1", key1],
    ["Sec-WebSocket-Key2", key2],
  ]);
  const challenge = new Uint8Array(16);
  const view = new DataView(challenge.buffer);
  view.setUint32(0, n1);
  view.setUint32(4, n2);
  challenge.set(key3, 8);
  return { head, key3, expected: md5(challenge) };
}

/**
 * Validates a server's answer head to a hixie-76 request: status 101, `Upgrade: WebSocket` and
 * `Connection: Upgrade` (one field each, compared case-insensitively), a `Sec-WebSocket-Origin`
 * equal to the origin sent (when one was sent; ASCII case-insensitive), a
 * `Sec-WebSocket-Location` naming the URL requested (scheme matching `secure`, host compared
 * case-insensitively with the default port optional, resource exact), and a
 * `Sec-WebSocket-Protocol` that was offered, or none (then no subprotocol).
 *
 * The 16 bytes after the head are not part of it: the connection compares them with the
 * `expected` bytes from {@linkcode buildHixie76Request}.
 *
 * @param head The parsed response head.
 * @param o What the client asked for.
 * @returns The chosen subprotocol (an empty string for none), or why the answer is refused:
 *   `HANDSHAKE_REJECTED` with the server's status when it is not 101, else status 101 with
 *   `HANDSHAKE_BAD_RESPONSE` or `HANDSHAKE_BAD_PROTOCOL`.
 *
 * @example The draft's example answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpHeaders } from "./http.ts";
 * import { validateHixie76Response } from "./hixie76.ts";
 *
 * const result = validateHixie76Response({
 *   version: "1.1",
 *   status: 101,
 *   reason: "WebSocket Protocol Handshake",
 *   headers: new HttpHeaders([
 *     ["Upgrade", "WebSocket"],
 *     ["Connection", "Upgrade"],
 *     ["Sec-WebSocket-Origin", "http://example.com"],
 *     ["Sec-WebSocket-Location", "ws://example.com/demo"],
 *     ["Sec-WebSocket-Protocol", "sample"],
 *   ]),
 * }, {
 *   host: "example.com",
 *   path: "/demo",
 *   secure: false,
 *   origin: "http://example.com",
 *   protocols: ["sample"],
 * });
 * assert.deepEqual(result, { ok: true, value: { protocol: "sample" } });
 * ```
 */
export function validateHixie76Response(
  head: HttpResponseHead,
  o: HixieResponseExpectation,
): HandshakeResult<{ protocol: string }> {
  return validateHixieResponse(head, o, "Sec-WebSocket-");
}
