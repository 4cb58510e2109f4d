import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ServerConnection, type ServerOptions } from "../core/server.ts";
import { ClientConnection } from "../core/client.ts";
import { ProtocolError, UsageError } from "../core/errors.ts";
import type { ConnectionEvent } from "../core/connection.ts";
import { acceptKey, type UpgradeRequest } from "../handshake/rfc6455.ts";
import { decodeBase64, encodeBase64 } from "../handshake/_base64.ts";
import { OP_TEXT } from "../framing/rfc6455.ts";
import {
  ConnectionPair,
  decoder,
  drain,
  encoder,
  feed,
  keyOf,
  maskedFrame,
  normalize,
  only,
  output,
  requestBytes,
  type RequestTextOptions,
  responseText,
  SAMPLE_ACCEPT,
  SAMPLE_KEY,
  seededRandom,
  serverFrame,
  splits,
  types,
} from "./_helpers.ts";

/** The RFC 6455 §1.2 sample request. */
const RFC_REQUEST = "GET /chat HTTP/1.1\r\n" +
  "Host: server.example.com\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Origin: http://example.com\r\n" +
  "Sec-WebSocket-Protocol: chat, superchat\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";

/** The head of an HTTP response, split into status line and a lowercase-name header list. */
function parseResponse(
  bytes: Uint8Array,
): { status: string; headers: Array<[string, string]>; body: string } {
  const text = decoder.decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  assert.ok(end > 0, `no head end in ${JSON.stringify(text)}`);
  const [status, ...lines] = text.slice(0, end).split("\r\n");
  const headers = lines.map((l): [string, string] => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()];
  });
  return { status, headers, body: text.slice(end + 4) };
}

function header(headers: Array<[string, string]>, name: string): string[] {
  return headers.filter(([n]) => n === name).map(([, v]) => v);
}

describe("acceptKey", () => {
  test("acceptKey computes the RFC 6455 §1.3 vector", () => {
    assert.equal(acceptKey(SAMPLE_KEY), SAMPLE_ACCEPT);
  });
});

describe("server handshake", () => {
  test("server accepts the RFC 6455 §1.2 request and answers 101 with the right accept", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    const req = only(drain(server), "request").request;
    assert.equal(req.method, "GET");
    assert.equal(req.target, "/chat");
    assert.equal(req.path, "/chat");
    assert.equal(req.query, "");
    assert.equal(req.host, "server.example.com");
    assert.equal(req.origin, "http://example.com");
    assert.deepEqual(req.protocols, ["chat", "superchat"]);
    assert.deepEqual(req.extensions, []);
    assert.equal(req.version, 13);
    assert.equal(req.key, SAMPLE_KEY);
    assert.equal(server.request, req);
    assert.equal(server.state, "connecting");
    assert.deepEqual(server.takeOutput(), [], "nothing is written before the decision");

    server.accept({ protocol: "chat", headers: { "Set-Cookie": "session=1" } });
    const res = parseResponse(output(server));
    assert.equal(res.status, "HTTP/1.1 101 Switching Protocols");
    assert.deepEqual(header(res.headers, "upgrade"), ["websocket"]);
    assert.deepEqual(header(res.headers, "connection"), ["Upgrade"]);
    assert.deepEqual(header(res.headers, "sec-websocket-accept"), [SAMPLE_ACCEPT]);
    assert.deepEqual(header(res.headers, "sec-websocket-protocol"), ["chat"]);
    assert.deepEqual(header(res.headers, "set-cookie"), ["session=1"]);
    assert.deepEqual(header(res.headers, "sec-websocket-extensions"), []);
    assert.equal(res.body, "");
    assert.deepEqual(drain(server), [{ type: "open", protocol: "chat", extensions: "" }]);
    assert.equal(server.state, "open");
    assert.equal(server.protocol, "chat");
    assert.equal(server.version, 13);
    assert.equal(server.shouldCloseTransport, false);
  });

  test("server accepts without a subprotocol when none is chosen", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    drain(server);
    server.accept();
    const res = parseResponse(output(server));
    assert.deepEqual(header(res.headers, "sec-websocket-protocol"), []);
    assert.deepEqual(drain(server), [{ type: "open", protocol: "", extensions: "" }]);
  });

  test("server accepts the request in every chunking with the same events", () => {
    const bytes = encoder.encode(RFC_REQUEST);
    for (const chunks of splits(bytes, 11)) {
      const server = new ServerConnection();
      feed(server, chunks);
      const events = drain(server);
      assert.deepEqual(types(events), ["request"]);
      assert.equal(only(events, "request").request.key, SAMPLE_KEY);
    }
  });

  test("server reads lists and token case leniently (Connection: keep-alive, Upgrade; Upgrade: WebSocket)", () => {
    const server = new ServerConnection();
    server.receive(
      requestBytes({ headers: { Connection: "keep-alive, Upgrade", Upgrade: "WebSocket" } }),
    );
    assert.deepEqual(types(drain(server)), ["request"]);
  });

  test("server accepts a hybi-08 request and reports Sec-WebSocket-Origin as the origin", () => {
    for (const v of ["8", "7"]) {
      const server = new ServerConnection();
      server.receive(
        requestBytes({
          headers: { "Sec-WebSocket-Version": v, "Sec-WebSocket-Origin": "http://o.example" },
        }),
      );
      const req = only(drain(server), "request").request;
      assert.equal(req.version, Number(v));
      assert.equal(req.origin, "http://o.example");
      server.accept();
      assert.equal(server.version, Number(v));
    }
  });

  test("server splits the target into path and query", () => {
    const server = new ServerConnection();
    server.receive(requestBytes({ target: "/chat?room=1&x=2" }));
    const req = only(drain(server), "request").request;
    assert.equal(req.path, "/chat");
    assert.equal(req.query, "room=1&x=2");
  });

  const rejections: Array<
    { name: string; request: RequestTextOptions | string; status: number; options?: ServerOptions }
  > = [
    { name: "a POST request with 405", request: { method: "POST" }, status: 405 },
    { name: "an HTTP/1.0 request with 400", request: { httpVersion: "1.0" }, status: 400 },
    { name: "a request without Host with 400", request: { headers: { Host: null } }, status: 400 },
    {
      name: "a request with two Host headers with 400",
      request: { extra: ["Host: other.example.com"] },
      status: 400,
    },
    {
      name: "a request without Upgrade with 400",
      request: { headers: { Upgrade: null } },
      status: 400,
    },
    {
      name: "a request with Upgrade: h2c with 400",
      request: { headers: { Upgrade: "h2c" } },
      status: 400,
    },
    {
      name: "a request without Connection with 400",
      request: { headers: { Connection: null } },
      status: 400,
    },
    {
      name: "a request whose Connection lacks Upgrade with 400",
      request: { headers: { Connection: "keep-alive" } },
      status: 400,
    },
    {
      name: "a request without Sec-WebSocket-Key with 400",
      request: { headers: { "Sec-WebSocket-Key": null } },
      status: 400,
    },
    {
      name: "a key that is not base64 with 400",
      request: { headers: { "Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!!!" } },
      status: 400,
    },
    {
      name: "a key of 15 bytes with 400",
      request: { headers: { "Sec-WebSocket-Key": encodeBase64(new Uint8Array(15)) } },
      status: 400,
    },
    {
      name: "a key of 17 bytes with 400",
      request: { headers: { "Sec-WebSocket-Key": encodeBase64(new Uint8Array(17)) } },
      status: 400,
    },
    {
      name: "two keys with 400",
      request: { extra: ["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="] },
      status: 400,
    },
    {
      name: "a protocol list with a non-token with 400",
      request: { headers: { "Sec-WebSocket-Protocol": "chat, a/b" } },
      status: 400,
    },
    {
      name: "version 9 with 426",
      request: { headers: { "Sec-WebSocket-Version": "9" } },
      status: 426,
    },
    {
      name: "version 14 with 426",
      request: { headers: { "Sec-WebSocket-Version": "14" } },
      status: 426,
    },
    {
      name: "version 013 (a leading zero, not 13) with 426",
      request: { headers: { "Sec-WebSocket-Version": "013" } },
      status: 426,
    },
    {
      name: "version 08 (a leading zero, not 8) with 426",
      request: { headers: { "Sec-WebSocket-Version": "08" } },
      status: 426,
    },
    {
      name: "version 007 (leading zeros, not 7) with 426",
      request: { headers: { "Sec-WebSocket-Version": "007" } },
      status: 426,
    },
    {
      name: "a missing version with 426",
      request: { headers: { "Sec-WebSocket-Version": null } },
      status: 426,
    },
    {
      name: "a head larger than maxHeadSize with 431",
      request: { extra: ["X-Filler: " + "a".repeat(300)] },
      status: 431,
      options: { maxHeadSize: 256 },
    },
    {
      name: "a head larger than the default 16 KiB with 431",
      request: { extra: ["X-Filler: " + "a".repeat(17000)] },
      status: 431,
    },
    {
      name: "more header lines than maxHeaders with 431",
      request: { extra: Array.from({ length: 10 }, (_, i) => `X-H${i}: ${i}`) },
      status: 431,
      options: { maxHeaders: 10 },
    },
    {
      name: "more than the default 100 header lines with 431",
      request: { extra: Array.from({ length: 100 }, (_, i) => `X-H${i}: ${i}`) },
      status: 431,
    },
    { name: "a malformed request line with 400", request: "GET\r\n\r\n", status: 400 },
    {
      name: "an origin missing from the origins list with 403",
      request: { headers: { Origin: "https://evil.example" } },
      status: 403,
      options: { origins: ["https://example.com"] },
    },
    {
      name: "an origin that only starts like a listed one with 403",
      request: { headers: { Origin: "https://example.com.evil.example" } },
      status: 403,
      options: { origins: ["https://example.com"] },
    },
    {
      name: "a request without Origin when an origins list is given with 403",
      request: {},
      status: 403,
      options: { origins: ["https://example.com"] },
    },
    {
      name: "an origin the origins predicate refuses with 403",
      request: { headers: { Origin: "https://evil.example" } },
      status: 403,
      options: { origins: (origin) => origin === "https://example.com" },
    },
    {
      name: "any request when the origins list is empty with 403",
      request: { headers: { Origin: "https://example.com" } },
      status: 403,
      options: { origins: [] },
    },
    {
      name: "a request when the origins predicate throws with 500",
      request: { headers: { Origin: "null" } },
      status: 500,
      options: { origins: (origin) => new URL(origin!).hostname === "example.com" },
    },
  ];

  for (const r of rejections) {
    test(`server rejects ${r.name}, then closes with one close event last`, () => {
      const bytes = typeof r.request === "string"
        ? encoder.encode(r.request)
        : requestBytes(r.request);
      for (const chunks of [[bytes], splits(bytes, 3)[1]]) {
        const server = new ServerConnection(r.options ?? {});
        feed(server, chunks);
        const events = drain(server);
        assert.deepEqual(types(events), ["error", "close"]);
        const error = only(events, "error").error;
        assert.equal(error.status, r.status);
        assert.equal(error.closeCode, 0);
        assert.deepEqual(events[1], { type: "close", code: 1006, reason: "", wasClean: false });
        const res = parseResponse(output(server));
        assert.match(res.status, new RegExp(`^HTTP/1\\.1 ${r.status} `));
        assert.deepEqual(header(res.headers, "connection"), ["close"]);
        assert.equal(
          Number(header(res.headers, "content-length")[0]),
          encoder.encode(res.body).length,
        );
        if (r.status === 426) {
          assert.deepEqual(header(res.headers, "sec-websocket-version"), ["13, 8, 7"]);
        }
        if (r.status === 405) assert.deepEqual(header(res.headers, "allow"), ["GET"]);
        assert.equal(server.state, "closed");
        assert.equal(server.shouldCloseTransport, true);
        // Nothing more happens afterwards.
        server.receive(maskedFrame(OP_TEXT, "late"));
        server.receiveEnd();
        assert.deepEqual(drain(server), []);
        assert.deepEqual(server.takeOutput(), []);
        assert.throws(
          () => server.accept(),
          (e) => e instanceof UsageError && e.code === "ERR_WRONG_STATE",
        );
      }
    });
  }

  test("server parses frames that arrive in the same chunk as the request, after accept()", () => {
    const bytes = new Uint8Array([
      ...encoder.encode(RFC_REQUEST),
      ...maskedFrame(OP_TEXT, "Hello"),
    ]);
    for (const chunks of splits(bytes, 5)) {
      const server = new ServerConnection();
      const events: ConnectionEvent[] = [];
      for (const c of chunks) {
        server.receive(c);
        for (const ev of drain(server)) {
          events.push(ev);
          if (ev.type === "request") server.accept();
        }
      }
      events.push(...drain(server));
      assert.deepEqual(normalize(events), [
        { type: "request", target: "/chat", version: 13 },
        { type: "open", protocol: "", extensions: "" },
        { type: "message", data: "Hello" },
      ]);
    }
  });

  test("server keeps bytes that arrive before a later accept() and parses them in order", () => {
    const server = new ServerConnection();
    server.receive(
      new Uint8Array([...encoder.encode(RFC_REQUEST), ...maskedFrame(OP_TEXT, "one")]),
    );
    assert.deepEqual(types(drain(server)), ["request"]);
    server.receive(maskedFrame(OP_TEXT, "two"));
    server.receive(maskedFrame(OP_TEXT, "three").subarray(0, 4));
    assert.deepEqual(drain(server), [], "no frame is parsed before the decision");
    server.accept();
    server.receive(maskedFrame(OP_TEXT, "three").subarray(4));
    assert.deepEqual(normalize(drain(server)), [
      { type: "open", protocol: "", extensions: "" },
      { type: "message", data: "one" },
      { type: "message", data: "two" },
      { type: "message", data: "three" },
    ]);
  });

  test("server fails with 400 when more than 64 KiB arrive before the decision", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    drain(server);
    server.receive(new Uint8Array(40000));
    assert.deepEqual(drain(server), []);
    server.receive(new Uint8Array(40000));
    const events = drain(server);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(only(events, "error").error.status, 400);
    assert.equal(server.shouldCloseTransport, true);
  });

  test("server reject(401, {headers, body}) writes exactly that response and closes without an error event", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    drain(server);
    server.reject(401, {
      headers: { "WWW-Authenticate": 'Basic realm="chat"' },
      body: "Who are you?",
    });
    assert.equal(
      decoder.decode(output(server)),
      "HTTP/1.1 401 Unauthorized\r\n" +
        "Connection: close\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 12\r\n" +
        'WWW-Authenticate: Basic realm="chat"\r\n' +
        "\r\n" +
        "Who are you?",
    );
    assert.deepEqual(drain(server), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
    assert.equal(server.state, "closed");
    assert.equal(server.shouldCloseTransport, true);
  });

  test("server reject() defaults to 403 with the reason phrase as body", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    drain(server);
    server.reject();
    const res = parseResponse(output(server));
    assert.equal(res.status, "HTTP/1.1 403 Forbidden");
    assert.equal(res.body, "Forbidden");
  });

  test("server reject() with a status outside 300-599 throws RangeError and keeps waiting", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    drain(server);
    assert.throws(() => server.reject(200), RangeError);
    assert.throws(() => server.reject(101), RangeError);
    server.accept();
    assert.equal(server.state, "open");
  });

  test("server accept() with a subprotocol the client did not offer throws TypeError and keeps waiting", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    drain(server);
    assert.throws(() => server.accept({ protocol: "mqtt" }), TypeError);
    assert.deepEqual(server.takeOutput(), []);
    assert.equal(server.state, "connecting");
    server.accept({ protocol: "superchat" });
    assert.equal(server.protocol, "superchat");
  });

  test("server accept() with a header that would split the response throws TypeError", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST));
    drain(server);
    assert.throws(() => server.accept({ headers: { "X-A": "1\r\nX-B: 2" } }), TypeError);
    assert.throws(() => server.accept({ headers: { "X A": "1" } }), TypeError);
    assert.equal(server.state, "connecting");
  });

  test("server accept() or reject() twice throws UsageError ERR_WRONG_STATE", () => {
    const wrongState = (e: unknown): boolean =>
      e instanceof UsageError && e.code === "ERR_WRONG_STATE";
    const a = new ServerConnection();
    a.receive(encoder.encode(RFC_REQUEST));
    a.accept();
    assert.throws(() => a.accept(), wrongState);
    assert.throws(() => a.reject(), wrongState);
    const b = new ServerConnection();
    b.receive(encoder.encode(RFC_REQUEST));
    b.reject(404);
    assert.throws(() => b.reject(404), wrongState);
    assert.throws(() => b.accept(), wrongState);
  });

  test("server accept() or reject() before a request arrived throws UsageError ERR_WRONG_STATE", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST.slice(0, 20)));
    assert.throws(
      () => server.accept(),
      (e) => e instanceof UsageError && e.code === "ERR_WRONG_STATE",
    );
    assert.throws(
      () => server.reject(),
      (e) => e instanceof UsageError && e.code === "ERR_WRONG_STATE",
    );
  });

  test("server sees the end of input during the handshake as a close 1006 without an error", () => {
    const server = new ServerConnection();
    server.receive(encoder.encode(RFC_REQUEST.slice(0, 20)));
    server.receiveEnd();
    assert.deepEqual(drain(server), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
    assert.equal(server.shouldCloseTransport, true);
  });
});

describe("origins option", () => {
  /** A request from `origin` (no Origin header when null), fed whole. */
  function fromOrigin(
    options: ServerOptions,
    origin: string | null,
    headers: Record<string, string | null> = {},
  ): ServerConnection {
    const server = new ServerConnection(options);
    server.receive(requestBytes({ headers: { Origin: origin, ...headers } }));
    return server;
  }

  /** The error event of a refused request, after checking that it came before any request. */
  function refusal(server: ServerConnection): ProtocolError {
    const events = drain(server);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(server.request, null);
    return only(events, "error").error;
  }

  test("server admits a listed origin compared ASCII case-insensitively, in every chunking", () => {
    const bytes = requestBytes({ headers: { Origin: "HTTPS://App.Example.COM:8443" } });
    for (const chunks of splits(bytes, 11)) {
      const server = new ServerConnection({
        origins: ["http://localhost:3000", "https://app.example.com:8443"],
      });
      feed(server, chunks);
      assert.equal(only(drain(server), "request").request.origin, "HTTPS://App.Example.COM:8443");
    }
  });

  test("server refuses an unlisted origin with 403 HANDSHAKE_ORIGIN in every chunking, before the request event", () => {
    const bytes = requestBytes({ headers: { Origin: "https://evil.example" } });
    for (const chunks of splits(bytes, 12)) {
      const server = new ServerConnection({ origins: ["https://example.com"] });
      feed(server, chunks);
      const error = refusal(server);
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, "HANDSHAKE_ORIGIN");
      assert.equal(error.status, 403);
      assert.equal(error.closeCode, 0);
      assert.equal(error.message, 'Origin "https://evil.example" is not allowed');
      const res = parseResponse(output(server));
      assert.equal(res.status, "HTTP/1.1 403 Forbidden");
      assert.equal(res.body, error.message);
      assert.equal(server.shouldCloseTransport, true);
    }
  });

  test("server refuses a request without an origin when a list is given, with a message saying so", () => {
    const error = refusal(fromOrigin({ origins: ["https://example.com"] }, null));
    assert.equal(error.code, "HANDSHAKE_ORIGIN");
    assert.equal(error.status, 403);
    assert.match(error.message, /^Request declares no origin/);
  });

  test("server admits the opaque origin null only when the list names it", () => {
    const refused = refusal(fromOrigin({ origins: ["https://example.com"] }, "null"));
    assert.equal(refused.status, 403);
    const server = fromOrigin({ origins: ["https://example.com", "null"] }, "null");
    assert.equal(only(drain(server), "request").request.origin, "null");
  });

  test("server checks the origin after the request's own validity: a bad version still gets 426", () => {
    const server = fromOrigin({ origins: ["https://example.com"] }, "https://evil.example", {
      "Sec-WebSocket-Version": "9",
    });
    const error = refusal(server);
    assert.equal(error.code, "HANDSHAKE_UNSUPPORTED_VERSION");
    assert.equal(error.status, 426);
  });

  test("origins predicate gets the origin (null when absent) and the parsed request, and decides", () => {
    const seen: Array<[string | null, string]> = [];
    const origins = (origin: string | null, request: UpgradeRequest): boolean => {
      seen.push([origin, request.path]);
      return origin === "https://example.com";
    };
    assert.equal(types(drain(fromOrigin({ origins }, "https://example.com")))[0], "request");
    assert.equal(refusal(fromOrigin({ origins }, "https://evil.example")).status, 403);
    const missing = refusal(fromOrigin({ origins }, null));
    assert.equal(missing.status, 403);
    assert.equal(missing.code, "HANDSHAKE_ORIGIN");
    assert.deepEqual(seen, [["https://example.com", "/chat"], ["https://evil.example", "/chat"], [
      null,
      "/chat",
    ]]);
  });

  test("an origins predicate that throws answers 500 without leaking its message, the error carrying the cause", () => {
    const thrown = new Error("secret detail");
    const server = fromOrigin({
      origins: () => {
        throw thrown;
      },
    }, "https://example.com");
    const error = refusal(server);
    assert.equal(error.code, "HANDSHAKE_ORIGIN");
    assert.equal(error.status, 500);
    assert.equal(error.message, "Origin check threw: secret detail");
    assert.equal(error.cause, thrown);
    const res = parseResponse(output(server));
    assert.equal(res.status, "HTTP/1.1 500 Internal Server Error");
    assert.doesNotMatch(res.body, /secret/);
  });

  test("an origins predicate that returns a promise or another non-boolean refuses with 500, never admits", () => {
    for (
      const [result, what] of [
        [Promise.resolve(true), "a promise"],
        ["yes", '"yes"'],
        [1, "a number"],
        [undefined, "undefined"],
      ] as const
    ) {
      const origins = (() => result) as unknown as (origin: string | null) => boolean;
      const error = refusal(fromOrigin({ origins }, "https://example.com"));
      assert.equal(error.status, 500, what);
      assert.equal(error.code, "HANDSHAKE_ORIGIN");
      assert.equal(
        error.message,
        `Origin check returned ${what}, not a boolean: it must decide synchronously`,
      );
    }
  });

  test("server constructor throws TypeError for origins that are not a list of serialised origins nor a function", () => {
    const invalid: unknown[] = [
      "https://example.com",
      null,
      42,
      {},
      new Set(["https://example.com"]),
      [42],
      [null],
      ["https://example.com/"],
      ["https://example.com/chat"],
      ["example.com"],
      ["*"],
      [" https://example.com"],
      ["https://user@example.com"],
      ["https://example.com:443"],
      ["http://example.com:80"],
      ["wss://example.com:443"],
    ];
    for (const origins of invalid) {
      assert.throws(
        () => new ServerConnection({ origins } as ServerOptions),
        (e) => e instanceof TypeError && /^Invalid origin/.test(e.message),
        JSON.stringify(origins),
      );
    }
    const valid: NonNullable<ServerOptions["origins"]>[] = [
      [],
      ["null", "NULL"],
      ["https://example.com", "http://example.com:443", "https://example.com:8443"],
      ["http://[::1]:3000", "http://127.0.0.1", "chrome-extension://abcdefghijklmnop"],
      () => true,
    ];
    for (const origins of valid) {
      assert.doesNotThrow(() => new ServerConnection({ origins }), JSON.stringify(origins));
    }
  });
});

describe("client handshake", () => {
  function request(client: ClientConnection): { line: string; headers: Array<[string, string]> } {
    const text = decoder.decode(output(client));
    assert.ok(text.endsWith("\r\n\r\n"));
    const [line, ...lines] = text.slice(0, -4).split("\r\n");
    return {
      line,
      headers: lines.map((l): [string, string] => {
        const colon = l.indexOf(": ");
        return [l.slice(0, colon).toLowerCase(), l.slice(colon + 2)];
      }),
    };
  }

  test("client writes a GET request with Host, Upgrade, Connection, a 16-byte key and version 13", () => {
    const client = new ClientConnection({ host: "server.example.com", path: "/chat?room=1" });
    assert.equal(client.state, "connecting");
    const req = request(client);
    assert.equal(req.line, "GET /chat?room=1 HTTP/1.1");
    assert.deepEqual(header(req.headers, "host"), ["server.example.com"]);
    assert.deepEqual(header(req.headers, "upgrade"), ["websocket"]);
    assert.deepEqual(header(req.headers, "connection"), ["Upgrade"]);
    assert.deepEqual(header(req.headers, "sec-websocket-version"), ["13"]);
    const keys = header(req.headers, "sec-websocket-key");
    assert.equal(keys.length, 1);
    assert.equal(decodeBase64(keys[0])?.length, 16);
    assert.deepEqual(header(req.headers, "origin"), []);
    assert.deepEqual(header(req.headers, "sec-websocket-protocol"), []);
    assert.deepEqual(header(req.headers, "sec-websocket-extensions"), []);
  });

  test("client defaults the path to /", () => {
    assert.equal(request(new ClientConnection({ host: "h" })).line, "GET / HTTP/1.1");
  });

  test("client draws its key from randomBytes", () => {
    const random = seededRandom(42);
    const expected = new Uint8Array(1024);
    random(expected);
    const client = new ClientConnection({ host: "h", randomBytes: seededRandom(42) });
    assert.equal(keyOf(output(client)), encodeBase64(expected.subarray(0, 16)));
  });

  test("client keys differ between connections", () => {
    const a = keyOf(output(new ClientConnection({ host: "h" })));
    const b = keyOf(output(new ClientConnection({ host: "h" })));
    assert.notEqual(a, b);
  });

  test("client sends Origin for version 13 and Sec-WebSocket-Origin for versions 8 and 7", () => {
    const v13 = request(new ClientConnection({ host: "h", origin: "http://o.example" }));
    assert.deepEqual(header(v13.headers, "origin"), ["http://o.example"]);
    assert.deepEqual(header(v13.headers, "sec-websocket-origin"), []);
    for (const version of [8, 7] as const) {
      const r = request(new ClientConnection({ host: "h", origin: "http://o.example", version }));
      assert.deepEqual(header(r.headers, "sec-websocket-version"), [String(version)]);
      assert.deepEqual(header(r.headers, "sec-websocket-origin"), ["http://o.example"]);
      assert.deepEqual(header(r.headers, "origin"), []);
    }
  });

  test("client offers its protocols in order and sends extra headers", () => {
    const r = request(
      new ClientConnection({
        host: "h",
        protocols: ["chat", "superchat"],
        headers: [["Cookie", "a=1"], ["Authorization", "Bearer x"]],
      }),
    );
    assert.deepEqual(header(r.headers, "sec-websocket-protocol"), ["chat, superchat"]);
    assert.deepEqual(header(r.headers, "cookie"), ["a=1"]);
    assert.deepEqual(header(r.headers, "authorization"), ["Bearer x"]);
  });

  test("client throws TypeError on an invalid host, path, protocol or header", () => {
    for (const host of ["", "a b", "a\r\nX: y", "a\u0000"]) {
      assert.throws(
        () => new ClientConnection({ host }),
        TypeError,
        `host ${JSON.stringify(host)}`,
      );
    }
    for (const path of ["", "chat", "/a b", "/a\nb", "/\u007f"]) {
      assert.throws(
        () => new ClientConnection({ host: "h", path }),
        TypeError,
        `path ${JSON.stringify(path)}`,
      );
    }
    for (const protocols of [[""], ["a b"], ["a,b"], ["chat", "chat"], ["é"]]) {
      assert.throws(
        () => new ClientConnection({ host: "h", protocols }),
        TypeError,
        `protocols ${protocols}`,
      );
    }
    assert.throws(
      () => new ClientConnection({ host: "h", headers: { "X-A": "1\r\n" } }),
      TypeError,
    );
  });

  test("client throws RangeError on an unsupported version", () => {
    assert.throws(() => new ClientConnection({ host: "h", version: 9 as 13 }), RangeError);
  });

  /** A client whose request was taken, and its key. */
  function fresh(protocols: string[] = []): { client: ClientConnection; key: string } {
    const client = new ClientConnection({ host: "h", protocols });
    return { client, key: keyOf(output(client)) };
  }

  test("client opens on a valid 101 and reports the chosen protocol", () => {
    const { client, key } = fresh(["chat", "superchat"]);
    client.receive(encoder.encode(responseText(key, ["Sec-WebSocket-Protocol: superchat"])));
    assert.deepEqual(drain(client), [{ type: "open", protocol: "superchat", extensions: "" }]);
    assert.equal(client.state, "open");
    assert.equal(client.protocol, "superchat");
    assert.equal(client.version, 13);
    assert.equal(client.response?.status, 101);
  });

  test("client opens on a valid 101 in every chunking and delivers frames from the same chunk", () => {
    // Deterministic key so one byte stream fits every client.
    const make = (): ClientConnection => {
      const c = new ClientConnection({ host: "h", randomBytes: seededRandom(1) });
      c.takeOutput();
      return c;
    };
    const k = keyOf(output(new ClientConnection({ host: "h", randomBytes: seededRandom(1) })));
    const stream = new Uint8Array([
      ...encoder.encode(responseText(k)),
      ...serverFrame(OP_TEXT, "Hello"),
      0x89,
      0x00,
    ]);
    for (const chunks of splits(stream, 8)) {
      const client = make();
      feed(client, chunks);
      assert.deepEqual(normalize(drain(client)), [
        { type: "open", protocol: "", extensions: "" },
        { type: "message", data: "Hello" },
        { type: "ping", data: [] },
      ]);
    }
  });

  const failures: Array<
    {
      name: string;
      response: (key: string) => string;
      code: string;
      status: number;
      protocols?: string[];
    }
  > = [
    {
      name: "a 403 answer",
      response: () => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
      code: "HANDSHAKE_REJECTED",
      status: 403,
    },
    {
      name: "a 200 answer",
      response: () => "HTTP/1.1 200 OK\r\n\r\n",
      code: "HANDSHAKE_REJECTED",
      status: 200,
    },
    {
      name: "a wrong Sec-WebSocket-Accept",
      response: () => responseText(SAMPLE_KEY),
      code: "HANDSHAKE_BAD_RESPONSE",
      status: 101,
    },
    {
      name: "a missing Sec-WebSocket-Accept",
      response: () =>
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      code: "HANDSHAKE_BAD_RESPONSE",
      status: 101,
    },
    {
      name: "a missing Upgrade header",
      response: (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${
          acceptKey(key)
        }\r\n\r\n`,
      code: "HANDSHAKE_BAD_RESPONSE",
      status: 101,
    },
    {
      name: "a missing Connection header",
      response: (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${
          acceptKey(key)
        }\r\n\r\n`,
      code: "HANDSHAKE_BAD_RESPONSE",
      status: 101,
    },
    {
      name: "a subprotocol that was not offered",
      response: (key) => responseText(key, ["Sec-WebSocket-Protocol: mqtt"]),
      code: "HANDSHAKE_BAD_PROTOCOL",
      status: 101,
      protocols: ["chat"],
    },
    {
      name: "a subprotocol when none was offered",
      response: (key) => responseText(key, ["Sec-WebSocket-Protocol: chat"]),
      code: "HANDSHAKE_BAD_PROTOCOL",
      status: 101,
    },
    {
      name: "an extension that was not offered",
      response: (key) => responseText(key, ["Sec-WebSocket-Extensions: permessage-deflate"]),
      code: "HANDSHAKE_BAD_EXTENSION",
      status: 101,
    },
    {
      name: "a malformed status line",
      response: () => "HTTP/1.1 1O1 Switching Protocols\r\n\r\n",
      code: "HANDSHAKE_BAD_RESPONSE",
      status: 0,
    },
  ];

  for (const f of failures) {
    test(`client fails on ${f.name} with an error event then one close event`, () => {
      const { client, key } = fresh(f.protocols ?? []);
      client.receive(encoder.encode(f.response(key)));
      const events = drain(client);
      assert.deepEqual(types(events), ["error", "close"]);
      const error = only(events, "error").error;
      assert.equal(error.code, f.code);
      assert.equal(error.status, f.status);
      assert.equal(error.closeCode, 0);
      assert.deepEqual(events[1], { type: "close", code: 1006, reason: "", wasClean: false });
      assert.equal(client.state, "closed");
      assert.equal(client.shouldCloseTransport, true);
      assert.deepEqual(
        client.takeOutput(),
        [],
        "a client has no one to answer during the handshake",
      );
      if (f.status !== 0) assert.equal(client.response?.status, f.status);
      else assert.equal(client.response, null);
    });
  }

  test("client fails when the input ends before the response", () => {
    const { client } = fresh();
    client.receive(encoder.encode("HTTP/1.1 101 Switching"));
    client.receiveEnd();
    const events = drain(client);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(only(events, "error").error.code, "HANDSHAKE_BAD_RESPONSE");
    assert.equal(client.shouldCloseTransport, true);
  });

  test("client and server agree on a subprotocol through a ConnectionPair", () => {
    const pair = new ConnectionPair({
      client: { protocols: ["v2.chat", "v1.chat"] },
      onRequest: (req, server) => server.accept({ protocol: req.protocols[1] }),
    });
    assert.deepEqual(pair.clientEvents, [{ type: "open", protocol: "v1.chat", extensions: "" }]);
    assert.equal(pair.server.protocol, "v1.chat");
    assert.equal(pair.client.protocol, "v1.chat");
  });

  test("client of version 8 talks to the server as hybi-08", () => {
    const pair = new ConnectionPair({ client: { version: 8, origin: "http://o.example" } });
    const req = only(pair.serverEvents, "request").request;
    assert.equal(req.version, 8);
    assert.equal(req.origin, "http://o.example");
    assert.equal(pair.server.version, 8);
    assert.equal(pair.client.version, 8);
    pair.client.send("hi");
    pair.pump();
    assert.deepEqual(normalize(pair.take("server").filter((e) => e.type === "message")), [{
      type: "message",
      data: "hi",
    }]);
  });

  test("client sees a server rejection through a ConnectionPair with the status and the response", () => {
    const pair = new ConnectionPair({
      onRequest: (_r, server) => server.reject(404, { body: "no such room" }),
    });
    const events = pair.clientEvents;
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(only(events, "error").error.status, 404);
    assert.equal(pair.client.response?.status, 404);
    assert.equal(pair.client.response?.reason, "Not Found");
  });

  test("the request a client writes is accepted by the server with the client's key", () => {
    const client = new ClientConnection({
      host: "server.example.com:8080",
      path: "/x",
      protocols: ["chat"],
    });
    const bytes = output(client);
    const server = new ServerConnection();
    server.receive(bytes);
    const req = only(drain(server), "request").request;
    assert.equal(req.key, keyOf(bytes));
    assert.equal(req.host, "server.example.com:8080");
    assert.deepEqual(req.protocols, ["chat"]);
  });
});
