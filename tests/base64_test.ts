import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeBase64, encodeBase64 } from "../handshake/_base64.ts";

const encoder = new TextEncoder();
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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

/** The runtime's own `btoa`, an independent encoder to compare against. */
function oracle(data: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < data.length; i += 4096) {
    binary += String.fromCharCode(...data.subarray(i, i + 4096));
  }
  return btoa(binary);
}

const RFC_4648_VECTORS: [string, string][] = [
  ["", ""],
  ["f", "Zg=="],
  ["fo", "Zm8="],
  ["foo", "Zm9v"],
  ["foob", "Zm9vYg=="],
  ["fooba", "Zm9vYmE="],
  ["foobar", "Zm9vYmFy"],
];

describe("encodeBase64", () => {
  test("encodeBase64 matches the RFC 4648 section 10 vectors", () => {
    for (const [input, expected] of RFC_4648_VECTORS) {
      assert.equal(encodeBase64(encoder.encode(input)), expected, JSON.stringify(input));
    }
  });

  test("encodeBase64 uses + and / for symbols 62 and 63", () => {
    assert.equal(encodeBase64(new Uint8Array([0xfb, 0xff, 0xbf])), "+/+/");
    assert.equal(encodeBase64(new Uint8Array([0xff])), "/w==");
    assert.equal(encodeBase64(new Uint8Array([0xff, 0xff])), "//8=");
  });

  test("encodeBase64 matches btoa for every length 0..200", () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length + 1, length);
      assert.equal(encodeBase64(data), oracle(data), `length ${length}`);
    }
  });

  test("encodeBase64 matches btoa for random lengths up to 100 KB", () => {
    const next = mulberry32(1000);
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(2000 + i, next() % 100_001);
      assert.equal(encodeBase64(data), oracle(data), `length ${data.length}`);
    }
  });

  test("encodeBase64 encodes only the view, whatever its offset in the buffer", () => {
    const backing = randomBytes(3000, 64);
    const view = backing.subarray(5, 42);
    assert.equal(encodeBase64(view), oracle(view.slice()));
  });
});

describe("decodeBase64", () => {
  test("decodeBase64 decodes the RFC 4648 section 10 vectors", () => {
    for (const [expected, input] of RFC_4648_VECTORS) {
      assert.deepEqual(decodeBase64(input), encoder.encode(expected), JSON.stringify(input));
    }
  });

  test("decodeBase64 returns a Uint8Array of the decoded length", () => {
    const bytes = decodeBase64("Zm9vYmE=");
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes.length, 5);
  });

  test("decodeBase64 inverts encodeBase64 for every length 0..200 and random lengths", () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length + 7, length);
      assert.deepEqual(decodeBase64(encodeBase64(data)), data, `length ${length}`);
    }
    const next = mulberry32(5000);
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(6000 + i, next() % 100_001);
      assert.deepEqual(decodeBase64(encodeBase64(data)), data, `length ${data.length}`);
    }
  });

  test("decodeBase64 rejects malformed, non-canonical and non-standard text with null", () => {
    const rejected = [
      "Zg", // padding missing
      "Zg=", // padding short
      "Zm9vYg", // padding missing after a whole group
      "Zh==", // non-zero unused bits under "=="
      "Zm9=", // non-zero unused bits under "="
      "Zg==Zg==", // padding in the middle
      "=Zg=", // padding at the start
      "Zg=a", // padding before a symbol
      "Z===", // three padding characters
      "====", // nothing but padding
      "Zm9v====", // a whole group of padding
      "Zm9v=", // length not a multiple of 4
      "Zm9v==", // length not a multiple of 4
      "Z g==", // space inside
      " Zm9v", // leading space
      "Zm9v ", // trailing space, length 5
      "Zm9vYmF ", // trailing space, length 8
      "Zm9v\n", // trailing newline
      "Zm9v\r\nYmFy", // line break inside
      "Zm9v\tYmE", // tab inside
      "Zm9v-_8=", // URL-safe alphabet
      "Zm9v.g==", // punctuation outside the alphabet
      "Zm9\0", // NUL
      "Zm9\u00e9", // Latin-1 letter
      "Zm9\u0176", // a character whose low byte is in the alphabet ("v" is 0x76)
      "\uff3am9v", // full-width "Z"
      "Zm9\ud800", // lone surrogate
      "Zm\ud83d\ude00", // emoji (a surrogate pair)
    ];
    for (const text of rejected) {
      assert.equal(decodeBase64(text), null, JSON.stringify(text));
    }
  });

  test("decodeBase64 accepts exactly the canonical one- and two-byte tails", () => {
    // Of the 64 * 64 texts "xy==", only the 256 with zero unused bits decode, and each
    // re-encodes to itself; likewise the 65536 of the 64^3 texts "xyz=".
    let accepted = 0;
    for (const x of ALPHABET) {
      for (const y of ALPHABET) {
        const text = x + y + "==";
        const bytes = decodeBase64(text);
        if (bytes === null) continue;
        accepted++;
        assert.equal(bytes.length, 1);
        assert.equal(encodeBase64(bytes), text);
      }
    }
    assert.equal(accepted, 256);

    accepted = 0;
    for (const x of ALPHABET) {
      for (const y of ALPHABET) {
        for (const z of ALPHABET) {
          const text = x + y + z + "=";
          const bytes = decodeBase64(text);
          if (bytes === null) continue;
          accepted++;
          assert.equal(bytes.length, 2);
          assert.equal(encodeBase64(bytes), text);
        }
      }
    }
    assert.equal(accepted, 65536);
  });

  test("decodeBase64 never throws, and whatever it accepts re-encodes to the same text", () => {
    const pool = ALPHABET + ALPHABET + "====-_ \t\r\n.\0\u00e9\u0141\ud800\udc00\uff3a";
    const next = mulberry32(7000);
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      const length = next() % 13;
      for (let j = 0; j < length; j++) text += pool[next() % pool.length];
      const bytes = decodeBase64(text);
      if (bytes !== null) assert.equal(encodeBase64(bytes), text, JSON.stringify(text));
    }
  });
});
