/**
 * A synchronous MD5 (RFC 1321) for the hixie-76 handshake challenge response.
 * Pure TypeScript, so the handshake needs neither WebCrypto nor `node:crypto`.
 *
 * @module
 */

// Per-round additive constants: floor(abs(sin(i + 1)) * 2^32), from RFC 1321 section 3.4.
// deno-fmt-ignore
const K = new Int32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

// Left-rotation amounts, four per round group, repeating within each group of 16 steps.
const S = new Uint8Array([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

// Chaining state and message words, reused by every call (hashing is synchronous, so calls
// never interleave); a call allocates only its padded tail and its digest.
const H = new Int32Array(4);
const X = new Int32Array(16);

/**
 * Computes the MD5 digest of `data`.
 *
 * MD5 is broken for collision resistance; here it only answers the hixie-76
 * handshake challenge, which that draft defines with MD5. Do not use it for security.
 *
 * @param data The bytes to hash.
 * @returns The 16-byte digest.
 *
 * @example Digest of "abc"
 * ```ts
 * import { md5 } from "./_md5.ts";
 *
 * const digest = md5(new TextEncoder().encode("abc"));
 * // digest is 900150983cd24fb0d6963f7d28e17f72 (hex), digest.length === 16
 * ```
 */
export function md5(data: Uint8Array): Uint8Array {
  H[0] = 0x67452301;
  H[1] = 0xefcdab89;
  H[2] = 0x98badcfe;
  H[3] = 0x10325476;

  const length = data.length;
  const whole = length - (length & 63);
  for (let offset = 0; offset < whole; offset += 64) compress(data, offset);

  // The last length % 64 bytes, the 0x80 marker, zeros, and the message length in bits as a
  // 64-bit little-endian number (exact for any length below 2^53 bytes): one or two blocks.
  const rest = length - whole;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(whole));
  tail[rest] = 0x80;
  const end = tail.length;
  writeUint32(tail, end - 8, length << 3);
  writeUint32(tail, end - 4, Math.floor(length / 0x20000000));
  for (let offset = 0; offset < end; offset += 64) compress(tail, offset);

  const digest = new Uint8Array(16);
  for (let i = 0; i < 4; i++) writeUint32(digest, i << 2, H[i]);
  return digest;
}

/** Stores the low 32 bits of `value` little-endian at `bytes[offset..offset + 4]`. */
function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value;
  bytes[offset + 1] = value >>> 8;
  bytes[offset + 2] = value >>> 16;
  bytes[offset + 3] = value >>> 24;
}

/** Folds the 64-byte block at `bytes[offset]` into `H`. */
function compress(bytes: Uint8Array, offset: number): void {
  const x = X;
  for (let i = 0, p = offset; i < 16; i++, p += 4) {
    x[i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
  }

  let a = H[0];
  let b = H[1];
  let c = H[2];
  let d = H[3];
  // Each sum stays below 2^53, so `| 0` after it wraps exactly as 32-bit addition would.
  let i = 0;
  for (; i < 16; i++) {
    const t = (a + ((b & c) | (~b & d)) + K[i] + x[i]) | 0;
    const s = S[i & 3];
    a = d;
    d = c;
    c = b;
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
  }
  for (; i < 32; i++) {
    const t = (a + ((b & d) | (c & ~d)) + K[i] + x[(5 * i + 1) & 15]) | 0;
    const s = S[4 + (i & 3)];
    a = d;
    d = c;
    c = b;
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
  }
  for (; i < 48; i++) {
    const t = (a + (b ^ c ^ d) + K[i] + x[(3 * i + 5) & 15]) | 0;
    const s = S[8 + (i & 3)];
    a = d;
    d = c;
    c = b;
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
  }
  for (; i < 64; i++) {
    const t = (a + (c ^ (b | ~d)) + K[i] + x[(7 * i) & 15]) | 0;
    const s = S[12 + (i & 3)];
    a = d;
    d = c;
    c = b;
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
  }

  H[0] = (H[0] + a) | 0;
  H[1] = (H[1] + b) | 0;
  H[2] = (H[2] + c) | 0;
  H[3] = (H[3] + d) | 0;
}
