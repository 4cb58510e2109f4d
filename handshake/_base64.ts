/**
 * Standard base64 (RFC 4648 section 4) for handshake keys: an encoder, and a strict
 * decoder that accepts only the one canonical, padded encoding of each byte string.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Symbol value of each ASCII code, or -1 for a character outside the alphabet.
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const PAD = 0x3d; // "="

/**
 * Encodes bytes as standard base64, padded with `=` to a multiple of four characters.
 *
 * @param data The bytes to encode.
 * @returns The base64 text.
 *
 * @example Encoding a short string
 * ```ts
 * import { encodeBase64 } from "./_base64.ts";
 *
 * const text = encodeBase64(new TextEncoder().encode("foobar"));
 * // text === "Zm9vYmFy"
 * ```
 */
export function encodeBase64(data: Uint8Array): string {
  const length = data.length;
  const whole = length - (length % 3);
  let out = "";
  let i = 0;
  for (; i < whole; i += 3) {
    const n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] + ALPHABET[(n >>> 6) & 63] +
      ALPHABET[n & 63];
  }
  if (length - whole === 1) {
    const n = data[i];
    out += ALPHABET[n >>> 2] + ALPHABET[(n & 3) << 4] + "==";
  } else if (length - whole === 2) {
    const n = (data[i] << 8) | data[i + 1];
    out += ALPHABET[n >>> 10] + ALPHABET[(n >>> 4) & 63] + ALPHABET[(n & 15) << 2] + "=";
  }
  return out;
}

/**
 * Decodes standard, padded base64, strictly.
 *
 * Returns `null` unless `text` is exactly what {@linkcode encodeBase64} would produce for
 * some bytes: a length that is a multiple of four, only the standard alphabet, at most two
 * `=` and only at the end, and zero in the unused bits of the last symbol. Whitespace,
 * the URL-safe alphabet and missing padding are all rejected. Never throws.
 *
 * @param text The base64 text.
 * @returns The decoded bytes, or `null` if `text` is not canonical base64.
 *
 * @example Strict decoding
 * ```ts
 * import { decodeBase64 } from "./_base64.ts";
 *
 * const bytes = decodeBase64("Zm9vYg==");
 * // bytes holds the 4 bytes of "foob"
 * const rejected = decodeBase64("Zm9vYg");
 * // rejected === null (padding missing)
 * ```
 */
export function decodeBase64(text: string): Uint8Array | null {
  const length = text.length;
  if ((length & 3) !== 0) return null;
  let padding = 0;
  if (length > 0 && text.charCodeAt(length - 1) === PAD) {
    padding = text.charCodeAt(length - 2) === PAD ? 2 : 1;
  }
  const symbols = length - padding;
  const out = new Uint8Array(((length >>> 2) * 3) - padding);

  let bits = 0;
  let j = 0;
  for (let i = 0; i < symbols; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? DECODE[code] : -1;
    if (value < 0) return null;
    bits = (bits << 6) | value;
    if ((i & 3) === 3) {
      out[j++] = bits >>> 16;
      out[j++] = (bits >>> 8) & 0xff;
      out[j++] = bits & 0xff;
      bits = 0;
    }
  }
  if (padding === 2) {
    // Two symbols carry 12 bits: 8 of data, and 4 that a canonical encoder leaves zero.
    if ((bits & 0x0f) !== 0) return null;
    out[j] = bits >>> 4;
  } else if (padding === 1) {
    // Three symbols carry 18 bits: 16 of data, and 2 that a canonical encoder leaves zero.
    if ((bits & 0x03) !== 0) return null;
    out[j++] = bits >>> 10;
    out[j] = (bits >>> 2) & 0xff;
  }
  return out;
}
