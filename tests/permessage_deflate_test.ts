// permessage-deflate (extensions/permessage_deflate.ts) through real connections: the RFC 7692
// §7.1 negotiation rules for both roles, messages both ways at every window size with and without
// context takeover, the RFC 7692 §7.2.3 frames, RSV1 and thresholds, failures (1007, 1009, 1002),
// and a decompression bomb refused while memory stays flat.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ClientConnection,
  type ConnectionEvent,
  OP_BINARY,
  OP_CONTINUATION,
  OP_TEXT,
  ServerConnection,
} from "../mod.ts";
import {
  permessageDeflate,
  type PermessageDeflateOptions,
} from "../extensions/permessage_deflate.ts";
import {
  assertDeepEqualBytes,
  concat,
  ConnectionPair,
  decoder,
  drain,
  encoder,
  hex,
  keyOf,
  maskedFrame,
  mulberry32,
  normalize,
  output,
  parseFrames,
  readClose,
  requestBytes,
  responseText,
  sequenceProblem,
  serverFrame,
  toHex,
  types,
} from "./_helpers.ts";
import { Deflater } from "../extensions/_deflate.ts";
import { bomb, jsonText, mixed, noise, prose, zlibZeros } from "./_deflate.ts";

const RSV1 = 0x40;

/** A server given `offer` in Sec-WebSocket-Extensions and accepting: its response's header value. */
function serverAnswer(offer: string, options: PermessageDeflateOptions = {}): string | null {
  const server = new ServerConnection({ extensions: [permessageDeflate(options)] });
  server.receive(requestBytes({ headers: { "Sec-WebSocket-Extensions": offer } }));
  const events = drain(server);
  assert.deepEqual(types(events), ["request"]);
  server.accept();
  const head = decoder.decode(output(server));
  assert.match(head, /^HTTP\/1\.1 101 /);
  return /\r\nSec-WebSocket-Extensions: ([^\r]*)\r\n/.exec(head)?.[1] ?? null;
}

/** A client offering with `options`, given `answer` in the 101 response: its events and offer. */
function clientGiven(answer: string | null, options: PermessageDeflateOptions = {}) {
  const client = new ClientConnection({
    host: "server.example.com",
    extensions: [permessageDeflate(options)],
  });
  const request = output(client);
  const offer = /\r\nSec-WebSocket-Extensions: ([^\r]*)\r\n/.exec(decoder.decode(request))?.[1] ??
    null;
  const extra = answer === null ? [] : [`Sec-WebSocket-Extensions: ${answer}`];
  client.receive(encoder.encode(responseText(keyOf(request), extra)));
  return { client, offer, events: drain(client) };
}

/** A client whose server answered `answer`, open. */
function openClient(answer: string, options: PermessageDeflateOptions = {}): ClientConnection {
  const { client, events } = clientGiven(answer, options);
  assert.deepEqual(types(events), ["open"]);
  return client;
}

/** A server that accepted `offer`, open, its 101 taken. */
function openServer(
  offer: string,
  options: PermessageDeflateOptions = {},
  maxMessageSize?: number,
): ServerConnection {
  const server = new ServerConnection({
    extensions: [permessageDeflate(options)],
    ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
  });
  server.receive(requestBytes({ headers: { "Sec-WebSocket-Extensions": offer } }));
  drain(server);
  server.accept();
  output(server);
  assert.deepEqual(types(drain(server)), ["open"]);
  return server;
}

function pair(client: PermessageDeflateOptions, server: PermessageDeflateOptions): ConnectionPair {
  return new ConnectionPair({
    client: { extensions: [permessageDeflate(client)] },
    server: { extensions: [permessageDeflate(server)] },
  });
}

function messages(events: ConnectionEvent[]): Array<string | Uint8Array> {
  return events.flatMap((e) => (e.type === "message" ? [e.data] : []));
}

describe("permessage-deflate negotiation: the server's answer to each offer", () => {
  const accepted: Array<[string, PermessageDeflateOptions, string]> = [
    ["permessage-deflate", {}, "permessage-deflate"],
    ["permessage-deflate; client_max_window_bits", {}, "permessage-deflate"],
    [
      "permessage-deflate; client_max_window_bits=10",
      {},
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "permessage-deflate; server_no_context_takeover",
      {},
      "permessage-deflate; server_no_context_takeover",
    ],
    [
      "permessage-deflate; client_no_context_takeover",
      {},
      "permessage-deflate; client_no_context_takeover",
    ],
    [
      "permessage-deflate; server_max_window_bits=10",
      {},
      "permessage-deflate; server_max_window_bits=10",
    ],
    [
      'permessage-deflate; server_max_window_bits="10"',
      {},
      "permessage-deflate; server_max_window_bits=10",
    ],
    [
      "permessage-deflate; server_max_window_bits=10",
      { serverMaxWindowBits: 9 },
      "permessage-deflate; server_max_window_bits=9",
    ],
    [
      "permessage-deflate; server_max_window_bits=8",
      { serverMaxWindowBits: 12 },
      "permessage-deflate; server_max_window_bits=8",
    ],
    [
      "permessage-deflate",
      { serverMaxWindowBits: 12 },
      "permessage-deflate; server_max_window_bits=12",
    ],
    [
      "permessage-deflate; client_max_window_bits",
      { clientMaxWindowBits: 9 },
      "permessage-deflate; client_max_window_bits=9",
    ],
    [
      "permessage-deflate; client_max_window_bits=12",
      { clientMaxWindowBits: 9 },
      "permessage-deflate; client_max_window_bits=9",
    ],
    [
      "permessage-deflate; client_max_window_bits=8",
      { clientMaxWindowBits: 9 },
      "permessage-deflate; client_max_window_bits=8",
    ],
    [
      "permessage-deflate",
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    ],
    [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9",
      {},
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9",
    ],
    // Fallback lists: the first acceptable offer wins.
    [
      "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
      {},
      "permessage-deflate",
    ],
    [
      "permessage-deflate; foo, permessage-deflate; server_no_context_takeover",
      {},
      "permessage-deflate; server_no_context_takeover",
    ],
    [
      "permessage-deflate, permessage-deflate; client_max_window_bits",
      { clientMaxWindowBits: 10 },
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits",
      {},
      "permessage-deflate",
    ],
  ];
  for (const [offer, options, answer] of accepted) {
    test(`${offer} (server ${JSON.stringify(options)}) -> ${answer}`, () => {
      assert.equal(serverAnswer(offer, options), answer);
    });
  }

  const declined: Array<[string, PermessageDeflateOptions, string]> = [
    ["permessage-deflate; foo", {}, "an unknown parameter"],
    ["permessage-deflate; server_max_window_bits", {}, "server_max_window_bits without a value"],
    ["permessage-deflate; server_max_window_bits=7", {}, "a window below 8 bits"],
    ["permessage-deflate; server_max_window_bits=16", {}, "a window above 15 bits"],
    ["permessage-deflate; server_max_window_bits=010", {}, "a leading zero"],
    ["permessage-deflate; client_max_window_bits=16", {}, "a client window above 15 bits"],
    ["permessage-deflate; server_no_context_takeover=1", {}, "a value on a flag"],
    ["permessage-deflate; client_no_context_takeover=true", {}, "a value on a flag"],
    [
      "permessage-deflate",
      { clientMaxWindowBits: 9 },
      "no client_max_window_bits when the server must limit it",
    ],
  ];
  for (const [offer, options, why] of declined) {
    test(`declines ${offer}: ${why}; the handshake goes on without compression`, () => {
      assert.equal(serverAnswer(offer, options), null);
    });
  }

  test("a server without the extension ignores the offer, and then RSV1 fails with 1002", () => {
    const server = new ServerConnection();
    server.receive(requestBytes({ headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } }));
    drain(server);
    server.accept();
    assert.doesNotMatch(decoder.decode(output(server)), /Sec-WebSocket-Extensions/);
    drain(server);
    server.receive(maskedFrame(OP_TEXT, hex("f2 48 cd c9 c9 07 00"), { rsv: RSV1 }));
    const events = drain(server);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(events[0].type === "error" && events[0].error.closeCode, 1002);
  });

  const repeated = [
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
  ];
  for (const offer of repeated) {
    test(`declines ${offer}: a repeated parameter (RFC 7692 §7); the handshake goes on`, () => {
      assert.equal(serverAnswer(offer), null);
    });
  }

  const fallbacks: Array<[string, string]> = [
    [
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate; client_max_window_bits",
      "permessage-deflate",
    ],
    [
      "permessage-deflate; server_max_window_bits=7, permessage-deflate; server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover",
    ],
    [
      "permessage-deflate; client_max_window_bits=16, permessage-deflate; server_max_window_bits=10",
      "permessage-deflate; server_max_window_bits=10",
    ],
    [
      "permessage-deflate; server_no_context_takeover=1, permessage-deflate",
      "permessage-deflate",
    ],
  ];
  for (const [offer, answer] of fallbacks) {
    test(`skips the declined element of ${offer} and accepts the next one`, () => {
      assert.equal(serverAnswer(offer), answer);
    });
  }

  for (
    const offer of ["permessage-deflate; =1", "permessage-deflate;; x", "permessage-deflate x"]
  ) {
    test(`answers 400 to the malformed header ${JSON.stringify(offer)} (RFC 6455 §9.1 grammar)`, () => {
      const server = new ServerConnection({ extensions: [permessageDeflate()] });
      server.receive(requestBytes({ headers: { "Sec-WebSocket-Extensions": offer } }));
      drain(server);
      assert.match(decoder.decode(output(server)), /^HTTP\/1\.1 400 /);
    });
  }
});

describe("permessage-deflate negotiation: the client's offer and its check of the answer", () => {
  test("offers: the default, each option, and a fallback", () => {
    assert.equal(clientGiven(null).offer, "permessage-deflate; client_max_window_bits");
    assert.equal(
      clientGiven(null, {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 9,
      })
        .offer,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    );
    assert.equal(
      clientGiven(null, { serverMaxWindowBits: 10, fallback: true }).offer,
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits",
    );
  });

  const good: Array<[string, PermessageDeflateOptions]> = [
    ["permessage-deflate", {}],
    ["permessage-deflate; server_no_context_takeover", {}],
    ["permessage-deflate; client_no_context_takeover", {}],
    ["permessage-deflate; server_max_window_bits=10", {}],
    ["permessage-deflate; client_max_window_bits=9", {}],
    ["permessage-deflate; client_max_window_bits=12", { clientMaxWindowBits: 10 }],
    [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8",
      {},
    ],
    ["permessage-deflate; server_max_window_bits=10", { serverMaxWindowBits: 10 }],
    ["permessage-deflate; server_max_window_bits=9", { serverMaxWindowBits: 10 }],
    ["permessage-deflate; server_no_context_takeover", { serverNoContextTakeover: true }],
    ["permessage-deflate", { serverNoContextTakeover: true, fallback: true }],
    ["permessage-deflate", { serverMaxWindowBits: 9, fallback: true }],
  ];
  for (const [answer, options] of good) {
    test(`accepts ${answer} to ${JSON.stringify(options)}`, () => {
      const client = openClient(answer, options);
      assert.equal(client.extensions, answer);
    });
  }

  const bad: Array<[string, PermessageDeflateOptions, string]> = [
    ["permessage-deflate; foo", {}, "an unknown parameter"],
    ["permessage-deflate; client_max_window_bits", {}, "client_max_window_bits without a value"],
    ["permessage-deflate; server_max_window_bits=16", {}, "a window above 15 bits"],
    ["permessage-deflate; server_max_window_bits=08", {}, "a leading zero"],
    ["permessage-deflate; server_no_context_takeover=1", {}, "a value on a flag"],
    [
      "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
      {},
      "a repeated parameter",
    ],
    [
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      { serverNoContextTakeover: true },
      "a repeated parameter",
    ],
    [
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
      {},
      "a repeated parameter",
    ],
    [
      "permessage-deflate",
      { serverMaxWindowBits: 10 },
      "no server_max_window_bits when one was asked for",
    ],
    [
      "permessage-deflate; server_max_window_bits=12",
      { serverMaxWindowBits: 10 },
      "a larger server window than asked",
    ],
    [
      "permessage-deflate",
      { serverNoContextTakeover: true },
      "no server_no_context_takeover when it was asked for",
    ],
    ["permessage-deflate, permessage-deflate", {}, "the extension twice"],
  ];
  for (const [answer, options, why] of bad) {
    test(`fails the handshake on ${answer}: ${why}`, () => {
      const { client, events } = clientGiven(answer, options);
      assert.deepEqual(types(events), ["error", "close"]);
      assert.equal(events[0].type === "error" && events[0].error.code, "HANDSHAKE_BAD_EXTENSION");
      assert.equal(client.state, "closed");
    });
  }

  test("a client without the extension fails on an answer naming it", () => {
    const client = new ClientConnection({ host: "server.example.com" });
    const request = output(client);
    client.receive(
      encoder.encode(
        responseText(keyOf(request), ["Sec-WebSocket-Extensions: permessage-deflate"]),
      ),
    );
    assert.deepEqual(types(drain(client)), ["error", "close"]);
  });

  test("a server that declines leaves the client uncompressed", () => {
    const { client, events } = clientGiven(null);
    assert.deepEqual(types(events), ["open"]);
    assert.equal(client.extensions, "");
    client.send("x".repeat(1000));
    assert.equal(parseFrames(output(client))[0].rsv, 0);
  });

  test("options outside their ranges are refused", () => {
    assert.throws(() => permessageDeflate({ serverMaxWindowBits: 7 }), RangeError);
    assert.throws(() => permessageDeflate({ clientMaxWindowBits: 16 }), RangeError);
    assert.throws(() => permessageDeflate({ level: 10 }), RangeError);
    assert.throws(() => permessageDeflate({ threshold: -1 }), RangeError);
    for (const maxInflateRatio of [0, 0.5, -1, NaN]) {
      assert.throws(() => permessageDeflate({ maxInflateRatio }), RangeError);
    }
    assert.throws(() => permessageDeflate({ inflateRatioFloor: -1 }), RangeError);
    assert.throws(() => permessageDeflate({ inflateRatioFloor: 1.5 }), RangeError);
  });
});

describe("permessage-deflate: the RFC 7692 §7.2.3 frames", () => {
  const received = (frames: string[]) => {
    const client = openClient("permessage-deflate");
    for (const f of frames) client.receive(hex(f));
    return normalize(drain(client));
  };
  const cases: Array<[string, string[], string[]]> = [
    ["'Hello' in one frame (§7.2.3.1)", ["c1 07 f2 48 cd c9 c9 07 00"], ["Hello"]],
    ["'Hello' in two frames, RSV1 on the first only (§7.2.3.1)", [
      "41 03 f2 48 cd",
      "80 04 c9 c9 07 00",
    ], ["Hello"]],
    ["a second 'Hello' sharing the window (§7.2.3.2)", [
      "c1 07 f2 48 cd c9 c9 07 00",
      "c1 05 f2 00 11 00 00",
    ], ["Hello", "Hello"]],
    ["a stored block (§7.2.3.3)", ["c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00"], ["Hello"]],
    ["BFINAL set (§7.2.3.4)", ["c1 08 f3 48 cd c9 c9 07 00 00"], ["Hello"]],
    ["two blocks (§7.2.3.5)", ["c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00"], ["Hello"]],
    ["an empty final fragment (§7.2.3.6)", ["41 0b f2 48 cd c9 c9 07 00 00 00 ff ff", "80 01 00"], [
      "Hello",
    ]],
    ["an uncompressed message between compressed ones", [
      "c1 07 f2 48 cd c9 c9 07 00",
      "81 02 68 69",
      "c1 05 f2 00 11 00 00",
    ], [
      "Hello",
      "hi",
      "Hello",
    ]],
  ];
  for (const [name, frames, expected] of cases) {
    test(name, () => {
      assert.deepEqual(received(frames), expected.map((data) => ({ type: "message", data })));
    });
  }

  test("a server sends 'Hello' twice as c1 07 f2 48 cd c9 c9 07 00 then c1 05 f2 00 11 00 00", () => {
    const server = openServer("permessage-deflate", { threshold: 0 });
    server.send("Hello");
    assert.equal(toHex(output(server)), "c1 07 f2 48 cd c9 c9 07 00");
    server.send("Hello");
    assert.equal(toHex(output(server)), "c1 05 f2 00 11 00 00");
  });

  test("with server_no_context_takeover 'Hello' goes uncompressed: its 7 compressed bytes would not save any", () => {
    const server = openServer("permessage-deflate; server_no_context_takeover", { threshold: 0 });
    server.send("Hello");
    server.send("Hello");
    assert.equal(toHex(output(server)), "81 05 48 65 6c 6c 6f 81 05 48 65 6c 6c 6f");
  });
});

describe("permessage-deflate: messages both ways", () => {
  const corpus: Array<string | Uint8Array> = [
    "",
    "Hello",
    "Grüße, мир, 世界 ✓ 🎉",
    decoder.decode(jsonText(20_000)),
    mixed(100_000),
    noise(5_000),
    new Uint8Array(0),
    decoder.decode(prose(3_000)),
  ];

  test("every window size 8-15, with and without each side's context takeover", () => {
    for (let bits = 8; bits <= 15; bits++) {
      for (
        const [serverNo, clientNo] of [[false, false], [true, false], [false, true], [true, true]]
      ) {
        const p = pair(
          { serverMaxWindowBits: bits, clientMaxWindowBits: bits, threshold: 0 },
          { serverNoContextTakeover: serverNo, clientNoContextTakeover: clientNo },
        );
        const expected = `permessage-deflate${serverNo ? "; server_no_context_takeover" : ""}${
          clientNo ? "; client_no_context_takeover" : ""
        }; server_max_window_bits=${bits}${bits < 15 ? `; client_max_window_bits=${bits}` : ""}`;
        assert.equal(p.client.extensions, expected);
        p.take("client");
        p.take("server");
        for (let round = 0; round < 2; round++) {
          for (const m of corpus) {
            p.client.send(m);
            p.server.send(m);
          }
        }
        p.pump();
        const twice = [...corpus, ...corpus];
        assertDeepEqualBytes(messages(p.take("server")), twice, `server, ${expected}`);
        assertDeepEqualBytes(messages(p.take("client")), twice, `client, ${expected}`);
      }
    }
  });

  test("compressible messages take a fraction of their size on the wire, in both directions", () => {
    const p = pair({}, {});
    const wroteBefore = [concat(p.clientWrote).length, concat(p.serverWrote).length];
    const data = jsonText(100_000);
    p.client.send(data);
    p.server.send(data);
    p.pump();
    assert.ok(concat(p.clientWrote).length - wroteBefore[0] < data.length / 3);
    assert.ok(concat(p.serverWrote).length - wroteBefore[1] < data.length / 3);
    assertDeepEqualBytes(messages(p.take("server")), [data], "messages");
  });

  test("RSV1 is set on the first frame of a compressed message only; control frames never have it", () => {
    const p = new ConnectionPair({
      client: { extensions: [permessageDeflate()] },
      server: { extensions: [permessageDeflate()], fragmentSize: 1000 },
    });
    const before = p.serverWrote.length;
    p.server.send(decoder.decode(jsonText(60_000)));
    p.server.ping("p");
    p.server.send(jsonText(500));
    p.server.close(1000);
    p.pump();
    const frames = parseFrames(concat(p.serverWrote.slice(before)));
    const data = frames.filter((f) => f.opcode < 8);
    assert.ok(data.length > 5);
    assert.equal(data[0].opcode, OP_TEXT);
    assert.equal(data[0].rsv, RSV1);
    for (const f of data.slice(1, -1)) assert.deepEqual([f.opcode, f.rsv], [OP_CONTINUATION, 0]);
    assert.deepEqual([data.at(-1)!.opcode, data.at(-1)!.rsv], [OP_BINARY, RSV1]);
    for (const f of frames.filter((f) => f.opcode >= 8)) assert.equal(f.rsv, 0);
    assert.equal(messages(p.take("client")).length, 2);
  });

  test("messages under the threshold (default 128 bytes) go uncompressed", () => {
    const server = openServer("permessage-deflate");
    server.send("x".repeat(127));
    server.send("x".repeat(128));
    assert.deepEqual(parseFrames(output(server)).map((f) => f.rsv), [0, RSV1]);
    const eager = openServer("permessage-deflate", { threshold: 0 });
    eager.send("");
    assert.deepEqual(parseFrames(output(eager)).map((f) => f.rsv), [RSV1]);
  });

  test("without context takeover, a message compression would not shrink goes uncompressed", () => {
    const off = openServer("permessage-deflate; server_no_context_takeover");
    off.send(noise(2000));
    off.send(jsonText(2000));
    assert.deepEqual(parseFrames(output(off)).map((f) => f.rsv), [0, RSV1]);
    // With takeover every message above the threshold passes through the compressor.
    const on = openServer("permessage-deflate");
    on.send(noise(2000));
    assert.deepEqual(parseFrames(output(on)).map((f) => f.rsv), [RSV1]);
  });

  test("pieces sent with sendFragment are not compressed, and the window is unaffected", () => {
    const p = pair({ threshold: 0 }, { threshold: 0 });
    const before = p.clientWrote.length;
    p.client.sendFragment("Hel", false);
    p.client.sendFragment("lo", true);
    p.client.send("Hello");
    p.pump();
    const frames = parseFrames(concat(p.clientWrote.slice(before)));
    assert.deepEqual(frames.map((f) => f.rsv), [0, 0, RSV1]);
    assert.deepEqual(messages(p.take("server")), ["Hello", "Hello"]);
  });

  test("with streamMessages a compressed message arrives as one first-and-last fragment", () => {
    const p = new ConnectionPair({
      client: { extensions: [permessageDeflate()], streamMessages: true },
      server: { extensions: [permessageDeflate()] },
    });
    p.take("client");
    p.server.send("a".repeat(5000));
    p.pump();
    const events = p.take("client");
    assert.equal(events.length, 1);
    const ev = events[0];
    assert.ok(ev.type === "fragment" && ev.first && ev.last && ev.data === "a".repeat(5000));
  });

  test("context takeover: a repeated message costs a few bytes; without it, its full size", () => {
    const sizes = (options: PermessageDeflateOptions) => {
      const server = openServer("permessage-deflate", options);
      const data = jsonText(3000);
      return [0, 1, 2].map(() => {
        server.send(data);
        return output(server).length;
      });
    };
    const on = sizes({});
    assert.ok(on[1] < 40 && on[2] < 40, `${on}`);
    const off = sizes({ serverNoContextTakeover: true });
    assert.equal(off[1], off[0]);
  });
});

describe("permessage-deflate: failures", () => {
  function serverFails(frames: Uint8Array[], maxMessageSize?: number) {
    const server = openServer("permessage-deflate", {}, maxMessageSize);
    for (const f of frames) server.receive(f);
    const events = drain(server);
    const frame = parseFrames(output(server)).at(-1);
    return { events, close: frame === undefined ? null : readClose(frame.payload), server };
  }

  test("a compressed message that does not inflate fails the connection with 1007", () => {
    const { events, close } = serverFails([
      maskedFrame(OP_TEXT, hex("ff ff ff 00"), { rsv: RSV1 }),
    ]);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(events[0].type === "error" && events[0].error.code, "EXTENSION_FAILED");
    assert.equal(close?.code, 1007);
  });

  test("a compressed message that inflates to invalid UTF-8 text fails with 1007", () => {
    const wire = new Deflater().deflateMessage(hex("48 69 ff fe"));
    const { events, close } = serverFails([maskedFrame(OP_TEXT, wire, { rsv: RSV1 })]);
    assert.equal(events[0].type === "error" && events[0].error.code, "TEXT_INVALID_UTF8");
    assert.equal(close?.code, 1007);
  });

  test("RSV1 on a continuation frame fails with 1002", () => {
    const { events, close } = serverFails([
      maskedFrame(OP_TEXT, hex("f2 48 cd"), { rsv: RSV1, fin: false }),
      maskedFrame(OP_CONTINUATION, hex("c9 c9 07 00"), { rsv: RSV1 }),
    ]);
    assert.equal(events[0].type === "error" && events[0].error.code, "FRAME_RSV");
    assert.equal(close?.code, 1002);
  });

  test("RSV1 on a control frame fails with 1002", () => {
    const { close } = serverFails([maskedFrame(9, "", { rsv: RSV1 })]);
    assert.equal(close?.code, 1002);
  });

  test("a message inflating past maxMessageSize fails with 1009, though its compressed form fits", () => {
    const wire = new Deflater().deflateMessage(encoder.encode("a".repeat(5000)));
    assert.ok(wire.length < 100);
    const { events, close } = serverFails([maskedFrame(OP_TEXT, wire, { rsv: RSV1 })], 4999);
    assert.equal(events[0].type === "error" && events[0].error.code, "MESSAGE_TOO_BIG");
    assert.equal(close?.code, 1009);
    const fits = serverFails([maskedFrame(OP_TEXT, wire, { rsv: RSV1 })], 5000);
    assert.deepEqual(types(fits.events), ["message"]);
  });

  test("a 4 MiB bomb (4 GiB inflated) is refused with 1009 while memory stays flat", () => {
    const payload = bomb(16 << 20);
    const frame = maskedFrame(OP_BINARY, payload, { rsv: RSV1 });
    const rss = () => process.memoryUsage().rss;
    const before = rss();
    // How fast each case is refused is measured by bench/bounds_bench.ts (deno task bench:bounds).
    for (const limit of [undefined, 8 << 20]) {
      const { events, close } = serverFails([frame.slice()], limit);
      assert.deepEqual(types(events), ["error", "close"]);
      assert.equal(close?.code, 1009);
    }
    const grown = rss() - before;
    // Refused at the default 64 MiB limit, then at 8 MiB: the decoder never holds more than that.
    assert.ok(grown < 320 * 1024 * 1024, `rss grew by ${(grown / 1048576).toFixed(0)} MiB`);
  });

  test("64 KiB of compressed zeros (64 MiB inflated, the attack's shape) fails with 1009 at 256 times its size", () => {
    const payload = zlibZeros(64);
    assert.ok(payload.length < 70_000);
    const { events, close } = serverFails([maskedFrame(OP_BINARY, payload, { rsv: RSV1 })]);
    assert.deepEqual(types(events), ["error", "close"]);
    const error = events[0].type === "error" ? events[0].error : null;
    assert.equal(error?.code, "MESSAGE_TOO_BIG");
    assert.equal(error?.closeCode, 1009);
    assert.match(
      error?.message ?? "",
      new RegExp(
        `^Compressed message of ${payload.length} bytes inflates to more than ${
          256 * payload.length
        } bytes \\(over 256 times its size, the maxInflateRatio limit\\)$`,
      ),
    );
    assert.equal(close?.code, 1009);
  });

  test("a 1 MiB zlib bomb (1 GiB inflated) under a 1 GiB maxMessageSize stops at the ratio limit, memory flat", () => {
    const payload = zlibZeros(1024);
    const rss = () => process.memoryUsage().rss;
    const before = rss();
    const server = new ServerConnection({
      extensions: [permessageDeflate({ maxInflateRatio: 16 })],
      maxMessageSize: 1 << 30,
    });
    server.receive(requestBytes({ headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } }));
    drain(server);
    server.accept();
    output(server);
    drain(server);
    server.receive(maskedFrame(OP_BINARY, payload, { rsv: RSV1 }));
    const events = drain(server);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.match(events[0].type === "error" ? events[0].error.message : "", /maxInflateRatio/);
    assert.equal(readClose(parseFrames(output(server)).at(-1)!.payload).code, 1009);
    // 16 times 1 MiB at most, not 1 GiB.
    const grown = rss() - before;
    assert.ok(grown < 200 * 1024 * 1024, `rss grew by ${(grown / 1048576).toFixed(0)} MiB`);
  });

  test("the ratio applies past the 1 MiB floor only: 1 MiB of zeros passes, 1 MiB and one byte fails", () => {
    for (const [size, ok] of [[1 << 20, true], [(1 << 20) + 1, false]] as const) {
      const wire = new Deflater().deflateMessage(new Uint8Array(size));
      assert.ok(wire.length * 256 < 1 << 20);
      const { events, close } = serverFails([maskedFrame(OP_BINARY, wire, { rsv: RSV1 })]);
      if (ok) {
        assert.deepEqual(types(events), ["message"]);
        assert.equal(events[0].type === "message" && (events[0].data as Uint8Array).length, size);
      } else {
        assert.equal(events[0].type === "error" && events[0].error.code, "MESSAGE_TOO_BIG");
        assert.equal(close?.code, 1009);
      }
    }
  });

  test("compressible real data passes the default ratio: JSON, log lines, records differing by a counter", () => {
    let records = "[";
    for (let i = 0; records.length < 4 << 20; i++) {
      records += `{"id":${i},"type":"tick","status":"ok","value":0,"tags":[]},`;
    }
    let logs = "";
    for (let i = 0; logs.length < 4 << 20; i++) {
      logs += `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}Z INFO handled status=200 ms=${
        i % 17
      }\n`;
    }
    for (const text of [decoder.decode(jsonText(4 << 20)), logs, records]) {
      for (const level of [6, 9]) {
        const wire = new Deflater({ level }).deflateMessage(encoder.encode(text));
        const server = openServer("permessage-deflate");
        server.receive(maskedFrame(OP_TEXT, wire, { rsv: RSV1 }));
        const events = drain(server);
        assert.deepEqual(types(events), ["message"], `ratio ${text.length / wire.length}`);
        assert.equal(events[0].type === "message" && events[0].data, text);
      }
    }
  });

  test("maxInflateRatio can be raised or turned off, and inflateRatioFloor raised", () => {
    const payload = zlibZeros(8); // 8 MiB of zeros in about 8 KiB
    const frame = maskedFrame(OP_BINARY, payload, { rsv: RSV1 });
    const result = (options: PermessageDeflateOptions) => {
      const server = openServer("permessage-deflate", options);
      server.receive(frame.slice());
      const events = drain(server);
      return events[0].type === "message"
        ? (events[0].data as Uint8Array).length
        : events[0].type === "error" && events[0].error.code;
    };
    assert.equal(result({}), "MESSAGE_TOO_BIG");
    assert.equal(result({ maxInflateRatio: 512 }), "MESSAGE_TOO_BIG");
    assert.equal(result({ maxInflateRatio: 1100 }), 8 << 20);
    assert.equal(result({ maxInflateRatio: Infinity }), 8 << 20);
    assert.equal(result({ inflateRatioFloor: 8 << 20 }), 8 << 20);
    assert.equal(result({ inflateRatioFloor: (8 << 20) - 1 }), "MESSAGE_TOO_BIG");
    // Megabytes of one record repeated verbatim compress like a bomb (about 300 times here).
    let same = "[";
    while (same.length < 4 << 20) same += '{"type":"tick","status":"ok","value":0},';
    const wire = maskedFrame(OP_TEXT, new Deflater().deflateMessage(encoder.encode(same)), {
      rsv: RSV1,
    });
    for (
      const [options, expected] of [[{}, "error"], [{ maxInflateRatio: 1100 }, "message"]] as const
    ) {
      const server = openServer("permessage-deflate", options);
      server.receive(wire.slice());
      assert.equal(drain(server)[0].type, expected);
    }
  });

  test("random and mutated compressed frames give events and a close, never an exception", () => {
    const r = mulberry32(7692);
    const seeds = [jsonText(2000), mixed(3000), prose(1500)].map((d) => {
      const s = openServer("permessage-deflate; server_no_context_takeover", { threshold: 0 });
      s.send(d);
      return parseFrames(output(s))[0].payload;
    });
    for (let i = 0; i < 300; i++) {
      const server = openServer("permessage-deflate");
      const base = seeds[i % seeds.length].slice();
      if (i % 2 === 0) {
        for (let k = 1 + (r() % 3); k > 0; k--) base[r() % base.length] ^= 1 << (r() % 8);
      } else for (let k = 0; k < base.length; k++) base[k] = r() & 255;
      server.receive(maskedFrame(i % 3 === 0 ? OP_TEXT : OP_BINARY, base, { rsv: RSV1 }));
      server.receive(maskedFrame(OP_TEXT, "after", { rsv: 0 }));
      const events = drain(server);
      assert.equal(sequenceProblem(events, true), null);
      assert.ok(events.length >= 1);
    }
  });

  test("a client fails on a server's corrupt compressed frame with 1007", () => {
    const client = openClient("permessage-deflate");
    client.receive(serverFrame(OP_BINARY, hex("ff ff ff 00"), { rsv: RSV1 }));
    const events = drain(client);
    assert.deepEqual(types(events), ["error", "close"]);
    assert.equal(readClose(parseFrames(output(client))[0].payload).code, 1007);
  });
});

describe("permessage-deflate: the examples in its documentation run", {
  skip: "Deno" in globalThis ? false : "needs the deno CLI",
}, () => {
  test("deno test --doc extensions/", { timeout: 120_000 }, async () => {
    const api = (globalThis as unknown as {
      Deno: {
        execPath(): string;
        Command: new (
          cmd: string,
          o: Record<string, unknown>,
        ) => { output(): Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }> };
      };
    }).Deno;
    const out = await new api.Command(api.execPath(), {
      args: ["test", "--doc", "-A", "--no-prompt", "extensions/"],
      cwd: new URL("..", import.meta.url).pathname,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /ok \| [1-9]\d* passed/);
  });
});
