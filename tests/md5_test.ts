import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { md5 } from "../handshake/_md5.ts";

const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

function oracle(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** A seeded PRNG (mulberry32) returning 32-bit unsigned integers, so every run checks the same inputs. */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomBytes(seed: number, length: number): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() >>> 24;
  return out;
}

describe("md5", () => {
  test("md5 returns a fresh 16-byte Uint8Array", () => {
    const digest = md5(new Uint8Array(0));
    assert.ok(digest instanceof Uint8Array);
    assert.equal(digest.length, 16);
    assert.notEqual(md5(new Uint8Array(0)), digest);
  });

  test("md5 matches the RFC 1321 test suite", () => {
    const suite: [string, string][] = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      [
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "d174ab98d277d9f5a5611c2c9f419d9f",
      ],
      [
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "57edf4a22be3c955ac49da2e2107b67a",
      ],
    ];
    for (const [input, expected] of suite) {
      assert.equal(hex(md5(encoder.encode(input))), expected, JSON.stringify(input));
    }
  });

  test("md5 of the 448-bit FIPS message matches node:crypto", () => {
    const data = encoder.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    assert.equal(hex(md5(data)), "8215ef0796a20bcaaae116d3876c664a");
    assert.equal(hex(md5(data)), oracle(data));
  });

  test("md5 of a million 'a' bytes matches the known digest", () => {
    const data = new Uint8Array(1_000_000).fill(0x61);
    assert.equal(hex(md5(data)), "7707d6ae4e027c70eea2a935c2296f21");
  });

  test("md5 answers the hixie-76 challenge from the draft's example", () => {
    // draft-hixie-thewebsocketprotocol-76 section 1.3: each key's digits divided by its
    // number of spaces, as two big-endian 32-bit numbers, then the 8 body bytes "^n:ds[4U".
    const keyNumber = (key: string): number =>
      Number(key.replace(/[^0-9]/g, "")) / key.replace(/[^ ]/g, "").length;
    const challenge = new Uint8Array(16);
    const view = new DataView(challenge.buffer);
    view.setUint32(0, keyNumber("4 @1  46546xW%0l 1 5"));
    view.setUint32(4, keyNumber("12998 5 Y3 1  .P00"));
    challenge.set(encoder.encode("^n:ds[4U"), 8);
    assert.equal(new TextDecoder().decode(md5(challenge)), "8jKS'y:G*Co,Wxa-");
  });

  test("md5 matches node:crypto for every length 0..200", () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length + 1, length);
      assert.equal(hex(md5(data)), oracle(data), `length ${length}`);
    }
  });

  test("md5 matches node:crypto for random lengths up to 100 KB", () => {
    const next = mulberry32(1000);
    for (let i = 0; i < 30; i++) {
      const data = randomBytes(2000 + i, next() % 100_001);
      assert.equal(hex(md5(data)), oracle(data), `length ${data.length}`);
    }
  });

  test("md5 hashes only the view, whatever its offset in the buffer", () => {
    const backing = randomBytes(3000, 300);
    for (const [start, end] of [[1, 1], [1, 56], [3, 67], [7, 250], [13, 300]]) {
      const view = backing.subarray(start, end);
      assert.equal(hex(md5(view)), oracle(view.slice()), `bytes ${start}..${end}`);
    }
  });

  test("md5 leaves its input unchanged", () => {
    const data = randomBytes(4000, 130);
    const copy = data.slice();
    md5(data);
    assert.deepEqual(data, copy);
  });
});
