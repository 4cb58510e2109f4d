/**
 * A synchronous SHA-1 (FIPS 180-4) for the RFC 6455 `Sec-WebSocket-Accept` key.
 * Pure TypeScript, so the handshake needs neither WebCrypto's promises nor `node:crypto`.
 *
 * @module
 */

// Chaining state and message schedule, reused by every call (hashing is synchronous, so
// calls never interleave); a call allocates only its padded tail and its digest.
const H = new Int32Array(5);
const W = new Int32Array(80);

/**
 * Computes the SHA-1 digest of `data`.
 *
 * SHA-1 is broken for collision resistance; here it only derives the handshake
 * accept key, as RFC 6455 requires. Do not use it for anything that needs security.
 *
 * @param data The bytes to hash.
 * @returns The 20-byte digest.
 *
 * @example Digest of "abc"
 * ```ts
 * import { sha1 } from "./_sha1.ts";
 *
 * const digest = sha1(new TextEncoder().encode("abc"));
 * // digest is a9993e364706816aba3e25717850c26c9cd0d89d (hex), digest.length === 20
 * ```
 */
export function sha1(data: Uint8Array): Uint8Array {
  H[0] = 0x67452301;
  H[1] = 0xefcdab89;
  H[2] = 0x98badcfe;
  H[3] = 0x10325476;
  H[4] = 0xc3d2e1f0;

  const length = data.length;
  const whole = length - (length & 63);
  for (let offset = 0; offset < whole; offset += 64) compress(data, offset);

  // The last length % 64 bytes, the 0x80 marker, zeros, and the message length in bits as a
  // 64-bit big-endian number (exact for any length below 2^53 bytes): one or two blocks.
  const rest = length - whole;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(whole));
  tail[rest] = 0x80;
  const end = tail.length;
  writeUint32(tail, end - 8, Math.floor(length / 0x20000000));
  writeUint32(tail, end - 4, length << 3);
  for (let offset = 0; offset < end; offset += 64) compress(tail, offset);

  const digest = new Uint8Array(20);
  for (let i = 0; i < 5; i++) writeUint32(digest, i << 2, H[i]);
  return digest;
}

/** Stores the low 32 bits of `value` big-endian at `bytes[offset..offset + 4]`. */
function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}

/** Folds the 64-byte block at `bytes[offset]` into `H`. */
function compress(bytes: Uint8Array, offset: number): void {
  const w = W;
  for (let i = 0, p = offset; i < 16; i++, p += 4) {
    w[i] = (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
  }
  for (let i = 16; i < 80; i++) {
    const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
    w[i] = (x << 1) | (x >>> 31);
  }

  let a = H[0];
  let b = H[1];
  let c = H[2];
  let d = H[3];
  let e = H[4];
  // Each sum stays below 2^53, so `| 0` after it wraps exactly as 32-bit addition would.
  let i = 0;
  for (; i < 20; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + w[i] + 0x5a827999) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (; i < 40; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + w[i] + 0x6ed9eba1) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (; i < 60; i++) {
    const f = (b & c) | (b & d) | (c & d);
    const t = (((a << 5) | (a >>> 27)) + f + e + w[i] + 0x8f1bbcdc) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (; i < 80; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + w[i] + 0xca62c1d6) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }

  H[0] = (H[0] + a) | 0;
  H[1] = (H[1] + b) | 0;
  H[2] = (H[2] + c) | 0;
  H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0;
}
