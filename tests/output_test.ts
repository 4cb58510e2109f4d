import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FrameOutput } from "../framing/_output.ts";
import { decodeUtf8, writeAscii } from "../framing/_utf8.ts";
import { OP_BINARY, OP_CLOSE, OP_TEXT, writeFrame } from "../framing/rfc6455.ts";
import { assertBytesEqual, concat, encoder, mulberry32, seededBytes, toHex } from "./_helpers.ts";

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

/** The reference bytes: writeFrame's, which allocates a buffer per frame. */
function reference(b0: number, payload: Uint8Array, mask: Uint8Array | null): Uint8Array {
  const out: Uint8Array[] = [];
  writeFrame(out, b0 & 0x0f, (b0 & 0x80) !== 0, b0 & 0x70, payload, mask);
  return concat(out);
}

/** Strings whose UTF-8 length straddles the 125/126 and 65535/65536 header boundaries. */
const TEXTS = [
  "",
  "Hello",
  "a".repeat(125),
  "a".repeat(126),
  "é".repeat(62), // 124 bytes: the 3-byte bound (186) would need a longer header
  "é".repeat(63), // 126 bytes
  "€".repeat(41), // 123 bytes
  "mixed ascii, then ü, then 𝄞 and a lone surrogate \ud800 (sent as U+FFFD)",
  "x".repeat(2048),
  "ж".repeat(2048), // 4096 bytes, still encoded in place
  "ж".repeat(2049), // past the in-place limit
  "y".repeat(70_000), // 64-bit length
];

describe("FrameOutput", () => {
  test("text frames are byte for byte what writeFrame makes of the UTF-8, masked and not", () => {
    for (const text of TEXTS) {
      for (const mask of [null, KEY]) {
        const out = new FrameOutput();
        out.text(0x80 | OP_TEXT, text, mask);
        const got = concat(out.take());
        const want = reference(0x80 | OP_TEXT, encoder.encode(text), mask);
        assertBytesEqual(got, want, `${text.length} units, masked ${mask !== null}`);
      }
    }
  });

  test("binary frames of every header size are what writeFrame makes, masked and not", () => {
    for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 125, 126, 4096, 4097, 8200, 65535, 65536]) {
      const payload = seededBytes(n, n);
      for (const mask of [null, KEY]) {
        const out = new FrameOutput();
        out.frame(0x80 | OP_BINARY, payload, mask);
        assert.equal(out.bytes, reference(0x82, payload, mask).length);
        assertBytesEqual(
          concat(out.take()),
          reference(0x82, payload, mask),
          `${n} bytes, masked ${mask !== null}`,
        );
      }
    }
  });

  test("a masked payload at any alignment is masked correctly", () => {
    const backing = seededBytes(7, 300);
    for (let off = 0; off < 8; off++) {
      const payload = backing.subarray(off, off + 200);
      const out = new FrameOutput();
      out.frame(0x82, payload, KEY);
      assertBytesEqual(concat(out.take()), reference(0x82, payload, KEY), `offset ${off}`);
    }
  });

  test("frames written back to back leave as one chunk; raw bytes and large payloads split it", () => {
    const out = new FrameOutput();
    out.text(0x81, "one", null);
    out.frame(0x82, new Uint8Array([1, 2, 3]), null);
    out.text(0x81, "two", null);
    assert.equal(out.take().length, 1);
    const raw = encoder.encode("HTTP/1.1 101\r\n\r\n");
    const big = seededBytes(3, 5000);
    out.text(0x81, "a", null);
    out.raw(raw);
    out.text(0x81, "b", null);
    out.frame(0x82, big, null);
    out.text(0x81, "c", null);
    const chunks = out.take();
    assert.equal(chunks.length, 5); // "a" | raw | "b" + big's header | big | "c"
    assert.equal(chunks[1], raw, "raw bytes are not copied");
    assert.equal(chunks[3], big, "a large unmasked payload is not copied");
    assert.deepEqual(out.take(), []);
    assert.equal(out.bytes, 0);
  });

  test("connections writing in turn get their own chunks, in order", () => {
    const a = new FrameOutput();
    const b = new FrameOutput();
    a.text(0x81, "a1", null);
    b.text(0x81, "b1", null);
    a.text(0x81, "a2", null);
    b.text(0x81, "b2", null);
    const want = (s: string[]) =>
      toHex(concat(s.map((t) => reference(0x81, encoder.encode(t), null))));
    assert.equal(toHex(concat(a.take())), want(["a1", "a2"]));
    assert.equal(toHex(concat(b.take())), want(["b1", "b2"]));
  });

  test("bytes handed out are never written again, across many slabs", () => {
    const random = mulberry32(11);
    const kept: Array<[Uint8Array, string]> = [];
    const out = new FrameOutput();
    for (let i = 0; i < 3000; i++) {
      const n = random() % 700;
      const masked = random() & 1 ? KEY : null;
      if (random() & 1) out.frame(0x82, seededBytes(i, n), masked);
      else out.text(0x81, "é".repeat(n >> 1), masked);
      if (random() % 10 < 3) { for (const c of out.take()) kept.push([c, toHex(c)]); }
    }
    for (const c of out.take()) kept.push([c, toHex(c)]);
    for (const [chunk, hex] of kept) assert.equal(toHex(chunk), hex);
  });

  test("a close frame and a handshake keep their order with the frames around them", () => {
    const out = new FrameOutput();
    out.raw(new Uint8Array([9, 9]));
    out.frame(0x80 | OP_CLOSE, new Uint8Array([0x03, 0xe8]), null);
    assert.deepEqual([...concat(out.take())], [9, 9, 0x88, 0x02, 0x03, 0xe8]);
  });
});

describe("UTF-8 helpers", () => {
  test("decodeUtf8 decodes valid text and refuses invalid bytes, short and long", () => {
    for (const text of ["", "abc", "é€𝄞", "a".repeat(256) + "é", "b".repeat(1000)]) {
      assert.equal(decodeUtf8(encoder.encode(text)), text);
    }
    for (const bad of [[0x80], [0x61, 0xc3], [0xed, 0xa0, 0x80], [0xff], [0xc0, 0xaf]]) {
      assert.equal(decodeUtf8(new Uint8Array(bad)), null, toHex(new Uint8Array(bad)));
      const long = new Uint8Array(400).fill(0x61);
      long.set(bad, 390);
      assert.equal(decodeUtf8(long), null);
    }
  });

  test("decodeUtf8 keeps a leading BOM, as the connection always did", () => {
    assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), "\ufeffa");
  });

  test("writeAscii writes ASCII and stops at the first other unit", () => {
    const dst = new Uint8Array(8);
    assert.equal(writeAscii("abc", dst, 2), true);
    assert.deepEqual([...dst.subarray(2, 5)], [0x61, 0x62, 0x63]);
    assert.equal(writeAscii("aé", dst, 0), false);
  });
});
