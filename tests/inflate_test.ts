// The DEFLATE decoder (extensions/_inflate.ts): the RFC 7692 §7.2.3 payloads, streams made by
// zlib (node:zlib, in tests only) at every level, window size and strategy, context takeover,
// the output limit, and malformed input (an InflateError, never an exception).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { InflateError, Inflater } from "../extensions/_inflate.ts";
import { assertBytesEqual, concat, hex, mulberry32, toHex } from "./_helpers.ts";
import { BitWriter, bomb, jsonText, mixed, noise, prose } from "./_deflate.ts";

const text = (s: string) => new TextEncoder().encode(s);
const TAIL = hex("00 00 ff ff");

function ok(result: Uint8Array | InflateError): Uint8Array {
  if (result instanceof InflateError) assert.fail(`InflateError: ${result.message}`);
  return result;
}

function fails(result: Uint8Array | InflateError, pattern: RegExp, tooBig = false): void {
  if (!(result instanceof InflateError)) {
    assert.fail(`expected an InflateError, got ${result.length} bytes`);
  }
  assert.match(result.message, pattern);
  assert.equal(result.tooBig, tooBig);
}

/** zlib's raw DEFLATE of `data`, sync-flushed (the stream ends with 00 00 ff ff). */
function zlibSync(data: Uint8Array, options: zlib.ZlibOptions = {}): Uint8Array {
  return new Uint8Array(
    zlib.deflateRawSync(data, { ...options, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  );
}

/** A sync-flushed stream with its 00 00 ff ff removed: a permessage-deflate payload. */
function payload(stream: Uint8Array): Uint8Array {
  assert.equal(toHex(stream.subarray(stream.length - 4)), "00 00 ff ff");
  return stream.subarray(0, stream.length - 4);
}

describe("inflate: the RFC 7692 §7.2.3 payloads", () => {
  test("'Hello' compressed in one block (§7.2.3.1): f2 48 cd c9 c9 07 00", () => {
    assertBytesEqual(
      ok(new Inflater().inflateMessage(hex("f2 48 cd c9 c9 07 00"), 100)),
      text("Hello"),
    );
  });

  test("a second 'Hello' referring to the first (§7.2.3.2): f2 00 11 00 00 with context takeover", () => {
    const inf = new Inflater(15, true);
    assertBytesEqual(ok(inf.inflateMessage(hex("f2 48 cd c9 c9 07 00"), 100)), text("Hello"));
    assertBytesEqual(ok(inf.inflateMessage(hex("f2 00 11 00 00"), 100)), text("Hello"));
  });

  test("the same second payload without context takeover refers before the window", () => {
    const inf = new Inflater(15, false);
    assertBytesEqual(ok(inf.inflateMessage(hex("f2 48 cd c9 c9 07 00"), 100)), text("Hello"));
    fails(inf.inflateMessage(hex("f2 00 11 00 00"), 100), /before the start of the window/);
  });

  test("a stored block (§7.2.3.3): 00 05 00 fa ff 48 65 6c 6c 6f 00", () => {
    const out = new Inflater().inflateMessage(hex("00 05 00 fa ff 48 65 6c 6c 6f 00"), 100);
    assertBytesEqual(ok(out), text("Hello"));
  });

  test("a block with BFINAL set (§7.2.3.4): f3 48 cd c9 c9 07 00 00, the appended tail ignored", () => {
    assertBytesEqual(
      ok(new Inflater().inflateMessage(hex("f3 48 cd c9 c9 07 00 00"), 100)),
      text("Hello"),
    );
  });

  test("two blocks in one message (§7.2.3.5): f2 48 05 00 00 00 ff ff ca c9 c9 07 00", () => {
    const out = new Inflater().inflateMessage(hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"), 100);
    assertBytesEqual(ok(out), text("Hello"));
  });

  test("an empty message is a lone empty stored block header: 00", () => {
    assertBytesEqual(ok(new Inflater().inflateMessage(hex("00"), 100)), new Uint8Array(0));
  });

  test("fragments that each end with a sync flush inflate as one message (§7.2.3.6 style)", () => {
    // "Hello " + flush, "World" + flush, "!": pieces of one message, joined by the connection.
    const message = hex(
      "f2 48 cd c9 c9 57 00 00 00 00 ff ff 0a cf 2f ca 49 01 00 00 00 ff ff 52 04 00",
    );
    assertBytesEqual(ok(new Inflater().inflateMessage(message, 100)), text("Hello World!"));
  });

  test("pywebsocket's 'tora' three times with context takeover", () => {
    const inf = new Inflater();
    for (const p of ["2a c9 2f 4a 04 00", "2a 01 62 00 00", "02 61 00 00"]) {
      assertBytesEqual(ok(inf.inflateMessage(hex(p), 100)), text("tora"));
    }
  });
});

describe("inflate: streams written by zlib", () => {
  const inputs: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["one byte", text("x")],
    ["json 40 KB", jsonText(40_000)],
    ["prose 70 KB", prose(70_000)],
    ["mixed 50 KB", mixed(50_000)],
    ["noise 20 KB", noise(20_000)],
  ];

  test("every level 0-9 at every window size 8-15, complete streams", () => {
    for (let level = 0; level <= 9; level++) {
      for (let windowBits = 8; windowBits <= 15; windowBits++) {
        for (const [name, data] of inputs) {
          const stream = new Uint8Array(zlib.deflateRawSync(data, { level, windowBits }));
          const out = new Inflater(15, false).inflate(stream);
          assertBytesEqual(ok(out), data, `level ${level}, window ${windowBits}, ${name}`);
        }
      }
    }
  });

  test("every strategy (filtered, Huffman only, RLE, fixed) and memory level", () => {
    const { Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED, Z_DEFAULT_STRATEGY } = zlib.constants;
    for (const strategy of [Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED]) {
      for (const memLevel of [1, 8, 9]) {
        for (const [name, data] of inputs) {
          const stream = new Uint8Array(zlib.deflateRawSync(data, { strategy, memLevel }));
          assertBytesEqual(
            ok(new Inflater(15, false).inflate(stream)),
            data,
            `strategy ${strategy}, ${name}`,
          );
        }
      }
    }
  });

  test("sync-flushed streams with the 00 00 ff ff removed, as permessage-deflate messages", () => {
    for (const level of [0, 1, 6, 9]) {
      for (let windowBits = 8; windowBits <= 15; windowBits++) {
        for (const [name, data] of inputs) {
          const message = payload(zlibSync(data, { level, windowBits }));
          const out = new Inflater(windowBits, false).inflateMessage(message, 1 << 20);
          assertBytesEqual(ok(out), data, `level ${level}, window ${windowBits}, ${name}`);
        }
      }
    }
  });

  test("context takeover: each message compressed by zlib with the earlier ones as its dictionary", () => {
    for (let windowBits = 9; windowBits <= 15; windowBits++) {
      const inf = new Inflater(windowBits, true);
      let history: Uint8Array = new Uint8Array(0);
      const r = mulberry32(windowBits);
      for (let i = 0; i < 12; i++) {
        const data = i % 3 === 2
          ? mixed(200 + (r() % 3000), i)
          : jsonText(100 + (r() % 5000), i % 4);
        const dictionary = history.subarray(Math.max(0, history.length - (1 << windowBits)));
        const options = dictionary.length > 0 ? { windowBits, dictionary } : { windowBits };
        const message = payload(zlibSync(data, options));
        assertBytesEqual(
          ok(inf.inflateMessage(message, 1 << 20)),
          data,
          `window ${windowBits}, message ${i}`,
        );
        history = concat([history, data]);
      }
      assert.equal(inf.retainedBytes, 1 << windowBits);
    }
  });

  test("overlapping and disjoint matches at every distance 1-300 and many lengths", () => {
    const r = mulberry32(1951);
    const parts: Uint8Array[] = [];
    for (let d = 1; d <= 300; d++) {
      const seg = new Uint8Array(d + 3 + (r() % 600));
      for (let i = 0; i < d; i++) seg[i] = r() & 255;
      for (let i = d; i < seg.length; i++) seg[i] = seg[i - d];
      parts.push(seg, noise(r() % 8, d));
    }
    const data = concat(parts);
    for (const level of [1, 6, 9]) {
      const stream = new Uint8Array(zlib.deflateRawSync(data, { level }));
      assertBytesEqual(ok(new Inflater().inflate(stream)), data, `level ${level}`);
      // The same matches reaching into the history of an earlier message.
      const inf = new Inflater(15, true);
      const half = data.length >> 1;
      const first = payload(zlibSync(data.subarray(0, half), { level }));
      const second = payload(
        zlibSync(data.subarray(half), { level, dictionary: data.subarray(half - 32768, half) }),
      );
      assertBytesEqual(ok(inf.inflateMessage(first, 1 << 20)), data.subarray(0, half));
      assertBytesEqual(ok(inf.inflateMessage(second, 1 << 20)), data.subarray(half));
    }
  });

  test("a 1 MB stream of several blocks, fed in one call", () => {
    const data = concat([jsonText(400_000), noise(100_000), prose(500_000)]);
    const stream = new Uint8Array(zlib.deflateRawSync(data, { level: 6 }));
    assertBytesEqual(ok(new Inflater().inflate(stream)), data);
  });
});

describe("inflate: the output limit", () => {
  test("output of exactly the limit is accepted; one byte less of limit fails as too big", () => {
    const data = prose(100_000);
    const message = payload(zlibSync(data));
    assertBytesEqual(ok(new Inflater().inflateMessage(message, data.length)), data);
    fails(new Inflater().inflateMessage(message, data.length - 1), /exceeds the size limit/, true);
  });

  test("a stored block over the limit fails before it is copied", () => {
    const data = noise(70_000);
    fails(
      new Inflater().inflateMessage(payload(zlibSync(data, { level: 0 })), 1000),
      /exceeds/,
      true,
    );
  });

  test("a 1 MiB bomb (1 GiB inflated) stops at a 1 MiB limit", () => {
    // How fast it stops is measured by bench/bounds_bench.ts (deno task bench:bounds).
    const payload = bomb(4 << 20);
    fails(new Inflater().inflateMessage(payload, 1 << 20), /exceeds the size limit/, true);
    // It stops as soon as the output passes the limit, before reading the rest: the first 8 KiB
    // of the bomb (8 MiB of output), cut short mid-block, fail as too big, not as truncated.
    fails(
      new Inflater().inflate(payload.subarray(0, 8192), 8192, 1 << 20),
      /exceeds the size limit/,
      true,
    );
    fails(new Inflater().inflate(payload.subarray(0, 8192)), /truncated/);
  });

  test("the bomb helper is a valid stream: zlib and the decoder agree on a small one", () => {
    const small = bomb(1001);
    const expected = new Uint8Array(1 + 258 * 1001);
    assertBytesEqual(ok(new Inflater().inflateMessage(small, 1 << 20)), expected);
    const viaZlib = zlib.inflateRawSync(concat([small, TAIL]), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    assertBytesEqual(new Uint8Array(viaZlib), expected);
  });
});

describe("inflate: malformed input is an InflateError, never an exception", () => {
  const fixed = (f: (w: BitWriter) => void) => {
    const w = new BitWriter().bits(1, 1).bits(1, 2);
    f(w);
    return w.done();
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["block type 3", hex("07"), /Invalid block type/],
    [
      "a stored block whose NLEN is not ~LEN",
      hex("01 05 00 00 00 48 65 6c 6c 6f"),
      /does not match/,
    ],
    ["a stored block cut short", hex("01 05 00 fa ff 48 65"), /truncated/],
    ["a fixed block cut short", hex("f3 48 cd"), /truncated/],
    [
      "literal/length code 286 in a fixed block",
      fixed((w) => w.code(0b11000110, 8)),
      /Invalid literal\/length code/,
    ],
    [
      "distance code 30 in a fixed block",
      fixed((w) => w.code(0b0000001, 7).code(30, 5)),
      /Invalid distance code/,
    ],
    [
      "a distance before the start of the output",
      fixed((w) => w.code(0b0000001, 7).code(0, 5)),
      /before the start/,
    ],
    [
      "too many literal/length codes (HLIT 30)",
      new BitWriter().bits(1, 1).bits(2, 2).bits(30, 5).bits(0, 5).bits(0, 4).done(),
      /Too many length or distance codes/,
    ],
    [
      "an over-subscribed code length code",
      new BitWriter().bits(1, 1).bits(2, 2).bits(0, 5).bits(0, 5).bits(0, 4).bits(1, 3).bits(1, 3)
        .bits(1, 3).bits(1, 3)
        .done(),
      /Invalid code lengths code/,
    ],
    [
      "a repeat of the previous length with no previous length",
      new BitWriter().bits(1, 1).bits(2, 2).bits(0, 5).bits(0, 5).bits(0, 4)
        .bits(1, 3).bits(0, 3).bits(0, 3).bits(1, 3).code(1, 1).bits(0, 2).done(),
      /repeat/,
    ],
  ];

  for (const [name, stream, pattern] of cases) {
    test(name, () => fails(new Inflater().inflate(stream), pattern));
  }

  test("a code without an end-of-block symbol", () => {
    // Code length code: symbol 8 -> 1 bit, symbol 0 -> 1 bit; 257 lengths of 8... except 256.
    const w = new BitWriter().bits(1, 1).bits(2, 2).bits(0, 5).bits(0, 5).bits(5 - 4, 4);
    for (const sym of [16, 17, 18, 0, 8]) w.bits(sym === 0 || sym === 8 ? 1 : 0, 3);
    for (let i = 0; i < 258; i++) w.code(i === 256 ? 0 : 1, 1);
    fails(new Inflater().inflate(w.done()), /end-of-block/);
  });

  test("random bytes and mutated zlib streams give bytes or an InflateError", () => {
    const r = mulberry32(2024);
    const seeds = [jsonText(3000), prose(5000), mixed(4000)].map((d, i) =>
      new Uint8Array(zlib.deflateRawSync(d, { level: 1 + i * 4 }))
    );
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) {
        input = new Uint8Array(1 + (r() % 300));
        for (let k = 0; k < input.length; k++) input[k] = r() & 255;
      } else {
        input = seeds[i % seeds.length].slice(0, 1 + (r() % seeds[i % seeds.length].length));
        for (let flips = 1 + (r() % 4); flips > 0; flips--) {
          input[r() % input.length] ^= 1 << (r() % 8);
        }
      }
      const inf = new Inflater(8 + (i % 8), i % 2 === 0);
      const result = i % 2 === 0
        ? inf.inflateMessage(input, 1 << 20)
        : inf.inflate(input, input.length, 1 << 20);
      if (result instanceof InflateError) errors++;
      else assert.ok(result.length <= 1 << 20);
    }
    assert.ok(errors > 1000, `${errors} errors`);
  });

  test("after an error the inflater forgets its history", () => {
    const inf = new Inflater();
    ok(inf.inflateMessage(hex("f2 48 cd c9 c9 07 00"), 100));
    assert.equal(inf.retainedBytes, 32768);
    fails(inf.inflateMessage(hex("07"), 100), /block type/);
    assert.equal(inf.retainedBytes, 0);
  });
});

describe("inflate: memory", () => {
  test("history is allocated on the first message, only with context takeover, and reset frees it", () => {
    for (let windowBits = 8; windowBits <= 15; windowBits++) {
      const inf = new Inflater(windowBits, true);
      assert.equal(inf.retainedBytes, 0);
      ok(inf.inflateMessage(hex("f2 48 cd c9 c9 07 00"), 100));
      assert.equal(inf.retainedBytes, 1 << Math.max(9, windowBits));
      inf.reset();
      assert.equal(inf.retainedBytes, 0);
      const none = new Inflater(windowBits, false);
      ok(none.inflateMessage(hex("f2 48 cd c9 c9 07 00"), 100));
      assert.equal(none.retainedBytes, 0);
    }
  });

  test("window bits outside 8..15 are refused", () => {
    assert.throws(() => new Inflater(7), RangeError);
    assert.throws(() => new Inflater(16), RangeError);
  });
});
