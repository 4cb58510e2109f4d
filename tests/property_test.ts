/**
 * Property tests: whatever bytes a peer sends, in whatever chunks, a connection never throws,
 * its events form a valid sequence, and when it fails the connection it tells the peer why.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ClientConnection } from "../core/client.ts";
import type { Connection, ConnectionEvent, ConnectionOptions } from "../core/connection.ts";
import { ServerConnection } from "../core/server.ts";
import {
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from "../framing/rfc6455.ts";
import {
  closePayload,
  concat,
  ConnectionPair,
  cut,
  decoder,
  encoder,
  keyOf,
  maskedFrame,
  normalize,
  parseFrames,
  readClose,
  requestBytes,
  responseText,
  seededRandom,
  sequenceProblem,
  serverAfterHandshake,
  serverFrame,
  types,
} from "./_helpers.ts";

const RUNS = 150;

// ---- arbitraries ------------------------------------------------------------------------------

/** Connection options that change how input is read. */
const optionsArb: fc.Arbitrary<ConnectionOptions> = fc
  .record({
    streamMessages: fc.boolean(),
    autoPong: fc.boolean(),
    maxMessageSize: fc.constantFrom(0, 64, 1000),
    maxFragments: fc.constantFrom(0, 2, 10),
  })
  .map((o) => {
    const options: ConnectionOptions = { streamMessages: o.streamMessages, autoPong: o.autoPong };
    if (o.maxMessageSize > 0) options.maxMessageSize = o.maxMessageSize;
    if (o.maxFragments > 0) options.maxFragments = o.maxFragments;
    return options;
  });

/** One frame's worth of intent, turned into bytes by `frameBytes` for either direction. */
type FrameSpec = { opcode: number; fin: boolean; payload: Uint8Array };

const textArb = fc.string({ maxLength: 40, unit: "binary" }).map((s) => encoder.encode(s));
const bytesArb = fc.uint8Array({ maxLength: 200 });

/** Frames of valid sessions: whole messages, fragmented messages with control frames between. */
const messageArb: fc.Arbitrary<FrameSpec[]> = fc.oneof(
  textArb.map((p) => [{ opcode: OP_TEXT, fin: true, payload: p }]),
  bytesArb.map((p) => [{ opcode: OP_BINARY, fin: true, payload: p }]),
  fc.uint8Array({ maxLength: 125 }).map((p) => [{ opcode: OP_PING, fin: true, payload: p }]),
  fc.uint8Array({ maxLength: 125 }).map((p) => [{ opcode: OP_PONG, fin: true, payload: p }]),
  // Fragmented: text is cut at arbitrary byte offsets (inside characters too), a ping after
  // the first fragment.
  fc.tuple(
    fc.oneof(textArb.map((p) => ({ text: true, p })), bytesArb.map((p) => ({ text: false, p }))),
    fc.array(fc.nat(), { maxLength: 3 }),
    fc.uint8Array({ maxLength: 10 }),
  ).map(([{ text, p }, cuts, ping]) => {
    const offsets = [...new Set(cuts.map((c) => c % (p.length + 1)))].sort((a, b) => a - b);
    const pieces: Uint8Array[] = [];
    let from = 0;
    for (const at of [...offsets, p.length]) {
      pieces.push(p.subarray(from, at));
      from = at;
    }
    const frames: FrameSpec[] = [];
    pieces.forEach((piece, i) => {
      const opcode = i === 0 ? (text ? OP_TEXT : OP_BINARY) : OP_CONTINUATION;
      frames.push({ opcode, fin: i === pieces.length - 1, payload: piece });
      if (i === 0) frames.push({ opcode: OP_PING, fin: true, payload: ping });
    });
    return frames;
  }),
);

/** A whole valid session: messages, then maybe a close frame. */
const sessionArb: fc.Arbitrary<FrameSpec[]> = fc
  .tuple(fc.array(messageArb, { maxLength: 8 }), fc.option(fc.constantFrom(1000, 1001, 3000, 4999)))
  .map(([messages, close]) => {
    const frames = messages.flat();
    if (close !== null) {
      frames.push({ opcode: OP_CLOSE, fin: true, payload: closePayload(close, "bye") });
    }
    return frames;
  });

function frameBytes(frames: FrameSpec[], masked: boolean, seed: number): Uint8Array {
  const random = seededRandom(seed);
  return concat(frames.map((f) => {
    if (!masked) return serverFrame(f.opcode, f.payload, { fin: f.fin });
    const mask = new Uint8Array(4);
    random(mask);
    return maskedFrame(f.opcode, f.payload, { fin: f.fin, mask });
  }));
}

/** A mutation of a byte stream. */
type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number }
  | { kind: "truncate"; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

function mutate(bytes: Uint8Array, mutations: Mutation[], from: number): Uint8Array {
  let out: Uint8Array = bytes.slice();
  for (const m of mutations) {
    // Mutations land after `from` (the handshake), where the frames are.
    const span = out.length - from;
    if (span <= 0) break;
    const at = from + (m.at % span);
    if (m.kind === "flip") out[at] ^= 1 << m.bit;
    else if (m.kind === "set") out[at] = m.value;
    else if (m.kind === "insert") out = concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    else if (m.kind === "delete") out = concat([out.subarray(0, at), out.subarray(at + m.count)]);
    else out = out.slice(0, at);
  }
  return out;
}

/** Cut offsets; `chunked` maps them onto a stream. */
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  if (bytes.length < 2) return [bytes.slice()];
  const offsets = [...new Set(cuts.map((c) => 1 + (c % (bytes.length - 1))))].sort((a, b) => a - b);
  return cut(bytes, offsets);
}

// ---- running and checking ---------------------------------------------------------------------

interface Outcome {
  events: ConnectionEvent[];
  output: Uint8Array;
  /** Output written after the handshake (frames only). */
  frames: Uint8Array;
  /** Whether the connection was past its handshake when the run started. */
  startedOpen: boolean;
  /** The protocol revision the handshake settled on, or null. */
  version: Connection["version"];
}

/** Feed chunks, draining after each (answering requests), then end the input. */
function run(
  conn: Connection,
  chunks: Uint8Array[],
  decide: "accept" | "none" = "accept",
): Outcome {
  const events: ConnectionEvent[] = [];
  const out: Uint8Array[] = [];
  // Already open (past the handshake): everything it writes is frames.
  const startedOpen = conn.state === "open";
  let framesFrom = startedOpen ? 0 : -1;
  const pull = (): void => {
    for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
      events.push(ev);
      if (ev.type === "request" && decide === "accept") (conn as ServerConnection).accept();
      if (ev.type === "open") {
        for (const b of conn.takeOutput()) out.push(b);
        framesFrom = out.length;
      }
    }
    for (const b of conn.takeOutput()) out.push(b);
  };
  pull();
  for (const chunk of chunks) {
    conn.receive(chunk);
    pull();
  }
  conn.receiveEnd();
  pull();
  const frames = framesFrom < 0 ? new Uint8Array(0) : concat(out.slice(framesFrom));
  return { events, output: concat(out), frames, startedOpen, version: conn.version };
}

/**
 * The invariants every run must keep: a valid event sequence ending in exactly one close; a
 * failure after the handshake leaves a close frame with its code as the last frame written; a
 * clean close leaves a close frame as the last frame written.
 */
function checkOutcome(o: Outcome): void {
  const problem = sequenceProblem(o.events, o.startedOpen);
  assert.equal(problem, null, `${problem}: ${types(o.events)}`);
  const last = o.events[o.events.length - 1];
  assert.equal(last?.type, "close", `ends with close: ${types(o.events)}`);
  assert.equal(o.events.filter((e) => e.type === "close").length, 1);
  // A mutated request can turn into a hixie one (no key, no version); its framing and closing
  // differ (tests/hixie_*), so only the event sequence is checked then.
  if (typeof o.version === "string") return;
  const error = o.events.find((e) => e.type === "error");
  const written = parseFrames(o.frames);
  const lastFrame = written[written.length - 1];
  if (error !== undefined && error.type === "error" && error.error.closeCode !== 0) {
    assert.ok(
      lastFrame !== undefined && lastFrame.opcode === OP_CLOSE,
      "a close frame was sent last",
    );
    assert.equal(readClose(lastFrame.payload).code, error.error.closeCode);
    assert.equal(written.filter((f) => f.opcode === OP_CLOSE).length, 1, "exactly one close frame");
  }
  if (last.type === "close" && last.wasClean) {
    assert.ok(
      lastFrame !== undefined && lastFrame.opcode === OP_CLOSE,
      "a clean close answered the peer",
    );
  }
  if (written.length > 0) {
    // Nothing follows a close frame.
    const closeAt = written.findIndex((f) => f.opcode === OP_CLOSE);
    assert.ok(closeAt === -1 || closeAt === written.length - 1, "no frame after the close frame");
  }
}

/** A fresh client with seeded randomness, its request already taken, and the 101 it expects. */
function freshClient(
  options: ConnectionOptions,
  seed: number,
): { client: ClientConnection; response: Uint8Array } {
  const client = new ClientConnection({
    host: "example.com",
    randomBytes: seededRandom(seed),
    ...options,
  });
  const key = keyOf(concat(client.takeOutput()));
  return { client, response: encoder.encode(responseText(key)) };
}

const REQUEST = requestBytes();

// ---- properties -------------------------------------------------------------------------------

describe("properties", () => {
  test("an open server fed random bytes in random chunks never throws and ends validly", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        cutsArb,
        optionsArb,
        (bytes, cuts, options) => {
          checkOutcome(run(serverAfterHandshake(options), chunked(bytes, cuts)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("an open client fed random bytes in random chunks never throws and ends validly", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        cutsArb,
        optionsArb,
        fc.nat(),
        (bytes, cuts, options, seed) => {
          const { client, response } = freshClient(options, seed);
          checkOutcome(run(client, chunked(concat([response, bytes]), cuts)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("a fresh server or client fed random bytes in random chunks never throws and ends validly", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        cutsArb,
        fc.boolean(),
        (bytes, cuts, server) => {
          const conn = server ? new ServerConnection() : freshClient({}, 1).client;
          checkOutcome(run(conn, chunked(bytes, cuts)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("random frames that look valid (right masking, random headers) never make a server throw", () => {
    // Random first bytes with the mask bit forced on, so more inputs pass the first checks.
    const headerish = fc.array(
      fc.tuple(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 127 }),
        fc.uint8Array({ maxLength: 40 }),
      ),
      { maxLength: 10 },
    ).map((parts) =>
      concat(parts.map(([b0, len, rest]) => concat([new Uint8Array([b0, 0x80 | len]), rest])))
    );
    fc.assert(
      fc.property(headerish, cutsArb, optionsArb, (bytes, cuts, options) => {
        checkOutcome(run(serverAfterHandshake(options), chunked(bytes, cuts)));
      }),
      { numRuns: RUNS },
    );
  });

  test("mutated valid client sessions never make a server throw and end validly", () => {
    fc.assert(
      fc.property(
        sessionArb,
        fc.array(mutationArb, { maxLength: 4 }),
        cutsArb,
        optionsArb,
        fc.nat(),
        (session, mutations, cuts, options, seed) => {
          const bytes = mutate(
            concat([REQUEST, frameBytes(session, true, seed)]),
            mutations,
            REQUEST.length,
          );
          checkOutcome(run(new ServerConnection(options), chunked(bytes, cuts)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("mutated valid server sessions never make a client throw and end validly", () => {
    fc.assert(
      fc.property(
        sessionArb,
        fc.array(mutationArb, { maxLength: 4 }),
        cutsArb,
        optionsArb,
        fc.nat(),
        (session, mutations, cuts, options, seed) => {
          const { client, response } = freshClient(options, seed);
          const bytes = mutate(
            concat([response, frameBytes(session, false, seed)]),
            mutations,
            response.length,
          );
          checkOutcome(run(client, chunked(bytes, cuts)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("mutated handshakes never make a server throw; a refused request gets an HTTP answer of its status", () => {
    fc.assert(
      fc.property(
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        cutsArb,
        (mutations, cuts) => {
          const bytes = mutate(REQUEST, mutations, 0);
          const o = run(new ServerConnection(), chunked(bytes, cuts));
          checkOutcome(o);
          const error = o.events.find((e) => e.type === "error");
          if (error !== undefined && error.type === "error" && error.error.status !== 0) {
            const head = decoder.decode(o.output.subarray(0, 13));
            assert.equal(head, `HTTP/1.1 ${error.error.status} `);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("mutated handshakes never make a client throw", () => {
    fc.assert(
      fc.property(
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        cutsArb,
        fc.nat(),
        (mutations, cuts, seed) => {
          const { client, response } = freshClient({}, seed);
          const o = run(client, chunked(mutate(response, mutations, 0), cuts));
          checkOutcome(o);
          assert.deepEqual(o.frames.length === 0 || types(o.events).includes("open"), true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("valid sessions are received exactly as sent, in any chunking", () => {
    fc.assert(
      fc.property(sessionArb, cutsArb, fc.boolean(), fc.nat(), (session, cuts, stream, seed) => {
        const options: ConnectionOptions = { streamMessages: stream };
        const o = run(
          serverAfterHandshake(options),
          chunked(frameBytes(session, true, seed), cuts),
        );
        checkOutcome(o);
        assert.equal(
          o.events.some((e) => e.type === "error"),
          false,
          "a valid session has no error",
        );
        // What the server should report, built from the frames.
        const expected: unknown[] = [];
        let parts: Uint8Array[] = [];
        let opcode = 0;
        for (const f of session) {
          if (f.opcode === OP_PING || f.opcode === OP_PONG) {
            expected.push({
              type: f.opcode === OP_PING ? "ping" : "pong",
              data: Array.from(f.payload),
            });
          } else if (f.opcode === OP_CLOSE) {
            expected.push({
              type: "close",
              code: readClose(f.payload).code,
              reason: "bye",
              wasClean: true,
            });
          } else {
            if (f.opcode !== OP_CONTINUATION) opcode = f.opcode;
            parts.push(f.payload);
            if (f.fin) {
              const data = concat(parts);
              const value = opcode === OP_TEXT ? decoder.decode(data) : Array.from(data);
              expected.push(
                stream
                  ? { type: "message*", binary: opcode === OP_BINARY, data: value }
                  : { type: "message", data: value },
              );
              parts = [];
            }
          }
        }
        if (session[session.length - 1]?.opcode !== OP_CLOSE) {
          expected.push({ type: "close", code: 1006, reason: "", wasClean: false });
        }
        assert.deepEqual(normalize(o.events), expected);
      }),
      { numRuns: RUNS },
    );
  });

  test("whatever a client sends with send, sendFragment and ping, the server receives the same", () => {
    type Action =
      | { kind: "send"; data: string | Uint8Array }
      | { kind: "pieces"; data: string[] }
      | { kind: "ping"; data: Uint8Array };
    const actionArb: fc.Arbitrary<Action> = fc.oneof(
      fc.string({ maxLength: 50 }).map((data) => ({ kind: "send" as const, data })),
      fc.uint8Array({ maxLength: 300 }).map((data) => ({ kind: "send" as const, data })),
      fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 4 }).map((data) => ({
        kind: "pieces" as const,
        data,
      })),
      fc.uint8Array({ maxLength: 125 }).map((data) => ({ kind: "ping" as const, data })),
    );
    fc.assert(
      fc.property(
        fc.array(actionArb, { maxLength: 10 }),
        fc.constantFrom(0, 1, 7, 100),
        (actions, fragmentSize) => {
          const pair = new ConnectionPair({ client: { fragmentSize } });
          pair.take("server");
          const expected: unknown[] = [];
          for (const a of actions) {
            if (a.kind === "send") {
              pair.client.send(a.data);
              expected.push({
                type: "message",
                data: typeof a.data === "string" ? a.data : Array.from(a.data),
              });
            } else if (a.kind === "pieces") {
              a.data.forEach((p, i) => pair.client.sendFragment(p, i === a.data.length - 1));
              expected.push({ type: "message", data: a.data.join("") });
            } else {
              pair.client.ping(a.data);
              expected.push({ type: "ping", data: Array.from(a.data) });
            }
            pair.pump();
          }
          assert.deepEqual(normalize(pair.take("server")), expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});
