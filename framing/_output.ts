/**
 * A connection's outgoing bytes, written without a fresh buffer per frame.
 *
 * Small frames are written one after another into a slab of memory shared by every connection
 * in the process and handed out as views. No byte of a slab is written twice, so views stay valid
 * for as long as anyone holds them and the sharing needs no bookkeeping (Node's `Buffer` pool
 * works the same way); a slab is garbage once no view into it is left. Frames a connection
 * writes back to back form one contiguous run, handed out as one chunk however many frames it
 * holds: one write for a whole read batch's replies, without a gathering copy.
 *
 * Large unmasked payloads are not copied: their header goes into the slab and the payload
 * follows as a chunk of its own (vectored writes).
 *
 * @module
 */

import { applyMask, WORD_THRESHOLD } from "./_mask.ts";
import { COALESCE_LIMIT, headerSize, writeHeader } from "./rfc6455.ts";
import { writeAscii } from "./_utf8.ts";

/** Size of each shared slab. */
const SLAB_SIZE = 64 * 1024;
/** Frames larger than this get memory of their own, so one slab holds many frames. */
const SLAB_MAX = 8 * 1024;
/** Strings up to this many UTF-16 units are encoded straight into the slab. */
const TEXT_IN_PLACE = 2048;
/**
 * Strings up to this long are first tried as ASCII in a JavaScript loop, cheaper than a call to
 * `encodeInto` only this short (1 KiB: 3.7 µs in the loop, 0.15 µs native, on Node and Deno).
 */
const ASCII_LOOP_LIMIT = 32;

let slab: Uint8Array = new Uint8Array(0);
let slabPos = 0;
const encoder = new TextEncoder();

/**
 * Copy `src` into `dst` at `at`, masked with `key` when it is not null.
 *
 * @param src The payload.
 * @param dst Destination with room for the payload from `at`.
 * @param at Offset in `dst`.
 * @param key Masking key or null.
 */
export function copyPayload(
  src: Uint8Array,
  dst: Uint8Array,
  at: number,
  key: Uint8Array | null,
): void {
  const n = src.length;
  if (key === null) {
    // A call to set() costs more than a loop over these few bytes.
    if (n <= 16) { for (let i = 0; i < n; i++) dst[at + i] = src[i]; }
    else dst.set(src, at);
  } else if (n < WORD_THRESHOLD) {
    // No view for applyMask: below its word threshold it loops over bytes anyway.
    for (let i = 0; i < n; i++) dst[at + i] = src[i] ^ key[i & 3];
  } else {
    applyMask(src, dst.subarray(at, at + n), key, 0);
  }
}

/**
 * The outgoing bytes of one connection: frames and raw chunks (handshakes), in order, taken as a
 * list of chunks for one vectored write.
 */
export class FrameOutput {
  #chunks: Uint8Array[] = [];
  /** The slab holding the run of frames not yet in `#chunks`, or null when there is none. */
  #run: Uint8Array | null = null;
  #runStart = 0;
  #runEnd = 0;
  #bytes = 0;

  /** Bytes written and not yet taken. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Append a frame.
   * @param b0 First header byte: FIN, RSV bits, opcode.
   * @param payload The payload; copied unless unmasked and larger than {@linkcode COALESCE_LIMIT}.
   * @param mask A fresh 4-byte key for client frames, or null.
   */
  frame(b0: number, payload: Uint8Array, mask: Uint8Array | null): void {
    const length = payload.length;
    const h = headerSize(length, mask !== null);
    if (mask === null && length > COALESCE_LIMIT) {
      const at = this.#reserve(h);
      writeHeader(slab, at, b0, length, null);
      this.#commit(at, h);
      this.#push(payload);
      return;
    }
    const total = h + length;
    if (total > SLAB_MAX) {
      const buf = new Uint8Array(total);
      writeHeader(buf, 0, b0, length, mask);
      copyPayload(payload, buf, h, mask);
      this.#push(buf);
      return;
    }
    const at = this.#reserve(total);
    writeHeader(slab, at, b0, length, mask);
    copyPayload(payload, slab, at + h, mask);
    this.#commit(at, total);
  }

  /**
   * Append a text frame, encoding `text` straight into the output when it is short.
   * @param b0 First header byte: FIN, RSV bits, opcode.
   * @param text The payload, as a string.
   * @param mask A fresh 4-byte key for client frames, or null.
   */
  text(b0: number, text: string, mask: Uint8Array | null): void {
    const n = text.length;
    if (n > TEXT_IN_PLACE) return this.frame(b0, encoder.encode(text), mask);
    const masked = mask !== null;
    // Room for the worst case, 3 bytes per UTF-16 unit; only what is used is kept. The text
    // goes after a header sized for one byte per unit and moves if its length needs another.
    const at = this.#reserve(headerSize(3 * n, masked) + 3 * n);
    let h = headerSize(n, masked);
    let length = n;
    if (n > ASCII_LOOP_LIMIT || !writeAscii(text, slab, at + h)) {
      length = encoder.encodeInto(text, slab.subarray(at + h, at + h + 3 * n)).written;
      const fits = headerSize(length, masked);
      if (fits !== h) {
        slab.copyWithin(at + fits, at + h, at + h + length);
        h = fits;
      }
    }
    writeHeader(slab, at, b0, length, mask);
    if (mask !== null) {
      const body = slab.subarray(at + h, at + h + length);
      applyMask(body, body, mask, 0);
    }
    this.#commit(at, h + length);
  }

  /**
   * Append bytes as they are (a handshake, a hixie frame). Not copied: do not modify them.
   * @param bytes The bytes.
   */
  raw(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#push(bytes);
  }

  /** Take everything written so far, in order; an empty array when there is nothing. */
  take(): Uint8Array[] {
    if (this.#run !== null) this.#endRun();
    if (this.#chunks.length === 0) return [];
    const out = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    return out;
  }

  /** Offset in `slab` of `n` free bytes (a new slab when the current one is short). */
  #reserve(n: number): number {
    if (slabPos + n > slab.length) {
      slab = new Uint8Array(SLAB_SIZE);
      slabPos = 0;
    }
    return slabPos;
  }

  /** `n` bytes at `at` in `slab` are written: extend the run, or end it and start another. */
  #commit(at: number, n: number): void {
    slabPos = at + n;
    this.#bytes += n;
    if (this.#run === slab && this.#runEnd === at) {
      this.#runEnd = at + n;
      return;
    }
    if (this.#run !== null) this.#endRun();
    this.#run = slab;
    this.#runStart = at;
    this.#runEnd = at + n;
  }

  #push(bytes: Uint8Array): void {
    if (this.#run !== null) this.#endRun();
    this.#chunks.push(bytes);
    this.#bytes += bytes.length;
  }

  #endRun(): void {
    this.#chunks.push(this.#run!.subarray(this.#runStart, this.#runEnd));
    this.#run = null;
  }
}
