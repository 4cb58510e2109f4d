// Every protocol revision through the connection: server detection, client per version,
// in-memory pairs in several chunkings, what each version refuses, and the hixie bounds.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ClientConnection,
  type ConnectionEvent,
  ServerConnection,
  UsageError,
  type WebSocketVersion,
} from "../mod.ts";
import type { ServerOptions } from "../core/server.ts";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function drain(
  conn: ServerConnection | ClientConnection,
  onEvent?: (ev: ConnectionEvent) => void,
): ConnectionEvent[] {
  const out: ConnectionEvent[] = [];
  for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
    out.push(ev);
    onEvent?.(ev);
  }
  return out;
}

/** Moves bytes both ways, `split` bytes at a time (0: whole chunks), until both sides are quiet. */
function pump(
  client: ClientConnection,
  server: ServerConnection,
  split: number,
  seen: { client: ConnectionEvent[]; server: ConnectionEvent[] },
  onServer: (ev: ConnectionEvent) => void,
): void {
  for (let round = 0; round < 1000; round++) {
    seen.client.push(...drain(client));
    seen.server.push(...drain(server, onServer));
    const c = client.takeOutput();
    const s = server.takeOutput();
    if (c.length === 0 && s.length === 0) return;
    const feed = (chunks: Uint8Array[], to: ClientConnection | ServerConnection) => {
      for (const chunk of chunks) {
        if (split === 0) to.receive(chunk.slice());
        else for (let i = 0; i < chunk.length; i += split) to.receive(chunk.slice(i, i + split));
      }
    };
    feed(c, server);
    feed(s, client);
  }
  throw new Error("pump did not settle");
}

function session(version: WebSocketVersion, split: number, serverOptions: ServerOptions = {}) {
  const client = new ClientConnection({
    host: "example.com:8080",
    path: "/chat?room=1",
    origin: "http://example.com",
    protocols: ["chat"],
    version,
  });
  const server = new ServerConnection(serverOptions);
  const seen = { client: [] as ConnectionEvent[], server: [] as ConnectionEvent[] };
  const onServer = (ev: ConnectionEvent) => {
    if (ev.type === "request") server.accept({ protocol: "chat" });
    if (ev.type === "message") server.send(ev.data);
  };
  return { client, server, seen, run: () => pump(client, server, split, seen, onServer) };
}

const VERSIONS: WebSocketVersion[] = [13, 8, 7, "hixie-76", "hixie-75"];

describe("every protocol version in memory", () => {
  for (const version of VERSIONS) {
    for (const split of [0, 1, 3]) {
      test(`${version} (chunks of ${split || "any"} bytes): server detects it, text round trip, subprotocol, close`, () => {
        const s = session(version, split);
        s.run();
        const request = s.seen.server.find((e) => e.type === "request");
        assert.ok(request && request.type === "request");
        assert.equal(request.request.version, version);
        assert.equal(request.request.path, "/chat");
        assert.equal(request.request.query, "room=1");
        assert.equal(request.request.origin, "http://example.com");
        assert.deepEqual(request.request.protocols, ["chat"]);
        assert.equal(s.server.version, version);
        assert.equal(s.client.version, version);
        assert.equal(s.client.state, "open");
        assert.equal(s.client.protocol, "chat");
        s.client.send("héllo wörld ✓");
        s.client.send("");
        s.run();
        const echoed = s.seen.client.filter((e) => e.type === "message").map((e) =>
          e.type === "message" && e.data
        );
        assert.deepEqual(echoed, ["héllo wörld ✓", ""]);
        s.client.close(1000);
        s.run();
        // A real transport carries the client's close to the server as end of input.
        if (s.client.shouldCloseTransport && s.server.state !== "closed") {
          s.server.receiveEnd();
          s.run();
        }
        const cClose = s.seen.client.at(-1)!;
        const sClose = s.seen.server.at(-1)!;
        assert.equal(cClose.type, "close");
        assert.equal(sClose.type, "close");
        assert.equal(s.server.state, "closed");
        if (version === "hixie-75") {
          // No closing handshake: the client's close closes the transport; the server sees EOF.
          assert.equal(s.client.shouldCloseTransport, true);
          assert.equal(s.server.state, "closed");
          assert.deepEqual(cClose, { type: "close", code: 1005, reason: "", wasClean: true });
          assert.deepEqual(sClose, { type: "close", code: 1005, reason: "", wasClean: true });
        } else if (version === "hixie-76") {
          assert.deepEqual(sClose, { type: "close", code: 1005, reason: "", wasClean: true });
          assert.deepEqual(cClose, { type: "close", code: 1005, reason: "", wasClean: true });
          assert.equal(s.server.shouldCloseTransport, true);
        } else {
          assert.deepEqual(sClose, { type: "close", code: 1000, reason: "", wasClean: true });
          assert.equal(s.server.shouldCloseTransport, true);
          assert.equal(
            s.client.shouldCloseTransport,
            false,
            "an RFC 6455 client waits for the server to close TCP",
          );
        }
      });
    }
  }

  test("hixie-75: the server closing the transport is a clean close for the client", () => {
    const s = session("hixie-75", 0);
    s.run();
    s.client.receiveEnd();
    assert.deepEqual(drain(s.client), [{ type: "close", code: 1005, reason: "", wasClean: true }]);
  });

  test("hixie-76: a transport close without FF 00 is abnormal (1006)", () => {
    const s = session("hixie-76", 0);
    s.run();
    s.client.receiveEnd();
    assert.deepEqual(drain(s.client), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
  });

  for (const version of ["hixie-76", "hixie-75"] as const) {
    test(`${version}: binary, ping, pong and fragmented sends throw ERR_UNSUPPORTED_BY_VERSION`, () => {
      const s = session(version, 0);
      s.run();
      for (const conn of [s.client, s.server]) {
        for (
          const act of [
            () => conn.send(new Uint8Array([1])),
            () => conn.ping(),
            () => conn.pong(),
            () => conn.sendFragment("a", false),
          ]
        ) {
          assert.throws(
            act,
            (e: unknown) => e instanceof UsageError && e.code === "ERR_UNSUPPORTED_BY_VERSION",
          );
        }
      }
    });

    test(`${version}: invalid UTF-8 from the peer fails the connection (1007 reported locally)`, () => {
      const s = session(version, 0);
      s.run();
      s.server.receive(new Uint8Array([0x00, 0x41, 0xc3, 0x28, 0xff]));
      const events = drain(s.server);
      assert.equal(events[0].type, "error");
      assert.equal(events[0].type === "error" && events[0].error.closeCode, 1007);
      assert.deepEqual(events[1], { type: "close", code: 1006, reason: "", wasClean: false });
      assert.equal(s.server.shouldCloseTransport, true);
      const out = s.server.takeOutput();
      const expected = version === "hixie-76" ? [0xff, 0x00] : [];
      assert.deepEqual(Array.from(out.flatMap((c) => Array.from(c))), expected);
    });

    test(`${version}: a frame that never ends is refused at the message limit, holding no more than the limit`, () => {
      const s = session(version, 0, { maxMessageSize: 64 * 1024 });
      s.run();
      s.server.receive(new Uint8Array([0x00]));
      const chunk = new Uint8Array(4096).fill(0x61);
      let events: ConnectionEvent[] = [];
      let sent = 0;
      for (let i = 0; i < 1000 && s.server.state === "open"; i++) {
        s.server.receive(chunk.slice());
        sent += chunk.length;
        events = drain(s.server);
      }
      assert.ok(sent <= 64 * 1024 + 4096, `refused after ${sent} bytes`);
      assert.equal(events[0].type === "error" && events[0].error.closeCode, 1009);
      assert.equal(s.server.state, "closed");
    });
  }
});

describe("server version detection and restriction", () => {
  const hixie76Example = latin1(
    "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n" +
      "Sec-WebSocket-Protocol: sample\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n" +
      "Origin: http://example.com\r\n\r\n^n:ds[4U",
  );

  for (const split of [0, 1, 5]) {
    test(`the hixie-76 draft's example request gets the draft's exact answer (chunks of ${split || "any"})`, () => {
      const server = new ServerConnection();
      const chunks = split === 0 ? [hixie76Example] : Array.from(
        { length: Math.ceil(hixie76Example.length / split) },
        (_, i) => hixie76Example.slice(i * split, (i + 1) * split),
      );
      const out: number[] = [];
      let sawRequestBeforeKey3 = false;
      for (const c of chunks) {
        server.receive(c);
        for (const ev of drain(server)) {
          if (ev.type === "request") {
            server.accept({ protocol: "sample" });
            sawRequestBeforeKey3 = split !== 0;
          }
        }
        for (const o of server.takeOutput()) out.push(...o);
      }
      const text = String.fromCharCode(...out);
      assert.equal(
        text,
        "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Origin: http://example.com\r\nSec-WebSocket-Location: ws://example.com/demo\r\n" +
          "Sec-WebSocket-Protocol: sample\r\n\r\n8jKS'y:G*Co,Wxa-",
      );
      assert.equal(server.state, "open");
      if (split !== 0) assert.ok(sawRequestBeforeKey3);
    });
  }

  test("hixie-76: the 101 head is sent on accept, before key3 arrives; the answer once it has", () => {
    const server = new ServerConnection();
    const headOnly = hixie76Example.subarray(0, hixie76Example.length - 8);
    server.receive(headOnly.slice());
    for (const ev of drain(server)) if (ev.type === "request") server.accept();
    const first = server.takeOutput();
    assert.ok(
      String.fromCharCode(...first[0]).startsWith("HTTP/1.1 101 WebSocket Protocol Handshake\r\n"),
    );
    assert.equal(server.state, "connecting");
    server.receive(hixie76Example.slice(hixie76Example.length - 8));
    assert.deepEqual(drain(server).map((e) => e.type), ["open"]);
    assert.equal(String.fromCharCode(...server.takeOutput()[0]), "8jKS'y:G*Co,Wxa-");
  });

  test("a hixie-76 key with zero spaces gets 400", () => {
    const server = new ServerConnection();
    server.receive(latin1(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 12345\r\n" +
        "Sec-WebSocket-Key2: 1 2\r\n\r\n",
    ));
    const events = drain(server);
    assert.equal(events[0].type === "error" && events[0].error.status, 400);
    assert.equal(events.at(-1)!.type, "close");
  });

  test("a hixie-76 key whose number is not divisible by its spaces gets 400", () => {
    const server = new ServerConnection();
    server.receive(latin1(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 1 1 1\r\n" +
        "Sec-WebSocket-Key2: 2 2\r\n\r\n",
    ));
    assert.equal(drain(server)[0].type, "error");
  });

  test("hixie-75 request without Host is refused with 400", () => {
    const server = new ServerConnection();
    server.receive(latin1("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n"));
    const ev = drain(server)[0];
    assert.equal(ev.type === "error" && ev.error.status, 400);
  });

  test("a plain HTTP request (no upgrade) gets 400", () => {
    const server = new ServerConnection();
    server.receive(latin1("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    const ev = drain(server)[0];
    assert.equal(ev.type === "error" && ev.error.status, 400);
  });

  test("versions option: a disabled hixie version gets 426 listing the enabled hybi versions", () => {
    const s = session("hixie-75", 0, { versions: [13] });
    s.run();
    const ev = s.seen.client.find((e) => e.type === "error");
    assert.ok(ev && ev.type === "error");
    assert.equal(ev.error.status, 426);
    assert.equal(s.client.response?.status, 426);
    assert.equal(s.client.response?.headers.get("sec-websocket-version"), "13");
    assert.equal(s.client.state, "closed");
  });

  test("versions option: a disabled hybi version gets 426 with the enabled list", () => {
    const server = new ServerConnection({ versions: [13] });
    server.receive(latin1(
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    ));
    const ev = drain(server)[0];
    assert.equal(ev.type === "error" && ev.error.status, 426);
    const response = String.fromCharCode(...server.takeOutput()[0]);
    assert.match(response, /^HTTP\/1.1 426 Upgrade Required\r\n/);
    assert.match(response, /\r\nSec-WebSocket-Version: 13\r\n/);
  });

  test("hybi-08 and hybi-07 clients send Sec-WebSocket-Origin, RFC 6455 clients Origin", () => {
    for (
      const [version, header] of [[13, "Origin"], [8, "Sec-WebSocket-Origin"], [
        7,
        "Sec-WebSocket-Origin",
      ]] as const
    ) {
      const client = new ClientConnection({ host: "a", origin: "http://o", version });
      const request = String.fromCharCode(...client.takeOutput()[0]);
      assert.match(request, new RegExp(`\\r\\n${header}: http://o\\r\\n`));
      assert.match(request, new RegExp(`\\r\\nSec-WebSocket-Version: ${version}\\r\\n`));
    }
  });

  test("a hixie-76 client refuses a wrong challenge answer", () => {
    const s = session("hixie-76", 0);
    // Hand the client a correct head but a wrong answer.
    s.client.takeOutput();
    s.client.receive(latin1(
      "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Origin: http://example.com\r\nSec-WebSocket-Location: ws://example.com:8080/chat?room=1\r\n\r\n" +
        "0123456789abcdef",
    ));
    const events = drain(s.client);
    assert.equal(events[0].type === "error" && events[0].error.code, "HANDSHAKE_BAD_RESPONSE");
    assert.equal(s.client.state, "closed");
  });

  test("a hixie-75 client refuses a response whose first 85 bytes differ", () => {
    const client = new ClientConnection({ host: "example.com", version: "hixie-75" });
    client.takeOutput();
    client.receive(latin1(
      "HTTP/1.1 101 Web Socket Protocol Handshake\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n" +
        "WebSocket-Location: ws://example.com/\r\n\r\n",
    ));
    const events = drain(client);
    assert.equal(events[0].type, "error");
    assert.equal(client.state, "closed");
  });

  test("the hixie-75 response is byte-exact", () => {
    const server = new ServerConnection();
    server.receive(latin1(
      "GET /demo?x=1 HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: example.com:8080\r\n" +
        "Origin: http://example.com\r\nWebSocket-Protocol: sample\r\n\r\n",
    ));
    for (const ev of drain(server)) {
      if (ev.type === "request") server.accept({ protocol: "sample" });
    }
    assert.equal(
      String.fromCharCode(...server.takeOutput()[0]),
      "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n" +
        "WebSocket-Origin: http://example.com\r\nWebSocket-Location: ws://example.com:8080/demo?x=1\r\n" +
        "WebSocket-Protocol: sample\r\n\r\n",
    );
  });

  test("the server answers wss:// locations when told the transport is TLS", () => {
    const server = new ServerConnection({ secure: true });
    server.receive(
      latin1(
        "GET /s HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: h\r\nOrigin: https://h\r\n\r\n",
      ),
    );
    for (const ev of drain(server)) if (ev.type === "request") server.accept();
    assert.match(
      String.fromCharCode(...server.takeOutput()[0]),
      /\r\nWebSocket-Location: wss:\/\/h\/s\r\n/,
    );
  });
});

test("a text frame of a hixie client reaches the server as a message, also in one chunk with the handshake", () => {
  const server = new ServerConnection();
  server.receive(latin1(
    "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: h\r\n\r\n\x00hi\xff\x00there\xff",
  ));
  const types: string[] = [];
  for (const ev of drain(server, (e) => e.type === "request" && server.accept())) {
    types.push(ev.type === "message" ? `message ${ev.data}` : ev.type);
  }
  assert.deepEqual(types, ["request", "open", "message hi", "message there"]);
});

describe("origins option on every revision", () => {
  /** A client of `version` declaring `origin` (none when null), pumped against `server`. */
  function handshake(
    version: WebSocketVersion,
    origin: string | null,
    server: ServerConnection,
    split: number,
  ) {
    const client = new ClientConnection({
      host: "example.com:8080",
      path: "/chat",
      version,
      ...(origin === null ? {} : { origin }),
    });
    const seen = { client: [] as ConnectionEvent[], server: [] as ConnectionEvent[] };
    pump(client, server, split, seen, (ev) => ev.type === "request" && server.accept());
    return { client, seen };
  }

  for (const version of VERSIONS) {
    test(`${version}: a listed origin opens, compared ASCII case-insensitively`, () => {
      const server = new ServerConnection({
        origins: ["https://app.example", "HTTP://Example.COM"],
      });
      const { client, seen } = handshake(version, "http://example.com", server, 0);
      assert.deepEqual(seen.server.map((e) => e.type), ["request", "open"]);
      assert.equal(client.state, "open");
    });

    for (
      const [what, origin] of [["an unlisted origin", "http://evil.example"], [
        "no origin",
        null,
      ]] as const
    ) {
      for (const split of [0, 1]) {
        test(`${version} (chunks of ${split || "any"} bytes): ${what} is refused with 403 before the request event`, () => {
          const server = new ServerConnection({ origins: ["http://example.com"] });
          const { client, seen } = handshake(version, origin, server, split);
          assert.deepEqual(seen.server.map((e) => e.type), ["error", "close"]);
          const error = seen.server[0].type === "error" ? seen.server[0].error : null;
          assert.equal(error?.code, "HANDSHAKE_ORIGIN");
          assert.equal(error?.status, 403);
          assert.equal(server.request, null);
          assert.equal(client.response?.status, 403);
          assert.equal(client.state, "closed");
        });
      }
    }

    test(`${version}: the origins predicate sees the origin the revision declares`, () => {
      const seen: Array<string | null> = [];
      const server = new ServerConnection({ origins: (origin) => (seen.push(origin), true) });
      handshake(version, "http://example.com", server, 0);
      assert.deepEqual(seen, ["http://example.com"]);
      assert.equal(server.state, "open");
    });
  }

  test("hybi-08 and hybi-07 are judged by Sec-WebSocket-Origin, RFC 6455 by Origin", () => {
    const head = (version: number, origins: string) =>
      latin1(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\n` +
          origins + "\r\n",
      );
    const both = "Sec-WebSocket-Origin: http://good.example\r\nOrigin: http://evil.example\r\n";
    for (
      const [version, lines, allowed] of [
        [8, both, true],
        [7, both, true],
        [13, both, false],
        [13, "Sec-WebSocket-Origin: http://good.example\r\n", false],
        [8, "Origin: http://good.example\r\n", true],
      ] as const
    ) {
      const server = new ServerConnection({ origins: ["http://good.example"] });
      server.receive(head(version, lines));
      const types = drain(server).map((e) => e.type);
      assert.deepEqual(types, allowed ? ["request"] : ["error", "close"], `${version} ${lines}`);
    }
  });

  test("hixie-76: a refused origin is answered 403 at once, without waiting for key3", () => {
    const server = new ServerConnection({ origins: ["https://example.com"] });
    server.receive(latin1(
      "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n" +
        "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n" +
        "Origin: http://example.com\r\n\r\n",
    ));
    const events = drain(server);
    assert.deepEqual(events.map((e) => e.type), ["error", "close"]);
    assert.match(String.fromCharCode(...server.takeOutput()[0]), /^HTTP\/1.1 403 Forbidden\r\n/);
  });
});
