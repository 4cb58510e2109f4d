// The DEFLATE encoder (extensions/_deflate.ts): the RFC 7692 §7.2.3 payloads byte for byte, its
// output inflated by zlib (node:zlib, in tests only) at every level and window size, one message
// at a time and as one context-takeover stream, the window limit, block choice and memory.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { Deflater } from "../extensions/_deflate.ts";
import { InflateError, Inflater } from "../extensions/_inflate.ts";
import { assertBytesEqual, concat, hex, mulberry32, toHex } from "./_helpers.ts";
import { jsonText, mixed, noise, prose } from "./_deflate.ts";

const text = (s: string) => new TextEncoder().encode(s);
const TAIL = hex("00 00 ff ff");
const { Z_SYNC_FLUSH } = zlib.constants;

/** zlib's inflation of a raw stream (one that may end with a sync flush instead of a final block). */
function zlibInflate(stream: Uint8Array, windowBits = 15): Uint8Array {
  return new Uint8Array(zlib.inflateRawSync(stream, { windowBits, finishFlush: Z_SYNC_FLUSH }));
}

const inputs: Array<[string, Uint8Array]> = [
  ["empty", new Uint8Array(0)],
  ["one byte", text("x")],
  ["three bytes", text("abc")],
  ["json 30 KB", jsonText(30_000)],
  ["prose 80 KB", prose(80_000)],
  ["mixed 70 KB", mixed(70_000)],
  ["noise 10 KB", noise(10_000)],
];

describe("deflate: the RFC 7692 §7.2.3 payloads, byte for byte", () => {
  test("'Hello' is f2 48 cd c9 c9 07 00 at every level 1-9", () => {
    for (let level = 1; level <= 9; level++) {
      assert.equal(
        toHex(new Deflater({ level }).deflateMessage(text("Hello"))),
        "f2 48 cd c9 c9 07 00",
      );
    }
  });

  test("a second 'Hello' with context takeover is f2 00 11 00 00 (§7.2.3.2)", () => {
    for (let level = 1; level <= 9; level++) {
      const d = new Deflater({ level, takeover: true });
      d.deflateMessage(text("Hello"));
      assert.equal(toHex(d.deflateMessage(text("Hello"))), "f2 00 11 00 00", `level ${level}`);
    }
  });

  test("without context takeover the second 'Hello' is the first one again", () => {
    const d = new Deflater({ takeover: false });
    assert.equal(toHex(d.deflateMessage(text("Hello"))), "f2 48 cd c9 c9 07 00");
    assert.equal(toHex(d.deflateMessage(text("Hello"))), "f2 48 cd c9 c9 07 00");
  });

  test("level 0 sends a stored block: 00 05 00 fa ff 48 65 6c 6c 6f 00 (§7.2.3.3)", () => {
    assert.equal(
      toHex(new Deflater({ level: 0 }).deflateMessage(text("Hello"))),
      "00 05 00 fa ff 48 65 6c 6c 6f 00",
    );
  });

  test("an empty message is the lone byte 00 at every level", () => {
    for (let level = 0; level <= 9; level++) {
      assert.equal(toHex(new Deflater({ level }).deflateMessage(new Uint8Array(0))), "00");
    }
  });
});

describe("deflate: zlib inflates what it writes", () => {
  test("every level 0-9 at every window size 8-15, complete streams", () => {
    for (let level = 0; level <= 9; level++) {
      for (let windowBits = 8; windowBits <= 15; windowBits++) {
        for (const [name, data] of inputs) {
          const stream = new Deflater({ level, windowBits, takeover: false }).deflateRaw(data);
          // zlib's raw inflate takes 8 window bits as 8: any distance above 256 would fail.
          const out = new Uint8Array(zlib.inflateRawSync(stream, { windowBits }));
          assertBytesEqual(out, data, `level ${level}, window ${windowBits}, ${name}`);
        }
      }
    }
  });

  test("message by message: each payload plus 00 00 ff ff inflates alone without takeover", () => {
    for (const level of [1, 4, 6, 9]) {
      for (let windowBits = 8; windowBits <= 15; windowBits += 7) {
        const d = new Deflater({ level, windowBits, takeover: false });
        for (const [name, data] of inputs) {
          const message = d.deflateMessage(data);
          assertBytesEqual(
            zlibInflate(concat([message, TAIL]), windowBits),
            data,
            `${level}/${windowBits} ${name}`,
          );
        }
      }
    }
  });

  test("with takeover the messages and their tails form one stream that zlib inflates", () => {
    for (const level of [1, 3, 5, 6, 9]) {
      for (let windowBits = 8; windowBits <= 15; windowBits++) {
        const d = new Deflater({ level, windowBits, takeover: true });
        const r = mulberry32(level * 16 + windowBits);
        const messages: Uint8Array[] = [];
        const wire: Uint8Array[] = [];
        for (let i = 0; i < 10; i++) {
          const kind = r() % 4;
          const size = r() % 6000;
          const data = kind === 0
            ? jsonText(size, i % 3)
            : kind === 1
            ? prose(size, i % 2)
            : kind === 2
            ? mixed(size, i)
            : noise(size % 500, i);
          messages.push(data);
          wire.push(d.deflateMessage(data), TAIL);
        }
        assertBytesEqual(
          zlibInflate(concat(wire), windowBits),
          concat(messages),
          `level ${level}, window ${windowBits}`,
        );
      }
    }
  });

  test("a message several windows long slides the window, with and without takeover", () => {
    const data = concat([jsonText(150_000), mixed(100_000), prose(150_000)]);
    for (const windowBits of [8, 10, 15]) {
      for (const takeover of [true, false]) {
        const d = new Deflater({ level: 6, windowBits, takeover });
        const first = d.deflateMessage(data);
        const second = d.deflateMessage(data);
        const stream = takeover ? concat([first, TAIL, second, TAIL]) : concat([second, TAIL]);
        const expected = takeover ? concat([data, data]) : data;
        assertBytesEqual(
          zlibInflate(stream, windowBits),
          expected,
          `window ${windowBits}, takeover ${takeover}`,
        );
      }
    }
  });

  test("the decoder agrees: random message sequences through Deflater and Inflater", () => {
    for (let seed = 1; seed <= 24; seed++) {
      const r = mulberry32(seed);
      const windowBits = 8 + (seed % 8);
      const takeover = seed % 3 !== 0;
      const d = new Deflater({ level: seed % 10, windowBits, takeover });
      const inf = new Inflater(windowBits, takeover);
      for (let i = 0; i < 15; i++) {
        const data = mixed(r() % 20_000, seed * 100 + i);
        const out = inf.inflateMessage(d.deflateMessage(data), 1 << 20);
        if (out instanceof InflateError) assert.fail(out.message);
        assertBytesEqual(out, data);
      }
    }
  });
});

describe("deflate: what it chooses", () => {
  test("tiny input gets a fixed Huffman block, text a dynamic one, noise a stored one", () => {
    const btype = (payload: Uint8Array) => (payload[0] >> 1) & 3;
    assert.equal(btype(new Deflater().deflateMessage(text("Hello, world"))), 1);
    assert.equal(btype(new Deflater().deflateMessage(prose(20_000))), 2);
    assert.equal(btype(new Deflater().deflateMessage(noise(20_000))), 0);
  });

  test("ratios: JSON under 35% at level 6, noise grows by at most 5 bytes per 16 KiB block", () => {
    const json = jsonText(200_000);
    assert.ok(new Deflater({ level: 6 }).deflateMessage(json).length < json.length * 0.35);
    const random = noise(300_000);
    assert.ok(
      new Deflater({ level: 6 }).deflateMessage(random).length <=
        random.length + 5 * Math.ceil(random.length / 16384) + 1,
    );
  });

  test("higher levels never do worse than level 1 on text, and level 0 never compresses", () => {
    const data = prose(100_000);
    const sizes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((level) =>
      new Deflater({ level }).deflateMessage(data).length
    );
    assert.ok(sizes[0] > data.length);
    for (let level = 2; level <= 9; level++) assert.ok(sizes[level] <= sizes[1] * 1.01, `${sizes}`);
    assert.ok(sizes[9] < sizes[1]);
  });

  test("context takeover makes a repeated message tiny; without it, it costs the same again", () => {
    const data = jsonText(2000);
    const on = new Deflater({ takeover: true });
    const off = new Deflater({ takeover: false });
    const first = on.deflateMessage(data).length;
    assert.ok(on.deflateMessage(data).length < 40);
    assert.equal(off.deflateMessage(data).length, first);
    assert.equal(off.deflateMessage(data).length, first);
  });

  test("the output is deterministic and shared scratch does not leak between encoders", () => {
    const a = new Deflater({ takeover: true });
    const b = new Deflater({ takeover: false });
    const c = new Deflater({ takeover: true });
    const data = mixed(50_000);
    const fromA = a.deflateMessage(data);
    b.deflateMessage(prose(60_000));
    assertBytesEqual(c.deflateMessage(data), fromA);
  });
});

describe("deflate: memory", () => {
  test("context takeover allocates on the first message: 192 KiB at 15 window bits, 5 KiB at 8", () => {
    const expected: Record<number, number> = {};
    for (let windowBits = 8; windowBits <= 15; windowBits++) {
      const d = new Deflater({ windowBits, takeover: true });
      assert.equal(d.retainedBytes, 0);
      d.deflateMessage(text("Hello"));
      expected[windowBits] = d.retainedBytes;
      d.reset();
      assert.equal(d.retainedBytes, 0);
    }
    assert.equal(expected[15], 192 * 1024);
    assert.equal(expected[8], 5 * 1024);
    for (let windowBits = 9; windowBits <= 15; windowBits++) {
      assert.ok(expected[windowBits] >= expected[windowBits - 1]);
    }
  });

  test("without takeover and at level 0 nothing is kept between messages", () => {
    for (const options of [{ takeover: false }, { level: 0 }]) {
      const d = new Deflater(options);
      d.deflateMessage(prose(100_000));
      assert.equal(d.retainedBytes, 0);
    }
  });

  test("bad options are refused", () => {
    assert.throws(() => new Deflater({ level: 10 }), RangeError);
    assert.throws(() => new Deflater({ level: -1 }), RangeError);
    assert.throws(() => new Deflater({ windowBits: 7 }), RangeError);
    assert.throws(() => new Deflater({ windowBits: 16 }), RangeError);
  });
});
