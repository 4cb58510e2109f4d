/**
 * Helpers for the DEFLATE and permessage-deflate tests: seeded corpora of the kinds of data
 * WebSocket applications send, a bit writer for hand-made DEFLATE streams, and a decompression
 * bomb of any size.
 * @module
 */

import zlib from "node:zlib";
import type { Extension, ExtensionFactory } from "../core/extension.ts";
import { mulberry32, seededBytes } from "./_helpers.ts";

const encoder = new TextEncoder();

/** JSON lines like an API's events, `n` bytes, seeded. */
export function jsonText(n: number, seed = 7): Uint8Array {
  const r = mulberry32(seed);
  const names = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
  ];
  const cities = ["Paris", "Berlin", "Tokyo", "Lima", "Oslo", "Cairo", "Perth", "Quito"];
  let s = "";
  while (s.length < n) {
    s += JSON.stringify({
      id: r() % 1000000,
      user: names[r() % names.length] + (r() % 100),
      city: cities[r() % cities.length],
      ts: 1700000000000 + (r() % 100000000),
      score: (r() % 100000) / 100,
      active: (r() & 1) === 1,
      token: r().toString(16) + r().toString(16),
      tags: ["a" + (r() % 20), "b" + (r() % 50)],
    }) + "\n";
  }
  return encoder.encode(s.slice(0, n));
}

/** English-like prose with a skewed vocabulary, `n` bytes, seeded. */
export function prose(n: number, seed = 3): Uint8Array {
  const r = mulberry32(seed);
  const vocab =
    ("the of and to a in is it you that he was for on are with as his they be at one have this from or " +
      "had by word but what some we can out other were all there when up use your how said an each she which do their " +
      "time if will way about many then them write would like so these her long make thing see him two has look more " +
      "day could go come did number sound no most people my over know water than call first who may down side been now")
      .split(" ");
  let s = "";
  while (s.length < n) {
    const x = r() / 2 ** 32;
    s += vocab[Math.floor(x * x * vocab.length)] + (r() % 11 === 0 ? ". " : " ");
  }
  return encoder.encode(s.slice(0, n));
}

/** Incompressible bytes, seeded. */
export function noise(n: number, seed = 11): Uint8Array {
  return seededBytes(seed, n);
}

/** A mix of long runs, short repeats and noise, seeded: exercises every match length. */
export function mixed(n: number, seed = 5): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const kind = r() % 4;
    const len = Math.min(n - i, 1 + (r() % (kind === 0 ? 600 : 40)));
    if (kind === 0) out.fill(r() & 255, i, i + len);
    else if (kind === 1 && i > 0) {
      const dist = 1 + (r() % Math.min(i, 40000));
      for (let k = 0; k < len; k++) out[i + k] = out[i + k - dist];
    } else for (let k = 0; k < len; k++) out[i + k] = r() & 255;
    i += len;
  }
  return out;
}

/** Writes bits LSB first, as DEFLATE packs them; Huffman codes go in with {@linkcode BitWriter.code}. */
export class BitWriter {
  readonly bytes: number[] = [];
  #bits = 0;

  /** Append `n` bits of `value`, least significant first. */
  bits(value: number, n: number): this {
    for (let i = 0; i < n; i++) {
      if (this.#bits % 8 === 0) this.bytes.push(0);
      this.bytes[this.bytes.length - 1] |= ((value >> i) & 1) << (this.#bits % 8);
      this.#bits++;
    }
    return this;
  }

  /** Append a Huffman code of `n` bits, most significant first. */
  code(value: number, n: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits((value >> i) & 1, 1);
    return this;
  }

  /** How many bits were written. */
  get length(): number {
    return this.#bits;
  }

  /** The bytes written (the last one zero-padded). */
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/**
 * A permessage-deflate payload (tail removed) that inflates to `1 + 258 * matches` zero bytes at
 * the densest ratio DEFLATE allows: a dynamic block where a 258-byte match at distance 1 costs
 * two bits, so one byte of payload is 1,032 bytes of output. 4 MiB of payload inflate to 4 GiB.
 */
export function bomb(matches: number): Uint8Array {
  const w = new BitWriter();
  // Dynamic block header: 286 literal/length codes, 1 distance code, 18 code length codes.
  w.bits(0, 1).bits(2, 2).bits(286 - 257, 5).bits(0, 5).bits(18 - 4, 4);
  // Code length code: symbols 1 and 2 get 2 bits, 18 gets 1 bit (codes: 18 -> 0, 1 -> 10, 2 -> 11).
  const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
  for (const sym of order) w.bits(sym === 18 ? 1 : sym === 1 || sym === 2 ? 2 : 0, 3);
  const len1 = () => w.code(2, 2);
  const len2 = () => w.code(3, 2);
  const zeros = (n: number) => w.code(0, 1).bits(n - 11, 7);
  // Literal/length lengths: 0 -> 2, 1..255 -> 0, 256 -> 2, 257..284 -> 0, 285 -> 1; distance 0 -> 1.
  len2();
  zeros(138);
  zeros(117);
  len2();
  zeros(28);
  len1();
  len1();
  // Codes: 285 -> 0, literal 0 -> 10, end of block -> 11; distance 0 -> 0.
  w.code(2, 2); // one literal zero
  // Each match is two zero bits: reach a byte boundary, then whole zero bytes of four matches.
  let pending = matches;
  while (pending > 0 && w.length % 8 !== 0) {
    w.code(0, 1).code(0, 1);
    pending--;
  }
  const finish = (x: BitWriter) => x.code(3, 2).bits(0, 3); // end of block, then the empty
  // stored block whose 00 00 ff ff the sender removes
  if (w.length % 8 !== 0) return finish(w).done();
  const head = w.done();
  const body = Math.floor(pending / 4);
  const tail = new BitWriter();
  for (let i = body * 4; i < pending; i++) tail.code(0, 1).code(0, 1);
  const end = finish(tail).done();
  const out = new Uint8Array(head.length + body + end.length);
  out.set(head, 0);
  out.set(end, head.length + body);
  return out;
}

/**
 * A permessage-deflate payload (tail removed) of `mib` MiB of zeros, compressed by node:zlib at
 * level 6 as a peer would (about 1 KiB per MiB, a ratio of 1,028): one sync-flushed MiB repeated,
 * so a 1 GiB bomb is built without allocating 1 GiB.
 */
export function zlibZeros(mib: number): Uint8Array {
  const chunk = zlib.deflateRawSync(new Uint8Array(1 << 20), {
    level: 6,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const out = new Uint8Array(chunk.length * mib - 4);
  for (let i = 0; i < mib; i++) {
    out.set(chunk.subarray(0, i < mib - 1 ? chunk.length : -4), i * chunk.length);
  }
  return out;
}

/**
 * The messages the interop tests exchange with each peer: compressible text and binary of several
 * sizes (one repeated, which context takeover makes nearly free), incompressible noise, empties.
 */
export function interopMessages(): Array<[string, string | Uint8Array]> {
  const decoder = new TextDecoder();
  const json1k = decoder.decode(jsonText(1000, 1));
  return [
    ["empty text", ""],
    ["empty binary", new Uint8Array(0)],
    ["short text", "Hello"],
    ["unicode text", "Grüße, мир, 世界 ✓ 🎉"],
    ["json 1 KB", json1k],
    ["json 1 KB again", json1k],
    ["json 64 KB", decoder.decode(jsonText(65_536, 2))],
    ["prose 256 KB", decoder.decode(prose(1 << 18, 3))],
    ["mixed binary 200 KB", mixed(200_000, 4)],
    ["noise 100 B", noise(100, 5)],
    ["noise 64 KB", noise(65_536, 6)],
    ["noise 256 KB", noise(1 << 18, 7)],
  ];
}

/** Counts of what went through a permessage-deflate extension on one connection. */
export interface DeflateStats {
  /** Messages received compressed (RSV1 set). */
  compressedIn: number;
  /** Messages sent compressed. */
  compressedOut: number;
  /** Messages sent uncompressed (below the threshold, or not worth it). */
  plainOut: number;
}

/**
 * Wrap an extension factory so that each connection it is negotiated on counts its compressed
 * messages; `onNegotiated` receives each connection's counters as the handshake completes.
 */
export function counting(
  inner: ExtensionFactory,
  onNegotiated: (stats: DeflateStats) => void,
): ExtensionFactory {
  const wrap = (ext: Extension): Extension => {
    const stats: DeflateStats = { compressedIn: 0, compressedOut: 0, plainOut: 0 };
    onNegotiated(stats);
    return {
      name: ext.name,
      rsvBits: ext.rsvBits,
      encode(payload, binary) {
        const out = ext.encode(payload, binary);
        if (out.rsv !== 0) stats.compressedOut++;
        else stats.plainOut++;
        return out;
      },
      decode(payload, rsv, maxSize) {
        stats.compressedIn++;
        return ext.decode(payload, rsv, maxSize);
      },
    };
  };
  return {
    name: inner.name,
    offer: () => inner.offer(),
    accept(offers) {
      const chosen = inner.accept(offers);
      return chosen === null
        ? null
        : { response: chosen.response, extension: wrap(chosen.extension) };
    },
    accepted(response) {
      const ext = inner.accepted(response);
      return typeof ext === "string" ? ext : wrap(ext);
    },
  };
}
