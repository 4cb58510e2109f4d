import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  buildHixie76Request,
  buildHixie76Response,
  hixie76Answer,
  hixie76KeyNumber,
  validateHixie76Request,
  validateHixie76Response,
} from "../handshake/hixie76.ts";
import {
  HttpHeaders,
  type HttpRequestHead,
  HttpRequestParser,
  type HttpResponseHead,
  HttpResponseParser,
} from "../handshake/http.ts";
import type { UpgradeRequest } from "../handshake/rfc6455.ts";
import type { HixieResponseExpectation } from "../handshake/hixie75.ts";

const encoder = new TextEncoder();
const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const ascii = (s: string): Uint8Array => encoder.encode(s);

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

function seededRandom(seed: number): (n: number) => Uint8Array {
  const next = mulberry32(seed);
  return (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = next() >>> 24;
    return out;
  };
}

// The example of draft-ietf-hybi-thewebsocketprotocol-00 §1.2 / §5.1 (spaces are significant).
const KEY1 = "4 @1  46546xW%0l 1 5";
const KEY2 = "12998 5 Y3 1  .P00";
const KEY3 = "^n:ds[4U";
const ANSWER = "8jKS'y:G*Co,Wxa-";
const EXAMPLE_REQUEST = "GET /demo HTTP/1.1\r\n" +
  "Host: example.com\r\n" +
  "Connection: Upgrade\r\n" +
  `Sec-WebSocket-Key2: ${KEY2}\r\n` +
  "Sec-WebSocket-Protocol: sample\r\n" +
  "Upgrade: WebSocket\r\n" +
  `Sec-WebSocket-Key1: ${KEY1}\r\n` +
  "Origin: http://example.com\r\n" +
  "\r\n" +
  KEY3;
const EXAMPLE_RESPONSE = "HTTP/1.1 101 WebSocket Protocol Handshake\r\n" +
  "Upgrade: WebSocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Origin: http://example.com\r\n" +
  "Sec-WebSocket-Location: ws://example.com/demo\r\n" +
  "Sec-WebSocket-Protocol: sample\r\n" +
  "\r\n";

function parseRequest(bytes: Uint8Array): { head: HttpRequestHead; rest: Uint8Array } {
  const result = new HttpRequestParser().push(bytes);
  assert.equal(result.kind, "complete");
  if (result.kind !== "complete") throw new Error("unreachable");
  return { head: result.head, rest: result.rest };
}

function parseResponse(bytes: Uint8Array): { head: HttpResponseHead; rest: Uint8Array } {
  const result = new HttpResponseParser().push(bytes);
  assert.equal(result.kind, "complete");
  if (result.kind !== "complete") throw new Error("unreachable");
  return { head: result.head, rest: result.rest };
}

function requestHead(
  headers: Array<[string, string]>,
  extra: Partial<HttpRequestHead> = {},
): HttpRequestHead {
  return {
    method: "GET",
    target: "/chat",
    version: "1.1",
    headers: new HttpHeaders(headers),
    ...extra,
  };
}

const BASE: Array<[string, string]> = [
  ["Host", "example.com"],
  ["Upgrade", "WebSocket"],
  ["Connection", "Upgrade"],
  ["Sec-WebSocket-Key1", KEY1],
  ["Sec-WebSocket-Key2", KEY2],
];

function without(name: string): Array<[string, string]> {
  return BASE.filter(([n]) => n !== name);
}

function accepted(head: HttpRequestHead): UpgradeRequest {
  const result = validateHixie76Request(head);
  if (!result.ok) assert.fail(`Rejected: ${result.rejection.message}`);
  return result.value;
}

function rejected(head: HttpRequestHead): { status: number; code: string; message: string } {
  const result = validateHixie76Request(head);
  if (result.ok) assert.fail("Accepted a request that should be rejected");
  const { status, code, message } = result.rejection;
  assert.match(message, /^[A-Z].*[^.]$/);
  return { status, code, message };
}

function responseHead(headers: Array<[string, string]>, status = 101): HttpResponseHead {
  return {
    version: "1.1",
    status,
    reason: "WebSocket Protocol Handshake",
    headers: new HttpHeaders(headers),
  };
}

const GOOD_RESPONSE: Array<[string, string]> = [
  ["Upgrade", "WebSocket"],
  ["Connection", "Upgrade"],
  ["Sec-WebSocket-Origin", "http://example.com"],
  ["Sec-WebSocket-Location", "ws://example.com/demo"],
];
const EXPECT: HixieResponseExpectation = {
  host: "example.com",
  path: "/demo",
  secure: false,
  origin: "http://example.com",
  protocols: [],
};

describe("hixie76KeyNumber", () => {
  test("reads the draft's example keys", () => {
    assert.equal(hixie76KeyNumber(KEY1), 4146546015 / 5);
    assert.equal(hixie76KeyNumber(KEY2), 1299853100 / 5);
    assert.equal(hixie76KeyNumber("18x 6]8vM;54 *(5:  {   U1]8  z [  8"), 1868545188 / 12);
    assert.equal(hixie76KeyNumber("1_ tx7X d  <  nw  334J702) 7]o}` 0"), 1733470270 / 10);
  });

  test("refuses a key with zero spaces", () => {
    assert.equal(hixie76KeyNumber("12345"), null);
    assert.equal(hixie76KeyNumber("1\t2"), null);
  });

  test("refuses a key with no digit", () => {
    assert.equal(hixie76KeyNumber("a b c"), null);
    assert.equal(hixie76KeyNumber(" "), null);
    assert.equal(hixie76KeyNumber(""), null);
  });

  test("refuses a number not divisible by the count of spaces", () => {
    assert.equal(hixie76KeyNumber("1 0 1"), null); // 101 / 2
    assert.equal(hixie76KeyNumber("7  "), null); // 7 / 2
    assert.equal(hixie76KeyNumber("1 0 2"), 51);
  });

  test("accepts a quotient of 0 and of exactly 0xFFFFFFFF, refuses one more", () => {
    assert.equal(hixie76KeyNumber("0 0"), 0);
    assert.equal(hixie76KeyNumber("4294967295 "), 0xffffffff);
    assert.equal(hixie76KeyNumber("4294967296 "), null);
  });

  test("computes numbers above 2^32 exactly", () => {
    // 8589934590 = 2 × 0xFFFFFFFF.
    assert.equal(hixie76KeyNumber("858 993 4590"), 0xffffffff);
    assert.equal(hixie76KeyNumber("858 993 4592"), null);
    // 12 spaces, the most a client uses: 12 × 0xFFFFFFFF = 51539607540.
    assert.equal(hixie76KeyNumber("5 1 5 3 9 6 0 7 5 4 0 "), null); // 11 spaces: 51539607540 / 11 > max
    assert.equal(hixie76KeyNumber("5 1 5 3 9 6 0 7 5 4 0  "), 0xffffffff);
  });

  test("computes numbers above 2^53 exactly", () => {
    // 0xFFFFFFFF × 2097153 = 9007203547611135 > 2^53: a double would round it.
    const spaces = " ".repeat(2097153);
    assert.equal(hixie76KeyNumber(`9007203547611135${spaces}`), 0xffffffff);
    assert.equal(hixie76KeyNumber(`9007203547611136${spaces}`), null);
    assert.equal(hixie76KeyNumber(`9007203547611134${spaces}`), null);
    assert.equal(hixie76KeyNumber(`2${spaces}`), null);
    assert.equal(hixie76KeyNumber(`4194306${spaces}`), 2);
    assert.equal(hixie76KeyNumber(`9007203547611135${" ".repeat(2097152)}`), null);
  });

  test("refuses a very long digit string (time: bench/bounds_bench.ts)", () => {
    const key = "9".repeat(100000) + " ";
    assert.equal(hixie76KeyNumber(key), null);
  });
});

describe("hixie76Answer", () => {
  test("answers the draft's first example with 8jKS'y:G*Co,Wxa-", () => {
    const answer = hixie76Answer(KEY1, KEY2, ascii(KEY3));
    assert.ok(answer !== null);
    assert.equal(latin1(answer), ANSWER);
  });

  test("answers the draft's second example with fQJ,fN/4F4!~K~MH", () => {
    const answer = hixie76Answer(
      "18x 6]8vM;54 *(5:  {   U1]8  z [  8",
      "1_ tx7X d  <  nw  334J702) 7]o}` 0",
      ascii("Tm[K T2u"),
    );
    assert.ok(answer !== null);
    assert.equal(latin1(answer), "fQJ,fN/4F4!~K~MH");
  });

  test("refuses key3 of any length but 8", () => {
    assert.equal(hixie76Answer(KEY1, KEY2, ascii("^n:ds[4")), null);
    assert.equal(hixie76Answer(KEY1, KEY2, ascii("^n:ds[4U!")), null);
    assert.equal(hixie76Answer(KEY1, KEY2, new Uint8Array(0)), null);
  });

  test("refuses an invalid key", () => {
    assert.equal(hixie76Answer("123", KEY2, ascii(KEY3)), null);
    assert.equal(hixie76Answer(KEY1, "1 2 3", ascii(KEY3)), null);
  });
});

describe("validateHixie76Request", () => {
  test("accepts the draft's example request, key3 following the head", () => {
    const { head, rest } = parseRequest(ascii(EXAMPLE_REQUEST));
    const request = accepted(head);
    assert.equal(request.version, "hixie-76");
    assert.equal(request.key, "");
    assert.equal(request.method, "GET");
    assert.equal(request.target, "/demo");
    assert.equal(request.path, "/demo");
    assert.equal(request.query, "");
    assert.equal(request.host, "example.com");
    assert.equal(request.origin, "http://example.com");
    assert.deepEqual(request.protocols, ["sample"]);
    assert.deepEqual(request.extensions, []);
    assert.equal(latin1(rest), KEY3);
    const answer = hixie76Answer(
      request.headers.get("sec-websocket-key1")!,
      request.headers.get("sec-websocket-key2")!,
      rest,
    );
    assert.equal(latin1(answer!), ANSWER);
  });

  test("reads Upgrade and Connection case-insensitively, Connection as a list", () => {
    accepted(requestHead([...without("Upgrade"), ["upgrade", "websocket"]]));
    accepted(requestHead([...without("Connection"), ["connection", "keep-alive, upgrade"]]));
  });

  test("has a null origin when the request has no Origin", () => {
    assert.equal(accepted(requestHead(BASE)).origin, null);
  });

  test("reads the subprotocol as a comma-separated list of printable ASCII", () => {
    assert.deepEqual(
      accepted(requestHead([...BASE, ["Sec-WebSocket-Protocol", "chat, superchat"]])).protocols,
      [
        "chat",
        "superchat",
      ],
    );
    assert.deepEqual(
      accepted(requestHead([...BASE, ["Sec-WebSocket-Protocol", "my protocol"]])).protocols,
      [
        "my protocol",
      ],
    );
    assert.deepEqual(accepted(requestHead(BASE)).protocols, []);
    const bad = rejected(requestHead([...BASE, ["Sec-WebSocket-Protocol", "caf\u00e9"]]));
    assert.equal(bad.status, 400);
    assert.equal(bad.code, "HANDSHAKE_BAD_REQUEST");
  });

  test("splits the target into path and query", () => {
    const request = accepted(requestHead(BASE, { target: "/chat?room=1" }));
    assert.equal(request.path, "/chat");
    assert.equal(request.query, "room=1");
  });

  test("rejects a request without Sec-WebSocket-Key1 or -Key2 with 400", () => {
    for (const name of ["Sec-WebSocket-Key1", "Sec-WebSocket-Key2"]) {
      const r = rejected(requestHead(without(name)));
      assert.equal(r.status, 400);
      assert.equal(r.code, "HANDSHAKE_BAD_REQUEST");
      assert.ok(r.message.includes(name));
    }
  });

  test("rejects a repeated key with 400", () => {
    assert.equal(rejected(requestHead([...BASE, ["Sec-WebSocket-Key1", KEY1]])).status, 400);
  });

  test("rejects keys with zero spaces, no digits, a remainder or a quotient above 2^32 - 1 with 400", () => {
    for (const key of ["12345", "abc def", "1 0 1", "4294967296 "]) {
      const r = rejected(
        requestHead([...without("Sec-WebSocket-Key2"), ["Sec-WebSocket-Key2", key]]),
      );
      assert.equal(r.status, 400, key);
      assert.ok(r.message.includes("Sec-WebSocket-Key2"));
    }
  });

  test("rejects a missing or wrong Upgrade or Connection with 400", () => {
    assert.equal(rejected(requestHead(without("Upgrade"))).status, 400);
    assert.equal(rejected(requestHead([...without("Upgrade"), ["Upgrade", "h2c"]])).status, 400);
    assert.equal(rejected(requestHead(without("Connection"))).status, 400);
    assert.equal(
      rejected(requestHead([...without("Connection"), ["Connection", "close"]])).status,
      400,
    );
  });

  test("rejects a method other than GET with 405, HTTP/1.0 and a missing Host with 400", () => {
    assert.equal(rejected(requestHead(BASE, { method: "POST" })).status, 405);
    assert.equal(rejected(requestHead(BASE, { version: "1.0" })).status, 400);
    assert.equal(rejected(requestHead(without("Host"))).status, 400);
  });
});

describe("buildHixie76Response", () => {
  test("writes the draft's example answer byte for byte", () => {
    const { head } = parseRequest(ascii(EXAMPLE_REQUEST));
    assert.equal(latin1(buildHixie76Response(accepted(head), false, "sample")), EXAMPLE_RESPONSE);
  });

  test("leaves Sec-WebSocket-Origin out when the request had no origin", () => {
    const text = latin1(buildHixie76Response(accepted(requestHead(BASE)), false, ""));
    assert.equal(
      text,
      "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Location: ws://example.com/chat\r\n\r\n",
    );
  });

  test("writes a wss location with the Host's port and the query", () => {
    const request = accepted(requestHead([...without("Host"), ["Host", "Example.com:8443"]], {
      target: "/chat?room=1&x=%20",
    }));
    const text = latin1(buildHixie76Response(request, true, ""));
    assert.ok(
      text.includes("\r\nSec-WebSocket-Location: wss://Example.com:8443/chat?room=1&x=%20\r\n"),
    );
  });

  test("writes an absolute-form target's path and query in the location", () => {
    const request = accepted(requestHead(BASE, { target: "http://example.com/chat?a=1" }));
    assert.ok(
      latin1(buildHixie76Response(request, false, "")).includes(
        "Location: ws://example.com/chat?a=1\r\n",
      ),
    );
  });

  test("writes extra headers last", () => {
    const text = latin1(
      buildHixie76Response(accepted(requestHead(BASE)), false, "chat", [["Set-Cookie", "a=1"]]),
    );
    assert.ok(text.endsWith("Sec-WebSocket-Protocol: chat\r\nSet-Cookie: a=1\r\n\r\n"));
  });

  test("refuses a subprotocol that would break the head", () => {
    const request = accepted(requestHead(BASE));
    assert.throws(() => buildHixie76Response(request, false, "a\r\nX-Evil: 1"), TypeError);
  });
});

/** The value of a header line in a serialized head. */
function headerOf(text: string, name: string): string {
  const line = text.split("\r\n").find((l) => l.startsWith(`${name}: `));
  assert.ok(line !== undefined, `${name} present`);
  return line.slice(name.length + 2);
}

describe("buildHixie76Request", () => {
  const options = {
    host: "example.com",
    path: "/demo",
    origin: "http://example.com",
    protocols: ["sample"],
    headers: [["Cookie", "a=1"]] as Array<[string, string]>,
  };

  test("writes the head in the draft's order and returns 8 bytes of key3", () => {
    const req = buildHixie76Request({ ...options, random: seededRandom(1) });
    const text = latin1(req.head);
    const lines = text.split("\r\n");
    assert.equal(lines[0], "GET /demo HTTP/1.1");
    assert.deepEqual(lines.slice(1, 6), [
      "Upgrade: WebSocket",
      "Connection: Upgrade",
      "Host: example.com",
      "Origin: http://example.com",
      "Sec-WebSocket-Protocol: sample",
    ]);
    assert.ok(lines[6].startsWith("Sec-WebSocket-Key1: "));
    assert.ok(lines[7].startsWith("Sec-WebSocket-Key2: "));
    assert.equal(lines[8], "Cookie: a=1");
    assert.ok(text.endsWith("\r\n\r\n"));
    assert.equal(req.key3.length, 8);
    assert.equal(req.expected.length, 16);
  });

  test("leaves Origin and Sec-WebSocket-Protocol out when there are none", () => {
    const req = buildHixie76Request({
      ...options,
      origin: null,
      protocols: [],
      headers: [],
      random: seededRandom(2),
    });
    const text = latin1(req.head);
    assert.ok(!text.includes("Origin"));
    assert.ok(!text.includes("Protocol"));
  });

  test("generates keys as the draft's client does, for many seeds", () => {
    for (let seed = 0; seed < 500; seed++) {
      const req = buildHixie76Request({ ...options, random: seededRandom(seed) });
      const text = latin1(req.head);
      for (const name of ["Sec-WebSocket-Key1", "Sec-WebSocket-Key2"]) {
        const key = headerOf(text, name);
        const spaces = key.split(" ").length - 1;
        const digits = key.replace(/[^0-9]/g, "");
        const fillers = key.replace(/[0-9 ]/g, "");
        assert.ok(spaces >= 1 && spaces <= 12, `spaces in ${JSON.stringify(key)}`);
        assert.ok(fillers.length >= 1 && fillers.length <= 12, `fillers in ${JSON.stringify(key)}`);
        assert.match(fillers, /^[\x21-\x2f\x3a-\x7e]+$/);
        assert.ok(
          !key.startsWith(" ") && !key.endsWith(" "),
          `no space at the ends of ${JSON.stringify(key)}`,
        );
        assert.ok(
          !digits.startsWith("0") || digits === "0",
          "the product is written without leading zeros",
        );
        assert.equal(Number(digits) % spaces, 0);
        assert.ok(Number(digits) / spaces <= 0xffffffff);
      }
    }
  });

  test("round-trips through the server's validation and answer, for many seeds", () => {
    for (let seed = 0; seed < 500; seed++) {
      const req = buildHixie76Request({ ...options, random: seededRandom(seed * 7919 + 1) });
      const wire = new Uint8Array(req.head.length + 8);
      wire.set(req.head);
      wire.set(req.key3, req.head.length);
      const { head, rest } = parseRequest(wire);
      const request = accepted(head);
      assert.deepEqual(request.protocols, ["sample"]);
      assert.equal(request.origin, "http://example.com");
      assert.deepEqual([...rest], [...req.key3]);
      const answer = hixie76Answer(
        head.headers.get("sec-websocket-key1")!,
        head.headers.get("sec-websocket-key2")!,
        rest,
      );
      assert.deepEqual(answer, req.expected, `seed ${seed}`);
    }
  });

  test("uses every space count from 1 to 12 across seeds", () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 300; seed++) {
      const text = latin1(buildHixie76Request({ ...options, random: seededRandom(seed) }).head);
      seen.add(headerOf(text, "Sec-WebSocket-Key1").split(" ").length - 1);
    }
    assert.deepEqual([...seen].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test("works with crypto.getRandomValues", () => {
    const req = buildHixie76Request({
      ...options,
      random: (n) => crypto.getRandomValues(new Uint8Array(n)),
    });
    const text = latin1(req.head);
    const answer = hixie76Answer(
      headerOf(text, "Sec-WebSocket-Key1"),
      headerOf(text, "Sec-WebSocket-Key2"),
      req.key3,
    );
    assert.deepEqual(answer, req.expected);
  });

  test("refuses invalid subprotocols, and hosts, paths and origins that would break the head", () => {
    const random = seededRandom(3);
    for (const protocols of [[""], ["a b"], ["a,b"], ["caf\u00e9"], ["a\r\n"]]) {
      assert.throws(() => buildHixie76Request({ ...options, protocols, random }), TypeError);
    }
    assert.throws(() => buildHixie76Request({ ...options, host: "a\r\nX: 1", random }), TypeError);
    assert.throws(() => buildHixie76Request({ ...options, path: "/a b", random }), TypeError);
    assert.throws(() => buildHixie76Request({ ...options, origin: "x\ny", random }), TypeError);
  });

  test("offers several subprotocols as a comma-separated list", () => {
    const req = buildHixie76Request({
      ...options,
      protocols: ["chat", "superchat"],
      random: seededRandom(4),
    });
    assert.equal(headerOf(latin1(req.head), "Sec-WebSocket-Protocol"), "chat, superchat");
  });
});

describe("validateHixie76Response", () => {
  test("accepts the draft's example answer", () => {
    const { head, rest } = parseResponse(ascii(EXAMPLE_RESPONSE + ANSWER));
    const result = validateHixie76Response(head, { ...EXPECT, protocols: ["sample"] });
    assert.deepEqual(result, { ok: true, value: { protocol: "sample" } });
    assert.equal(latin1(rest), ANSWER);
  });

  test("reports a status other than 101 as HANDSHAKE_REJECTED with that status", () => {
    const result = validateHixie76Response(responseHead([], 403), EXPECT);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.rejection.status, 403);
      assert.equal(result.rejection.code, "HANDSHAKE_REJECTED");
    }
  });

  function refusedWith(
    headers: Array<[string, string]>,
    o: HixieResponseExpectation = EXPECT,
  ): string {
    const result = validateHixie76Response(responseHead(headers), o);
    if (result.ok) assert.fail("Accepted a response that should be refused");
    assert.equal(result.rejection.status, 101);
    assert.match(result.rejection.message, /^[A-Z].*[^.]$/);
    return result.rejection.code;
  }

  const replace = (name: string, value: string | null): Array<[string, string]> => {
    const out = GOOD_RESPONSE.filter(([n]) => n !== name);
    if (value !== null) out.push([name, value]);
    return out;
  };

  test("is strict about Upgrade and Connection", () => {
    assert.equal(refusedWith(replace("Upgrade", null)), "HANDSHAKE_BAD_RESPONSE");
    assert.equal(refusedWith(replace("Upgrade", "websocket, h2c")), "HANDSHAKE_BAD_RESPONSE");
    assert.equal(
      refusedWith([...GOOD_RESPONSE, ["Upgrade", "WebSocket"]]),
      "HANDSHAKE_BAD_RESPONSE",
    );
    assert.equal(refusedWith(replace("Connection", null)), "HANDSHAKE_BAD_RESPONSE");
    assert.equal(refusedWith(replace("Connection", "keep-alive")), "HANDSHAKE_BAD_RESPONSE");
    // Case does not matter.
    const ok = validateHixie76Response(
      responseHead([...replace("Upgrade", "websocket").filter(([n]) => n !== "Connection"), [
        "Connection",
        "upgrade",
      ]]),
      EXPECT,
    );
    assert.equal(ok.ok, true);
  });

  test("requires Sec-WebSocket-Origin to match the origin sent", () => {
    assert.equal(refusedWith(replace("Sec-WebSocket-Origin", null)), "HANDSHAKE_BAD_RESPONSE");
    assert.equal(
      refusedWith(replace("Sec-WebSocket-Origin", "http://evil.com")),
      "HANDSHAKE_BAD_RESPONSE",
    );
    assert.equal(
      validateHixie76Response(
        responseHead(replace("Sec-WebSocket-Origin", "HTTP://Example.com")),
        EXPECT,
      ).ok,
      true,
    );
  });

  test("ignores Sec-WebSocket-Origin when no origin was sent", () => {
    const o = { ...EXPECT, origin: null };
    assert.equal(
      validateHixie76Response(responseHead(replace("Sec-WebSocket-Origin", null)), o).ok,
      true,
    );
    assert.equal(validateHixie76Response(responseHead(GOOD_RESPONSE), o).ok, true);
  });

  test("requires Sec-WebSocket-Location to name the URL requested", () => {
    for (
      const bad of [
        "wss://example.com/demo",
        "ws://example.org/demo",
        "ws://example.com/demo2",
        "ws://example.com",
        "ws:///demo",
        "example.com/demo",
      ]
    ) {
      assert.equal(
        refusedWith(replace("Sec-WebSocket-Location", bad)),
        "HANDSHAKE_BAD_RESPONSE",
        bad,
      );
    }
    assert.equal(refusedWith(replace("Sec-WebSocket-Location", null)), "HANDSHAKE_BAD_RESPONSE");
    for (const good of ["ws://EXAMPLE.com/demo", "WS://example.com:80/demo"]) {
      assert.equal(
        validateHixie76Response(responseHead(replace("Sec-WebSocket-Location", good)), EXPECT).ok,
        true,
        good,
      );
    }
  });

  test("checks a wss location with a port and a query", () => {
    const o = { ...EXPECT, host: "example.com:8443", path: "/chat?room=1", secure: true };
    const headers = replace("Sec-WebSocket-Location", "wss://example.com:8443/chat?room=1");
    assert.equal(validateHixie76Response(responseHead(headers), o).ok, true);
    assert.equal(
      refusedWith(replace("Sec-WebSocket-Location", "wss://example.com:8443/chat?room=2"), o),
      "HANDSHAKE_BAD_RESPONSE",
    );
    assert.equal(
      refusedWith(replace("Sec-WebSocket-Location", "wss://example.com/chat?room=1"), o),
      "HANDSHAKE_BAD_RESPONSE",
    );
    const defaultPort = { ...o, host: "example.com" };
    assert.equal(
      validateHixie76Response(
        responseHead(replace("Sec-WebSocket-Location", "wss://example.com:443/chat?room=1")),
        defaultPort,
      ).ok,
      true,
    );
  });

  test("accepts an offered subprotocol or none, refuses any other", () => {
    const o = { ...EXPECT, protocols: ["chat", "superchat"] };
    assert.deepEqual(validateHixie76Response(responseHead(GOOD_RESPONSE), o), {
      ok: true,
      value: { protocol: "" },
    });
    assert.deepEqual(
      validateHixie76Response(
        responseHead([...GOOD_RESPONSE, ["Sec-WebSocket-Protocol", "superchat"]]),
        o,
      ),
      { ok: true, value: { protocol: "superchat" } },
    );
    assert.deepEqual(
      validateHixie76Response(
        responseHead([...GOOD_RESPONSE, ["Sec-WebSocket-Protocol", "chat, superchat"]]),
        o,
      ),
      { ok: true, value: { protocol: "chat, superchat" } },
    );
    assert.equal(
      refusedWith([...GOOD_RESPONSE, ["Sec-WebSocket-Protocol", "other"]], o),
      "HANDSHAKE_BAD_PROTOCOL",
    );
    assert.equal(
      refusedWith([...GOOD_RESPONSE, ["Sec-WebSocket-Protocol", "chat"]]),
      "HANDSHAKE_BAD_PROTOCOL",
    );
  });
});

describe("hixie-76 client and server together", () => {
  test("complete the handshake in memory, for many seeds and chunkings", () => {
    for (let seed = 0; seed < 100; seed++) {
      const o = {
        host: seed % 2 === 0 ? "example.com" : "example.com:8080",
        path: seed % 3 === 0 ? "/" : "/chat?room=" + seed,
        origin: seed % 5 === 0 ? null : "https://app.example",
        protocols: seed % 4 === 0 ? [] : ["v1.chat", "v2.chat"],
        headers: [],
      };
      const secure = seed % 2 === 1;
      const req = buildHixie76Request({ ...o, random: seededRandom(seed + 1000) });
      // Server: head and key3 may arrive in separate chunks.
      const server = new HttpRequestParser();
      let parsed = server.push(req.head.subarray(0, 7));
      assert.equal(parsed.kind, "incomplete");
      parsed = server.push(req.head.subarray(7));
      if (parsed.kind !== "complete") assert.fail("request head incomplete");
      assert.equal(parsed.rest.length, 0);
      const request = accepted(parsed.head);
      const protocol = request.protocols.length > 0
        ? request.protocols[request.protocols.length - 1]
        : "";
      const head = buildHixie76Response(request, secure, protocol);
      const answer = hixie76Answer(
        request.headers.get("Sec-WebSocket-Key1")!,
        request.headers.get("Sec-WebSocket-Key2")!,
        req.key3,
      );
      assert.ok(answer !== null);
      // Client: the answer follows the head in the same chunk, then a first frame.
      const wire = new Uint8Array([...head, ...answer, 0x00, 0x68, 0x69, 0xff]);
      const { head: responseHead, rest } = parseResponse(wire);
      const result = validateHixie76Response(responseHead, { ...o, secure });
      assert.deepEqual(result, { ok: true, value: { protocol } }, `seed ${seed}`);
      assert.deepEqual(rest.subarray(0, 16), req.expected);
      assert.deepEqual([...rest.subarray(16)], [0x00, 0x68, 0x69, 0xff]);
    }
  });
});
