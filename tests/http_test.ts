import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ExtensionOffer,
  HttpHeaders,
  type HttpHeadResult,
  HttpRequestParser,
  HttpResponseParser,
  isToken,
  parseExtensions,
  parseHeaderList,
} from "../handshake/http.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** Encodes a string whose characters are all <= U+00FF, one byte per character. */
function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error(`Character above U+00FF at ${i}`);
    out[i] = c;
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A seeded PRNG (mulberry32) returning 32-bit unsigned integers, so every run checks the same inputs. */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Splits `bytes` into fresh copies at random points (sizes 1..maxSize), deterministically per seed. */
function randomSplit(bytes: Uint8Array, seed: number, maxSize: number): Uint8Array[] {
  const next = mulberry32(seed);
  const chunks: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const size = 1 + (next() % maxSize);
    chunks.push(bytes.slice(pos, pos + size));
    pos += size;
  }
  return chunks;
}

/** Every chunking the invariance tests use: whole, byte by byte, seeded random splits, and (for
 * short inputs) every split into two parts. Chunks are fresh copies, never views of the input. */
function chunkings(bytes: Uint8Array): Array<[string, Uint8Array[]]> {
  const out: Array<[string, Uint8Array[]]> = [
    ["whole", [bytes.slice()]],
    ["byte by byte", Array.from(bytes, (b) => Uint8Array.of(b))],
  ];
  for (let seed = 1; seed <= 20; seed++) {
    out.push([`random split seed ${seed}`, randomSplit(bytes, seed, seed % 2 === 0 ? 7 : 40)]);
  }
  if (bytes.length <= 600) {
    for (let i = 1; i < bytes.length; i++) {
      out.push([`two parts at ${i}`, [bytes.slice(0, i), bytes.slice(i)]]);
    }
  }
  // An empty chunk between every two chunks must change nothing.
  out.push([
    "with empty chunks",
    randomSplit(bytes, 99, 13).flatMap((c) => [new Uint8Array(0), c]),
  ]);
  return out;
}

interface Parser<T> {
  push(chunk: Uint8Array): HttpHeadResult<T>;
}

type Outcome =
  | { kind: "incomplete" }
  | { kind: "complete"; head: Record<string, unknown>; rest: number[] }
  | { kind: "error"; status: number; message: string };

function normalizeHead(head: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(head)) {
    out[key] = value instanceof HttpHeaders ? value.entries() : value;
  }
  return out;
}

/** Feeds `chunks` until a terminal result; `rest` also collects the chunks not fed, as a caller
 * would forward them to the next layer. */
function run<T extends object>(parser: Parser<T>, chunks: Uint8Array[]): Outcome {
  for (let i = 0; i < chunks.length; i++) {
    const result = parser.push(chunks[i]);
    if (result.kind === "error") {
      return { kind: "error", status: result.status, message: result.message };
    }
    if (result.kind === "complete") {
      const rest = concat(result.rest, ...chunks.slice(i + 1));
      return { kind: "complete", head: normalizeHead(result.head), rest: Array.from(rest) };
    }
  }
  return { kind: "incomplete" };
}

/** Asserts every chunking gives the same outcome, and returns it. */
function invariant<T extends object>(make: () => Parser<T>, bytes: Uint8Array): Outcome {
  const expected = run(make(), [bytes.slice()]);
  for (const [name, chunks] of chunkings(bytes)) {
    assert.deepEqual(run(make(), chunks), expected, `chunking: ${name}`);
  }
  return expected;
}

const request = (limits = {}) => (): HttpRequestParser => new HttpRequestParser(limits);
const response = (limits = {}) => (): HttpResponseParser => new HttpResponseParser(limits);

function requestOutcome(text: string | Uint8Array, limits = {}): Outcome {
  return invariant(request(limits), typeof text === "string" ? latin1(text) : text);
}

function responseOutcome(text: string | Uint8Array, limits = {}): Outcome {
  return invariant(response(limits), typeof text === "string" ? latin1(text) : text);
}

function assertError(outcome: Outcome, status: number): void {
  assert.equal(outcome.kind, "error", `expected error ${status}, got ${JSON.stringify(outcome)}`);
  if (outcome.kind === "error") {
    assert.equal(outcome.status, status, outcome.message);
    // Sentence case, no trailing period.
    assert.match(outcome.message, /^[A-Z]/);
    assert.doesNotMatch(outcome.message, /\.$/);
  }
}

function completeHead(outcome: Outcome): Record<string, unknown> {
  assert.equal(outcome.kind, "complete", `expected complete, got ${JSON.stringify(outcome)}`);
  return outcome.kind === "complete" ? outcome.head : {};
}

// Time bounds (linear time on hostile input) are measured by bench/bounds_bench.ts
// (`deno task bench:bounds`), not asserted here: a loaded machine must not turn a test red.

const RFC6455_REQUEST = "GET /chat HTTP/1.1\r\n" +
  "Host: server.example.com\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Origin: http://example.com\r\n" +
  "Sec-WebSocket-Protocol: chat, superchat\r\n" +
  "Sec-WebSocket-Version: 13\r\n" +
  "\r\n";

const RFC6455_RESPONSE = "HTTP/1.1 101 Switching Protocols\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
  "Sec-WebSocket-Protocol: chat\r\n" +
  "\r\n";

const MINIMAL_REQUEST = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

function withHeaders(lines: string): string {
  return `GET / HTTP/1.1\r\n${lines}\r\n`;
}

// ---------------------------------------------------------------------------------------------

describe("HttpRequestParser", () => {
  test("RFC 6455 §1.2 sample request parses into method, target, version and ordered headers", () => {
    const outcome = requestOutcome(RFC6455_REQUEST);
    assert.deepEqual(outcome, {
      kind: "complete",
      head: {
        method: "GET",
        target: "/chat",
        version: "1.1",
        headers: [
          ["Host", "server.example.com"],
          ["Upgrade", "websocket"],
          ["Connection", "Upgrade"],
          ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
          ["Origin", "http://example.com"],
          ["Sec-WebSocket-Protocol", "chat, superchat"],
          ["Sec-WebSocket-Version", "13"],
        ],
      },
      rest: [],
    });
  });

  test("RFC 6455 sample request exposes headers case-insensitively", () => {
    const result = new HttpRequestParser().push(latin1(RFC6455_REQUEST));
    assert.equal(result.kind, "complete");
    if (result.kind !== "complete") return;
    const { headers } = result.head;
    assert.ok(result.head.headers instanceof HttpHeaders);
    assert.equal(headers.get("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
    assert.equal(headers.get("SEC-WEBSOCKET-VERSION"), "13");
    assert.equal(headers.has("origin"), true);
    assert.equal(headers.get("Cookie"), null);
    assert.equal(headers.size, 7);
  });

  test("request head split byte by byte or at random gives the same head and rest", () => {
    // invariant() asserts it for whole, byte by byte, 20 seeded random splits and every two-part split.
    const frame = [0x81, 0x85, 0x37, 0xfa, 0x21];
    const outcome = requestOutcome(concat(latin1(RFC6455_REQUEST), Uint8Array.from(frame)));
    assert.equal(outcome.kind, "complete");
    if (outcome.kind === "complete") assert.deepEqual(outcome.rest, frame);
  });

  test("rest keeps the frame bytes that arrive in the same chunk as the end of the head", () => {
    const head = latin1(MINIMAL_REQUEST);
    const frame = Uint8Array.of(0x81, 0x85, 0x37, 0xfa, 0x21);
    const chunk = concat(head, frame);
    const result = new HttpRequestParser().push(chunk);
    assert.equal(result.kind, "complete");
    if (result.kind !== "complete") return;
    assert.deepEqual(Array.from(result.rest), Array.from(frame));
    // rest is a view into the pushed chunk, not a copy.
    assert.equal(result.rest.buffer, chunk.buffer);
    assert.equal(result.rest.byteOffset, chunk.byteOffset + head.length);
  });

  test("rest holds only the bytes of the last chunk when the head ends inside it", () => {
    const parser = new HttpRequestParser();
    assert.deepEqual(parser.push(latin1("GET / HTTP/1.1\r\nHost: a\r\n\r")), {
      kind: "incomplete",
    });
    const last = Uint8Array.of(0x0a, 1, 2, 3);
    const result = parser.push(last);
    assert.equal(result.kind, "complete");
    if (result.kind === "complete") {
      assert.deepEqual(Array.from(result.rest), [1, 2, 3]);
      assert.equal(result.rest.buffer, last.buffer);
    }
  });

  test("rest is empty when the head ends exactly at the end of the chunk", () => {
    const result = new HttpRequestParser().push(latin1(MINIMAL_REQUEST));
    assert.equal(result.kind, "complete");
    if (result.kind === "complete") assert.equal(result.rest.length, 0);
  });

  test("the parser copies pending bytes, so the caller may reuse its read buffer", () => {
    const bytes = latin1(RFC6455_REQUEST);
    const scratch = new Uint8Array(7);
    const parser = new HttpRequestParser();
    let result: HttpHeadResult<unknown> = { kind: "incomplete" };
    for (let pos = 0; pos < bytes.length && result.kind === "incomplete"; pos += 7) {
      const n = Math.min(7, bytes.length - pos);
      scratch.set(bytes.subarray(pos, pos + n));
      result = parser.push(scratch.subarray(0, n));
      scratch.fill(0xee);
    }
    assert.equal(result.kind, "complete");
    if (result.kind === "complete") {
      assert.deepEqual(
        normalizeHead(result.head as object),
        completeHead(requestOutcome(RFC6455_REQUEST)),
      );
    }
  });

  test("a head without header fields is complete", () => {
    assert.deepEqual(completeHead(requestOutcome("GET / HTTP/1.1\r\n\r\n")), {
      method: "GET",
      target: "/",
      version: "1.1",
      headers: [],
    });
  });

  test("incomplete until the blank line arrives", () => {
    assert.deepEqual(requestOutcome("GET / HTTP/1.1\r\nHost: a\r\n"), { kind: "incomplete" });
    assert.deepEqual(requestOutcome("GET / HTTP/1.1\r\nHost: a\r\n\r"), { kind: "incomplete" });
    assert.deepEqual(requestOutcome(""), { kind: "incomplete" });
  });

  test("after complete, push returns complete with the same head and an empty rest", () => {
    const parser = new HttpRequestParser();
    const first = parser.push(latin1(MINIMAL_REQUEST + "abc"));
    assert.equal(first.kind, "complete");
    for (const chunk of [latin1("more"), new Uint8Array(0), latin1("GET / HTTP/1.1\r\n\r\n")]) {
      const again = parser.push(chunk);
      assert.equal(again.kind, "complete");
      if (first.kind === "complete" && again.kind === "complete") {
        assert.equal(again.head, first.head);
        assert.equal(again.rest.length, 0);
      }
    }
    assert.equal(parser.buffered, 0);
  });

  test("after an error, push returns the same error", () => {
    const parser = new HttpRequestParser();
    const first = parser.push(latin1("GET / HTTP/1.1\nHost: a\r\n\r\n"));
    assert.equal(first.kind, "error");
    assert.equal(parser.push(latin1(MINIMAL_REQUEST)), first);
    assert.equal(parser.push(new Uint8Array(0)), first);
  });

  test("leading empty lines before the request line are ignored", () => {
    const expected = completeHead(requestOutcome(MINIMAL_REQUEST));
    assert.deepEqual(completeHead(requestOutcome("\r\n" + MINIMAL_REQUEST)), expected);
    assert.deepEqual(completeHead(requestOutcome("\r\n\r\n\r\n" + MINIMAL_REQUEST)), expected);
  });

  test("leading empty lines count towards maxHeadSize", () => {
    const size = MINIMAL_REQUEST.length;
    completeHead(requestOutcome("\r\n" + MINIMAL_REQUEST, { maxHeadSize: size + 2 }));
    assertError(requestOutcome("\r\n" + MINIMAL_REQUEST, { maxHeadSize: size + 1 }), 431);
    assertError(requestOutcome("\r\n".repeat(10000)), 431);
  });

  test("a leading bare LF or bare CR is a 400", () => {
    assertError(requestOutcome("\n" + MINIMAL_REQUEST), 400);
    assertError(requestOutcome("\r" + MINIMAL_REQUEST), 400);
    assertError(requestOutcome("\r\n\n" + MINIMAL_REQUEST), 400);
  });

  test("HTTP/1.0 and HTTP/1.1 are accepted and reported as 1.0 and 1.1", () => {
    assert.equal(completeHead(requestOutcome("GET / HTTP/1.0\r\n\r\n")).version, "1.0");
    assert.equal(completeHead(requestOutcome("GET / HTTP/1.1\r\n\r\n")).version, "1.1");
  });

  test("a higher HTTP/1.x minor version is reported as 1.1 (RFC 9112 §2.3)", () => {
    assert.equal(completeHead(requestOutcome("GET / HTTP/1.2\r\n\r\n")).version, "1.1");
    assert.equal(completeHead(requestOutcome("GET / HTTP/1.9\r\n\r\n")).version, "1.1");
  });

  test("a well-formed HTTP version other than 1.x is a 505", () => {
    for (const version of ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/9.9"]) {
      assertError(requestOutcome(`GET / ${version}\r\nHost: a\r\n\r\n`), 505);
    }
    // The HTTP/2 connection preface.
    assertError(requestOutcome("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
  });

  test("a malformed HTTP version is a 400", () => {
    for (
      const version of [
        "http/1.1",
        "HTTP/1",
        "HTTP/1.",
        "HTTP/11.1",
        "HTTP/1.10",
        "HTTP/1.x",
        "HTTP/x.1",
        "HTTP 1.1",
        "HTTP/1,1",
        "HTTP/1.1 ",
        "",
        "HTTPS/1.1",
      ]
    ) {
      assertError(requestOutcome(`GET / ${version}\r\nHost: a\r\n\r\n`), 400);
    }
  });

  test("a request line without exactly single spaces is a 400", () => {
    for (
      const line of [
        "GET  / HTTP/1.1",
        "GET /  HTTP/1.1",
        " GET / HTTP/1.1",
        "GET\t/ HTTP/1.1",
        "GET /\tHTTP/1.1",
        "GET / HTTP/1.1 ",
        "GET /",
        "GET",
        "GET/ HTTP/1.1",
        "GET / x HTTP/1.1",
      ]
    ) {
      assertError(requestOutcome(`${line}\r\nHost: a\r\n\r\n`), 400);
    }
  });

  test("a request method that is not a token is a 400", () => {
    for (const method of ["GE(T", 'G"T', "GÉT", "GET\x00", "[GET]"]) {
      assertError(requestOutcome(`${method} / HTTP/1.1\r\n\r\n`), 400);
    }
  });

  test("any token is accepted as a method, case preserved", () => {
    assert.equal(completeHead(requestOutcome("get / HTTP/1.1\r\n\r\n")).method, "get");
    assert.equal(completeHead(requestOutcome("M-SEARCH * HTTP/1.1\r\n\r\n")).method, "M-SEARCH");
  });

  test("a request target with a control character is a 400", () => {
    for (const target of ["/a\x00b", "/\x01", "/\x1f", "/\x7f"]) {
      assertError(requestOutcome(`GET ${target} HTTP/1.1\r\n\r\n`), 400);
    }
  });

  test("request targets are kept as sent, query and bytes >= 0x80 included", () => {
    assert.equal(
      completeHead(requestOutcome("GET /chat?room=1&x=%20#f HTTP/1.1\r\n\r\n")).target,
      "/chat?room=1&x=%20#f",
    );
    assert.equal(
      completeHead(requestOutcome("GET http://example.com:80/ HTTP/1.1\r\n\r\n")).target,
      "http://example.com:80/",
    );
    assert.equal(completeHead(requestOutcome("GET /\xe9 HTTP/1.1\r\n\r\n")).target, "/\xe9");
  });

  test("a bare LF anywhere in the head is a 400", () => {
    assertError(requestOutcome("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
    assertError(requestOutcome("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400);
    assertError(requestOutcome("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400);
    assertError(requestOutcome("GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n"), 400);
    assertError(requestOutcome("GET / HTTP/1.1\n\n"), 400);
  });

  test("a bare CR anywhere in the head is a 400", () => {
    assertError(requestOutcome("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400);
    assertError(requestOutcome("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), 400);
    assertError(requestOutcome("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"), 400);
    assertError(requestOutcome("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"), 400);
  });

  test("a bare LF fails fast, before the end of the head arrives", () => {
    const parser = new HttpRequestParser();
    const result = parser.push(latin1("GET / HTTP/1.1\nHost: a"));
    assert.equal(result.kind === "error" && result.status, 400);
  });

  test("obs-fold (a header line starting with SP or HTAB) is a 400", () => {
    assertError(requestOutcome(withHeaders("X-A: 1\r\n 2\r\n")), 400);
    assertError(requestOutcome(withHeaders("X-A: 1\r\n\t2\r\n")), 400);
    // Whitespace between the start line and the first header field.
    assertError(requestOutcome(withHeaders(" Host: a\r\n")), 400);
  });

  test("whitespace between a header name and the colon is a 400", () => {
    assertError(requestOutcome(withHeaders("Host : a\r\n")), 400);
    assertError(requestOutcome(withHeaders("Host\t: a\r\n")), 400);
  });

  test("a header name that is empty or not a token is a 400", () => {
    for (
      const line of [": a", "Ho st: a", "Hóst: a", "(Host): a", "Host", "Host a", "Ho\x00st: a"]
    ) {
      assertError(requestOutcome(withHeaders(line + "\r\n")), 400);
    }
  });

  test("header names may be any token, case preserved", () => {
    const head = completeHead(requestOutcome(withHeaders("x-!#$%&'*+-.^_`|~09AZaz: v\r\n")));
    assert.deepEqual(head.headers, [["x-!#$%&'*+-.^_`|~09AZaz", "v"]]);
  });

  test("header values are trimmed of SP and HTAB on both sides", () => {
    const head = completeHead(
      requestOutcome(withHeaders("A:v\r\nB:  \t v  w \t \r\nC: \r\nD:\r\nE:\t\t\r\n")),
    );
    assert.deepEqual(head.headers, [["A", "v"], ["B", "v  w"], ["C", ""], ["D", ""], ["E", ""]]);
  });

  test("HTAB inside a header value is kept", () => {
    const head = completeHead(requestOutcome(withHeaders("A: x\ty\r\n")));
    assert.deepEqual(head.headers, [["A", "x\ty"]]);
  });

  test("a control character other than HTAB in a header value is a 400", () => {
    for (const c of [0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f]) {
      assertError(requestOutcome(withHeaders(`A: x${String.fromCharCode(c)}y\r\n`)), 400);
    }
  });

  test("bytes >= 0x80 in header values are decoded as latin-1, one character per byte", () => {
    const bytes = concat(
      latin1("GET / HTTP/1.1\r\nA: "),
      Uint8Array.of(0x80, 0x9f, 0xa0, 0xe9, 0xff),
      latin1("\r\n\r\n"),
    );
    const head = completeHead(requestOutcome(bytes));
    // Not windows-1252: 0x80 is U+0080, not the euro sign.
    assert.deepEqual(head.headers, [["A", "\u0080\u009f\u00a0\u00e9\u00ff"]]);
  });

  test("repeated headers are kept in order and joined by get()", () => {
    const result = new HttpRequestParser().push(
      latin1(
        withHeaders(
          "Sec-WebSocket-Protocol: chat\r\nX: 1\r\nsec-websocket-protocol: superchat\r\n",
        ),
      ),
    );
    assert.equal(result.kind, "complete");
    if (result.kind !== "complete") return;
    const { headers } = result.head;
    assert.equal(headers.get("Sec-WebSocket-Protocol"), "chat, superchat");
    assert.deepEqual(headers.getAll("SEC-WEBSOCKET-PROTOCOL"), ["chat", "superchat"]);
    assert.deepEqual(headers.entries().map(([n]) => n), [
      "Sec-WebSocket-Protocol",
      "X",
      "sec-websocket-protocol",
    ]);
  });

  test("100 header fields are accepted and 101 are a 431 by default", () => {
    const lines = (n: number): string => {
      let s = "";
      for (let i = 0; i < n; i++) s += `X-${i}: ${i}\r\n`;
      return s;
    };
    const head = completeHead(requestOutcome(withHeaders(lines(100))));
    assert.equal((head.headers as unknown[]).length, 100);
    assertError(requestOutcome(withHeaders(lines(101))), 431);
  });

  test("maxHeaders limits the number of header fields", () => {
    const text = withHeaders("A: 1\r\nB: 2\r\nC: 3\r\n");
    completeHead(requestOutcome(text, { maxHeaders: 3 }));
    assertError(requestOutcome(text, { maxHeaders: 2 }), 431);
    assertError(requestOutcome(withHeaders("A: 1\r\n"), { maxHeaders: 0 }), 431);
    completeHead(requestOutcome("GET / HTTP/1.1\r\n\r\n", { maxHeaders: 0 }));
  });

  test("a head of exactly maxHeadSize bytes is accepted and one byte more is a 431", () => {
    const text = withHeaders("Host: a\r\n");
    completeHead(requestOutcome(text, { maxHeadSize: text.length }));
    assertError(requestOutcome(text, { maxHeadSize: text.length - 1 }), 431);
  });

  test("a 16385-byte head is a 431 as soon as 16384 bytes arrived without the blank line", () => {
    const prefix = "GET / HTTP/1.1\r\nX-Pad: ";
    const text = prefix + "a".repeat(16385 - prefix.length - 4) + "\r\n\r\n";
    assert.equal(text.length, 16385);
    const bytes = latin1(text);
    const parser = new HttpRequestParser();
    for (let i = 0; i < 16383; i++) {
      assert.equal(parser.push(bytes.subarray(i, i + 1)).kind, "incomplete");
    }
    const result = parser.push(bytes.subarray(16383, 16384));
    assert.equal(result.kind === "error" && result.status, 431);
    assert.equal(parser.buffered, 0);
    // One byte less fits.
    completeHead(requestOutcome(text.slice(0, 30) + text.slice(31)));
  });

  test("1 MB of header bytes without a blank line is a 431 right after 16 KiB and memory stays bounded (time: bench/bounds_bench.ts)", () => {
    const stream = new Uint8Array(1 << 20).fill(0x61);
    stream.set(latin1("GET / HTTP/1.1\r\nX-Long: "));
    for (const size of [1, 1000]) {
      const parser = new HttpRequestParser();
      let errorAt = -1;
      let maxBuffered = 0;
      let error: HttpHeadResult<unknown> | null = null;
      for (let pos = 0; pos < stream.length; pos += size) {
        const result = parser.push(stream.subarray(pos, pos + size));
        if (parser.buffered > maxBuffered) maxBuffered = parser.buffered;
        if (result.kind === "error") {
          if (error === null) {
            error = result;
            errorAt = pos + size;
          } else {
            assert.equal(result, error);
          }
        } else {
          assert.equal(result.kind, "incomplete");
        }
      }
      assert.ok(error !== null && (error as { status: number }).status === 431);
      // The error comes with the chunk that brings the 16384th byte, not later.
      assert.equal(errorAt, Math.ceil(16384 / size) * size, `chunk size ${size}`);
      assert.ok(maxBuffered <= 16384, `buffered ${maxBuffered} bytes`);
      assert.equal(parser.buffered, 0, "the buffer is released after the error");
    }
  });

  test("the buffer never grows past the bytes fed so far nor past maxHeadSize", () => {
    const parser = new HttpRequestParser({ maxHeadSize: 4096 });
    const bytes = latin1("GET / HTTP/1.1\r\nX: " + "b".repeat(5000));
    let fed = 0;
    for (let pos = 0; pos < bytes.length; pos += 100) {
      const result = parser.push(bytes.subarray(pos, pos + 100));
      fed += 100;
      if (result.kind === "error") {
        assert.equal(result.status, 431);
        assert.equal(fed, 4100);
        break;
      }
      assert.equal(parser.buffered, fed);
    }
    assert.equal(parser.buffered, 0);
  });

  test("a 16000-byte head fed one byte at a time completes (time: bench/bounds_bench.ts)", () => {
    const prefix = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\n";
    let text = prefix;
    for (let i = 0; text.length < 15000; i++) text += `X-Header-${i}: ${"v".repeat(250)}\r\n`;
    text += "X-Pad: " + "p".repeat(16000 - text.length - 11) + "\r\n\r\n";
    assert.equal(text.length, 16000);
    const bytes = latin1(text);
    const parser = new HttpRequestParser();
    let result: HttpHeadResult<unknown> = { kind: "incomplete" };
    for (let i = 0; i < bytes.length; i++) result = parser.push(bytes.subarray(i, i + 1));
    assert.equal(result.kind, "complete");
  });

  test("a 1 MB head allowed by maxHeadSize fed one byte at a time completes (linear time: bench/bounds_bench.ts)", () => {
    const size = 1_000_000;
    const prefix = "GET / HTTP/1.1\r\nX-Big: ";
    const bytes = new Uint8Array(size).fill(0x7a);
    bytes.set(latin1(prefix));
    bytes.set(latin1("\r\n\r\n"), size - 4);
    const parser = new HttpRequestParser({ maxHeadSize: size });
    let result: HttpHeadResult<{ headers: HttpHeaders }> = { kind: "incomplete" };
    for (let i = 0; i < size; i++) result = parser.push(bytes.subarray(i, i + 1));
    assert.equal(result.kind, "complete");
    if (result.kind === "complete") {
      assert.equal(result.head.headers.get("x-big")?.length, size - prefix.length - 4);
    }
  });

  test("invalid limits are a RangeError", () => {
    assert.throws(() => new HttpRequestParser({ maxHeadSize: 0 }), RangeError);
    assert.throws(() => new HttpRequestParser({ maxHeadSize: 1.5 }), RangeError);
    assert.throws(() => new HttpRequestParser({ maxHeadSize: Number.NaN }), RangeError);
    assert.throws(() => new HttpRequestParser({ maxHeaders: -1 }), RangeError);
    assert.throws(() => new HttpResponseParser({ maxHeaders: Infinity }), RangeError);
  });

  test("random bytes never throw and give the same outcome under every chunking", () => {
    const pieces = [
      "GET",
      " ",
      "/",
      "HTTP/1.1",
      "HTTP/2.0",
      "\r\n",
      "\r",
      "\n",
      ":",
      "Host",
      "\t",
      "a",
      "\x00",
      "\x7f",
      "\xff",
      "\r\n\r\n",
      ",",
      '"',
    ];
    const next = mulberry32(6455);
    for (let round = 0; round < 150; round++) {
      let text = round % 3 === 0 ? "GET / HTTP/1.1\r\n" : "";
      const count = 1 + (next() % 40);
      for (let i = 0; i < count; i++) text += pieces[next() % pieces.length];
      if (round % 2 === 0) text += "\r\n\r\n";
      const bytes = latin1(text);
      invariant(request({ maxHeadSize: 64 + (round % 5) * 16, maxHeaders: 3 }), bytes);
      invariant(response({ maxHeadSize: 64 + (round % 5) * 16, maxHeaders: 3 }), bytes);
    }
  });
});

describe("HttpResponseParser", () => {
  test("RFC 6455 §1.3 101 response parses, and the first frame stays in rest", () => {
    const frame = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    const outcome = responseOutcome(concat(latin1(RFC6455_RESPONSE), Uint8Array.from(frame)));
    assert.deepEqual(outcome, {
      kind: "complete",
      head: {
        version: "1.1",
        status: 101,
        reason: "Switching Protocols",
        headers: [
          ["Upgrade", "websocket"],
          ["Connection", "Upgrade"],
          ["Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="],
          ["Sec-WebSocket-Protocol", "chat"],
        ],
      },
      rest: frame,
    });
  });

  test("hixie-76 response leaves the 16-byte answer in rest", () => {
    const text = "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\n" +
      "Connection: Upgrade\r\nSec-WebSocket-Origin: http://example.com\r\n" +
      "Sec-WebSocket-Location: ws://example.com/demo\r\n\r\n";
    const answer = latin1("8jKS'y:G*Co,Wxa-");
    const outcome = responseOutcome(concat(latin1(text), answer));
    assert.equal(outcome.kind, "complete");
    if (outcome.kind !== "complete") return;
    assert.equal(outcome.head.reason, "WebSocket Protocol Handshake");
    assert.deepEqual(outcome.rest, Array.from(answer));
  });

  test("a status line with no reason and no trailing space is accepted", () => {
    const head = completeHead(responseOutcome("HTTP/1.1 101\r\nUpgrade: websocket\r\n\r\n"));
    assert.equal(head.status, 101);
    assert.equal(head.reason, "");
  });

  test("an empty reason after the space is accepted", () => {
    const head = completeHead(responseOutcome("HTTP/1.1 101 \r\n\r\n"));
    assert.equal(head.reason, "");
  });

  test("reason phrases keep spaces, HTAB and latin-1 bytes as sent", () => {
    assert.equal(
      completeHead(responseOutcome("HTTP/1.1 101 Web Socket Protocol Handshake\r\n\r\n")).reason,
      "Web Socket Protocol Handshake",
    );
    assert.equal(
      completeHead(responseOutcome("HTTP/1.1 200  a\tb \xe9 \r\n\r\n")).reason,
      " a\tb \xe9 ",
    );
  });

  test("a control character in the reason phrase is a 400", () => {
    assertError(responseOutcome("HTTP/1.1 101 Swi\x00tching\r\n\r\n"), 400);
    assertError(responseOutcome("HTTP/1.1 101 \x7f\r\n\r\n"), 400);
  });

  test("HTTP/1.0 responses are accepted and reported as 1.0", () => {
    const head = completeHead(
      responseOutcome("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    );
    assert.equal(head.version, "1.0");
    assert.equal(head.status, 400);
  });

  test("a response version other than 1.x is a 505", () => {
    assertError(responseOutcome("HTTP/2.0 101 Switching Protocols\r\n\r\n"), 505);
    assertError(responseOutcome("HTTP/0.9 200 OK\r\n\r\n"), 505);
  });

  test("a malformed status line is a 400", () => {
    for (
      const line of [
        "HTTP/1.1  101 Switching Protocols",
        "HTTP/1.1101",
        "HTTP/1.1 10",
        "HTTP/1.1 1011",
        "HTTP/1.1 1x1 X",
        "HTTP/1.1 101x",
        "HTTP/1.1",
        "HTTP/1.1 ",
        "http/1.1 101",
        "HTTP/1.1\t101",
        " HTTP/1.1 101",
        "ICY 200 OK",
        "",
      ]
    ) {
      assertError(responseOutcome(`${line}\r\nUpgrade: websocket\r\n\r\n`), 400);
    }
  });

  test("a status code outside 100..599 is a 400", () => {
    assertError(responseOutcome("HTTP/1.1 099 X\r\n\r\n"), 400);
    assertError(responseOutcome("HTTP/1.1 000 X\r\n\r\n"), 400);
    assertError(responseOutcome("HTTP/1.1 600 X\r\n\r\n"), 400);
    assert.equal(completeHead(responseOutcome("HTTP/1.1 100 Continue\r\n\r\n")).status, 100);
    assert.equal(completeHead(responseOutcome("HTTP/1.1 599 X\r\n\r\n")).status, 599);
  });

  test("an empty line before the status line is a 400", () => {
    assertError(responseOutcome("\r\n" + RFC6455_RESPONSE), 400);
  });

  test("response header fields follow the same rules as request header fields", () => {
    assertError(responseOutcome("HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n"), 400);
    assertError(responseOutcome("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n x\r\n\r\n"), 400);
    assertError(responseOutcome("HTTP/1.1 101 OK\r\nUpgrade: web\x01socket\r\n\r\n"), 400);
    assertError(responseOutcome("HTTP/1.1 101 OK\nUpgrade: websocket\r\n\r\n"), 400);
    assertError(responseOutcome("HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\n\r\n", { maxHeaders: 1 }), 431);
    assertError(
      responseOutcome(RFC6455_RESPONSE, { maxHeadSize: RFC6455_RESPONSE.length - 1 }),
      431,
    );
  });

  test("response split byte by byte gives the same head and rest after completion", () => {
    const parser = new HttpResponseParser();
    const bytes = latin1(RFC6455_RESPONSE);
    for (let i = 0; i < bytes.length - 1; i++) {
      assert.equal(parser.push(bytes.subarray(i, i + 1)).kind, "incomplete");
    }
    const result = parser.push(Uint8Array.of(0x0a, 0x88, 0x00));
    assert.equal(result.kind, "complete");
    if (result.kind === "complete") assert.deepEqual(Array.from(result.rest), [0x88, 0x00]);
    const again = parser.push(Uint8Array.of(1));
    assert.equal(again.kind === "complete" && again.rest.length, 0);
  });
});

describe("HttpHeaders", () => {
  test("an empty header block has no fields", () => {
    const headers = new HttpHeaders();
    assert.equal(headers.size, 0);
    assert.equal(headers.get("a"), null);
    assert.deepEqual(headers.getAll("a"), []);
    assert.equal(headers.has("a"), false);
    assert.deepEqual(headers.entries(), []);
  });

  test("built headers keep order, original case and repeats", () => {
    const headers = new HttpHeaders([["Upgrade", "websocket"], ["X-A", "1"], ["x-a", "2"]]);
    assert.equal(headers.size, 3);
    assert.equal(headers.get("x-A"), "1, 2");
    assert.deepEqual(headers.getAll("X-a"), ["1", "2"]);
    assert.equal(headers.has("UPGRADE"), true);
    assert.deepEqual(headers.entries(), [["Upgrade", "websocket"], ["X-A", "1"], ["x-a", "2"]]);
  });

  test("headers accept any iterable of pairs", () => {
    const map = new Map([["A", "1"], ["B", "2"]]);
    assert.deepEqual(new HttpHeaders(map).entries(), [["A", "1"], ["B", "2"]]);
  });

  test("entries() and getAll() return copies that do not change the headers", () => {
    const headers = new HttpHeaders([["A", "1"]]);
    const entries = headers.entries();
    entries[0][1] = "changed";
    entries.push(["B", "2"]);
    headers.getAll("a").push("3");
    assert.deepEqual(headers.entries(), [["A", "1"]]);
    assert.deepEqual(headers.getAll("a"), ["1"]);
  });

  test("an empty value is present and returned as an empty string", () => {
    const headers = new HttpHeaders([["A", ""]]);
    assert.equal(headers.get("a"), "");
    assert.equal(headers.has("a"), true);
  });

  test("building headers with a name that is not a token is a TypeError", () => {
    for (const name of ["", "a b", "a:b", "a\r\nb", "é"]) {
      assert.throws(() => new HttpHeaders([[name, "v"]]), TypeError);
    }
  });

  test("building headers with CR, LF, NUL, DEL or a character above U+00FF in a value is a TypeError", () => {
    for (const value of ["a\r\nX-Injected: 1", "a\n", "a\r", "\x00", "\x7f", "\u20ac"]) {
      assert.throws(() => new HttpHeaders([["A", value]]), TypeError);
    }
    assert.equal(new HttpHeaders([["A", "x\ty\xff"]]).get("a"), "x\ty\xff");
  });
});

describe("parseHeaderList", () => {
  test("splits a comma-separated list and trims SP and HTAB", () => {
    assert.deepEqual(parseHeaderList("chat, superchat"), ["chat", "superchat"]);
    assert.deepEqual(parseHeaderList("keep-alive,Upgrade"), ["keep-alive", "Upgrade"]);
    assert.deepEqual(parseHeaderList(" \t13 \t"), ["13"]);
    assert.deepEqual(parseHeaderList("a b , c"), ["a b", "c"]);
  });

  test("drops empty elements", () => {
    assert.deepEqual(parseHeaderList(""), []);
    assert.deepEqual(parseHeaderList(",,, ,\t,"), []);
    assert.deepEqual(parseHeaderList(", a,, b ,"), ["a", "b"]);
  });

  test("trims only SP and HTAB, not other whitespace", () => {
    assert.deepEqual(parseHeaderList("\xa0a\xa0, \vb"), ["\xa0a\xa0", "\vb"]);
  });

  test("does not interpret quoted strings", () => {
    assert.deepEqual(parseHeaderList('"a, b"'), ['"a', 'b"']);
  });

  test("100k commas, 100k spaces and a 1 MB element parse (linear time: bench/bounds_bench.ts)", () => {
    assert.deepEqual(parseHeaderList(",".repeat(100_000)), []);
    assert.deepEqual(parseHeaderList(" ".repeat(100_000)), []);
    assert.deepEqual(parseHeaderList(" ".repeat(100_000) + "x" + " ".repeat(100_000)), ["x"]);
    assert.deepEqual(parseHeaderList(", \t".repeat(100_000) + "x"), ["x"]);
    assert.equal(parseHeaderList("a,".repeat(100_000)).length, 100_000);
    assert.equal(parseHeaderList("a".repeat(1 << 20))[0].length, 1 << 20);
  });
});

function offer(name: string, params: Array<[string, string | true]> = []): ExtensionOffer {
  return { name, params: new Map(params) };
}

describe("parseExtensions", () => {
  test("parses RFC 7692 permessage-deflate offers", () => {
    assert.deepEqual(parseExtensions("permessage-deflate"), [offer("permessage-deflate")]);
    assert.deepEqual(
      parseExtensions(
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate",
      ),
      [
        offer("permessage-deflate", [["client_max_window_bits", true], [
          "server_max_window_bits",
          "10",
        ]]),
        offer("permessage-deflate"),
      ],
    );
  });

  test("keeps parameter order and name case", () => {
    const offers = parseExtensions("Foo; B=1; a; C=x");
    assert.ok(offers !== null);
    assert.equal(offers[0].name, "Foo");
    assert.deepEqual([...offers[0].params], [["B", "1"], ["a", true], ["C", "x"]]);
  });

  test("unquotes quoted-string values, escapes included", () => {
    assert.deepEqual(parseExtensions('permessage-deflate; client_max_window_bits="10"'), [
      offer("permessage-deflate", [["client_max_window_bits", "10"]]),
    ]);
    assert.deepEqual(parseExtensions('x; a="1\\0"; b="\\a\\b"'), [
      offer("x", [["a", "10"], ["b", "ab"]]),
    ]);
  });

  test("accepts SP and HTAB around every separator", () => {
    assert.deepEqual(parseExtensions(' \tfoo \t; \ta \t= \t1 \t;\tb\t= "2" \t, \tbar\t '), [
      offer("foo", [["a", "1"], ["b", "2"]]),
      offer("bar"),
    ]);
  });

  test("ignores empty list elements", () => {
    assert.deepEqual(parseExtensions(", foo,, ,bar,"), [offer("foo"), offer("bar")]);
  });

  test("parses the joined value of repeated headers", () => {
    const headers = new HttpHeaders([
      ["Sec-WebSocket-Extensions", "foo"],
      ["Sec-WebSocket-Extensions", "bar; baz=2"],
    ]);
    assert.deepEqual(parseExtensions(headers.get("sec-websocket-extensions") ?? ""), [
      offer("foo"),
      offer("bar", [["baz", "2"]]),
    ]);
  });

  test("returns null on a syntax error", () => {
    for (
      const value of [
        "",
        " ",
        ",",
        ", ,",
        ";",
        "; a",
        "foo;",
        "foo;;a",
        "foo; a;",
        "foo; =1",
        "foo; a=",
        "foo; a= ;b",
        "foo; a==1",
        "foo; a=1=2",
        "foo bar",
        "foo; a b",
        "foo; a=1 2",
        'foo; a="1" 2',
        'foo; a="1',
        'foo; a="1\\',
        'foo; a=""',
        'foo; a="x y"',
        'foo; a="x,y"',
        'foo; a="1\\\u0001"',
        'foo; a="\u0001"',
        'foo; a="\u20ac"',
        '"foo"',
        'foo; "a"=1',
        "fo@o",
        "foo; a@=1",
        "foo; a=@",
        "féo",
        "foo=1",
        "foo, =",
      ]
    ) {
      assert.equal(parseExtensions(value), null, JSON.stringify(value));
    }
  });

  test("a parameter repeated in one element parses, listed in repeatedParams", () => {
    assert.deepEqual(parseExtensions("foo; a=1; a=2; b; b; a, bar; a"), [
      {
        name: "foo",
        params: new Map<string, string | true>([["a", "1"], ["b", true]]),
        repeatedParams: ["a", "b"],
      },
      offer("bar", [["a", true]]),
    ]);
  });

  test("the same parameter name in two offers is not a duplicate", () => {
    assert.deepEqual(parseExtensions("x; a=1, x; a=2"), [
      offer("x", [["a", "1"]]),
      offer("x", [["a", "2"]]),
    ]);
  });

  test("pathological inputs parse as the grammar says (linear time: bench/bounds_bench.ts)", () => {
    assert.equal(parseExtensions(",".repeat(100_000)), null);
    assert.equal(parseExtensions(" ".repeat(100_000)), null);
    assert.deepEqual(parseExtensions(",".repeat(100_000) + "x"), [offer("x")]);
    assert.deepEqual(parseExtensions(" ".repeat(100_000) + "x" + " ".repeat(100_000)), [
      offer("x"),
    ]);
    assert.equal(parseExtensions("x;".repeat(100_000)), null);
    assert.deepEqual(parseExtensions("x" + "; a".repeat(100_000)), [
      { name: "x", params: new Map([["a", true]]), repeatedParams: ["a"] },
    ]);
    const names = Array.from({ length: 20_000 }, (_, i) => `a${i}`).join("; ");
    assert.equal(parseExtensions(`x; ${names}; ${names}`)![0].repeatedParams!.length, 20_000);
    const long = "v".repeat(100_000);
    assert.deepEqual(parseExtensions(`x; a="${long}"`), [offer("x", [["a", long]])]);
    assert.deepEqual(parseExtensions(`x; a="${"\\v".repeat(100_000)}"`), [
      offer("x", [["a", long]]),
    ]);
    assert.equal(parseExtensions(`x; a="${long}`), null);
    assert.equal(parseExtensions(`x; a="${'\\"'.repeat(100_000)}`), null);
    assert.equal(parseExtensions(`x; a="${" ".repeat(100_000)}"`), null);
    const many = "x" + Array.from({ length: 50_000 }, (_, i) => `; p${i}=${i}`).join("");
    assert.equal(parseExtensions(many)?.[0].params.size, 50_000);
    assert.equal(parseExtensions("x, ".repeat(100_000))?.length, 100_000);
  });
});

describe("isToken", () => {
  test("accepts every tchar", () => {
    assert.equal(
      isToken("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
      true,
    );
    assert.equal(isToken("permessage-deflate"), true);
    assert.equal(isToken("13"), true);
  });

  test("rejects the empty string, separators, whitespace, controls and non-ASCII", () => {
    assert.equal(isToken(""), false);
    for (const c of '()<>@,;:\\"/[]?={} \t\x00\x1f\x7f\x80\xe9\u20ac') {
      assert.equal(isToken(`a${c}b`), false, JSON.stringify(c));
    }
  });
});
