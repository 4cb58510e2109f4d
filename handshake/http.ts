/**
 * A bounded, incremental HTTP/1.1 head parser for WebSocket handshakes: requests on the server
 * ({@linkcode HttpRequestParser}), responses on the client ({@linkcode HttpResponseParser}), plus
 * the header-value tokenizers the handshake needs ({@linkcode parseHeaderList},
 * {@linkcode parseExtensions}, {@linkcode isToken}).
 *
 * Invariants:
 *
 * - Sans-I/O and synchronous: bytes in through `push()`, one result out. No runtime globals.
 * - Any chunking gives the same result: whole, byte by byte or split at random.
 * - Linear in the bytes fed: every byte is scanned once while looking for the blank line, and the
 *   finished head is parsed once. Nothing is rescanned when a head arrives byte by byte.
 * - Bounded: at most `maxHeadSize` bytes are ever held. The parser answers 431 as soon as that
 *   many bytes arrived without the blank line, and frees its buffer.
 * - Strict framing (RFC 9112): lines end in CRLF; a bare CR or bare LF, obsolete line folding,
 *   whitespace before a header colon or a control character in a value is a 400.
 * - Never throws on input: every malformed head becomes an `error` result carrying the HTTP status
 *   to answer with (400, 431 or 505).
 * - Header values are decoded as latin-1, one character per byte, so no byte is ever lost.
 *
 * @module
 */

import type { ExtensionOffer } from "./types.ts";

// Its home is ./types.ts; re-exported beside the parser that makes it.
export type { ExtensionOffer } from "./types.ts";

/** Limits of {@linkcode HttpRequestParser} and {@linkcode HttpResponseParser}. */
export interface HttpHeadLimits {
  /**
   * Largest head accepted, in bytes, counting every byte up to and including the final
   * CRLFCRLF (leading empty lines of a request included). Default 16384.
   */
  maxHeadSize?: number;
  /** Largest number of header lines accepted. Default 100. */
  maxHeaders?: number;
}

/** Outcome of one `push()` into an HTTP head parser. */
export type HttpHeadResult<T> =
  | { kind: "incomplete" }
  | { kind: "complete"; head: T; rest: Uint8Array }
  | { kind: "error"; status: number; message: string };

/** A parsed HTTP/1.x request head. */
export interface HttpRequestHead {
  /** Request method, a token, case preserved (`"GET"`). */
  method: string;
  /** Request target as sent (`"/chat?room=1"`). */
  target: string;
  /** `"1.1"` or `"1.0"`. A higher 1.x minor version is reported as `"1.1"` (RFC 9112 §2.3). */
  version: string;
  /** Header fields, in order. */
  headers: HttpHeaders;
}

/** A parsed HTTP/1.x response head. */
export interface HttpResponseHead {
  /** `"1.1"` or `"1.0"`. A higher 1.x minor version is reported as `"1.1"` (RFC 9112 §2.3). */
  version: string;
  /** Status code, 100 to 599. */
  status: number;
  /** Reason phrase, possibly empty. */
  reason: string;
  /** Header fields, in order. */
  headers: HttpHeaders;
}

const HTAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const DQUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const DEL = 0x7f;

const DEFAULT_MAX_HEAD_SIZE = 16384;
const DEFAULT_MAX_HEADERS = 100;
// Arguments per String.fromCharCode.apply call, well below every engine's argument limit.
const DECODE_CHUNK = 8192;
const EMPTY: Uint8Array = new Uint8Array(0);

// RFC 9110 §5.6.2 tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
// "`" / "|" / "~" / DIGIT / ALPHA.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/**
 * Tells whether `s` is an RFC 9110 token: one or more `tchar` (letters, digits and
 * ``!#$%&'*+-.^_`|~``).
 *
 * @param s The string to check.
 * @returns `true` if `s` is a non-empty token.
 *
 * @example Tokens and non-tokens
 * ```ts
 * import assert from "node:assert/strict";
 * import { isToken } from "./http.ts";
 *
 * assert.equal(isToken("permessage-deflate"), true);
 * assert.equal(isToken("two words"), false);
 * assert.equal(isToken(""), false);
 * ```
 */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

function isSpaceOrTab(c: number): boolean {
  return c === SP || c === HTAB;
}

/** Decodes `bytes[start, end)` as latin-1 (one character per byte). */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= DECODE_CHUNK) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  const parts: string[] = [];
  for (let i = start; i < end; i += DECODE_CHUNK) {
    const stop = Math.min(end, i + DECODE_CHUNK);
    parts.push(String.fromCharCode.apply(null, bytes.subarray(i, stop) as unknown as number[]));
  }
  return parts.join("");
}

/**
 * Ordered HTTP header fields. Repeated fields are kept; names are compared case-insensitively
 * and reported in their original case.
 *
 * @example Reading a parsed or hand-built header block
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpHeaders } from "./http.ts";
 *
 * const headers = new HttpHeaders([
 *   ["Upgrade", "websocket"],
 *   ["Sec-WebSocket-Protocol", "chat"],
 *   ["sec-websocket-protocol", "superchat"],
 * ]);
 * assert.equal(headers.get("upgrade"), "websocket");
 * assert.equal(headers.get("Sec-WebSocket-Protocol"), "chat, superchat");
 * assert.deepEqual(headers.getAll("sec-websocket-protocol"), ["chat", "superchat"]);
 * assert.equal(headers.size, 3);
 * ```
 */
export class HttpHeaders {
  /**
   * Names and values, alternating, in order. One flat array and a linear scan: a request has a
   * dozen fields, and a server keeps every open connection's request, so memory per field
   * (no pair arrays, no lower-cased copies, no index map) matters more than lookup order.
   */
  #fields: string[];

  /**
   * Builds a header block from `[name, value]` pairs, kept in the given order.
   *
   * @param entries Header fields. Names must be tokens; values must be latin-1 (no character
   *   above U+00FF) without control characters other than HTAB, so that no value can smuggle a
   *   CR or LF into a serialized head.
   * @throws {TypeError} If a name is not a token or a value holds a forbidden character.
   */
  constructor(entries?: Iterable<[string, string]>) {
    this.#fields = [];
    if (entries === undefined) return;
    for (const [name, value] of entries) {
      if (!isToken(name)) throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if ((c < SP && c !== HTAB) || c === DEL || c > 0xff) {
          throw new TypeError(`Invalid character in the value of header ${name}`);
        }
      }
      this.#fields.push(name, value);
    }
  }

  /** @internal Headers from fields the HTTP parser already checked, names and values alternating. */
  static fromChecked(fields: string[]): HttpHeaders {
    const headers = new HttpHeaders();
    headers.#fields = fields;
    return headers;
  }

  /**
   * Returns the value of a header, case-insensitively. Repeated fields are joined with `", "`
   * (RFC 9110 §5.3 list semantics).
   *
   * @param name Header name, any case.
   * @returns The combined value, or `null` if the header is absent.
   *
   * @example Combined value of a repeated header
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpHeaders } from "./http.ts";
   *
   * const headers = new HttpHeaders([["Connection", "keep-alive"], ["connection", "Upgrade"]]);
   * assert.equal(headers.get("CONNECTION"), "keep-alive, Upgrade");
   * assert.equal(headers.get("Host"), null);
   * ```
   */
  get(name: string): string | null {
    const f = this.#fields;
    let out: string | null = null;
    for (let i = 0; i < f.length; i += 2) {
      if (equalsIgnoringAsciiCase(f[i], name)) {
        out = out === null ? f[i + 1] : `${out}, ${f[i + 1]}`;
      }
    }
    return out;
  }

  /**
   * Returns the value of every occurrence of a header, case-insensitively, in order.
   *
   * @param name Header name, any case.
   * @returns The values (a fresh array), empty if the header is absent.
   *
   * @example Each occurrence separately
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpHeaders } from "./http.ts";
   *
   * const headers = new HttpHeaders([["X-A", "1"], ["x-a", "2, 3"]]);
   * assert.deepEqual(headers.getAll("x-a"), ["1", "2, 3"]);
   * assert.deepEqual(headers.getAll("x-b"), []);
   * ```
   */
  getAll(name: string): string[] {
    const f = this.#fields;
    const out: string[] = [];
    for (let i = 0; i < f.length; i += 2) {
      if (equalsIgnoringAsciiCase(f[i], name)) out.push(f[i + 1]);
    }
    return out;
  }

  /**
   * Tells whether a header is present, case-insensitively.
   *
   * @param name Header name, any case.
   * @returns `true` if at least one field has that name.
   *
   * @example Presence check
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpHeaders } from "./http.ts";
   *
   * const headers = new HttpHeaders([["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="]]);
   * assert.equal(headers.has("sec-websocket-key"), true);
   * assert.equal(headers.has("sec-websocket-key1"), false);
   * ```
   */
  has(name: string): boolean {
    const f = this.#fields;
    for (let i = 0; i < f.length; i += 2) if (equalsIgnoringAsciiCase(f[i], name)) return true;
    return false;
  }

  /**
   * Returns every field as a `[name, value]` pair, names in their original case, in order.
   *
   * @returns A fresh array of fresh pairs; changing it does not change the headers.
   *
   * @example Serializing in order
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpHeaders } from "./http.ts";
   *
   * const headers = new HttpHeaders([["Upgrade", "websocket"], ["Connection", "Upgrade"]]);
   * const text = headers.entries().map(([n, v]) => `${n}: ${v}\r\n`).join("");
   * assert.equal(text, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
   * ```
   */
  entries(): Array<[string, string]> {
    const f = this.#fields;
    const out: Array<[string, string]> = [];
    for (let i = 0; i < f.length; i += 2) out.push([f[i], f[i + 1]]);
    return out;
  }

  /**
   * Number of fields, repeated ones counted each time.
   *
   * @returns The field count.
   *
   * @example Counting fields
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpHeaders } from "./http.ts";
   *
   * assert.equal(new HttpHeaders([["A", "1"], ["a", "2"]]).size, 2);
   * assert.equal(new HttpHeaders().size, 0);
   * ```
   */
  get size(): number {
    return this.#fields.length >>> 1;
  }
}

/**
 * Whether two strings are equal ignoring ASCII case (A-Z = a-z; no other character is folded),
 * without lower-cased copies. Header names and serialised origins are compared this way.
 *
 * @param a A string.
 * @param b Another string.
 * @returns True when they differ at most in the case of ASCII letters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { equalsIgnoringAsciiCase } from "./http.ts";
 *
 * assert.equal(equalsIgnoringAsciiCase("Sec-WebSocket-Key", "sec-websocket-key"), true);
 * assert.equal(equalsIgnoringAsciiCase("\u00c0", "\u00e0"), false);
 * ```
 */
export function equalsIgnoringAsciiCase(a: string, b: string): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const lx = x >= 0x41 && x <= 0x5a ? x | 0x20 : x;
    const ly = y >= 0x41 && y <= 0x5a ? y | 0x20 : y;
    if (lx !== ly) return false;
  }
  return true;
}

type HeadError = { kind: "error"; status: number; message: string };

function fail(status: number, message: string): HeadError {
  return { kind: "error", status, message };
}

function readLimit(value: number | undefined, fallback: number, min: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Invalid ${what}: expected an integer of at least ${min}, got ${value}`);
  }
  return value;
}

/**
 * Parses `HTTP/x.y` in `head[start, end)`.
 * Returns `"1.0"` or `"1.1"`, or an error: 505 for a well-formed version whose major is not 1,
 * 400 for anything else.
 */
function parseVersion(head: Uint8Array, start: number, end: number): string | HeadError {
  if (
    end - start !== 8 || head[start] !== 0x48 || head[start + 1] !== 0x54 ||
    head[start + 2] !== 0x54 || head[start + 3] !== 0x50 || head[start + 4] !== 0x2f ||
    head[start + 6] !== 0x2e
  ) {
    return fail(400, "Malformed HTTP version");
  }
  const major = head[start + 5] - 0x30;
  const minor = head[start + 7] - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return fail(400, "Malformed HTTP version");
  if (major !== 1) return fail(505, `Unsupported HTTP version: ${latin1(head, start, end)}`);
  return minor === 0 ? "1.0" : "1.1";
}

/**
 * Parses the header lines starting at `pos` up to the blank line. `head` is known to end in
 * CRLFCRLF and to hold no bare CR or LF, so every CR starts a line break.
 */
function parseHeaderLines(
  head: Uint8Array,
  pos: number,
  maxHeaders: number,
): HttpHeaders | HeadError {
  const fields: string[] = [];
  for (;;) {
    const end = head.indexOf(CR, pos);
    if (end === pos) break;
    if (isSpaceOrTab(head[pos])) return fail(400, "Obsolete line folding is not allowed");
    if (fields.length === 2 * maxHeaders) return fail(431, "Too many header fields");
    let colon = pos;
    while (colon < end && head[colon] < 128 && TCHAR[head[colon]] === 1) colon++;
    if (colon === end) return fail(400, "Header field without a colon");
    if (head[colon] !== COLON) {
      if (isSpaceOrTab(head[colon])) {
        let next = colon;
        while (next < end && isSpaceOrTab(head[next])) next++;
        if (head[next] === COLON) {
          return fail(400, "Whitespace between a header name and the colon");
        }
      }
      return fail(400, "Invalid character in a header name");
    }
    if (colon === pos) return fail(400, "Empty header name");
    let start = colon + 1;
    let stop = end;
    while (start < stop && isSpaceOrTab(head[start])) start++;
    while (stop > start && isSpaceOrTab(head[stop - 1])) stop--;
    for (let i = start; i < stop; i++) {
      const c = head[i];
      if ((c < SP && c !== HTAB) || c === DEL) {
        return fail(400, "Control character in a header value");
      }
    }
    fields.push(latin1(head, pos, colon), latin1(head, start, stop));
    pos = end + 2;
  }
  return HttpHeaders.fromChecked(fields);
}

function parseRequestHead(head: Uint8Array, maxHeaders: number): HttpRequestHead | HeadError {
  let pos = 0;
  // Leading empty lines were allowed by the scanner (RFC 9112 §2.2); skip them here.
  while (head[pos] === CR) pos += 2;
  const end = head.indexOf(CR, pos);
  const sp1 = head.indexOf(SP, pos);
  if (sp1 === -1 || sp1 > end) return fail(400, "Malformed request line");
  if (sp1 === pos) return fail(400, "Empty request method");
  for (let i = pos; i < sp1; i++) {
    if (head[i] >= 128 || TCHAR[head[i]] === 0) return fail(400, "Invalid request method");
  }
  const sp2 = head.indexOf(SP, sp1 + 1);
  if (sp2 === -1 || sp2 > end) return fail(400, "Malformed request line");
  if (sp2 === sp1 + 1) return fail(400, "Empty request target");
  for (let i = sp1 + 1; i < sp2; i++) {
    if (head[i] < SP || head[i] === DEL) return fail(400, "Invalid request target");
  }
  const version = parseVersion(head, sp2 + 1, end);
  if (typeof version !== "string") return version;
  const headers = parseHeaderLines(head, end + 2, maxHeaders);
  if (!(headers instanceof HttpHeaders)) return headers;
  return {
    method: latin1(head, pos, sp1),
    target: latin1(head, sp1 + 1, sp2),
    version,
    headers,
  };
}

function parseResponseHead(head: Uint8Array, maxHeaders: number): HttpResponseHead | HeadError {
  const end = head.indexOf(CR);
  if (end < 8) return fail(400, "Malformed status line");
  const version = parseVersion(head, 0, 8);
  if (typeof version !== "string") return version;
  if (end < 12 || head[8] !== SP) return fail(400, "Malformed status line");
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const digit = head[i] - 0x30;
    if (digit < 0 || digit > 9) return fail(400, "Malformed status code");
    status = status * 10 + digit;
  }
  if (status < 100 || status > 599) return fail(400, `Status code out of range: ${status}`);
  let reason = "";
  if (end > 12) {
    if (head[12] !== SP) return fail(400, "Malformed status line");
    for (let i = 13; i < end; i++) {
      if ((head[i] < SP && head[i] !== HTAB) || head[i] === DEL) {
        return fail(400, "Control character in the reason phrase");
      }
    }
    reason = latin1(head, 13, end);
  }
  const headers = parseHeaderLines(head, end + 2, maxHeaders);
  if (!(headers instanceof HttpHeaders)) return headers;
  return { version, status, reason, headers };
}

/**
 * Finds the end of a head across chunks, copying what it scanned into one buffer bounded by
 * `maxHeadSize`, then hands the whole head to `parse` once.
 */
class HeadScanner<T> {
  readonly #maxHeadSize: number;
  readonly #maxHeaders: number;
  readonly #allowLeadingEmptyLines: boolean;
  readonly #parse: (head: Uint8Array, maxHeaders: number) => T | HeadError;
  #buffer: Uint8Array;
  #length: number;
  #lineStart: number;
  #previous: number;
  #started: boolean;
  #done: HttpHeadResult<T> | null;

  constructor(
    limits: HttpHeadLimits,
    allowLeadingEmptyLines: boolean,
    parse: (head: Uint8Array, maxHeaders: number) => T | HeadError,
  ) {
    this.#maxHeadSize = readLimit(limits.maxHeadSize, DEFAULT_MAX_HEAD_SIZE, 1, "maxHeadSize");
    this.#maxHeaders = readLimit(limits.maxHeaders, DEFAULT_MAX_HEADERS, 0, "maxHeaders");
    this.#allowLeadingEmptyLines = allowLeadingEmptyLines;
    this.#parse = parse;
    this.#buffer = EMPTY;
    this.#length = 0;
    this.#lineStart = 0;
    this.#previous = 0;
    this.#started = false;
    this.#done = null;
  }

  get buffered(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): HttpHeadResult<T> {
    if (this.#done !== null) return this.#done;
    const base = this.#length;
    const room = this.#maxHeadSize - base;
    const n = chunk.length < room ? chunk.length : room;
    let previous = this.#previous;
    let lineStart = this.#lineStart;
    let started = this.#started;
    let end = -1;
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      if (previous === CR) {
        if (c !== LF) return this.#finish(fail(400, "Carriage return without line feed in head"));
        const position = base + i + 1;
        if (position - 2 === lineStart) {
          if (started) {
            end = i + 1;
            break;
          }
          if (!this.#allowLeadingEmptyLines) {
            return this.#finish(fail(400, "Empty line before the status line"));
          }
        }
        lineStart = position;
      } else if (c === LF) {
        return this.#finish(fail(400, "Line feed without carriage return in head"));
      } else if (c !== CR) {
        started = true;
      }
      previous = c;
    }
    if (end === -1) {
      if (base + n === this.#maxHeadSize) {
        return this.#finish(fail(431, `Head larger than ${this.#maxHeadSize} bytes`));
      }
      this.#append(chunk, n);
      this.#previous = previous;
      this.#lineStart = lineStart;
      this.#started = started;
      return { kind: "incomplete" };
    }
    let head: Uint8Array;
    if (base === 0) {
      head = chunk.subarray(0, end);
    } else {
      this.#append(chunk, end);
      head = this.#buffer.subarray(0, this.#length);
    }
    const parsed = this.#parse(head, this.#maxHeaders);
    // Heads have no `kind` field, so this tells an error from a head.
    if ((parsed as HeadError).kind === "error") return this.#finish(parsed as HeadError);
    this.#finish({ kind: "complete", head: parsed as T, rest: EMPTY });
    return { kind: "complete", head: parsed as T, rest: chunk.subarray(end) };
  }

  #append(chunk: Uint8Array, count: number): void {
    const needed = this.#length + count;
    if (needed > this.#buffer.length) {
      let capacity = this.#buffer.length * 2;
      if (capacity < 256) capacity = 256;
      if (capacity < needed) capacity = needed;
      if (capacity > this.#maxHeadSize) capacity = this.#maxHeadSize;
      const grown = new Uint8Array(capacity);
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(count === chunk.length ? chunk : chunk.subarray(0, count), this.#length);
    this.#length = needed;
  }

  #finish(result: HttpHeadResult<T>): HttpHeadResult<T> {
    this.#done = result;
    this.#buffer = EMPTY;
    this.#length = 0;
    return result;
  }
}

/**
 * Incremental parser of an HTTP/1.x request head, for the server side of a handshake.
 *
 * Feed it bytes as they arrive; it returns `incomplete` until the blank line ending the head,
 * then `complete` with the head and the bytes that followed it, or `error` with the status to
 * answer with: 400 (malformed), 431 (head larger than `maxHeadSize` or more than `maxHeaders`
 * fields) or 505 (HTTP version other than 1.x). Once `complete` or `error`, every later `push()`
 * returns that outcome again (`complete` with an empty `rest`) and consumes nothing.
 *
 * Empty lines (CRLF) before the request line are ignored, as RFC 9112 §2.2 allows; they count
 * towards `maxHeadSize`.
 *
 * @example The RFC 6455 §1.2 opening handshake
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpRequestParser } from "./http.ts";
 *
 * const parser = new HttpRequestParser();
 * const bytes = new TextEncoder().encode(
 *   "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\r\n",
 * );
 * assert.deepEqual(parser.push(bytes.subarray(0, 10)), { kind: "incomplete" });
 * const result = parser.push(bytes.subarray(10));
 * assert.equal(result.kind, "complete");
 * if (result.kind === "complete") {
 *   assert.equal(result.head.method, "GET");
 *   assert.equal(result.head.target, "/chat");
 *   assert.equal(result.head.headers.get("upgrade"), "websocket");
 *   assert.equal(result.rest.length, 0);
 * }
 * ```
 */
export class HttpRequestParser {
  #scanner: HeadScanner<HttpRequestHead>;

  /**
   * Creates a parser waiting for the first byte of a head.
   *
   * @param limits Size and count limits; defaults 16384 bytes and 100 fields.
   * @throws {RangeError} If `maxHeadSize` is not an integer of at least 1, or `maxHeaders` not
   *   an integer of at least 0.
   */
  constructor(limits: HttpHeadLimits = {}) {
    this.#scanner = new HeadScanner(limits, true, parseRequestHead);
  }

  /**
   * Feeds the next bytes of the connection.
   *
   * @param chunk Bytes received. They are copied if the head is not yet complete, so the caller
   *   may reuse the buffer after the call.
   * @returns `incomplete`, `complete` (with `rest`, the bytes of `chunk` after the head: a view
   *   into `chunk`, possibly empty) or `error` with an HTTP status and a message.
   *
   * @example Bytes after the head are handed back
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpRequestParser } from "./http.ts";
   *
   * const parser = new HttpRequestParser();
   * const result = parser.push(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nxyz"));
   * assert.equal(result.kind, "complete");
   * if (result.kind === "complete") assert.equal(new TextDecoder().decode(result.rest), "xyz");
   * ```
   */
  push(chunk: Uint8Array): HttpHeadResult<HttpRequestHead> {
    return this.#scanner.push(chunk);
  }

  /**
   * Number of head bytes currently held: never more than `maxHeadSize`, and 0 once the parser
   * completed or failed.
   *
   * @returns The buffered byte count.
   *
   * @example Memory is released on completion
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpRequestParser } from "./http.ts";
   *
   * const parser = new HttpRequestParser();
   * parser.push(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
   * assert.equal(parser.buffered, 16);
   * parser.push(new TextEncoder().encode("\r\n"));
   * assert.equal(parser.buffered, 0);
   * ```
   */
  get buffered(): number {
    return this.#scanner.buffered;
  }
}

/**
 * Incremental parser of an HTTP/1.x response head, for the client side of a handshake.
 *
 * Same contract as {@linkcode HttpRequestParser}, except that an empty line before the status
 * line is a 400. The status line is `HTTP/1.x SP 3DIGIT SP reason`; the reason may be empty and
 * the space before it may be missing (`HTTP/1.1 101`). Codes outside 100..599 are a 400. The
 * `status` of an `error` result says what went wrong in HTTP terms; a client has no one to send
 * it to and fails the connection.
 *
 * @example A 101 answer followed by a first frame in the same chunk
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpResponseParser } from "./http.ts";
 *
 * const parser = new HttpResponseParser();
 * const text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
 * const bytes = new Uint8Array([...new TextEncoder().encode(text), 0x81, 0x00]);
 * const result = parser.push(bytes);
 * assert.equal(result.kind, "complete");
 * if (result.kind === "complete") {
 *   assert.equal(result.head.status, 101);
 *   assert.equal(result.head.reason, "Switching Protocols");
 *   assert.deepEqual([...result.rest], [0x81, 0x00]);
 * }
 * ```
 */
export class HttpResponseParser {
  #scanner: HeadScanner<HttpResponseHead>;

  /**
   * Creates a parser waiting for the first byte of a head.
   *
   * @param limits Size and count limits; defaults 16384 bytes and 100 fields.
   * @throws {RangeError} If `maxHeadSize` is not an integer of at least 1, or `maxHeaders` not
   *   an integer of at least 0.
   */
  constructor(limits: HttpHeadLimits = {}) {
    this.#scanner = new HeadScanner(limits, false, parseResponseHead);
  }

  /**
   * Feeds the next bytes of the connection.
   *
   * @param chunk Bytes received. They are copied if the head is not yet complete, so the caller
   *   may reuse the buffer after the call.
   * @returns `incomplete`, `complete` (with `rest`, the bytes of `chunk` after the head: a view
   *   into `chunk`, possibly empty) or `error` with an HTTP status and a message.
   *
   * @example A non-1.x version
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpResponseParser } from "./http.ts";
   *
   * const parser = new HttpResponseParser();
   * const result = parser.push(new TextEncoder().encode("HTTP/2.0 200 OK\r\n\r\n"));
   * assert.equal(result.kind, "error");
   * if (result.kind === "error") assert.equal(result.status, 505);
   * ```
   */
  push(chunk: Uint8Array): HttpHeadResult<HttpResponseHead> {
    return this.#scanner.push(chunk);
  }

  /**
   * Number of head bytes currently held: never more than `maxHeadSize`, and 0 once the parser
   * completed or failed.
   *
   * @returns The buffered byte count.
   *
   * @example Memory is bounded by maxHeadSize
   * ```ts
   * import assert from "node:assert/strict";
   * import { HttpResponseParser } from "./http.ts";
   *
   * const parser = new HttpResponseParser({ maxHeadSize: 64 });
   * const result = parser.push(new Uint8Array(100).fill(0x41));
   * assert.equal(result.kind === "error" && result.status, 431);
   * assert.equal(parser.buffered, 0);
   * ```
   */
  get buffered(): number {
    return this.#scanner.buffered;
  }
}

/**
 * Splits a comma-separated header value into its elements, trimmed of SP and HTAB, dropping
 * empty elements (RFC 9110 §5.6.1). Meant for token lists such as `Connection`, `Upgrade`,
 * `Sec-WebSocket-Protocol` and `Sec-WebSocket-Version`: quoted strings are not interpreted, and
 * elements are not validated. Linear time; never throws.
 *
 * @param value A header value, e.g. from {@linkcode HttpHeaders.get}.
 * @returns The non-empty elements, in order.
 *
 * @example A Connection header
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHeaderList } from "./http.ts";
 *
 * assert.deepEqual(parseHeaderList("keep-alive, Upgrade"), ["keep-alive", "Upgrade"]);
 * assert.deepEqual(parseHeaderList(" , chat,,\tsuperchat "), ["chat", "superchat"]);
 * ```
 */
export function parseHeaderList(value: string): string[] {
  const out: string[] = [];
  const n = value.length;
  let pos = 0;
  while (pos <= n) {
    let comma = value.indexOf(",", pos);
    if (comma === -1) comma = n;
    let start = pos;
    let stop = comma;
    while (start < stop && isSpaceOrTab(value.charCodeAt(start))) start++;
    while (stop > start && isSpaceOrTab(value.charCodeAt(stop - 1))) stop--;
    if (stop > start) out.push(value.slice(start, stop));
    pos = comma + 1;
  }
  return out;
}

function skipSpace(value: string, pos: number): number {
  while (pos < value.length && isSpaceOrTab(value.charCodeAt(pos))) pos++;
  return pos;
}

function skipToken(value: string, pos: number): number {
  while (pos < value.length) {
    const c = value.charCodeAt(pos);
    if (c >= 128 || TCHAR[c] === 0) break;
    pos++;
  }
  return pos;
}

/**
 * Reads the quoted-string opening at `value[pos]` (a DQUOTE). Returns the unescaped content and
 * the position after the closing DQUOTE, or null if the string is malformed or unterminated.
 */
function readQuoted(value: string, pos: number): [string, number] | null {
  const parts: string[] = [];
  let segment = pos + 1;
  for (let i = pos + 1; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE) {
      parts.push(value.slice(segment, i));
      return [parts.join(""), i + 1];
    }
    if (c === BACKSLASH) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      const escaped = i + 1 < value.length ? value.charCodeAt(i + 1) : -1;
      if (escaped !== HTAB && (escaped < SP || escaped === DEL || escaped > 0xff)) return null;
      parts.push(value.slice(segment, i));
      segment = i + 1;
      i++;
    } else if (c !== HTAB && (c < SP || c === DEL || c > 0xff)) {
      return null;
    }
  }
  return null;
}

/**
 * Parses a `Sec-WebSocket-Extensions` header value (RFC 6455 §9.1, RFC 7692 §5):
 * `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )`, with optional SP/HTAB around
 * every separator and empty list elements ignored.
 *
 * Quoted-string values are unquoted, and must then be tokens (RFC 6455 §9.1). A parameter name
 * repeated within one extension is no syntax error: the element keeps the first value and lists
 * the name in `repeatedParams`, so an extension can decline just that offer (RFC 7692 §7) while
 * the handshake goes on. Names keep their case. Linear time; never throws.
 *
 * @param value A header value (repeated headers joined with `", "`, as {@linkcode HttpHeaders.get} does).
 * @returns The offers in order, or `null` on a syntax error or if the list has no element.
 *
 * @example permessage-deflate offers
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExtensions } from "./http.ts";
 *
 * const offers = parseExtensions(
 *   'permessage-deflate; client_max_window_bits="10"; server_no_context_takeover, permessage-deflate',
 * );
 * assert.deepEqual(offers, [
 *   {
 *     name: "permessage-deflate",
 *     params: new Map<string, string | true>([
 *       ["client_max_window_bits", "10"],
 *       ["server_no_context_takeover", true],
 *     ]),
 *   },
 *   { name: "permessage-deflate", params: new Map() },
 * ]);
 * assert.equal(parseExtensions("permessage-deflate; =1"), null);
 * ```
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = [];
  const n = value.length;
  let pos = 0;
  for (;;) {
    pos = skipSpace(value, pos);
    if (pos >= n) break;
    if (value.charCodeAt(pos) === COMMA) {
      pos++;
      continue;
    }
    let stop = skipToken(value, pos);
    if (stop === pos) return null;
    const name = value.slice(pos, stop);
    const params = new Map<string, string | true>();
    let repeated: Set<string> | null = null; // a Set: many distinct repeats stay linear
    pos = skipSpace(value, stop);
    while (pos < n && value.charCodeAt(pos) === SEMICOLON) {
      pos = skipSpace(value, pos + 1);
      stop = skipToken(value, pos);
      if (stop === pos) return null;
      const param = value.slice(pos, stop);
      pos = skipSpace(value, stop);
      let paramValue: string | true = true;
      if (pos < n && value.charCodeAt(pos) === EQUALS) {
        pos = skipSpace(value, pos + 1);
        if (pos < n && value.charCodeAt(pos) === DQUOTE) {
          const quoted = readQuoted(value, pos);
          if (quoted === null || !isToken(quoted[0])) return null;
          paramValue = quoted[0];
          pos = quoted[1];
        } else {
          stop = skipToken(value, pos);
          if (stop === pos) return null;
          paramValue = value.slice(pos, stop);
          pos = stop;
        }
        pos = skipSpace(value, pos);
      }
      if (!params.has(param)) params.set(param, paramValue);
      else (repeated ??= new Set()).add(param);
    }
    out.push(
      repeated === null ? { name, params } : { name, params, repeatedParams: [...repeated] },
    );
    if (pos >= n) break;
    if (value.charCodeAt(pos) !== COMMA) return null;
    pos++;
  }
  return out.length === 0 ? null : out;
}
