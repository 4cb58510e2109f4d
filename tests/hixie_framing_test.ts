import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  HIXIE_CLOSE,
  HixieParser,
  type HixieParserOptions,
  writeHixieText,
} from "../framing/hixie.ts";
import { type FrameSink, OP_CLOSE, OP_TEXT } from "../framing/rfc6455.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Records what the parser reports; consecutive payload pieces of one frame are merged. */
class Recorder implements FrameSink {
  events: string[] = [];
  pieces: Uint8Array[] = [];
  payloadCalls = 0;
  /** Return false from the n-th call to any method (1-based), to test stopping. */
  stopAt = -1;
  #calls = 0;
  #payload: number[] | null = null;

  #go(): boolean {
    return ++this.#calls !== this.stopAt;
  }

  frameStart(opcode: number, fin: boolean, rsv: number, length: number): boolean {
    this.events.push(`start ${opcode} ${fin} ${rsv} ${length}`);
    this.#payload = [];
    return this.#go();
  }

  framePayload(data: Uint8Array): boolean {
    this.payloadCalls++;
    this.pieces.push(data);
    this.#payload!.push(...data);
    return this.#go();
  }

  frameEnd(): boolean {
    this.events.push(`payload ${decoder.decode(new Uint8Array(this.#payload!))}`);
    this.events.push("end");
    this.#payload = null;
    return this.#go();
  }

  frameError(closeCode: number, code: string, message: string): void {
    this.events.push(`error ${closeCode} ${code}`);
    assert.match(message, /^[A-Z].*[^.]$/);
  }
}

const V76: HixieParserOptions = { maxMessageSize: 1 << 20, closeFrame: true };
const V75: HixieParserOptions = { maxMessageSize: 1 << 20, closeFrame: false };

function bytes(...parts: Array<number | string | number[]>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...encoder.encode(p));
    else out.push(...p);
  }
  return new Uint8Array(out);
}

function run(input: Uint8Array, options: HixieParserOptions, splits: number[] = []): Recorder {
  const sink = new Recorder();
  const parser = new HixieParser(sink, options);
  let from = 0;
  for (const at of [...splits, input.length]) {
    parser.push(input.subarray(from, at));
    from = at;
  }
  return sink;
}

function text(s: string): string[] {
  return [`start ${OP_TEXT} true 0 -1`, `payload ${s}`, "end"];
}

const CLOSE = [`start ${OP_CLOSE} true 0 0`, "payload ", "end"];

describe("HixieParser", () => {
  test("parses the text frame 00 'Hello' FF", () => {
    const sink = run(bytes(0x00, "Hello", 0xff), V76);
    assert.deepEqual(sink.events, text("Hello"));
    assert.equal(sink.payloadCalls, 1);
  });

  test("reports an empty text frame without a payload call", () => {
    const sink = run(bytes(0x00, 0xff), V76);
    assert.deepEqual(sink.events, text(""));
    assert.equal(sink.payloadCalls, 0);
  });

  test("parses several frames in one chunk, multi-byte UTF-8 included", () => {
    const sink = run(
      bytes(0x00, "a", 0xff, 0x00, "héllo wörld €", 0xff, 0x00, 0xff, 0x00, "z", 0xff),
      V76,
    );
    assert.deepEqual(sink.events, [
      ...text("a"),
      ...text("héllo wörld €"),
      ...text(""),
      ...text("z"),
    ]);
  });

  test("payload views point into the pushed chunk, without copies", () => {
    const chunk = bytes(0x00, "abc", 0xff, 0x00, "defg", 0xff);
    const sink = run(chunk, V76);
    assert.equal(sink.pieces.length, 2);
    for (const piece of sink.pieces) assert.equal(piece.buffer, chunk.buffer);
    assert.equal(sink.pieces[0].byteOffset, 1);
    assert.equal(sink.pieces[1].byteOffset, 6);
  });

  test("does not modify the chunk", () => {
    const chunk = bytes(0x00, "abc", 0xff, 0x81, 0x02, 0xaa, 0xbb, 0x05, "x", 0xff);
    const copy = chunk.slice();
    run(chunk, V76);
    assert.deepEqual(chunk, copy);
  });

  // deno-fmt-ignore
  const stream = bytes(
    0x00, "Hello", 0xff,
    0x01, "skipped sentinel", 0xff,
    0x00, "wörld", 0xff,
    0x80, 0x03, 0xff, 0x00, 0x12,
    0x81, 0x81, 0x01, ...new Array(129).fill(0x41),
    0x00, 0xff,
    0x7f, 0xff,
    0xff, 0x00,
    0x00, "after close", 0xff,
  );
  const expected = [
    ...text("Hello"),
    ...text("wörld"),
    ...text(""),
    ...CLOSE,
    ...text("after close"),
  ];

  test("gives the same events for the stream whole and split at every position", () => {
    assert.deepEqual(run(stream, V76).events, expected);
    for (let at = 0; at <= stream.length; at++) {
      assert.deepEqual(run(stream, V76, [at]).events, expected, `split at ${at}`);
    }
  });

  test("gives the same events for the stream split at every pair of positions", () => {
    for (let a = 0; a <= stream.length; a += 3) {
      for (let b = a; b <= stream.length; b += 5) {
        assert.deepEqual(run(stream, V76, [a, b]).events, expected, `split at ${a} and ${b}`);
      }
    }
  });

  test("gives the same events for the stream fed byte by byte", () => {
    const splits = Array.from({ length: stream.length }, (_, i) => i);
    assert.deepEqual(run(stream, V76, splits).events, expected);
  });

  test("skips sentinel frames of every type other than 0x00", () => {
    for (let type = 0x01; type < 0x80; type++) {
      const sink = run(bytes(type, "ignored", 0xff, 0x00, "kept", 0xff), V76);
      assert.deepEqual(sink.events, text("kept"), `type ${type}`);
      assert.equal(sink.payloadCalls, 1);
    }
  });

  test("skips length-prefixed frames, multi-byte lengths included", () => {
    // 0x82 0x01 = 257 bytes; 0x80 0x00 = empty.
    const input = bytes(
      0x80,
      0x82,
      0x01,
      ...new Array(257).fill(0xff),
      0x90,
      0x00,
      0x00,
      "x",
      0xff,
    );
    assert.deepEqual(run(input, V76).events, text("x"));
    const splits = Array.from({ length: input.length }, (_, i) => i);
    assert.deepEqual(run(input, V76, splits).events, text("x"));
  });

  test("refuses a length prefix above the limit with 1009 before any payload", () => {
    const options = { maxMessageSize: 1000, closeFrame: true };
    // 0x87 0x68 = 1000: accepted.
    assert.deepEqual(run(bytes(0x80, 0x87, 0x68, ...new Array(1000).fill(0)), options).events, []);
    // 0x87 0x69 = 1001: refused at the last length byte.
    assert.deepEqual(run(bytes(0x80, 0x87, 0x69), options).events, ["error 1009 MESSAGE_TOO_BIG"]);
  });

  test("refuses a huge length prefix as soon as its groups prove it passes the limit", () => {
    const sink = new Recorder();
    const parser = new HixieParser(sink, { maxMessageSize: 1 << 20, closeFrame: false });
    // 0xFF 0xFF with more to come is at least 16383 * 128 > 2^20: refused at the 2nd group.
    parser.push(bytes(0x80, 0xff));
    assert.deepEqual(sink.events, []);
    parser.push(bytes(0xff));
    assert.deepEqual(sink.events, ["error 1009 MESSAGE_TOO_BIG"]);
    assert.equal(parser.stopped, true);
    // Thousands of continuation bytes would otherwise overflow to Infinity; nothing more happens.
    parser.push(new Uint8Array(10000).fill(0xff));
    parser.push(bytes(0x00, "x", 0xff));
    assert.deepEqual(sink.events, ["error 1009 MESSAGE_TOO_BIG"]);
  });

  /** Feeds `input` a byte at a time; returns how many bytes were in when the first event came. */
  function firstEventAfter(
    input: Uint8Array,
    options: HixieParserOptions,
  ): { fed: number; events: string[] } {
    const sink = new Recorder();
    const parser = new HixieParser(sink, options);
    let fed = 0;
    while (sink.events.length === 0 && fed < input.length) parser.push(input.slice(fed, ++fed));
    // Whole and split at every position: the same events.
    assert.deepEqual(run(input, options).events, sink.events);
    for (let at = 1; at < input.length; at++) {
      assert.deepEqual(run(input, options, [at]).events, sink.events);
    }
    return { fed, events: sink.events };
  }

  test("refuses a length prefix at the first group that proves it above the limit, not at its last", () => {
    const options = { maxMessageSize: 1000, closeFrame: true };
    const TOO_BIG = ["error 1009 MESSAGE_TOO_BIG"];
    // 0x88 with another group to come: at least 8 * 128 = 1024, refused at once.
    assert.deepEqual(firstEventAfter(bytes(0x80, 0x88, 0x00), options), {
      fed: 2,
      events: TOO_BIG,
    });
    assert.deepEqual(firstEventAfter(bytes(0xff, 0x88, 0x00), options), {
      fed: 2,
      events: TOO_BIG,
    });
    // 0x87 0x80 ...: at least 896 * 128, refused at the 0x80 group.
    assert.deepEqual(firstEventAfter(bytes(0x80, 0x87, 0x80, 0x00), options), {
      fed: 3,
      events: TOO_BIG,
    });
    // 0x87 alone may still end at 1000 (0x87 0x68): nothing yet.
    const sink = new Recorder();
    const parser = new HixieParser(sink, options);
    parser.push(bytes(0x80, 0x87));
    assert.deepEqual(sink.events, []);
    assert.equal(parser.stopped, false);
  });

  test("accepts a length prefix of exactly MAX_SAFE_INTEGER and refuses 2^53 a group early, without wrapping", () => {
    const options = { maxMessageSize: Number.MAX_SAFE_INTEGER, closeFrame: true };
    // 2^53 - 1: 4 bits (0x8F), six groups of 7 (0xFF), a last group of 7 (0x7F).
    const max = bytes(0x80, 0x8f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x61, 0x62);
    const sink = new Recorder();
    const parser = new HixieParser(sink, options);
    parser.push(max);
    assert.deepEqual(sink.events, []);
    assert.equal(parser.stopped, false);
    // 2^53: 0x90 then six 0x80 groups promise at least 2^53 before the last group arrives.
    const over = bytes(0x80, 0x90, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    assert.deepEqual(firstEventAfter(over, options), {
      fed: 8,
      events: ["error 1009 MESSAGE_TOO_BIG"],
    });
    // Endless continuation groups end in the same error, never in a small wrapped length.
    const endless = new Uint8Array(10000).fill(0xff);
    endless[0] = 0x80;
    assert.deepEqual(run(endless, options).events, ["error 1009 MESSAGE_TOO_BIG"]);
  });

  test("refuses 1 MB without 0xFF at the limit, holding no bytes and reporting nothing else", () => {
    const limit = 64 * 1024;
    for (const type of [0x00, 0x42]) {
      const sink = new Recorder();
      const parser = new HixieParser(sink, { maxMessageSize: limit, closeFrame: true });
      const piece = new Uint8Array(1000).fill(0x61);
      parser.push(new Uint8Array([type]));
      let pushed = 0;
      let erroredAfter = -1;
      while (pushed < 1 << 20) {
        parser.push(piece);
        pushed += piece.length;
        if (erroredAfter < 0 && parser.stopped) erroredAfter = pushed;
      }
      assert.equal(erroredAfter, Math.ceil((limit + 1) / 1000) * 1000, `type ${type}`);
      const received = sink.pieces.reduce((n, p) => n + p.length, 0);
      if (type === 0x00) {
        assert.deepEqual(sink.events.slice(0, 1), [`start ${OP_TEXT} true 0 -1`]);
        // The excess never reached the sink: only the whole pieces before the limit did.
        assert.equal(received, Math.floor(limit / 1000) * 1000);
      } else {
        assert.equal(sink.payloadCalls, 0);
      }
      assert.deepEqual(sink.events.slice(-1), ["error 1009 MESSAGE_TOO_BIG"]);
      // The parser keeps no reference to any chunk: every piece seen is a view of `piece`.
      for (const p of sink.pieces) assert.equal(p.buffer, piece.buffer);
    }
  });

  test("accepts a text frame of exactly the limit and refuses one byte more", () => {
    const options = { maxMessageSize: 10, closeFrame: true };
    assert.deepEqual(run(bytes(0x00, "0123456789", 0xff), options).events, text("0123456789"));
    const sink = run(bytes(0x00, "0123456789A", 0xff), options, [5]);
    assert.deepEqual(sink.events, [`start ${OP_TEXT} true 0 -1`, "error 1009 MESSAGE_TOO_BIG"]);
    assert.equal(sink.pieces.reduce((n, p) => n + p.length, 0), 4);
  });

  test("reports FF 00 as a close frame only when closeFrame is set", () => {
    assert.deepEqual(run(bytes(0xff, 0x00), V76).events, CLOSE);
    assert.deepEqual(run(bytes(0xff, 0x00), V75).events, []);
    assert.deepEqual(run(bytes(0xff, 0x00, 0x00, "x", 0xff), V75).events, text("x"));
    // Non-minimal zero length: still type 0xFF with length 0.
    assert.deepEqual(run(bytes(0xff, 0x80, 0x00), V76).events, CLOSE);
    // Type 0xFF with a payload, and other types with length 0, are discarded.
    assert.deepEqual(run(bytes(0xff, 0x01, 0x00, 0xfe, 0x00), V76).events, []);
    assert.deepEqual(run(bytes(0xff, 0x00), V76, [1]).events, CLOSE);
  });

  test("pauses when the sink returns false and resumes where it paused, for every call", () => {
    const whole = run(stream, V76).events;
    const calls = whole.length - whole.filter((e) => e.startsWith("payload")).length +
      run(stream, V76).payloadCalls;
    for (let stopAt = 1; stopAt <= calls; stopAt++) {
      const sink = new Recorder();
      sink.stopAt = stopAt;
      const parser = new HixieParser(sink, V76);
      parser.push(stream);
      const before = sink.events.length;
      assert.equal(parser.stopped, false);
      if (stopAt < calls) assert.equal(parser.paused, true, `pause at call ${stopAt}`);
      while (parser.paused) parser.resume();
      assert.ok(sink.events.length >= before);
      assert.deepEqual(sink.events, whole, `pause at call ${stopAt}`);
    }
  });

  test("a pause inside a chunk split byte by byte resumes with the same events", () => {
    const sink = new Recorder();
    sink.stopAt = 3;
    const parser = new HixieParser(sink, V76);
    for (let i = 0; i < stream.length; i++) {
      parser.push(stream.subarray(i, i + 1));
      while (parser.paused) parser.resume();
    }
    assert.deepEqual(sink.events, expected);
  });

  test("a sink that stops the parser inside a callback ends parsing", () => {
    const events: string[] = [];
    const parser: HixieParser = new HixieParser({
      frameStart: () => (events.push("start"), true),
      framePayload: () => (events.push("payload"), parser.stop(), false),
      frameEnd: () => (events.push("end"), true),
      frameError: () => void events.push("error"),
    }, V76);
    parser.push(bytes(0x00, "a", 0xff, 0x00, "b", 0xff));
    assert.deepEqual(events, ["start", "payload"]);
    assert.equal(parser.stopped, true);
    assert.equal(parser.paused, false);
    parser.resume();
    parser.push(bytes(0x00, "c", 0xff));
    assert.deepEqual(events, ["start", "payload"]);
  });

  test("a close frame's frameEnd is owed after a pause in its frameStart", () => {
    const sink = new Recorder();
    sink.stopAt = 1;
    const parser = new HixieParser(sink, V76);
    parser.push(bytes(0xff, 0x00));
    assert.deepEqual(sink.events, [`start ${OP_CLOSE} true 0 0`]);
    assert.equal(parser.paused, true);
    parser.resume();
    assert.deepEqual(sink.events, CLOSE);
    assert.equal(parser.paused, false);
  });

  test("stop() makes later chunks ignored", () => {
    const sink = new Recorder();
    const parser = new HixieParser(sink, V76);
    assert.equal(parser.stopped, false);
    parser.stop();
    assert.equal(parser.stopped, true);
    parser.push(bytes(0x00, "a", 0xff));
    assert.deepEqual(sink.events, []);
  });

  test("ignores empty chunks", () => {
    const sink = new Recorder();
    const parser = new HixieParser(sink, V76);
    parser.push(new Uint8Array(0));
    parser.push(bytes(0x00, "a"));
    parser.push(new Uint8Array(0));
    parser.push(bytes(0xff));
    assert.deepEqual(sink.events, text("a"));
  });

  test("rejects an invalid maxMessageSize with a RangeError", () => {
    for (const maxMessageSize of [-1, 1.5, Number.NaN, Infinity]) {
      assert.throws(
        () => new HixieParser(new Recorder(), { maxMessageSize, closeFrame: true }),
        RangeError,
      );
    }
  });

  test("random chunkings of random frame streams give the same events as whole", () => {
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let round = 0; round < 200; round++) {
      const parts: number[] = [];
      const frames = 1 + (next() % 8);
      for (let f = 0; f < frames; f++) {
        const kind = next() % 4;
        if (kind === 0 || kind === 1) {
          parts.push(kind === 0 ? 0x00 : 1 + (next() % 0x7f));
          for (let i = next() % 40; i > 0; i--) parts.push(next() % 0xff);
          parts.push(0xff);
        } else if (kind === 2) {
          const length = next() % 300;
          parts.push(0x80 | (next() % 0x7f), 0x80 | (length >> 7), length & 0x7f);
          for (let i = 0; i < length; i++) parts.push(next() & 0xff);
        } else {
          parts.push(0xff, 0x00);
        }
      }
      const input = new Uint8Array(parts);
      const whole = run(input, V76).events;
      const splits: number[] = [];
      for (let at = 0; at < input.length; at += 1 + (next() % 7)) splits.push(at);
      assert.deepEqual(run(input, V76, splits).events, whole, `round ${round}`);
    }
  });
});

describe("writeHixieText", () => {
  test("frames 'Hello' as 00 48 65 6c 6c 6f ff in one chunk", () => {
    const out: Uint8Array[] = [];
    assert.equal(writeHixieText(out, encoder.encode("Hello")), 7);
    assert.equal(out.length, 1);
    assert.deepEqual([...out[0]], [0x00, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0xff]);
  });

  test("frames an empty payload as 00 ff", () => {
    const out: Uint8Array[] = [];
    assert.equal(writeHixieText(out, new Uint8Array(0)), 2);
    assert.deepEqual(out, [new Uint8Array([0x00, 0xff])]);
  });

  test("copies payloads up to 4096 bytes into one chunk", () => {
    const payload = new Uint8Array(4096).fill(0x61);
    const out: Uint8Array[] = [];
    assert.equal(writeHixieText(out, payload), 4098);
    assert.equal(out.length, 1);
    assert.equal(out[0][0], 0x00);
    assert.equal(out[0][4097], 0xff);
    assert.notEqual(out[0].buffer, payload.buffer);
  });

  test("appends larger payloads as three chunks without copying the payload", () => {
    const payload = new Uint8Array(4097).fill(0x61);
    const out: Uint8Array[] = [];
    assert.equal(writeHixieText(out, payload), 4099);
    assert.equal(out.length, 3);
    assert.deepEqual([...out[0]], [0x00]);
    assert.equal(out[1], payload);
    assert.deepEqual([...out[2]], [0xff]);
  });

  test("appends to what the list already holds", () => {
    const out: Uint8Array[] = [new Uint8Array([1])];
    writeHixieText(out, encoder.encode("x"));
    assert.equal(out.length, 2);
  });

  test("refuses a payload containing 0xFF", () => {
    assert.throws(() => writeHixieText([], new Uint8Array([0x61, 0xff])), RangeError);
  });

  test("what it writes parses back, small and large", () => {
    for (const s of ["", "Hello", "ünïcödé ✓", "x".repeat(5000)]) {
      const out: Uint8Array[] = [];
      writeHixieText(out, encoder.encode(s));
      const sink = new Recorder();
      const parser = new HixieParser(sink, V76);
      for (const chunk of out) parser.push(chunk);
      assert.deepEqual(sink.events, text(s));
    }
  });

  test("HIXIE_CLOSE is FF 00 and parses as a hixie-76 close", () => {
    assert.deepEqual([...HIXIE_CLOSE], [0xff, 0x00]);
    assert.deepEqual(run(HIXIE_CLOSE, V76).events, CLOSE);
  });
});
