import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  buildHixie75Request,
  buildHixie75Response,
  HIXIE75_RESPONSE_PREFIX,
  hixie75PrefixMatches,
  type HixieResponseExpectation,
  validateHixie75Request,
  validateHixie75Response,
} from "../handshake/hixie75.ts";
import { buildHixie76Response, validateHixie76Request } from "../handshake/hixie76.ts";
import {
  HttpHeaders,
  type HttpRequestHead,
  HttpRequestParser,
  type HttpResponseHead,
  HttpResponseParser,
} from "../handshake/http.ts";
import type { UpgradeRequest } from "../handshake/rfc6455.ts";

const encoder = new TextEncoder();
const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const ascii = (s: string): Uint8Array => encoder.encode(s);

// The example of draft-hixie-thewebsocketprotocol-75 §1.2.
const EXAMPLE_REQUEST = "GET /demo HTTP/1.1\r\n" +
  "Upgrade: WebSocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Host: example.com\r\n" +
  "Origin: http://example.com\r\n" +
  "WebSocket-Protocol: sample\r\n" +
  "\r\n";
const EXAMPLE_RESPONSE = "HTTP/1.1 101 Web Socket Protocol Handshake\r\n" +
  "Upgrade: WebSocket\r\n" +
  "Connection: Upgrade\r\n" +
  "WebSocket-Origin: http://example.com\r\n" +
  "WebSocket-Location: ws://example.com/demo\r\n" +
  "WebSocket-Protocol: sample\r\n" +
  "\r\n";
const PREFIX =
  "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n";

function parseRequest(bytes: Uint8Array): HttpRequestHead {
  const result = new HttpRequestParser().push(bytes);
  if (result.kind !== "complete") assert.fail(`Request head ${result.kind}`);
  assert.equal(result.rest.length, 0);
  return result.head;
}

function parseResponse(bytes: Uint8Array): { head: HttpResponseHead; rest: Uint8Array } {
  const result = new HttpResponseParser().push(bytes);
  if (result.kind !== "complete") assert.fail(`Response head ${result.kind}`);
  return { head: result.head, rest: result.rest };
}

const BASE: Array<[string, string]> = [
  ["Upgrade", "WebSocket"],
  ["Connection", "Upgrade"],
  ["Host", "example.com"],
];

function requestHead(
  headers: Array<[string, string]>,
  extra: Partial<HttpRequestHead> = {},
): HttpRequestHead {
  return {
    method: "GET",
    target: "/demo",
    version: "1.1",
    headers: new HttpHeaders(headers),
    ...extra,
  };
}

function without(name: string): Array<[string, string]> {
  return BASE.filter(([n]) => n !== name);
}

function accepted(head: HttpRequestHead): UpgradeRequest {
  const result = validateHixie75Request(head);
  if (!result.ok) assert.fail(`Rejected: ${result.rejection.message}`);
  return result.value;
}

function rejected(head: HttpRequestHead): { status: number; code: string } {
  const result = validateHixie75Request(head);
  if (result.ok) assert.fail("Accepted a request that should be rejected");
  assert.match(result.rejection.message, /^[A-Z].*[^.]$/);
  return { status: result.rejection.status, code: result.rejection.code };
}

describe("HIXIE75_RESPONSE_PREFIX and hixie75PrefixMatches", () => {
  test("the prefix is the 85 bytes hixie-75 clients compare", () => {
    assert.equal(HIXIE75_RESPONSE_PREFIX.length, 85);
    assert.equal(latin1(HIXIE75_RESPONSE_PREFIX), PREFIX);
  });

  test("matches the draft's example answer and every answer this module builds", () => {
    assert.equal(hixie75PrefixMatches(ascii(EXAMPLE_RESPONSE)), true);
    const request = accepted(requestHead(BASE));
    assert.equal(hixie75PrefixMatches(buildHixie75Response(request, true, "")), true);
    assert.equal(hixie75PrefixMatches(ascii(PREFIX)), true);
  });

  test("fails when any one of the 85 bytes differs", () => {
    const bytes = ascii(EXAMPLE_RESPONSE);
    for (let i = 0; i < 85; i++) {
      const changed = bytes.slice();
      changed[i] ^= 0x20;
      assert.equal(hixie75PrefixMatches(changed), false, `byte ${i}`);
    }
    const after = bytes.slice();
    after[85] ^= 0x20;
    assert.equal(hixie75PrefixMatches(after), true);
  });

  test("fails on fewer than 85 bytes, on the hixie-76 answer and on a reordered answer", () => {
    assert.equal(hixie75PrefixMatches(ascii(PREFIX).subarray(0, 84)), false);
    assert.equal(hixie75PrefixMatches(new Uint8Array(0)), false);
    const v76 = validateHixie76Request(requestHead([
      ...BASE,
      ["Sec-WebSocket-Key1", "4 @1  46546xW%0l 1 5"],
      ["Sec-WebSocket-Key2", "12998 5 Y3 1  .P00"],
    ]));
    assert.ok(v76.ok);
    if (v76.ok) {
      assert.equal(hixie75PrefixMatches(buildHixie76Response(v76.value, false, "")), false);
    }
    const reordered =
      "HTTP/1.1 101 Web Socket Protocol Handshake\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n";
    assert.equal(hixie75PrefixMatches(ascii(reordered)), false);
    assert.equal(
      hixie75PrefixMatches(ascii(PREFIX.replace("WebSocket\r\n", "websocket\r\n"))),
      false,
    );
  });
});

describe("validateHixie75Request", () => {
  test("accepts the draft's example request", () => {
    const request = accepted(parseRequest(ascii(EXAMPLE_REQUEST)));
    assert.equal(request.version, "hixie-75");
    assert.equal(request.key, "");
    assert.equal(request.host, "example.com");
    assert.equal(request.origin, "http://example.com");
    assert.deepEqual(request.protocols, ["sample"]);
    assert.deepEqual(request.extensions, []);
    assert.equal(request.path, "/demo");
  });

  test("has a null origin and no subprotocols when the request has neither", () => {
    const request = accepted(requestHead(BASE));
    assert.equal(request.origin, null);
    assert.deepEqual(request.protocols, []);
  });

  test("reads WebSocket-Protocol, not Sec-WebSocket-Protocol, as a list of printable ASCII", () => {
    assert.deepEqual(
      accepted(requestHead([...BASE, ["Sec-WebSocket-Protocol", "x"]])).protocols,
      [],
    );
    assert.deepEqual(accepted(requestHead([...BASE, ["WebSocket-Protocol", "a b, c"]])).protocols, [
      "a b",
      "c",
    ]);
    assert.equal(rejected(requestHead([...BASE, ["WebSocket-Protocol", "\u00ff"]])).status, 400);
  });

  test("reads Upgrade and Connection case-insensitively", () => {
    accepted(
      requestHead([["upgrade", "websocket"], ["connection", "keep-alive, UPGRADE"], ["host", "a"]]),
    );
  });

  test("rejects a request carrying a key header with 400", () => {
    for (const name of ["Sec-WebSocket-Key", "Sec-WebSocket-Key1", "Sec-WebSocket-Key2"]) {
      const r = rejected(requestHead([...BASE, [name, "1 2"]]));
      assert.equal(r.status, 400, name);
      assert.equal(r.code, "HANDSHAKE_BAD_REQUEST");
    }
  });

  test("rejects missing or wrong Upgrade, Connection or Host, and HTTP/1.0, with 400", () => {
    assert.equal(rejected(requestHead(without("Upgrade"))).status, 400);
    assert.equal(
      rejected(requestHead([...without("Upgrade"), ["Upgrade", "IRC/6.9"]])).status,
      400,
    );
    assert.equal(rejected(requestHead(without("Connection"))).status, 400);
    assert.equal(rejected(requestHead(without("Host"))).status, 400);
    assert.equal(rejected(requestHead(BASE, { version: "1.0" })).status, 400);
  });

  test("rejects a method other than GET with 405", () => {
    assert.equal(rejected(requestHead(BASE, { method: "POST" })).status, 405);
  });
});

describe("buildHixie75Response", () => {
  test("writes the draft's example answer byte for byte", () => {
    const request = accepted(parseRequest(ascii(EXAMPLE_REQUEST)));
    const bytes = buildHixie75Response(request, false, "sample");
    assert.equal(latin1(bytes), EXAMPLE_RESPONSE);
    assert.deepEqual(bytes.subarray(0, 85), HIXIE75_RESPONSE_PREFIX);
  });

  test("writes a wss location with a non-default port and the query", () => {
    const request = accepted(requestHead(
      [...without("Host"), ["Host", "example.com:8443"], ["Origin", "https://app.example"]],
      { target: "/chat?room=1" },
    ));
    assert.equal(
      latin1(buildHixie75Response(request, true, "")),
      PREFIX +
        "WebSocket-Origin: https://app.example\r\n" +
        "WebSocket-Location: wss://example.com:8443/chat?room=1\r\n" +
        "\r\n",
    );
  });

  test("keeps a target's empty query, as the client's URL has it", () => {
    const request = accepted(requestHead(BASE, { target: "/a?" }));
    assert.ok(
      latin1(buildHixie75Response(request, false, "")).includes(
        "WebSocket-Location: ws://example.com/a?\r\n",
      ),
    );
  });

  test("leaves WebSocket-Origin out when the request had no origin", () => {
    assert.equal(
      latin1(buildHixie75Response(accepted(requestHead(BASE)), false, "")),
      PREFIX + "WebSocket-Location: ws://example.com/demo\r\n\r\n",
    );
  });

  test("writes extra headers after WebSocket-Protocol", () => {
    const text = latin1(
      buildHixie75Response(accepted(requestHead(BASE)), false, "p", [["X-A", "1"]]),
    );
    assert.ok(text.endsWith("WebSocket-Protocol: p\r\nX-A: 1\r\n\r\n"));
  });

  test("refuses a subprotocol or origin that would break the head", () => {
    const request = accepted(requestHead(BASE));
    assert.throws(() => buildHixie75Response(request, false, "p\r\nX: 1"), TypeError);
    assert.throws(() => buildHixie75Response({ ...request, origin: "a\nb" }, false, ""), TypeError);
    assert.throws(() => buildHixie75Response({ ...request, host: "a\r\n" }, false, ""), TypeError);
  });
});

describe("buildHixie75Request", () => {
  test("writes the draft's example request byte for byte", () => {
    const head = buildHixie75Request({
      host: "example.com",
      path: "/demo",
      origin: "http://example.com",
      protocols: ["sample"],
      headers: [],
    });
    assert.equal(latin1(head), EXAMPLE_REQUEST);
  });

  test("leaves Origin and WebSocket-Protocol out when there are none, and writes extra headers last", () => {
    const head = buildHixie75Request({
      host: "h:81",
      path: "",
      origin: null,
      protocols: [],
      headers: [["Cookie", "a=1"]],
    });
    assert.equal(
      latin1(head),
      "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: h:81\r\nCookie: a=1\r\n\r\n",
    );
  });

  test("refuses invalid subprotocols and values that would break the head", () => {
    const o = { host: "h", path: "/", origin: null, protocols: [] as string[], headers: [] };
    assert.throws(() => buildHixie75Request({ ...o, protocols: ["a b"] }), TypeError);
    assert.throws(() => buildHixie75Request({ ...o, protocols: [""] }), TypeError);
    assert.throws(() => buildHixie75Request({ ...o, host: "h\r\nX: 1" }), TypeError);
    assert.throws(() => buildHixie75Request({ ...o, path: "/a b" }), TypeError);
  });
});

describe("validateHixie75Response", () => {
  const EXPECT: HixieResponseExpectation = {
    host: "example.com",
    path: "/demo",
    secure: false,
    origin: "http://example.com",
    protocols: ["sample"],
  };

  test("accepts the draft's example answer", () => {
    const { head } = parseResponse(ascii(EXAMPLE_RESPONSE));
    assert.deepEqual(validateHixie75Response(head, EXPECT), {
      ok: true,
      value: { protocol: "sample" },
    });
  });

  test("refuses a hixie-76 status line", () => {
    const { head } = parseResponse(ascii(EXAMPLE_RESPONSE.replace("Web Socket", "WebSocket")));
    const result = validateHixie75Response(head, EXPECT);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.rejection.code, "HANDSHAKE_BAD_RESPONSE");
  });

  test("reports a status other than 101 as HANDSHAKE_REJECTED", () => {
    const { head } = parseResponse(ascii("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
    const result = validateHixie75Response(head, EXPECT);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.rejection.code, "HANDSHAKE_REJECTED");
      assert.equal(result.rejection.status, 404);
    }
  });

  test("refuses a wrong origin, location or protocol, using the WebSocket- names", () => {
    const cases: Array<[string, string, string]> = [
      [
        "WebSocket-Origin: http://example.com",
        "WebSocket-Origin: http://other.com",
        "HANDSHAKE_BAD_RESPONSE",
      ],
      [
        "WebSocket-Origin: http://example.com",
        "Sec-WebSocket-Origin: http://example.com",
        "HANDSHAKE_BAD_RESPONSE",
      ],
      [
        "WebSocket-Location: ws://example.com/demo",
        "WebSocket-Location: wss://example.com/demo",
        "HANDSHAKE_BAD_RESPONSE",
      ],
      [
        "WebSocket-Location: ws://example.com/demo",
        "WebSocket-Location: ws://example.com/",
        "HANDSHAKE_BAD_RESPONSE",
      ],
      ["WebSocket-Protocol: sample", "WebSocket-Protocol: other", "HANDSHAKE_BAD_PROTOCOL"],
    ];
    for (const [from, to, code] of cases) {
      const { head } = parseResponse(ascii(EXAMPLE_RESPONSE.replace(from, to)));
      const result = validateHixie75Response(head, EXPECT);
      assert.equal(result.ok, false, to);
      if (!result.ok) assert.equal(result.rejection.code, code, to);
    }
  });

  test("client and server complete the handshake in memory, wss on a non-default port with a query", () => {
    const o = {
      host: "Example.com:8443",
      path: "/chat?room=1",
      origin: "https://app.example",
      protocols: ["v1", "v2"],
      headers: [],
    };
    const request = accepted(parseRequest(buildHixie75Request(o)));
    assert.deepEqual(request.protocols, ["v1", "v2"]);
    const response = buildHixie75Response(request, true, "v2");
    const wire = new Uint8Array([...response, 0x00, 0x61, 0xff]);
    assert.equal(hixie75PrefixMatches(wire), true);
    const { head, rest } = parseResponse(wire);
    assert.deepEqual(validateHixie75Response(head, { ...o, secure: true }), {
      ok: true,
      value: { protocol: "v2" },
    });
    assert.deepEqual([...rest], [0x00, 0x61, 0xff]);
  });
});
