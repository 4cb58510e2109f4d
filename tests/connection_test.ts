import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClientConnection } from "../core/client.ts";
import { type Connection, type ConnectionEvent, FRAGMENT_OVERHEAD } from "../core/connection.ts";
import { ProtocolError, UsageError, type UsageErrorCode } from "../core/errors.ts";
import { type Extension, type ExtensionFactory, negotiateExtensions } from "../core/extension.ts";
import { NegotiatedConnection, type NegotiatedOptions } from "../core/negotiated.ts";
import { ServerConnection } from "../core/server.ts";
import { permessageDeflate } from "../extensions/permessage_deflate.ts";
import {
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  RSV1,
} from "../framing/rfc6455.ts";
import type { ExtensionOffer } from "../handshake/http.ts";
import type { WebSocketVersion } from "../handshake/types.ts";
import {
  clientAfterHandshake,
  closePayload,
  concat,
  ConnectionPair,
  drain,
  encoder,
  feed,
  hex,
  keyOf,
  maskedFrame,
  mulberry32,
  normalize,
  only,
  output,
  parseFrames,
  readClose,
  responseText,
  seededBytes,
  seededRandom,
  serverAfterHandshake,
  serverFrame,
  splits,
  types,
} from "./_helpers.ts";

function usage(code: UsageErrorCode): (e: unknown) => boolean {
  return (e: unknown): boolean => e instanceof UsageError && e.code === code;
}

/** Same bytes, compared without building a huge diff on failure. */
function assertSameBytes(actual: Uint8Array | string, expected: Uint8Array): void {
  assert.ok(actual instanceof Uint8Array, "binary data");
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`byte ${i}: ${actual[i]} !== ${expected[i]}`);
  }
}

/** The frames a connection wrote since the last call. */
function frames(conn: Connection): ReturnType<typeof parseFrames> {
  return parseFrames(output(conn));
}

/** The close code and reason of the single close frame a connection wrote. */
function sentClose(conn: Connection): { code: number; reason: string } {
  const list = frames(conn);
  const closes = list.filter((f) => f.opcode === OP_CLOSE);
  assert.equal(closes.length, 1, "one close frame");
  assert.equal(list[list.length - 1].opcode, OP_CLOSE, "the close frame is the last one");
  return readClose(closes[0].payload);
}

/** Assert that a connection failed with `closeCode` and told the peer so. */
function assertFailed(
  conn: Connection,
  events: ConnectionEvent[],
  closeCode: number,
  code?: string,
): void {
  assert.deepEqual(types(events.slice(-2)), ["error", "close"], `events ${types(events)}`);
  const error = only(events, "error").error;
  assert.equal(error.closeCode, closeCode);
  if (code !== undefined) assert.equal(error.code, code);
  assert.deepEqual(events[events.length - 1], {
    type: "close",
    code: 1006,
    reason: "",
    wasClean: false,
  });
  assert.equal(sentClose(conn).code, closeCode);
  assert.equal(conn.state, "closed");
  assert.equal(conn.shouldCloseTransport, true);
}

/** Feed one chunk to a fresh open server and return its events. */
function serverGets(
  bytes: Uint8Array,
  options: ConstructorParameters<typeof ServerConnection>[0] = {},
): {
  server: ServerConnection;
  events: ConnectionEvent[];
} {
  const server = serverAfterHandshake(options);
  server.receive(bytes);
  return { server, events: drain(server) };
}

describe("messages between a client and a server", () => {
  test("a pair exchanges text, binary and empty messages both ways", () => {
    const pair = new ConnectionPair();
    assert.deepEqual(types(pair.take("server")), ["request", "open"]);
    assert.deepEqual(types(pair.take("client")), ["open"]);
    const messages: Array<string | Uint8Array> = [
      "Hello",
      "",
      "héllo wörld €𝄞",
      hex("00 01 fe ff"),
      new Uint8Array(0),
    ];
    for (const m of messages) {
      pair.client.send(m);
      pair.server.send(m);
    }
    pair.pump();
    const expected = messages.map((m) => ({
      type: "message",
      data: typeof m === "string" ? m : Array.from(m),
    }));
    assert.deepEqual(normalize(pair.take("server")), expected);
    assert.deepEqual(normalize(pair.take("client")), expected);
  });

  test("an empty text message is delivered as an empty string", () => {
    const { events } = serverGets(maskedFrame(OP_TEXT, ""));
    assert.deepEqual(events, [{ type: "message", data: "" }]);
    const client = clientAfterHandshake();
    client.receive(serverFrame(OP_TEXT, ""));
    assert.deepEqual(drain(client), [{ type: "message", data: "" }]);
  });

  for (const size of [125, 126, 65535, 65536]) {
    test(`a pair round-trips a ${size}-byte binary and text message`, () => {
      const pair = new ConnectionPair();
      pair.take("client");
      pair.take("server");
      const data = seededBytes(size, size);
      const text = "x".repeat(size - 3) + "€";
      pair.client.send(data);
      pair.client.send(text);
      pair.pump();
      const got = pair.take("server");
      assert.equal(got.length, 2);
      const [bin, txt] = got;
      assert.ok(bin.type === "message" && txt.type === "message");
      assertSameBytes(bin.data, data);
      assert.equal(txt.data, text);
      pair.server.send(bin.data);
      pair.server.send(txt.data);
      pair.pump();
      const back = pair.take("client");
      assert.ok(back[0].type === "message" && back[1].type === "message");
      assertSameBytes(back[0].data, data);
      assert.equal(back[1].data, text);
    });
  }

  test("a pair round-trips a 16 MiB binary message", () => {
    const pair = new ConnectionPair();
    pair.take("client");
    pair.take("server");
    const size = 16 * 1024 * 1024;
    const data = new Uint8Array(size);
    const next = mulberry32(16);
    for (let i = 0; i < size; i += 4) {
      const r = next();
      data[i] = r;
      data[i + 1] = r >>> 8;
      data[i + 2] = r >>> 16;
      data[i + 3] = r >>> 24;
    }
    pair.client.send(data);
    pair.pump();
    const got = only(pair.take("server"), "message");
    assertSameBytes(got.data, data);
    pair.server.send(got.data);
    pair.pump();
    assertSameBytes(only(pair.take("client"), "message").data, data);
  });
});

describe("fragmentation", () => {
  test("server assembles a fragmented message with pings and pongs between the fragments", () => {
    const bytes = concat([
      maskedFrame(OP_TEXT, "Hel", { fin: false }),
      maskedFrame(OP_PING, "p1"),
      maskedFrame(OP_CONTINUATION, "lo, ", { fin: false }),
      maskedFrame(OP_PONG, "unsolicited"),
      maskedFrame(OP_PING, ""),
      maskedFrame(OP_CONTINUATION, "world"),
    ]);
    for (const chunks of splits(bytes, 1)) {
      const server = serverAfterHandshake();
      feed(server, chunks);
      assert.deepEqual(normalize(drain(server)), [
        { type: "ping", data: Array.from(encoder.encode("p1")) },
        { type: "pong", data: Array.from(encoder.encode("unsolicited")) },
        { type: "ping", data: [] },
        { type: "message", data: "Hello, world" },
      ]);
      assert.deepEqual(
        frames(server).map((f) => [f.opcode, f.masked, readClose(f.payload).reason]),
        [
          [OP_PONG, false, ""],
          [OP_PONG, false, ""],
        ],
      );
    }
  });

  test("client assembles a fragmented binary message from the server", () => {
    const client = clientAfterHandshake();
    client.receive(concat([
      serverFrame(OP_BINARY, hex("01 02"), { fin: false }),
      serverFrame(OP_CONTINUATION, new Uint8Array(0), { fin: false }),
      serverFrame(OP_PING, "x"),
      serverFrame(OP_CONTINUATION, hex("03")),
    ]));
    assert.deepEqual(normalize(drain(client)), [
      { type: "ping", data: [0x78] },
      { type: "message", data: [1, 2, 3] },
    ]);
  });

  test("server fails a continuation frame with no message in progress with 1002", () => {
    const { server, events } = serverGets(maskedFrame(OP_CONTINUATION, "orphan"));
    assertFailed(server, events, 1002, "FRAME_CONTINUATION");
  });

  test("server fails an orphan continuation after a complete message with 1002", () => {
    const { server, events } = serverGets(
      concat([maskedFrame(OP_TEXT, "done"), maskedFrame(OP_CONTINUATION, "x")]),
    );
    assert.deepEqual(events[0], { type: "message", data: "done" });
    assertFailed(server, events, 1002, "FRAME_CONTINUATION");
  });

  for (const op of [OP_TEXT, OP_BINARY]) {
    test(`server fails a new ${op === OP_TEXT ? "text" : "binary"} frame inside a fragmented message with 1002`, () => {
      const { server, events } = serverGets(
        concat([maskedFrame(OP_TEXT, "a", { fin: false }), maskedFrame(op, "b")]),
      );
      assertFailed(server, events, 1002, "FRAME_CONTINUATION");
      assert.deepEqual(types(events), ["error", "close"]);
    });
  }

  test("client fails a new data frame inside a fragmented message with 1002", () => {
    const client = clientAfterHandshake();
    client.receive(
      concat([serverFrame(OP_BINARY, "a", { fin: false }), serverFrame(OP_BINARY, "b")]),
    );
    assertFailed(client, drain(client), 1002, "FRAME_CONTINUATION");
  });
});

describe("UTF-8 validation", () => {
  test("server accepts a multi-byte character split across fragments", () => {
    // "€" = E2 82 AC and "😀" = F0 9F 98 80, cut inside each character.
    const bytes = concat([
      maskedFrame(OP_TEXT, hex("61 e2"), { fin: false }),
      maskedFrame(OP_CONTINUATION, hex("82"), { fin: false }),
      maskedFrame(OP_CONTINUATION, hex("ac f0 9f"), { fin: false }),
      maskedFrame(OP_CONTINUATION, new Uint8Array(0), { fin: false }),
      maskedFrame(OP_CONTINUATION, hex("98 80 62")),
    ]);
    for (const chunks of splits(bytes, 2)) {
      const server = serverAfterHandshake();
      feed(server, chunks);
      assert.deepEqual(drain(server), [{ type: "message", data: "a€😀b" }]);
    }
  });

  test("server accepts multi-byte characters split across chunks of one frame", () => {
    const text = "κόσμε €𝄞 日本語";
    const bytes = maskedFrame(OP_TEXT, text);
    for (const chunks of splits(bytes, 3)) {
      const server = serverAfterHandshake();
      feed(server, chunks);
      assert.deepEqual(drain(server), [{ type: "message", data: text }]);
    }
  });

  test("server accepts the non-characters U+FFFE and U+FFFF", () => {
    const { events } = serverGets(maskedFrame(OP_TEXT, hex("ef bf be ef bf bf")));
    assert.deepEqual(events, [{ type: "message", data: "\ufffe\uffff" }]);
  });

  test("server keeps a leading byte order mark in a text message", () => {
    const { events } = serverGets(maskedFrame(OP_TEXT, hex("ef bb bf 41")));
    assert.deepEqual(events, [{ type: "message", data: "\ufeffA" }]);
    const split = serverAfterHandshake();
    split.receive(maskedFrame(OP_TEXT, hex("ef bb"), { fin: false }));
    split.receive(maskedFrame(OP_CONTINUATION, hex("bf")));
    assert.deepEqual(drain(split), [{ type: "message", data: "\ufeff" }]);
  });

  test("a BOM at the start of the second message is kept too", () => {
    const { events } = serverGets(
      concat([maskedFrame(OP_TEXT, "a"), maskedFrame(OP_TEXT, hex("ef bb bf"))]),
    );
    assert.deepEqual(events, [{ type: "message", data: "a" }, { type: "message", data: "\ufeff" }]);
  });

  // Each case: the invalid bytes, and the index of the byte at which the error is known.
  const invalid: Array<{ name: string; bytes: string; at: number }> = [
    { name: "an overlong 2-byte NUL (C0 80)", bytes: "c0 80", at: 0 },
    { name: "an overlong 3-byte sequence (E0 80 80)", bytes: "e0 80 80", at: 1 },
    { name: "a surrogate (ED A0 80)", bytes: "ed a0 80", at: 1 },
    { name: "a code point above U+10FFFF (F4 90 80 80)", bytes: "f4 90 80 80", at: 1 },
    { name: "the byte FF", bytes: "ff", at: 0 },
    { name: "a lone continuation byte (80)", bytes: "80", at: 0 },
  ];

  for (const c of invalid) {
    test(`server fails ${c.name} with 1007 as soon as the invalid byte arrives`, () => {
      const bad = hex(c.bytes);
      // A long fragment: 300 valid bytes, the bad sequence, 300 more; the message does not end.
      const payload = concat([
        encoder.encode("a".repeat(300)),
        bad,
        encoder.encode("b".repeat(300)),
      ]);
      const frame = maskedFrame(OP_TEXT, payload, { fin: false });
      const header = frame.length - payload.length;
      const badIndex = header + 300 + c.at;
      const server = serverAfterHandshake();
      server.receive(frame.slice(0, badIndex));
      assert.deepEqual(drain(server), [], "nothing before the invalid byte");
      assert.deepEqual(server.takeOutput(), []);
      server.receive(frame.slice(badIndex, badIndex + 1));
      const events = drain(server);
      assertFailed(server, events, 1007, "TEXT_INVALID_UTF8");
      server.receive(frame.slice(badIndex + 1));
      server.receive(maskedFrame(OP_CONTINUATION, "end"));
      assert.deepEqual(drain(server), []);
      assert.deepEqual(server.takeOutput(), []);
    });
  }

  test("server fails an invalid byte in a later fragment with 1007 before the message ends", () => {
    const server = serverAfterHandshake();
    server.receive(maskedFrame(OP_TEXT, "valid", { fin: false }));
    assert.deepEqual(drain(server), []);
    server.receive(maskedFrame(OP_CONTINUATION, hex("61 ed a0 80"), { fin: false }));
    assertFailed(server, drain(server), 1007, "TEXT_INVALID_UTF8");
  });

  test("server fails a character truncated at the end of the message with 1007", () => {
    for (const tail of ["e2 82", "f0 9f 98", "c3"]) {
      const server = serverAfterHandshake();
      server.receive(
        maskedFrame(OP_TEXT, concat([encoder.encode("ok"), hex(tail)]), { fin: false }),
      );
      assert.deepEqual(drain(server), [], "a partial character may still be completed");
      server.receive(maskedFrame(OP_CONTINUATION, new Uint8Array(0)));
      assertFailed(server, drain(server), 1007, "TEXT_INVALID_UTF8");
    }
  });

  test("client fails invalid UTF-8 from the server with 1007", () => {
    const client = clientAfterHandshake();
    client.receive(
      serverFrame(OP_TEXT, hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")),
    );
    assertFailed(client, drain(client), 1007, "TEXT_INVALID_UTF8");
  });

  test("binary messages are not checked for UTF-8", () => {
    const { events } = serverGets(maskedFrame(OP_BINARY, hex("ff c0 80 ed a0 80")));
    assert.deepEqual(normalize(events), [{
      type: "message",
      data: [0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80],
    }]);
  });
});

describe("close frames", () => {
  test("server fails a close frame with a 1-byte payload with 1002", () => {
    const { server, events } = serverGets(maskedFrame(OP_CLOSE, hex("03")));
    assertFailed(server, events, 1002, "FRAME_CLOSE_PAYLOAD");
  });

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
    test(`server fails a close frame with the invalid code ${code} with 1002`, () => {
      const { server, events } = serverGets(maskedFrame(OP_CLOSE, closePayload(code)));
      assertFailed(server, events, 1002, "FRAME_CLOSE_CODE");
    });
  }

  for (
    const code of [
      1000,
      1001,
      1002,
      1003,
      1007,
      1008,
      1009,
      1010,
      1011,
      1012,
      1013,
      1014,
      3000,
      4999,
    ]
  ) {
    test(`server reports close code ${code} with its reason and echoes the code`, () => {
      const { server, events } = serverGets(maskedFrame(OP_CLOSE, closePayload(code, "bye ✓")));
      assert.deepEqual(events, [{ type: "close", code, reason: "bye ✓", wasClean: true }]);
      assert.deepEqual(sentClose(server), { code, reason: "" });
      assert.equal(server.state, "closed");
      assert.equal(server.shouldCloseTransport, true);
    });
  }

  test("server fails a close reason that is not UTF-8 with 1007", () => {
    const { server, events } = serverGets(
      maskedFrame(OP_CLOSE, closePayload(1000, hex("ce ba ed a0 80"))),
    );
    assertFailed(server, events, 1007, "TEXT_INVALID_UTF8");
  });

  test("server reports an empty close frame as 1005 and answers with an empty close frame", () => {
    const { server, events } = serverGets(maskedFrame(OP_CLOSE, new Uint8Array(0)));
    assert.deepEqual(events, [{ type: "close", code: 1005, reason: "", wasClean: true }]);
    const sent = frames(server);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].opcode, OP_CLOSE);
    assert.equal(sent[0].payload.length, 0);
  });

  test("a close frame with a 123-byte reason is accepted", () => {
    const reason = "r".repeat(123);
    const { events } = serverGets(maskedFrame(OP_CLOSE, closePayload(1000, reason)));
    assert.deepEqual(events, [{ type: "close", code: 1000, reason, wasClean: true }]);
  });

  test("server-initiated closing handshake: both sides close cleanly, the server closes the transport", () => {
    const pair = new ConnectionPair();
    pair.take("client");
    pair.take("server");
    pair.server.close(1000, "going away now");
    assert.equal(pair.server.state, "closing");
    assert.equal(pair.server.shouldCloseTransport, false);
    pair.pump();
    assert.deepEqual(pair.take("client"), [{
      type: "close",
      code: 1000,
      reason: "going away now",
      wasClean: true,
    }]);
    assert.deepEqual(pair.take("server"), [{
      type: "close",
      code: 1000,
      reason: "",
      wasClean: true,
    }]);
    assert.equal(pair.server.state, "closed");
    assert.equal(pair.client.state, "closed");
    assert.equal(pair.server.shouldCloseTransport, true);
    assert.equal(
      pair.client.shouldCloseTransport,
      false,
      "the client waits for the server to close TCP",
    );
    pair.client.receiveEnd();
    assert.equal(pair.client.shouldCloseTransport, true);
    assert.deepEqual(drain(pair.client), [], "no second close event");
  });

  test("client-initiated closing handshake: both sides close cleanly, the client waits for the end of input", () => {
    const pair = new ConnectionPair();
    pair.take("client");
    pair.take("server");
    pair.client.close(4000, "done");
    assert.equal(pair.client.state, "closing");
    pair.pump();
    assert.deepEqual(pair.take("server"), [{
      type: "close",
      code: 4000,
      reason: "done",
      wasClean: true,
    }]);
    assert.deepEqual(pair.take("client"), [{
      type: "close",
      code: 4000,
      reason: "",
      wasClean: true,
    }]);
    assert.equal(pair.server.shouldCloseTransport, true);
    assert.equal(pair.client.shouldCloseTransport, false);
    pair.endTransport();
    assert.equal(pair.client.shouldCloseTransport, true);
    assert.deepEqual(pair.take("client"), []);
    assert.deepEqual(pair.take("server"), []);
  });

  test("close() without a code sends an empty close frame; the peer sees 1005", () => {
    const pair = new ConnectionPair();
    pair.take("client");
    pair.take("server");
    pair.client.close();
    pair.pump();
    assert.deepEqual(pair.take("server"), [{
      type: "close",
      code: 1005,
      reason: "",
      wasClean: true,
    }]);
    assert.deepEqual(pair.take("client"), [{
      type: "close",
      code: 1005,
      reason: "",
      wasClean: true,
    }]);
  });

  test("close() while closing does nothing", () => {
    const server = serverAfterHandshake();
    server.close(1000);
    assert.equal(frames(server).length, 1);
    server.close(1001);
    assert.deepEqual(server.takeOutput(), []);
  });

  test("nothing after a close frame is delivered or answered", () => {
    const { server, events } = serverGets(concat([
      maskedFrame(OP_TEXT, "before"),
      maskedFrame(OP_CLOSE, closePayload(1000)),
      maskedFrame(OP_TEXT, "after"),
      maskedFrame(OP_PING, "p"),
      hex("ff ff ff"),
    ]));
    assert.deepEqual(events, [{ type: "message", data: "before" }, {
      type: "close",
      code: 1000,
      reason: "",
      wasClean: true,
    }]);
    assert.deepEqual(frames(server).map((f) => f.opcode), [OP_CLOSE]);
    server.receive(maskedFrame(OP_TEXT, "later"));
    assert.deepEqual(drain(server), []);
  });

  test("messages and pings that arrive while closing are not delivered or answered", () => {
    const server = serverAfterHandshake();
    server.close(1000);
    server.takeOutput();
    server.receive(concat([
      maskedFrame(OP_TEXT, "late"),
      maskedFrame(OP_BINARY, "a", { fin: false }),
      maskedFrame(OP_PING, "p"),
      maskedFrame(OP_CONTINUATION, "b"),
    ]));
    assert.deepEqual(drain(server), []);
    assert.deepEqual(server.takeOutput(), [], "no pong while closing");
    server.receive(maskedFrame(OP_CLOSE, closePayload(1000)));
    assert.deepEqual(drain(server), [{ type: "close", code: 1000, reason: "", wasClean: true }]);
    assert.deepEqual(server.takeOutput(), [], "the close was already sent");
  });

  test("streamed fragments that arrive while closing are not delivered", () => {
    const server = serverAfterHandshake({ streamMessages: true });
    server.receive(maskedFrame(OP_TEXT, "abc", { fin: false }));
    assert.deepEqual(
      drain(server),
      [],
      "the piece is held back until it is known not to be the last",
    );
    server.close(1000);
    server.receive(maskedFrame(OP_CONTINUATION, "def"));
    assert.deepEqual(drain(server), []);
  });

  test("server can answer a message that arrived in the same chunk as the close frame", () => {
    const server = serverAfterHandshake();
    server.receive(
      concat([maskedFrame(OP_TEXT, "echo me"), maskedFrame(OP_CLOSE, closePayload(1000))]),
    );
    const first = server.nextEvent();
    assert.deepEqual(first, { type: "message", data: "echo me" });
    assert.equal(server.state, "open", "the close frame is not read before the message is handled");
    server.send("echo me");
    assert.deepEqual(drain(server), [{ type: "close", code: 1000, reason: "", wasClean: true }]);
    const sent = frames(server);
    assert.deepEqual(
      sent.map((f) => f.opcode),
      [OP_TEXT, OP_CLOSE],
      "the reply leaves before the close echo",
    );
    assert.deepEqual(sent[0].payload, encoder.encode("echo me"));
    assert.deepEqual(readClose(sent[1].payload), { code: 1000, reason: "" });
  });

  test("the end of input after complete frames delivers them, then closes with 1006", () => {
    const server = serverAfterHandshake();
    server.receive(concat([maskedFrame(OP_TEXT, "a"), maskedFrame(OP_TEXT, "b")]));
    server.receiveEnd();
    assert.deepEqual(drain(server), [
      { type: "message", data: "a" },
      { type: "message", data: "b" },
      { type: "close", code: 1006, reason: "", wasClean: false },
    ]);
    assert.equal(server.shouldCloseTransport, true);
  });

  test("the end of input in the middle of a frame closes with 1006, not clean", () => {
    const server = serverAfterHandshake();
    server.receive(maskedFrame(OP_TEXT, "partial message").subarray(0, 8));
    server.receiveEnd();
    assert.deepEqual(drain(server), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
    assert.equal(server.state, "closed");
    assert.equal(server.shouldCloseTransport, true);
    assert.deepEqual(server.takeOutput(), []);
  });

  test("the end of input while closing closes with 1006, not clean", () => {
    const client = clientAfterHandshake();
    client.close(1000);
    client.receiveEnd();
    assert.deepEqual(drain(client), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
  });

  test("abort() closes at once with 1006 and ignores later input", () => {
    const server = serverAfterHandshake();
    server.abort();
    assert.deepEqual(drain(server), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
    assert.equal(server.state, "closed");
    assert.equal(server.shouldCloseTransport, true);
    assert.deepEqual(server.takeOutput(), []);
    server.receive(maskedFrame(OP_TEXT, "x"));
    server.abort();
    server.receiveEnd();
    assert.deepEqual(drain(server), []);
  });

  test("abort() after a clean close adds no event", () => {
    const client = clientAfterHandshake();
    client.receive(serverFrame(OP_CLOSE, closePayload(1000)));
    assert.equal(drain(client).length, 1);
    client.abort();
    assert.deepEqual(drain(client), []);
    assert.equal(client.shouldCloseTransport, true);
  });
});

describe("limits", () => {
  test("maxMessageSize counts fragments and fails with 1009 at the header of the fragment that exceeds it", () => {
    const limit = 1000;
    const server = serverAfterHandshake({ maxMessageSize: limit });
    // Two fragments of 400: 800 + 1 * 32 = 832 <= 1000 (the first fragment is not charged).
    server.receive(maskedFrame(OP_BINARY, new Uint8Array(400), { fin: false }));
    server.receive(maskedFrame(OP_CONTINUATION, new Uint8Array(400), { fin: false }));
    assert.deepEqual(drain(server), []);
    // A third of 136 would make 936 + 2 * 32 = 1000: allowed; 137 is one too many.
    const third = maskedFrame(OP_CONTINUATION, new Uint8Array(137));
    server.receive(third.subarray(0, 8)); // the header only: 16-bit length and mask
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_BIG");
  });

  test("maxMessageSize allows a message that reaches it exactly", () => {
    const limit = 1000;
    const server = serverAfterHandshake({ maxMessageSize: limit });
    server.receive(concat([
      maskedFrame(OP_BINARY, new Uint8Array(400), { fin: false }),
      maskedFrame(OP_CONTINUATION, new Uint8Array(400), { fin: false }),
      maskedFrame(OP_CONTINUATION, new Uint8Array(limit - 800 - 2 * FRAGMENT_OVERHEAD)),
    ]));
    const events = drain(server);
    assert.equal(events.length, 1);
    assert.equal(only(events, "message").data.length, limit - 2 * FRAGMENT_OVERHEAD);
  });

  test("maxMessageSize allows a single-frame message of exactly that size, and not one byte more", () => {
    const server = serverAfterHandshake({ maxMessageSize: 1000 });
    server.receive(maskedFrame(OP_BINARY, new Uint8Array(1000)));
    assert.equal(only(drain(server), "message").data.length, 1000);
    server.receive(maskedFrame(OP_BINARY, new Uint8Array(1001)).subarray(0, 8));
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_BIG");
  });

  test("maxMessageSize fails a single frame above it with 1009 before its payload", () => {
    const server = serverAfterHandshake({ maxMessageSize: 100 });
    server.receive(maskedFrame(OP_TEXT, "x".repeat(200)).subarray(0, 8));
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_BIG");
  });

  test("a maxMessageSize below 125 bytes does not limit control frames", () => {
    const server = serverAfterHandshake({ maxMessageSize: 64 });
    server.receive(maskedFrame(OP_PING, new Uint8Array(100)));
    assert.deepEqual(types(drain(server)), ["ping"]);
    server.receive(maskedFrame(OP_BINARY, new Uint8Array(100)).subarray(0, 6));
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_BIG");
    const other = serverAfterHandshake({ maxMessageSize: 64 });
    other.receive(maskedFrame(OP_CLOSE, closePayload(1000, "r".repeat(110))));
    assert.deepEqual(drain(other), [{
      type: "close",
      code: 1000,
      reason: "r".repeat(110),
      wasClean: true,
    }]);
  });

  test("maxFragments fails the fragment beyond it with 1009", () => {
    const server = serverAfterHandshake({ maxFragments: 4 });
    server.receive(maskedFrame(OP_TEXT, "a", { fin: false }));
    for (let i = 0; i < 3; i++) server.receive(maskedFrame(OP_CONTINUATION, "b", { fin: false }));
    assert.deepEqual(drain(server), []);
    server.receive(maskedFrame(OP_CONTINUATION, "c"));
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_MANY_FRAGMENTS");
  });

  test("maxFragments allows a message of exactly that many fragments", () => {
    const server = serverAfterHandshake({ maxFragments: 4 });
    server.receive(maskedFrame(OP_TEXT, "a", { fin: false }));
    for (let i = 0; i < 2; i++) server.receive(maskedFrame(OP_CONTINUATION, "b", { fin: false }));
    server.receive(maskedFrame(OP_CONTINUATION, "c"));
    assert.deepEqual(drain(server), [{ type: "message", data: "abbc" }]);
  });

  test("a flood of 200,000 empty continuation frames is refused by the default maxFragments (131072) with 1009", () => {
    const empty = maskedFrame(OP_CONTINUATION, new Uint8Array(0), { fin: false });
    const flood = new Uint8Array(200_000 * empty.length);
    flood.set(maskedFrame(OP_BINARY, new Uint8Array(0), { fin: false }));
    for (let i = 1; i < 200_000; i++) flood.set(empty, i * empty.length);
    const server = serverAfterHandshake();
    // The first 131072 frames (1 + 131071 continuations) are within the limits...
    server.receive(flood.subarray(0, 131072 * empty.length));
    assert.deepEqual(drain(server), []);
    // ...and the next one is refused: the fragment count trips before the byte count
    // (131073 * 32 bytes of overhead is 4 MiB, far below the default 64 MiB).
    server.receive(flood.subarray(131072 * empty.length));
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_MANY_FRAGMENTS");
  });

  test("empty fragments are charged against maxMessageSize too", () => {
    const server = serverAfterHandshake({ maxMessageSize: 10 * FRAGMENT_OVERHEAD });
    // The first fragment is free; the next ten cost 32 bytes each, reaching the limit exactly.
    server.receive(maskedFrame(OP_BINARY, new Uint8Array(0), { fin: false }));
    for (let i = 0; i < 10; i++) {
      server.receive(maskedFrame(OP_CONTINUATION, new Uint8Array(0), { fin: false }));
    }
    assert.deepEqual(drain(server), []);
    server.receive(maskedFrame(OP_CONTINUATION, new Uint8Array(0), { fin: false }));
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_BIG");
  });

  test("a 4 MiB message in 65,536 fragments of 64 bytes is accepted with the default limits", () => {
    const count = 65536;
    const piece = 64;
    const data = seededBytes(4, count * piece);
    const frameLength = 6 + piece;
    const bytes = new Uint8Array(count * frameLength);
    for (let i = 0; i < count; i++) {
      const op = i === 0 ? OP_BINARY : OP_CONTINUATION;
      bytes.set(
        maskedFrame(op, data.subarray(i * piece, (i + 1) * piece), { fin: i === count - 1 }),
        i * frameLength,
      );
    }
    const server = serverAfterHandshake();
    server.receive(bytes);
    const events = drain(server);
    assert.equal(events.length, 1);
    assertSameBytes(only(events, "message").data, data);
  });

  test("limits reset between messages", () => {
    const server = serverAfterHandshake({ maxFragments: 2, maxMessageSize: 200 });
    for (let i = 0; i < 5; i++) {
      server.receive(maskedFrame(OP_BINARY, new Uint8Array(60), { fin: false }));
      server.receive(maskedFrame(OP_CONTINUATION, new Uint8Array(60)));
    }
    assert.deepEqual(types(drain(server)), ["message", "message", "message", "message", "message"]);
  });

  test("invalid limit options throw RangeError", () => {
    assert.throws(() => new ServerConnection({ maxMessageSize: 0 }), RangeError);
    assert.throws(() => new ServerConnection({ maxFragments: -1 }), RangeError);
    assert.throws(() => new ServerConnection({ maxMessageSize: 1.5 }), RangeError);
    assert.throws(() => new ServerConnection({ fragmentSize: -3 }), RangeError);
  });
});

describe("usage errors", () => {
  test("send, ping, pong and sendFragment before open throw UsageError ERR_NOT_OPEN", () => {
    const client = new ClientConnection({ host: "h" });
    const server = new ServerConnection();
    server.receive(encoder.encode(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ));
    for (const conn of [client, server]) {
      assert.throws(() => conn.send("x"), usage("ERR_NOT_OPEN"));
      assert.throws(() => conn.sendFragment("x", false), usage("ERR_NOT_OPEN"));
      assert.throws(() => conn.ping(), usage("ERR_NOT_OPEN"));
      assert.throws(() => conn.pong(), usage("ERR_NOT_OPEN"));
    }
  });

  test("send after close() or after the connection closed throws UsageError ERR_CLOSED", () => {
    const server = serverAfterHandshake();
    server.close(1000);
    assert.throws(() => server.send("x"), usage("ERR_CLOSED"));
    assert.throws(() => server.ping(), usage("ERR_CLOSED"));
    server.receive(maskedFrame(OP_CLOSE, closePayload(1000)));
    assert.deepEqual(types(drain(server)), ["close"]);
    assert.equal(server.state, "closed");
    assert.throws(() => server.send(new Uint8Array(1)), usage("ERR_CLOSED"));
    assert.throws(() => server.sendFragment("x", true), usage("ERR_CLOSED"));
    assert.throws(() => server.pong(), usage("ERR_CLOSED"));
    const client = clientAfterHandshake();
    client.abort();
    assert.throws(() => client.send("x"), usage("ERR_CLOSED"));
  });

  test("send during a sendFragment message throws UsageError ERR_MESSAGE_IN_PROGRESS", () => {
    const server = serverAfterHandshake();
    server.sendFragment("part", false);
    assert.throws(() => server.send("other"), usage("ERR_MESSAGE_IN_PROGRESS"));
    assert.throws(() => server.send(new Uint8Array(1)), usage("ERR_MESSAGE_IN_PROGRESS"));
    server.sendFragment("end", true);
    server.send("now fine");
  });

  test("sendFragment pieces of different types throw TypeError", () => {
    const server = serverAfterHandshake();
    server.sendFragment("text", false);
    assert.throws(() => server.sendFragment(new Uint8Array(1), true), TypeError);
  });

  test("send of something other than a string or Uint8Array throws TypeError", () => {
    const server = serverAfterHandshake();
    assert.throws(() => server.send(42 as unknown as string), TypeError);
    assert.throws(() => server.send(new ArrayBuffer(2) as unknown as Uint8Array), TypeError);
    assert.throws(() => server.ping([1, 2] as unknown as Uint8Array), TypeError);
  });

  test("ping and pong with more than 125 bytes throw RangeError; 125 bytes are fine", () => {
    const server = serverAfterHandshake();
    assert.throws(() => server.ping(new Uint8Array(126)), RangeError);
    assert.throws(() => server.pong(new Uint8Array(126)), RangeError);
    assert.throws(() => server.ping("é".repeat(63)), RangeError);
    server.ping(new Uint8Array(125));
    server.pong("x".repeat(125));
    assert.deepEqual(frames(server).map((f) => [f.opcode, f.payload.length]), [[OP_PING, 125], [
      OP_PONG,
      125,
    ]]);
  });

  test("close() with a code that may not be sent throws RangeError", () => {
    const server = serverAfterHandshake();
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5, NaN]) {
      assert.throws(() => server.close(code), RangeError, `code ${code}`);
    }
    assert.equal(server.state, "open");
    assert.deepEqual(server.takeOutput(), []);
  });

  test("close() with a reason above 123 bytes throws RangeError; 123 bytes are fine", () => {
    const server = serverAfterHandshake();
    assert.throws(() => server.close(1000, "r".repeat(124)), RangeError);
    assert.throws(() => server.close(1000, "é".repeat(62)), RangeError);
    server.close(1000, "é".repeat(61) + "r");
    assert.deepEqual(sentClose(server), { code: 1000, reason: "é".repeat(61) + "r" });
  });

  test("close() with a reason but no code throws TypeError", () => {
    const server = serverAfterHandshake();
    assert.throws(() => server.close(undefined, "why"), TypeError);
    assert.equal(server.state, "open");
  });

  test("close() while connecting aborts the connection", () => {
    const client = new ClientConnection({ host: "h" });
    client.close(1000);
    assert.deepEqual(drain(client), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
    assert.equal(client.state, "closed");
    assert.equal(client.shouldCloseTransport, true);
    const server = new ServerConnection();
    server.receive(encoder.encode("GET / HTTP/1.1\r\n"));
    server.close();
    assert.deepEqual(drain(server), [{ type: "close", code: 1006, reason: "", wasClean: false }]);
    assert.equal(server.shouldCloseTransport, true);
    assert.deepEqual(server.takeOutput(), []);
  });
});

describe("pings, streaming and outgoing fragmentation", () => {
  test("autoPong answers a ping with a pong carrying exactly its payload", () => {
    const payload = seededBytes(125, 125);
    const { server, events } = serverGets(maskedFrame(OP_PING, payload));
    assert.deepEqual(normalize(events), [{ type: "ping", data: Array.from(payload) }]);
    const sent = frames(server);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].opcode, OP_PONG);
    assert.equal(sent[0].fin, true);
    assert.deepEqual(sent[0].payload, payload);
  });

  test("client autoPong answers a server ping with a masked pong", () => {
    const client = clientAfterHandshake();
    client.receive(serverFrame(OP_PING, "Hello"));
    assert.deepEqual(types(drain(client)), ["ping"]);
    const sent = frames(client);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].opcode, OP_PONG);
    assert.equal(sent[0].masked, true);
    assert.deepEqual(sent[0].payload, encoder.encode("Hello"));
  });

  test("with autoPong false a ping is reported and not answered until pong() is called", () => {
    const { server, events } = serverGets(maskedFrame(OP_PING, "abc"), { autoPong: false });
    assert.deepEqual(normalize(events), [{ type: "ping", data: [0x61, 0x62, 0x63] }]);
    assert.deepEqual(server.takeOutput(), []);
    const ping = only(events, "ping");
    server.pong(ping.data);
    assert.deepEqual(frames(server).map((f) => [f.opcode, Array.from(f.payload)]), [[OP_PONG, [
      0x61,
      0x62,
      0x63,
    ]]]);
  });

  test("a pair exchanges ping and pong", () => {
    const pair = new ConnectionPair();
    pair.take("client");
    pair.take("server");
    pair.client.ping("are you there?");
    pair.pump();
    assert.deepEqual(normalize(pair.take("server")), [{
      type: "ping",
      data: Array.from(encoder.encode("are you there?")),
    }]);
    assert.deepEqual(normalize(pair.take("client")), [{
      type: "pong",
      data: Array.from(encoder.encode("are you there?")),
    }]);
  });

  test("streamMessages delivers fragments whose concatenation is the message, first and last flagged", () => {
    const text = "streamed héllo € 😀 message";
    const utf8 = encoder.encode(text);
    const pieces = [
      utf8.subarray(0, 5),
      utf8.subarray(5, 13),
      new Uint8Array(0),
      utf8.subarray(13),
    ];
    const bytes = concat(
      pieces.map((p, i) =>
        maskedFrame(i === 0 ? OP_TEXT : OP_CONTINUATION, p, { fin: i === pieces.length - 1 })
      ),
    );
    const binary = seededBytes(77, 5000);
    const binBytes = concat([
      maskedFrame(OP_BINARY, binary.subarray(0, 1000), { fin: false }),
      maskedFrame(OP_PING, ""),
      maskedFrame(OP_CONTINUATION, binary.subarray(1000)),
    ]);
    for (const chunks of splits(concat([bytes, binBytes, maskedFrame(OP_TEXT, "")]), 4)) {
      const server = serverAfterHandshake({ streamMessages: true });
      feed(server, chunks);
      const events = drain(server);
      const fragments = events.filter((e) => e.type === "fragment");
      assert.equal(types(events).includes("message"), false, "no message events in streaming mode");
      // Split into the three messages by the last flag.
      const messages: Array<Extract<ConnectionEvent, { type: "fragment" }>[]> = [[]];
      for (const f of fragments) {
        assert.ok(f.type === "fragment");
        messages[messages.length - 1].push(f);
        if (f.last) messages.push([]);
      }
      messages.pop();
      assert.equal(messages.length, 3);
      for (const m of messages) {
        assert.equal(m[0].first, true);
        assert.ok(m.slice(1).every((f) => !f.first));
        assert.equal(m[m.length - 1].last, true);
        assert.ok(m.slice(0, -1).every((f) => !f.last));
      }
      assert.equal(messages[0].map((f) => f.data).join(""), text);
      assert.ok(messages[0].every((f) => !f.binary));
      assert.ok(messages[1].every((f) => f.binary));
      assertSameBytes(concat(messages[1].map((f) => f.data as Uint8Array)), binary);
      assert.deepEqual(messages[2].map((f) => f.data), [""]);
      assert.equal(only(events, "ping").data.length, 0);
    }
  });

  test("streamMessages delivers pieces as they arrive, before the message ends", () => {
    const server = serverAfterHandshake({ streamMessages: true });
    server.receive(maskedFrame(OP_BINARY, hex("01 02"), { fin: false }));
    server.receive(maskedFrame(OP_CONTINUATION, hex("03"), { fin: false }));
    const early = drain(server);
    assert.equal(early.length, 1, "one piece is held back to flag the last one");
    assert.deepEqual(normalize(early), [{ type: "partial*", data: [1, 2] }]);
    server.receive(maskedFrame(OP_CONTINUATION, hex("04")));
    const rest = drain(server);
    assert.deepEqual(rest.map((e) => e.type === "fragment" && [e.first, e.last]), [[false, false], [
      false,
      true,
    ]]);
  });

  test("fragmentSize splits outgoing messages into frames of at most that size", () => {
    const server = serverAfterHandshake({ fragmentSize: 10 });
    server.send("a".repeat(25));
    server.send(new Uint8Array(10));
    server.send("");
    const sent = frames(server);
    assert.deepEqual(sent.map((f) => [f.opcode, f.fin, f.payload.length]), [
      [OP_TEXT, false, 10],
      [OP_CONTINUATION, false, 10],
      [OP_CONTINUATION, true, 5],
      [OP_BINARY, true, 10],
      [OP_TEXT, true, 0],
    ]);
  });

  test("fragmentSize messages arrive as one message at the peer", () => {
    const pair = new ConnectionPair({ client: { fragmentSize: 7 }, server: { fragmentSize: 3 } });
    pair.take("client");
    pair.take("server");
    const text = "fragmented € text 😀";
    pair.client.send(text);
    pair.server.send(text);
    pair.pump();
    assert.deepEqual(pair.take("server"), [{ type: "message", data: text }]);
    assert.deepEqual(pair.take("client"), [{ type: "message", data: text }]);
  });

  test("sendFragment pieces arrive as one message, with a ping between them", () => {
    const pair = new ConnectionPair();
    pair.take("client");
    pair.take("server");
    pair.client.sendFragment("one, ", false);
    pair.client.ping("between");
    pair.client.sendFragment("two, ", false);
    pair.client.sendFragment("three", true);
    pair.client.sendFragment(hex("01"), false);
    pair.client.sendFragment(hex("02"), true);
    pair.pump();
    assert.deepEqual(normalize(pair.take("server")), [
      { type: "ping", data: Array.from(encoder.encode("between")) },
      { type: "message", data: "one, two, three" },
      { type: "message", data: [1, 2] },
    ]);
    const wrote = parseFrames(concat(pair.clientWrote.slice(1)));
    assert.deepEqual(wrote.map((f) => [f.opcode, f.fin]), [
      [OP_TEXT, false],
      [OP_PING, true],
      [OP_CONTINUATION, false],
      [OP_CONTINUATION, true],
      [OP_BINARY, false],
      [OP_CONTINUATION, true],
    ]);
  });

  test("client frames are masked, each with the next 4 bytes of randomBytes", () => {
    const random = seededRandom(99);
    const stream = new Uint8Array(4096);
    random(stream.subarray(0, 1024));
    random(stream.subarray(1024, 2048));
    const client = clientAfterHandshake({ randomBytes: seededRandom(99) });
    // The key took bytes 0..15; every frame then takes the next 4 bytes as its mask.
    const expected: Uint8Array[] = [];
    let at = 16;
    for (let i = 0; i < 300; i++) {
      const text = `message ${i}`;
      client.send(text);
      expected.push(maskedFrame(OP_TEXT, text, { mask: stream.slice(at, at + 4) }));
      at += 4;
    }
    client.ping("p");
    expected.push(maskedFrame(OP_PING, "p", { mask: stream.slice(at, at + 4) }));
    at += 4;
    client.close(1000, "bye");
    expected.push(
      maskedFrame(OP_CLOSE, closePayload(1000, "bye"), { mask: stream.slice(at, at + 4) }),
    );
    assert.deepEqual(output(client), concat(expected));
  });

  test("the client's first frame is exactly the RFC 6455 §5.7 masked Hello with that mask", () => {
    let calls = 0;
    const client = clientAfterHandshake({
      randomBytes: (b) => {
        calls++;
        b.fill(0);
        b.set(hex("37 fa 21 3d"), 16);
      },
    });
    client.send("Hello");
    assert.deepEqual(output(client), hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
    assert.equal(calls, 1);
  });

  test("server frames are never masked", () => {
    const server = serverAfterHandshake();
    server.send("x");
    server.send(new Uint8Array(70000));
    server.ping();
    server.close(1000);
    assert.ok(frames(server).every((f) => !f.masked));
  });
});

/** A toy extension for the tests: RSV1 marks a message whose payload bytes are reversed. */
class ReverseExtension implements Extension {
  readonly name = "x-reverse";
  readonly rsvBits = RSV1;
  encode(payload: Uint8Array, _binary: boolean): { payload: Uint8Array; rsv: number } {
    if (payload.length === 1 && payload[0] === 0x3f) return { payload, rsv: 0 }; // "?" is sent as is
    return { payload: payload.slice().reverse(), rsv: RSV1 };
  }
  decode(payload: Uint8Array, _rsv: number, maxSize: number): Uint8Array | ProtocolError {
    if (payload[0] === 0xee) {
      return new ProtocolError("EXTENSION_FAILED", "Cannot reverse 0xEE", 1003, 0);
    }
    if (payload.length > maxSize) return new ProtocolError("MESSAGE_TOO_BIG", "Too big", 1009, 0);
    return payload.slice().reverse();
  }
}

class ReverseFactory implements ExtensionFactory {
  readonly name = "x-reverse";
  offered: ExtensionOffer[][] = [];
  offer(): string {
    return "x-reverse; fast";
  }
  accept(offers: ExtensionOffer[]): { response: string; extension: Extension } | null {
    this.offered.push(offers);
    return { response: "x-reverse", extension: new ReverseExtension() };
  }
  accepted(response: ExtensionOffer): Extension | string {
    if (response.params.has("broken")) return "Unsupported x-reverse parameter";
    return new ReverseExtension();
  }
}

describe("extensions", () => {
  function extensionPair(
    options: { clientFragmentSize?: number } = {},
  ): { pair: ConnectionPair; factory: ReverseFactory } {
    const factory = new ReverseFactory();
    const client = options.clientFragmentSize === undefined
      ? { extensions: [new ReverseFactory()] }
      : { extensions: [new ReverseFactory()], fragmentSize: options.clientFragmentSize };
    const pair = new ConnectionPair({ client, server: { extensions: [factory] } });
    return { pair, factory };
  }

  test("an extension is negotiated by both sides", () => {
    const { pair, factory } = extensionPair();
    const req = only(pair.serverEvents, "request").request;
    assert.deepEqual(req.extensions.map((e) => [e.name, [...e.params.keys()]]), [["x-reverse", [
      "fast",
    ]]]);
    assert.equal(factory.offered.length, 1);
    assert.deepEqual(only(pair.serverEvents, "open"), {
      type: "open",
      protocol: "",
      extensions: "x-reverse",
    });
    assert.deepEqual(only(pair.clientEvents, "open"), {
      type: "open",
      protocol: "",
      extensions: "x-reverse",
    });
    assert.equal(pair.server.extensions, "x-reverse");
    assert.equal(pair.client.extensions, "x-reverse");
  });

  test("messages pass through the extension both ways, transformed on the wire", () => {
    const { pair } = extensionPair();
    pair.take("client");
    pair.take("server");
    pair.client.send("abc");
    pair.server.send(hex("01 02 03"));
    pair.pump();
    assert.deepEqual(pair.take("server"), [{ type: "message", data: "abc" }]);
    assert.deepEqual(normalize(pair.take("client")), [{ type: "message", data: [1, 2, 3] }]);
    const fromServer = parseFrames(concat(pair.serverWrote.slice(1)));
    assert.deepEqual(fromServer.map((f) => [f.rsv, Array.from(f.payload)]), [[RSV1, [3, 2, 1]]]);
    const fromClient = parseFrames(concat(pair.clientWrote.slice(1)));
    assert.deepEqual(fromClient.map((f) => [f.rsv, new TextDecoder().decode(f.payload)]), [[
      RSV1,
      "cba",
    ]]);
  });

  test("RSV1 is set on the first frame of a transformed message only", () => {
    const { pair } = extensionPair({ clientFragmentSize: 2 });
    pair.take("client");
    pair.take("server");
    pair.client.send("hello");
    pair.client.ping("p");
    pair.pump();
    assert.deepEqual(normalize(pair.take("server")), [
      { type: "message", data: "hello" },
      { type: "ping", data: [0x70] },
    ]);
    const wrote = parseFrames(concat(pair.clientWrote.slice(1)));
    assert.deepEqual(wrote.map((f) => [f.opcode, f.rsv, f.fin]), [
      [OP_TEXT, RSV1, false],
      [OP_CONTINUATION, 0, false],
      [OP_CONTINUATION, 0, true],
      [OP_PING, 0, true],
    ]);
  });

  test("a message the extension leaves untransformed is sent and read without RSV1", () => {
    const { pair } = extensionPair();
    pair.take("client");
    pair.take("server");
    pair.client.send("?");
    pair.pump();
    assert.deepEqual(pair.take("server"), [{ type: "message", data: "?" }]);
    assert.equal(parseFrames(concat(pair.clientWrote.slice(1)))[0].rsv, 0);
  });

  function extensionServer(): ServerConnection {
    const server = new ServerConnection({ extensions: [new ReverseFactory()] });
    server.receive(encoder.encode(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Extensions: x-reverse\r\n\r\n",
    ));
    drain(server);
    server.accept();
    server.takeOutput();
    assert.deepEqual(types(drain(server)), ["open"]);
    return server;
  }

  test("a fragmented transformed message is decoded once whole", () => {
    const server = extensionServer();
    server.receive(concat([
      maskedFrame(OP_TEXT, "ol", { rsv: RSV1, fin: false }),
      maskedFrame(OP_PING, ""),
      maskedFrame(OP_CONTINUATION, "leh"),
    ]));
    assert.deepEqual(types(drain(server)), ["ping", "message"]);
    server.receive(maskedFrame(OP_TEXT, "ol", { rsv: RSV1 }));
    assert.deepEqual(drain(server), [{ type: "message", data: "lo" }]);
  });

  for (const op of [OP_PING, OP_PONG, OP_CLOSE]) {
    test(`a control frame (opcode ${op}) with RSV1 fails with 1002 even with the extension`, () => {
      const server = extensionServer();
      server.receive(maskedFrame(op, "", { rsv: RSV1 }));
      assertFailed(server, drain(server), 1002, "FRAME_RSV");
    });
  }

  test("RSV1 on a continuation frame fails with 1002", () => {
    const server = extensionServer();
    server.receive(maskedFrame(OP_TEXT, "a", { rsv: RSV1, fin: false }));
    server.receive(maskedFrame(OP_CONTINUATION, "b", { rsv: RSV1 }));
    assertFailed(server, drain(server), 1002, "FRAME_RSV");
  });

  test("RSV2 fails with 1002 when the extension only owns RSV1", () => {
    const server = extensionServer();
    server.receive(maskedFrame(OP_TEXT, "a", { rsv: 0x20 }));
    assertFailed(server, drain(server), 1002, "FRAME_RSV");
  });

  test("a decode failure fails the connection with the extension's close code", () => {
    const server = extensionServer();
    server.receive(maskedFrame(OP_BINARY, hex("ee 01"), { rsv: RSV1 }));
    assertFailed(server, drain(server), 1003, "EXTENSION_FAILED");
  });

  test("decoded text is validated as UTF-8 and fails with 1007", () => {
    const server = extensionServer();
    server.receive(maskedFrame(OP_TEXT, hex("80 a0 ed"), { rsv: RSV1 }));
    assertFailed(server, drain(server), 1007, "TEXT_INVALID_UTF8");
  });

  test("RSV1 fails with 1002 when the server did not negotiate the extension", () => {
    const server = serverAfterHandshake({ extensions: [new ReverseFactory()] });
    server.receive(maskedFrame(OP_TEXT, "a", { rsv: RSV1 }));
    assertFailed(server, drain(server), 1002, "FRAME_RSV");
  });

  test("a server without the extension ignores the offer and the client opens without it", () => {
    const pair = new ConnectionPair({ client: { extensions: [new ReverseFactory()] } });
    assert.deepEqual(only(pair.clientEvents, "open"), {
      type: "open",
      protocol: "",
      extensions: "",
    });
    pair.client.send("plain");
    pair.pump();
    assert.equal(parseFrames(concat(pair.clientWrote.slice(1)))[0].rsv, 0);
  });

  test("a client rejects an extension answer its factory refuses", () => {
    const client = new ClientConnection({ host: "h", extensions: [new ReverseFactory()] });
    const key = keyOf(output(client));
    client.receive(
      encoder.encode(responseText(key, ["Sec-WebSocket-Extensions: x-reverse; broken"])),
    );
    const events = drain(client);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(only(events, "error").error.code, "HANDSHAKE_BAD_EXTENSION");
  });
});

describe("limits an adapter drives: coalesced pongs, failing from this side, held bytes", () => {
  test("while output is blocked, 1,000 pings get one pong, with the last ping's payload, once unblocked", () => {
    for (const conn of [serverAfterHandshake(), clientAfterHandshake()]) {
      conn.outputBlocked = true;
      const ping = (i: number) =>
        conn.role === "server" ? maskedFrame(OP_PING, `p${i}`) : serverFrame(OP_PING, `p${i}`);
      conn.receive(concat(Array.from({ length: 1000 }, (_, i) => ping(i))));
      assert.equal(types(drain(conn)).filter((t) => t === "ping").length, 1000);
      assert.deepEqual(frames(conn), [], `${conn.role}: no pong while blocked`);
      conn.outputBlocked = false;
      const sent = frames(conn);
      assert.deepEqual(sent.map((f) => [f.opcode, new TextDecoder().decode(f.payload)]), [
        [OP_PONG, "p999"],
      ]);
      assert.deepEqual(frames(conn), [], "answered once");
    }
  });

  test("pings are answered at once while output is not blocked", () => {
    const server = serverAfterHandshake();
    server.receive(concat([maskedFrame(OP_PING, "a"), maskedFrame(OP_PING, "b")]));
    drain(server);
    assert.deepEqual(frames(server).map((f) => [f.opcode, new TextDecoder().decode(f.payload)]), [
      [OP_PONG, "a"],
      [OP_PONG, "b"],
    ]);
  });

  test("a pong held while blocked goes out before our close frame, never after it", () => {
    const server = serverAfterHandshake();
    server.outputBlocked = true;
    server.receive(maskedFrame(OP_PING, "last"));
    drain(server);
    server.close(1000);
    assert.deepEqual(frames(server).map((f) => f.opcode), [OP_PONG, OP_CLOSE]);
    server.outputBlocked = false;
    assert.deepEqual(frames(server), []);
  });

  test("fail(code, reason) sends that close frame, stops reading and closes without waiting", () => {
    const server = serverAfterHandshake();
    server.fail(1013, "try again later");
    const sent = frames(server);
    assert.deepEqual(sent.map((f) => f.opcode), [OP_CLOSE]);
    assert.deepEqual(readClose(sent[0].payload), { code: 1013, reason: "try again later" });
    assert.equal(server.state, "closed");
    assert.equal(server.shouldCloseTransport, true);
    const events = drain(server);
    assert.deepEqual(normalize(events), [
      { type: "close", code: 1006, reason: "", wasClean: false },
    ]);
    server.receive(maskedFrame(OP_TEXT, "ignored"));
    assert.deepEqual(drain(server), []);
    assert.throws(() => server.fail(999), RangeError);
  });

  test("incompleteMessageBytes counts a message's payload until it completes", () => {
    const server = serverAfterHandshake();
    const whole = maskedFrame(OP_BINARY, new Uint8Array(1000));
    // Header: 2 bytes, a 16-bit length, the 4-byte masking key.
    server.receive(whole.slice(0, 8 + 400));
    drain(server);
    assert.equal(server.incompleteMessageBytes, 400);
    server.receive(whole.slice(8 + 400));
    drain(server);
    assert.equal(server.incompleteMessageBytes, 0);
    server.receive(maskedFrame(OP_TEXT, "abc", { fin: false }));
    drain(server);
    assert.equal(server.incompleteMessageBytes, 3);
  });
});

describe("negotiated connections: open from construction, after a handshake made elsewhere", () => {
  const VERSIONS: readonly WebSocketVersion[] = [13, 8, 7, "hixie-76", "hixie-75"];
  const hybi = (v: WebSocketVersion): boolean => typeof v === "number";

  function negotiated(
    role: "server" | "client",
    version: WebSocketVersion,
    options: Partial<NegotiatedOptions> = {},
  ): NegotiatedConnection {
    const conn = new NegotiatedConnection({
      role,
      version,
      randomBytes: seededRandom(role === "client" ? 11 : 12),
      ...options,
    });
    return conn;
  }

  /** Open a negotiated pair and take their open events. */
  function openPair(
    version: WebSocketVersion,
    server: Partial<NegotiatedOptions> = {},
    client: Partial<NegotiatedOptions> = {},
  ): { server: NegotiatedConnection; client: NegotiatedConnection } {
    const s = negotiated("server", version, server);
    const c = negotiated("client", version, client);
    assert.deepEqual(types(drain(s)), ["open"]);
    assert.deepEqual(types(drain(c)), ["open"]);
    return { server: s, client: c };
  }

  /** What a side writes for a short conversation: messages (binary on hybi), a ping, a close. */
  function script(conn: Connection, version: WebSocketVersion, from: string): Uint8Array {
    conn.send(`hello from the ${from}`);
    conn.send("héllo wörld €𝄞".repeat(20));
    conn.send("");
    if (hybi(version)) {
      conn.send(seededBytes(3, 300));
      conn.ping("are you there");
      conn.sendFragment("frag", false);
      conn.sendFragment("mented", true);
    }
    if (hybi(version)) conn.close(1000, "bye");
    else conn.close();
    return output(conn);
  }

  for (const version of VERSIONS) {
    test(`${version}: both roles start open, open is the first event, nothing is written`, () => {
      for (const role of ["server", "client"] as const) {
        const conn = negotiated(role, version, { protocol: "chat" });
        assert.equal(conn.role, role);
        assert.equal(conn.state, "open");
        assert.equal(conn.version, version);
        assert.equal(conn.protocol, "chat");
        assert.equal(conn.extensions, "");
        assert.equal(conn.timerPhase, null);
        assert.equal(conn.pendingOutputBytes, 0);
        assert.deepEqual(drain(conn), [{ type: "open", protocol: "chat", extensions: "" }]);
      }
    });

    test(`${version}: a server and a client exchange messages both ways and close`, () => {
      const { server, client } = openPair(version);
      const fromClient = script(client, version, "client");
      if (hybi(version)) {
        assert.ok(parseFrames(fromClient).every((f) => f.masked), "client frames are masked");
      }
      feed(server, [fromClient]);
      const serverEvents = drain(server);
      const expected: unknown[] = [
        { type: "message", data: "hello from the client" },
        { type: "message", data: "héllo wörld €𝄞".repeat(20) },
        { type: "message", data: "" },
      ];
      if (hybi(version)) {
        expected.push(
          { type: "message", data: Array.from(seededBytes(3, 300)) },
          { type: "ping", data: Array.from(encoder.encode("are you there")) },
          { type: "message", data: "fragmented" },
          { type: "close", code: 1000, reason: "bye", wasClean: true },
        );
      } else if (version === "hixie-76") {
        expected.push({ type: "close", code: 1005, reason: "", wasClean: true });
      }
      assert.deepEqual(normalize(serverEvents), expected);
      if (version === "hixie-75") {
        // No closing handshake in the draft: the transport ending is the clean close.
        assert.equal(client.state, "closed");
        server.receiveEnd();
        assert.deepEqual(drain(server), [{
          type: "close",
          code: 1005,
          reason: "",
          wasClean: true,
        }]);
        return;
      }
      assert.equal(server.state, "closed");
      assert.equal(server.shouldCloseTransport, true);
      const reply = output(server);
      if (hybi(version)) {
        assert.ok(parseFrames(reply).every((f) => !f.masked), "server frames are not masked");
      }
      feed(client, [reply]);
      // The server echoes the code without the reason.
      const last = drain(client).at(-1);
      assert.deepEqual(last, {
        type: "close",
        code: hybi(version) ? 1000 : 1005,
        reason: "",
        wasClean: true,
      });
    });

    test(`${version}: the server's messages reach the client`, () => {
      const { server, client } = openPair(version);
      server.send("from the server");
      if (hybi(version)) server.send(hex("00 ff 10"));
      feed(client, server.takeOutput());
      assert.deepEqual(
        normalize(drain(client)),
        hybi(version)
          ? [{ type: "message", data: "from the server" }, { type: "message", data: [0, 255, 16] }]
          : [{ type: "message", data: "from the server" }],
      );
    });

    test(`${version}: the same events as after an HTTP/1.1 handshake, whole, byte by byte and in random splits`, () => {
      const client = negotiated("client", version);
      drain(client);
      const bytes = script(client, version, "client");
      // The reference: a ServerConnection opened by a real handshake with a client of the version.
      const pair = new ConnectionPair({ client: { version } });
      pair.take("server");
      feed(pair.server, [bytes]);
      const reference = normalize(drain(pair.server));
      const referenceOutput = Array.from(output(pair.server));
      assert.ok(reference.length >= 3, "the reference saw the messages");
      for (const [i, chunks] of splits(bytes, 100 + i32(version)).entries()) {
        const server = negotiated("server", version);
        drain(server);
        feed(server, chunks);
        assert.deepEqual(
          normalize(drain(server)),
          reference,
          `split ${i} (${chunks.length} chunks)`,
        );
        assert.deepEqual(Array.from(output(server)), referenceOutput, `output, split ${i}`);
      }
      // And the other way: the server's bytes to a negotiated client.
      const server = negotiated("server", version);
      drain(server);
      const back = script(server, version, "server");
      let clientReference: unknown[] | null = null;
      for (const [i, chunks] of splits(back, 200 + i32(version)).entries()) {
        const c = negotiated("client", version);
        drain(c);
        feed(c, chunks);
        const events = normalize(drain(c));
        clientReference ??= events;
        assert.deepEqual(events, clientReference, `client, split ${i}`);
      }
      assert.deepEqual(clientReference!.slice(0, 2), [
        { type: "message", data: "hello from the server" },
        { type: "message", data: "héllo wörld €𝄞".repeat(20) },
      ]);
    });

    test(`${version}: maxMessageSize applies (1009 on hybi; on hixie the connection fails)`, () => {
      const server = negotiated("server", version, { maxMessageSize: 100 });
      drain(server);
      const client = negotiated("client", version);
      drain(client);
      client.send("x".repeat(101));
      feed(server, [output(client)]);
      const events = drain(server);
      assert.deepEqual(types(events), ["error", "close"]);
      const error = only(events, "error").error;
      assert.equal(error.code, "MESSAGE_TOO_BIG");
      assert.equal(error.closeCode, 1009);
      assert.equal(server.state, "closed");
      if (hybi(version)) assert.equal(sentClose(server).code, 1009);
    });
  }

  test("hybi limits apply: maxFragments, masking by role, reserved bits without an extension", () => {
    const server = negotiated("server", 13, { maxFragments: 2 });
    drain(server);
    server.receive(concat([
      maskedFrame(OP_TEXT, "a", { fin: false }),
      maskedFrame(OP_CONTINUATION, "b", { fin: false }),
      maskedFrame(OP_CONTINUATION, "c"),
    ]));
    assertFailed(server, drain(server), 1009, "MESSAGE_TOO_MANY_FRAGMENTS");

    const unmasked = negotiated("server", 13);
    drain(unmasked);
    unmasked.receive(serverFrame(OP_TEXT, "not masked"));
    assertFailed(unmasked, drain(unmasked), 1002, "FRAME_MASK");

    const client = negotiated("client", 13);
    drain(client);
    client.receive(maskedFrame(OP_TEXT, "masked"));
    assertFailed(client, drain(client), 1002, "FRAME_MASK");

    const rsv = negotiated("server", 13);
    drain(rsv);
    rsv.receive(maskedFrame(OP_TEXT, "x", { rsv: RSV1 }));
    assertFailed(rsv, drain(rsv), 1002, "FRAME_RSV");
  });

  test("streamMessages, autoPong and fragmentSize behave as on the other roles", () => {
    const server = negotiated("server", 13, { streamMessages: true, autoPong: false });
    drain(server);
    const client = negotiated("client", 13, { fragmentSize: 4 });
    drain(client);
    client.send("abcdefghij");
    client.ping("p");
    const sent = output(client);
    assert.deepEqual(parseFrames(sent).map((f) => f.opcode), [
      OP_TEXT,
      OP_CONTINUATION,
      OP_CONTINUATION,
      OP_PING,
    ]);
    feed(server, [sent]);
    assert.deepEqual(normalize(drain(server)), [
      { type: "message*", binary: false, data: "abcdefghij" },
      { type: "ping", data: [0x70] },
    ]);
    assert.equal(server.pendingOutputBytes, 0, "no automatic pong");
  });

  test("permessage-deflate negotiated from the headers: the server answers, the client accepts, messages are compressed both ways", () => {
    const offer = "permessage-deflate; client_max_window_bits, x-unknown; a=1";
    const { server, client } = (() => {
      const s = negotiated("server", 13, {
        extensions: [permessageDeflate()],
        extensionsHeader: offer,
      });
      const c = negotiated("client", 13, {
        extensions: [permessageDeflate()],
        extensionsHeader: s.extensions,
      });
      return { server: s, client: c };
    })();
    assert.match(server.extensions, /^permessage-deflate(;|$)/);
    assert.equal(client.extensions, server.extensions);
    assert.deepEqual(drain(server), [{
      type: "open",
      protocol: "",
      extensions: server.extensions,
    }]);
    assert.deepEqual(drain(client), [{
      type: "open",
      protocol: "",
      extensions: server.extensions,
    }]);
    const text = "compress me ".repeat(200);
    for (const [from, to] of [[client, server], [server, client]] as const) {
      from.send(text);
      from.send(seededBytes(9, 2000));
      const bytes = output(from);
      const sent = parseFrames(bytes);
      assert.equal(sent[0].rsv, RSV1, "the text message is compressed");
      assert.ok(sent[0].payload.length < text.length / 4);
      for (const chunks of splits(bytes, 31, 3)) {
        const fresh = to === server
          ? negotiated("server", 13, { extensions: [permessageDeflate()], extensionsHeader: offer })
          : negotiated("client", 13, {
            extensions: [permessageDeflate()],
            extensionsHeader: server.extensions,
          });
        drain(fresh);
        feed(fresh, chunks);
        assert.deepEqual(normalize(drain(fresh)), [
          { type: "message", data: text },
          { type: "message", data: Array.from(seededBytes(9, 2000)) },
        ]);
      }
    }
  });

  test("an extension negotiated beforehand is used as given (negotiateExtensions' result)", () => {
    const answer = negotiateExtensions("server", [permessageDeflate()], "permessage-deflate");
    assert.ok(answer.ok);
    const server = negotiated("server", 13, { extension: answer.value });
    assert.equal(server.extensions, answer.value.response);
    const accepted = negotiateExtensions("client", [permessageDeflate()], answer.value.response);
    assert.ok(accepted.ok);
    const client = negotiated("client", 13, { extension: accepted.value });
    drain(server);
    drain(client);
    client.send("x".repeat(500));
    const bytes = output(client);
    assert.equal(parseFrames(bytes)[0].rsv, RSV1);
    feed(server, [bytes]);
    assert.deepEqual(drain(server), [{ type: "message", data: "x".repeat(500) }]);
  });

  test("a server declines offers it has no factory for; the extension's RSV bit is then refused", () => {
    const server = negotiated("server", 13, { extensionsHeader: "permessage-deflate, x-other" });
    assert.equal(server.extensions, "");
    assert.deepEqual(drain(server), [{ type: "open", protocol: "", extensions: "" }]);
    server.receive(maskedFrame(OP_TEXT, "x", { rsv: RSV1 }));
    assertFailed(server, drain(server), 1002, "FRAME_RSV");
  });

  test("a failed negotiation starts closed: error then close, nothing written", () => {
    const cases: Array<[NegotiatedOptions, string, number]> = [
      [
        { role: "client", extensions: [permessageDeflate()], extensionsHeader: "x-not-offered" },
        "HANDSHAKE_BAD_EXTENSION",
        0,
      ],
      [
        {
          role: "client",
          extensions: [permessageDeflate()],
          extensionsHeader: "permessage-deflate, permessage-deflate",
        },
        "HANDSHAKE_BAD_EXTENSION",
        0,
      ],
      [
        {
          role: "client",
          extensions: [permessageDeflate()],
          extensionsHeader: "permessage-deflate; server_max_window_bits=99",
        },
        "HANDSHAKE_BAD_EXTENSION",
        0,
      ],
      [{ role: "client", extensionsHeader: "permessage-deflate" }, "HANDSHAKE_BAD_EXTENSION", 0],
      [
        { role: "server", extensions: [permessageDeflate()], extensionsHeader: "a;;" },
        "HANDSHAKE_BAD_REQUEST",
        400,
      ],
    ];
    for (const [options, code, status] of cases) {
      const conn = new NegotiatedConnection(options);
      assert.equal(conn.state, "closed", options.extensionsHeader);
      const events = drain(conn);
      assert.deepEqual(types(events), ["error", "close"]);
      const error = only(events, "error").error;
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.deepEqual(events[1], { type: "close", code: 1006, reason: "", wasClean: false });
      assert.deepEqual(conn.takeOutput(), []);
      assert.equal(conn.shouldCloseTransport, true);
      assert.throws(() => conn.send("x"), usage("ERR_CLOSED"));
    }
  });

  test("invalid options throw", () => {
    const bad: Array<[unknown, ErrorConstructor]> = [
      [{ role: "both" }, TypeError],
      [{ role: "server", version: 12 }, RangeError],
      [{ role: "server", version: "hixie-77" }, RangeError],
      [{ role: "server", protocol: "two words" }, TypeError],
      [{ role: "server", protocol: 42 }, TypeError],
      [{ role: "server", version: "hixie-76", protocol: "bad\u0001" }, TypeError],
      [{ role: "server", version: "hixie-75", extensions: [permessageDeflate()] }, TypeError],
      [{ role: "client", version: "hixie-76", extensionsHeader: "permessage-deflate" }, TypeError],
      [
        {
          role: "server",
          extension: { extension: null, response: "" },
          extensionsHeader: "permessage-deflate",
        },
        TypeError,
      ],
      [{ role: "server", extension: "permessage-deflate" }, TypeError],
      [{ role: "server", maxMessageSize: 0 }, RangeError],
    ];
    for (const [options, type] of bad) {
      assert.throws(
        () => new NegotiatedConnection(options as NegotiatedOptions),
        type,
        JSON.stringify(options),
      );
    }
    // A hixie subprotocol may hold spaces, as the drafts allow.
    assert.equal(negotiated("server", "hixie-76", { protocol: "a b" }).protocol, "a b");
  });
});

/** A small number per version, to vary the split seeds. */
function i32(version: WebSocketVersion): number {
  return typeof version === "number" ? version : version === "hixie-76" ? 76 : 75;
}

describe("a closed connection holds no incomplete message", () => {
  test("fail() and a peer's violation drop the message in progress: incompleteMessageBytes is 0", () => {
    const server = serverAfterHandshake();
    server.receive(maskedFrame(OP_BINARY, new Uint8Array(1000)).slice(0, 8 + 600));
    drain(server);
    assert.equal(server.incompleteMessageBytes, 600);
    server.fail(1013, "busy");
    assert.equal(server.incompleteMessageBytes, 0);
    const other = serverAfterHandshake();
    other.receive(maskedFrame(OP_TEXT, "abc", { fin: false }));
    other.receive(maskedFrame(OP_TEXT, "new message inside the first"));
    drain(other);
    assert.equal(other.state, "closed");
    assert.equal(other.incompleteMessageBytes, 0);
  });
});

describe("pre-built frames", () => {
  test("a server sends frames built once, byte for byte, between its own frames", () => {
    const built = serverFrame(OP_TEXT, "published once");
    const a = serverAfterHandshake();
    const b = serverAfterHandshake();
    a.send("before");
    a.sendFrames(built);
    b.sendFrames(built);
    a.send("after");
    assert.deepEqual(
      frames(a).map((f) => new TextDecoder().decode(f.payload)),
      ["before", "published once", "after"],
    );
    assert.deepEqual(Array.from(concat(b.takeOutput())), Array.from(built));
  });

  test("pre-built frames are refused from a client, before open, after close and mid-message", () => {
    const client = clientAfterHandshake();
    assert.throws(
      () => client.sendFrames(serverFrame(OP_TEXT, "x")),
      (e: unknown) => e instanceof UsageError && e.code === "ERR_WRONG_ROLE",
    );
    const fresh = new ServerConnection();
    assert.throws(
      () => fresh.sendFrames(serverFrame(OP_TEXT, "x")),
      (e: unknown) => e instanceof UsageError && e.code === "ERR_NOT_OPEN",
    );
    const server = serverAfterHandshake();
    server.sendFragment("part", false);
    assert.throws(
      () => server.sendFrames(serverFrame(OP_TEXT, "x")),
      (e: unknown) => e instanceof UsageError && e.code === "ERR_MESSAGE_IN_PROGRESS",
    );
    const closed = serverAfterHandshake();
    closed.close(1000);
    assert.throws(
      () => closed.sendFrames(serverFrame(OP_TEXT, "x")),
      (e: unknown) => e instanceof UsageError && e.code === "ERR_CLOSED",
    );
    assert.throws(() => closed.sendFrames("x" as unknown as Uint8Array), TypeError);
  });
});
