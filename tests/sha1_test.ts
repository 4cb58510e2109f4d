import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha1 } from "../handshake/_sha1.ts";
import { encodeBase64 } from "../handshake/_base64.ts";

const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

function oracle(data: Uint8Array): string {
  return createHash("sha1").update(data).digest("hex");
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

describe("sha1", () => {
  test("sha1 returns a fresh 20-byte Uint8Array", () => {
    const digest = sha1(new Uint8Array(0));
    assert.ok(digest instanceof Uint8Array);
    assert.equal(digest.length, 20);
    assert.notEqual(sha1(new Uint8Array(0)), digest);
  });

  test("sha1 matches the FIPS 180 vectors", () => {
    assert.equal(hex(sha1(encoder.encode(""))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert.equal(hex(sha1(encoder.encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(
      hex(sha1(encoder.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    );
    assert.equal(
      hex(sha1(encoder.encode(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      ))),
      "a49b2446a02c645bf419f995b67091253a04a259",
    );
  });

  test("sha1 of a million 'a' bytes matches the FIPS 180 vector", () => {
    const data = new Uint8Array(1_000_000).fill(0x61);
    assert.equal(hex(sha1(data)), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  test("sha1 gives the RFC 6455 section 1.3 accept key", () => {
    const key = "dGhlIHNhbXBsZSBub25jZQ==" + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    assert.equal(encodeBase64(sha1(encoder.encode(key))), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  test("sha1 matches node:crypto for every length 0..200", () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length + 1, length);
      assert.equal(hex(sha1(data)), oracle(data), `length ${length}`);
    }
  });

  test("sha1 matches node:crypto for random lengths up to 100 KB", () => {
    const next = mulberry32(1000);
    for (let i = 0; i < 30; i++) {
      const data = randomBytes(2000 + i, next() % 100_001);
      assert.equal(hex(sha1(data)), oracle(data), `length ${data.length}`);
    }
  });

  test("sha1 hashes only the view, whatever its offset in the buffer", () => {
    const backing = randomBytes(3000, 300);
    for (const [start, end] of [[1, 1], [1, 56], [3, 67], [7, 250], [13, 300]]) {
      const view = backing.subarray(start, end);
      assert.equal(hex(sha1(view)), oracle(view.slice()), `bytes ${start}..${end}`);
    }
  });

  test("sha1 leaves its input unchanged", () => {
    const data = randomBytes(4000, 130);
    const copy = data.slice();
    sha1(data);
    assert.deepEqual(data, copy);
  });
});
