/**
 * A raw DEFLATE encoder (RFC 1951) for permessage-deflate: LZ77 over hash chains, then stored,
 * fixed or dynamic Huffman blocks, whichever is smallest; each message ends with a sync flush
 * whose `00 00 ff ff` is left out (RFC 7692 §7.2.1).
 *
 * Invariants:
 * - Synchronous and allocation-light: symbol buffers, frequency tables and the output buffer are
 *   module-level scratch shared by every encoder (a message is encoded in one call, never
 *   re-entered), and each message's output is copied out at its exact size.
 * - With context takeover an encoder owns its LZ77 state (window, hash head and chain), allocated
 *   on its first message: 2 * wsize + 2 * wsize + 2 * 2^hashBits bytes, 192 KiB at 15 window bits
 *   (see {@linkcode Deflater.retainedBytes}). Without takeover it owns nothing between messages:
 *   it borrows one shared state and resets it per message.
 * - Matches never reach further back than 2^windowBits bytes (nor 32,506, zlib's own limit, at
 *   15 bits), so a peer that asked for a small window can always decode.
 *
 * The match finders follow zlib's (greedy for levels 1-3, lazy for 4-9, with zlib's table of
 * chain lengths), with a multiplicative hash of four bytes (three at the end of the window).
 *
 * @module
 */

const MIN_MATCH = 3;
const MAX_MATCH = 258;
/** Lookahead kept available so a match never runs past the window buffer. */
const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1;
/** Symbols per block (zlib's lit_bufsize at memLevel 8). */
const LIT_BUFSIZE = 16384;
const TOO_FAR = 4096;
const HASH_MUL = 0x9e3779b1 | 0;

/** zlib's configuration table: good length, max lazy, nice length, max chain; fast (greedy) or not. */
const CONFIG: ReadonlyArray<readonly [number, number, number, number, boolean]> = [
  [0, 0, 0, 0, false],
  [4, 4, 8, 4, true],
  [4, 5, 16, 8, true],
  [4, 6, 32, 32, true],
  [4, 4, 16, 16, false],
  [8, 16, 32, 32, false],
  [8, 16, 128, 128, false],
  [8, 32, 128, 256, false],
  [32, 128, 258, 1024, false],
  [32, 258, 258, 4096, false],
];

const LEN_EXTRA = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
const BL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** The length and distance code tables of RFC 1951 §3.2.5, built once. */
function codeTables(): [Uint8Array, Uint8Array, Uint8Array, Uint16Array] {
  const lengthCode = new Uint8Array(256);
  const lengthBase = new Uint8Array(29);
  const distCode = new Uint8Array(512);
  const distBase = new Uint16Array(30);
  let length = 0;
  for (let code = 0; code < 28; code++) {
    lengthBase[code] = length;
    for (let n = 0; n < 1 << LEN_EXTRA[code]; n++) lengthCode[length++] = code;
  }
  // 258 (length - 3 = 255) has its own code, overriding the last entry of code 27.
  lengthCode[255] = 28;
  lengthBase[28] = 255;
  let dist = 0;
  for (let code = 0; code < 16; code++) {
    distBase[code] = dist;
    for (let n = 0; n < 1 << DIST_EXTRA[code]; n++) distCode[dist++] = code;
  }
  dist >>= 7;
  for (let code = 16; code < 30; code++) {
    distBase[code] = dist << 7;
    for (let n = 0; n < 1 << (DIST_EXTRA[code] - 7); n++) distCode[256 + dist++] = code;
  }
  return [lengthCode, lengthBase, distCode, distBase];
}
/**
 * Length - 3 -> length code (0..28), and the base (length - 3) of each code; distance - 1 ->
 * distance code (`distCode[d]` for d < 256, else `distCode[256 + (d >> 7)]`), and the base
 * (distance - 1) of each code.
 */
const [lengthCode, lengthBase, distCode, distBase] = codeTables();

/** Each byte with its bits in reverse order. */
const REV8: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let r = 0;
    for (let b = 0; b < 8; b++) r |= ((i >> b) & 1) << (7 - b);
    table[i] = r;
  }
  return table;
})();

/** Canonical codes (bit-reversed, ready to send LSB first) for the given lengths. */
function assignCodes(lengths: Uint8Array, n: number, codes: Uint16Array): void {
  const blCount = new Uint16Array(16);
  for (let i = 0; i < n; i++) blCount[lengths[i]]++;
  blCount[0] = 0;
  const next = new Uint16Array(16);
  let code = 0;
  for (let len = 1; len < 16; len++) {
    code = (code + blCount[len - 1]) << 1;
    next[len] = code;
  }
  for (let i = 0; i < n; i++) {
    const len = lengths[i];
    if (len === 0) continue;
    const c = next[len]++;
    codes[i] = ((REV8[c & 0xff] << 8) | REV8[c >>> 8]) >>> (16 - len);
  }
}

// Fixed Huffman codes (RFC 1951 §3.2.6).
const fixedLitLen: Uint8Array = new Uint8Array(288).fill(8, 0, 144).fill(9, 144, 256).fill(
  7,
  256,
  280,
).fill(8, 280, 288);
const fixedDistLen: Uint8Array = new Uint8Array(30).fill(5);
const fixedLitCode: Uint16Array = codesFor(fixedLitLen, 288);
const fixedDistCode: Uint16Array = codesFor(fixedDistLen, 30);

function codesFor(lengths: Uint8Array, n: number): Uint16Array {
  const codes = new Uint16Array(n);
  assignCodes(lengths, n, codes);
  return codes;
}

// ---- Huffman code lengths ------------------------------------------------------------------

const sortKeys = new Int32Array(288);
const weights = new Int32Array(288);
const lenCount = new Uint16Array(32);

/**
 * Optimal code lengths for `freq[0..n)` limited to `maxBits` (Moffat-Katajainen in place, then
 * the Kraft-sum repair miniz uses). Symbols with zero frequency get length 0; at least two
 * symbols get a code, as decoders expect.
 */
function buildLengths(freq: Uint16Array, n: number, maxBits: number, lengths: Uint8Array): void {
  lengths.fill(0, 0, n);
  let m = 0;
  for (let i = 0; i < n; i++) if (freq[i] !== 0) sortKeys[m++] = (freq[i] << 9) | i;
  if (m < 2) {
    // One symbol or none: give two symbols one-bit codes.
    const a = m === 1 ? sortKeys[0] & 511 : 0;
    lengths[a] = 1;
    lengths[a === 0 ? 1 : 0] = 1;
    return;
  }
  const keys = sortKeys.subarray(0, m);
  keys.sort();
  const A = weights;
  for (let i = 0; i < m; i++) A[i] = keys[i] >>> 9;
  // Moffat and Katajainen's in-place algorithm. Pass 1: internal node weights, parent pointers.
  A[0] += A[1];
  let root = 0;
  let leaf = 2;
  for (let next = 1; next < m - 1; next++) {
    if (leaf >= m || A[root] < A[leaf]) {
      A[next] = A[root];
      A[root++] = next;
    } else {
      A[next] = A[leaf++];
    }
    if (leaf >= m || (root < next && A[root] < A[leaf])) {
      A[next] += A[root];
      A[root++] = next;
    } else {
      A[next] += A[leaf++];
    }
  }
  // Pass 2: depths of internal nodes.
  A[m - 2] = 0;
  for (let next = m - 3; next >= 0; next--) A[next] = A[A[next]] + 1;
  // Pass 3: depths of leaves, the most frequent last.
  let avail = 1;
  let used = 0;
  let depth = 0;
  root = m - 2;
  let next = m - 1;
  while (avail > 0) {
    while (root >= 0 && A[root] === depth) {
      used++;
      root--;
    }
    while (avail > used) {
      A[next--] = depth;
      avail--;
    }
    avail = 2 * used;
    depth++;
    used = 0;
  }
  // A[i] is now the length of the i-th least frequent symbol. Count, limit, assign.
  lenCount.fill(0);
  for (let i = 0; i < m; i++) lenCount[A[i] > maxBits ? maxBits : A[i]]++;
  let total = 0;
  for (let len = maxBits; len > 0; len--) total += lenCount[len] << (maxBits - len);
  while (total > 1 << maxBits) {
    lenCount[maxBits]--;
    for (let len = maxBits - 1; len > 0; len--) {
      if (lenCount[len] !== 0) {
        lenCount[len]--;
        lenCount[len + 1] += 2;
        break;
      }
    }
    total--;
  }
  let k = 0;
  for (let len = maxBits; len > 0; len--) {
    for (let c = lenCount[len]; c > 0; c--) lengths[keys[k++] & 511] = len;
  }
}

// ---- shared block scratch ------------------------------------------------------------------

const symDist = new Uint16Array(LIT_BUFSIZE);
const symLen = new Uint8Array(LIT_BUFSIZE);
const litFreq = new Uint16Array(286);
const distFreq = new Uint16Array(30);
const blFreq = new Uint16Array(19);
const litLen = new Uint8Array(286);
const litCode = new Uint16Array(286);
const distLen = new Uint8Array(30);
const dCode = new Uint16Array(30);
const blLen = new Uint8Array(19);
const blCode = new Uint16Array(19);
/** The run-length coded code lengths of a dynamic header: symbol and extra bits value. */
const rleSym = new Uint8Array(286 + 30);
const rleExtra = new Uint8Array(286 + 30);
const allLens = new Uint8Array(286 + 30);

/** Output scratch, shared; grown as needed, kept up to this size. */
const KEEP_OUT = 256 * 1024;
let outBuf: Uint8Array = new Uint8Array(16 * 1024);

/** The LZ77 state: persistent (window, chains, position) and the working fields of one message. */
class Lz77 {
  readonly wsize: number;
  readonly hashBits: number;
  readonly window: Uint8Array;
  /** The window, for reading four bytes at a time. */
  readonly view: DataView;
  readonly prev: Uint16Array;
  readonly head: Uint16Array;
  /** Current position in the window. Position 0 is never matched (0 means "no position"). */
  strstart = 0;
  /** Trailing positions of the previous message not hashed yet (their 3 bytes were not all there). */
  pendingInsert = 0;
  // Working fields of the message being encoded.
  data: Uint8Array = new Uint8Array(0);
  dpos = 0;
  lookahead = 0;
  blockStart = 0;
  symCount = 0;
  flushEnd = 0;
  matchStart = 0;
  matchLength = MIN_MATCH - 1;
  matchAvailable = 0;
  maxDist = 0;
  hashShift = 0;
  hashMask = 0;
  good = 0;
  lazy = 0;
  nice = 0;
  chain = 0;

  constructor(wsize: number, hashBits: number) {
    this.wsize = wsize;
    this.hashBits = hashBits;
    this.window = new Uint8Array(2 * wsize);
    this.view = new DataView(this.window.buffer);
    this.prev = new Uint16Array(wsize);
    this.head = new Uint16Array(1 << hashBits);
  }

  get bytes(): number {
    return this.window.length + this.prev.length * 2 + this.head.length * 2;
  }
}

/** The state shared by every encoder without context takeover. */
let sharedLz: Lz77 | null = null;

/** Hash the three bytes at `p` into the chains. */
function insertAt(z: Lz77, p: number): void {
  const w = z.window;
  const h = Math.imul(w[p] | (w[p + 1] << 8) | (w[p + 2] << 16) | (w[p + 3] << 24), HASH_MUL) >>>
    z.hashShift;
  z.prev[p & z.hashMask] = z.head[h];
  z.head[h] = p;
}

/** Where the last match found by {@linkcode longestMatch} starts. */
let matchStart = 0;

/**
 * zlib's longest_match: the longest match for the string at `scan` among the hash chain starting
 * at `cur`, longer than `best`; sets {@linkcode matchStart}. Never longer than `lookahead`.
 *
 * Bytes are compared four at a time through the window's DataView: a candidate must agree on
 * its first four bytes and on the four ending where a longer match would end, and a match is
 * extended a word at a time (the first differing byte found from the XOR's lowest set bit).
 * Candidates sharing only three bytes are skipped: the hash covers four, so those are rare
 * collisions.
 */
function longestMatch(
  z: Lz77,
  cur: number,
  scan: number,
  best: number,
  lookahead: number,
  limit: number,
): number {
  const nice = z.nice < lookahead ? z.nice : lookahead;
  // No longer match can count (every caller's best is below zlib's nice length), or the first
  // word would run off the window.
  if (best >= nice || scan + 4 > z.window.length) return best <= lookahead ? best : lookahead;
  const w = z.window;
  const v = z.view;
  const prev = z.prev;
  const mask = z.hashMask;
  let chain = best >= z.good ? z.chain >> 2 : z.chain;
  const strend = scan + (lookahead < MAX_MATCH ? lookahead : MAX_MATCH);
  const wordEnd = strend - 4;
  const first = v.getInt32(scan, true);
  let off = best >= 3 ? best - 3 : 0;
  let last = v.getInt32(scan + off, true);
  do {
    if (v.getInt32(cur + off, true) !== last || v.getInt32(cur, true) !== first) continue;
    const delta = cur - scan;
    let a = scan + 4;
    for (;;) {
      if (a > wordEnd) {
        while (a < strend && w[a] === w[a + delta]) a++;
        break;
      }
      const x = v.getInt32(a, true) ^ v.getInt32(a + delta, true);
      if (x !== 0) {
        a += (31 - Math.clz32(x & -x)) >> 3;
        break;
      }
      a += 4;
    }
    const len = a - scan;
    if (len > best) {
      matchStart = cur;
      best = len;
      if (len >= nice) break;
      off = best - 3;
      last = v.getInt32(scan + off, true);
    }
  } while ((cur = prev[cur & mask]) > limit && --chain !== 0);
  return best <= lookahead ? best : lookahead;
}

/**
 * Greedy matching (zlib's deflate_fast, levels 1-3) until the symbol buffer is full or the
 * lookahead runs low (`last`: no more input, so run to the end). Rare work (filling the window,
 * emitting blocks) is left to the caller, which keeps this loop free of cold paths.
 */
function fastLoop(z: Lz77, last: boolean): void {
  const w = z.window;
  const v = z.view;
  /** Positions whose four hashed bytes are all inside the window (the rest hash three). */
  const safe = w.length - 4;
  const head = z.head;
  const prev = z.prev;
  const mask = z.hashMask;
  const shift = z.hashShift;
  const maxDist = z.maxDist;
  const maxInsert = z.lazy;
  const minLook = last ? 1 : MIN_LOOKAHEAD;
  let strstart = z.strstart;
  let lookahead = z.lookahead;
  let n = z.symCount;
  while (lookahead >= minLook && n < LIT_BUFSIZE) {
    let matchLength = 0;
    if (lookahead >= MIN_MATCH) {
      const h = Math.imul(
        strstart <= safe
          ? v.getInt32(strstart, true)
          : w[strstart] | (w[strstart + 1] << 8) | (w[strstart + 2] << 16),
        HASH_MUL,
      ) >>> shift;
      const cand = head[h];
      prev[strstart & mask] = cand;
      head[h] = strstart;
      if (cand !== 0 && strstart - cand <= maxDist) {
        matchLength = longestMatch(
          z,
          cand,
          strstart,
          MIN_MATCH - 1,
          lookahead,
          strstart > maxDist ? strstart - maxDist : 0,
        );
      }
    }
    if (matchLength >= MIN_MATCH) {
      const lc = matchLength - MIN_MATCH;
      const d = strstart - matchStart - 1;
      symDist[n] = d + 1;
      symLen[n++] = lc;
      litFreq[257 + lengthCode[lc]]++;
      distFreq[d < 256 ? distCode[d] : distCode[256 + (d >> 7)]]++;
      lookahead -= matchLength;
      if (matchLength <= maxInsert && lookahead >= MIN_MATCH) {
        const stop = strstart + matchLength;
        for (let p = strstart + 1; p < stop; p++) {
          const h = Math.imul(
            p <= safe ? v.getInt32(p, true) : w[p] | (w[p + 1] << 8) | (w[p + 2] << 16),
            HASH_MUL,
          ) >>> shift;
          prev[p & mask] = head[h];
          head[h] = p;
        }
      }
      strstart += matchLength;
    } else {
      const c = w[strstart++];
      symDist[n] = 0;
      symLen[n++] = c;
      litFreq[c]++;
      lookahead--;
    }
  }
  z.strstart = strstart;
  z.lookahead = lookahead;
  z.symCount = n;
  z.flushEnd = strstart;
}

/** Lazy matching (zlib's deflate_slow, levels 4-9); same contract as {@linkcode fastLoop}. */
function slowLoop(z: Lz77, last: boolean): void {
  const w = z.window;
  const v = z.view;
  /** Positions whose four hashed bytes are all inside the window (the rest hash three). */
  const safe = w.length - 4;
  const head = z.head;
  const prev = z.prev;
  const mask = z.hashMask;
  const shift = z.hashShift;
  const maxDist = z.maxDist;
  const maxLazy = z.lazy;
  const minLook = last ? 1 : MIN_LOOKAHEAD;
  let strstart = z.strstart;
  let lookahead = z.lookahead;
  let n = z.symCount;
  let matchLength = z.matchLength;
  let start = z.matchStart;
  let available = z.matchAvailable;
  let flushEnd = 0;
  while (lookahead >= minLook && n < LIT_BUFSIZE) {
    const prevLength = matchLength;
    const prevStart = start;
    matchLength = MIN_MATCH - 1;
    if (lookahead >= MIN_MATCH) {
      const h = Math.imul(
        strstart <= safe
          ? v.getInt32(strstart, true)
          : w[strstart] | (w[strstart + 1] << 8) | (w[strstart + 2] << 16),
        HASH_MUL,
      ) >>> shift;
      const cand = head[h];
      prev[strstart & mask] = cand;
      head[h] = strstart;
      if (cand !== 0 && prevLength < maxLazy && strstart - cand <= maxDist) {
        matchLength = longestMatch(
          z,
          cand,
          strstart,
          prevLength,
          lookahead,
          strstart > maxDist ? strstart - maxDist : 0,
        );
        if (matchLength > prevLength) start = matchStart;
        if (matchLength === MIN_MATCH && strstart - start > TOO_FAR) matchLength = MIN_MATCH - 1;
      }
    }
    if (prevLength >= MIN_MATCH && matchLength <= prevLength) {
      const maxInsert = strstart + lookahead - MIN_MATCH;
      const lc = prevLength - MIN_MATCH;
      const d = strstart - 2 - prevStart;
      symDist[n] = d + 1;
      symLen[n++] = lc;
      litFreq[257 + lengthCode[lc]]++;
      distFreq[d < 256 ? distCode[d] : distCode[256 + (d >> 7)]]++;
      lookahead -= prevLength - 1;
      const stop = strstart + prevLength - 2;
      const insertStop = stop < maxInsert ? stop : maxInsert;
      for (let p = strstart + 1; p <= insertStop; p++) {
        const h = Math.imul(
          p <= safe ? v.getInt32(p, true) : w[p] | (w[p + 1] << 8) | (w[p + 2] << 16),
          HASH_MUL,
        ) >>> shift;
        prev[p & mask] = head[h];
        head[h] = p;
      }
      strstart = stop + 1;
      available = 0;
      matchLength = MIN_MATCH - 1;
      if (n === LIT_BUFSIZE) flushEnd = strstart;
    } else {
      if (available !== 0) {
        const c = w[strstart - 1];
        symDist[n] = 0;
        symLen[n++] = c;
        litFreq[c]++;
        if (n === LIT_BUFSIZE) flushEnd = strstart;
      }
      available = 1;
      strstart++;
      lookahead--;
    }
  }
  z.strstart = strstart;
  z.lookahead = lookahead;
  z.symCount = n;
  z.matchLength = matchLength;
  z.matchStart = start;
  z.matchAvailable = available;
  z.flushEnd = flushEnd;
}

/** Collects bits LSB first into a byte buffer. */
class BitWriter {
  out: Uint8Array;
  op = 0;
  buf = 0;
  cnt = 0;

  constructor(out: Uint8Array) {
    this.out = out;
  }

  /** Make room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.op + n + 8;
    if (need <= this.out.length) return;
    const grown = new Uint8Array(Math.max(need, this.out.length * 2));
    grown.set(this.out.subarray(0, this.op));
    this.out = grown;
  }

  /** Append `n` <= 16 bits. */
  put(value: number, n: number): void {
    this.buf |= value << this.cnt;
    this.cnt += n;
    if (this.cnt >= 16) {
      this.reserve(2);
      this.out[this.op++] = this.buf;
      this.out[this.op++] = this.buf >>> 8;
      this.buf >>>= 16;
      this.cnt -= 16;
    }
  }

  /** Pad with zero bits to a byte boundary. */
  align(): void {
    this.reserve(2);
    while (this.cnt > 0) {
      this.out[this.op++] = this.buf;
      this.buf >>>= 8;
      this.cnt = this.cnt > 8 ? this.cnt - 8 : 0;
    }
    this.buf = 0;
  }
}

/** Send `n` tallied symbols with the given codes, then end-of-block. Room must be reserved. */
function compressBlock(
  bw: BitWriter,
  n: number,
  lc: Uint16Array,
  ll: Uint8Array,
  dc: Uint16Array,
  dl: Uint8Array,
): void {
  const out = bw.out;
  let op = bw.op;
  let buf = bw.buf;
  let cnt = bw.cnt;
  for (let i = 0; i < n; i++) {
    const dist = symDist[i];
    const v = symLen[i];
    if (dist === 0) {
      buf |= lc[v] << cnt;
      cnt += ll[v];
    } else {
      let code = lengthCode[v];
      buf |= lc[257 + code] << cnt;
      cnt += ll[257 + code];
      let extra = LEN_EXTRA[code];
      if (extra !== 0) {
        if (cnt >= 16) {
          out[op++] = buf;
          out[op++] = buf >> 8;
          buf >>= 16;
          cnt -= 16;
        }
        buf |= (v - lengthBase[code]) << cnt;
        cnt += extra;
      }
      if (cnt >= 16) {
        out[op++] = buf;
        out[op++] = buf >> 8;
        buf >>= 16;
        cnt -= 16;
      }
      const d = dist - 1;
      code = d < 256 ? distCode[d] : distCode[256 + (d >> 7)];
      buf |= dc[code] << cnt;
      cnt += dl[code];
      extra = DIST_EXTRA[code];
      if (extra !== 0) {
        if (cnt >= 16) {
          out[op++] = buf;
          out[op++] = buf >> 8;
          buf >>= 16;
          cnt -= 16;
        }
        buf |= (d - distBase[code]) << cnt;
        cnt += extra;
      }
    }
    if (cnt >= 16) {
      out[op++] = buf;
      out[op++] = buf >> 8;
      buf >>= 16;
      cnt -= 16;
    }
  }
  buf |= lc[256] << cnt;
  cnt += ll[256];
  if (cnt >= 16) {
    out[op++] = buf;
    out[op++] = buf >> 8;
    buf >>= 16;
    cnt -= 16;
  }
  bw.op = op;
  bw.buf = buf;
  bw.cnt = cnt;
}

/** Non-final stored blocks of at most 65535 bytes holding `src[from..to)`. */
function storedBlocks(bw: BitWriter, src: Uint8Array, from: number, to: number): void {
  bw.reserve(to - from + 5 * Math.ceil((to - from) / 65535 + 1) + 8);
  do {
    const n = Math.min(65535, to - from);
    bw.put(0, 3);
    bw.align();
    const out = bw.out;
    let op = bw.op;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
    out[op++] = ~n & 0xff;
    out[op++] = (~n >>> 8) & 0xff;
    out.set(src.subarray(from, from + n), op);
    bw.op = op + n;
    from += n;
  } while (from < to);
}

// Dynamic header description, filled by dynamicHeader().
let hlit = 0;
let hdist = 0;
let hclen = 0;
let rleCount = 0;

/** Run-length code the code lengths and build the code length code; returns the header's bits. */
function dynamicHeader(): number {
  hlit = 286;
  while (hlit > 257 && litLen[hlit - 1] === 0) hlit--;
  hdist = 30;
  while (hdist > 1 && distLen[hdist - 1] === 0) hdist--;
  const total = hlit + hdist;
  allLens.set(litLen.subarray(0, hlit), 0);
  allLens.set(distLen.subarray(0, hdist), hlit);
  blFreq.fill(0);
  let r = 0;
  let extra = 0;
  for (let i = 0; i < total;) {
    const len = allLens[i];
    let run = 1;
    while (i + run < total && allLens[i + run] === len) run++;
    i += run;
    if (len === 0) {
      while (run >= 11) {
        const k = run < 138 ? run : 138;
        rleSym[r] = 18;
        rleExtra[r++] = k - 11;
        extra += 7;
        run -= k;
      }
      if (run >= 3) {
        rleSym[r] = 17;
        rleExtra[r++] = run - 3;
        extra += 3;
        run = 0;
      }
    } else {
      rleSym[r++] = len;
      run--;
      while (run >= 3) {
        const k = run < 6 ? run : 6;
        rleSym[r] = 16;
        rleExtra[r++] = k - 3;
        extra += 2;
        run -= k;
      }
    }
    while (run-- > 0) rleSym[r++] = len;
  }
  for (let i = 0; i < r; i++) blFreq[rleSym[i]]++;
  buildLengths(blFreq, 19, 7, blLen);
  hclen = 19;
  while (hclen > 4 && blLen[BL_ORDER[hclen - 1]] === 0) hclen--;
  rleCount = r;
  let bits = 5 + 5 + 4 + 3 * hclen + extra;
  for (let i = 0; i < 19; i++) bits += blFreq[i] * blLen[i];
  return bits;
}

function sendDynamicHeader(bw: BitWriter): void {
  assignCodes(blLen, 19, blCode);
  bw.put(hlit - 257, 5);
  bw.put(hdist - 1, 5);
  bw.put(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) bw.put(blLen[BL_ORDER[i]], 3);
  for (let i = 0; i < rleCount; i++) {
    const sym = rleSym[i];
    bw.put(blCode[sym], blLen[sym]);
    if (sym === 16) bw.put(rleExtra[i], 2);
    else if (sym === 17) bw.put(rleExtra[i], 3);
    else if (sym === 18) bw.put(rleExtra[i], 7);
  }
}

/**
 * Emit the `n` tallied symbols as one non-final block covering `src[from..to)` (stored is
 * considered when `src` is given), choosing the smallest of stored, fixed and dynamic.
 */
function flushBlock(
  bw: BitWriter,
  n: number,
  src: Uint8Array | null,
  from: number,
  to: number,
): void {
  const storedLen = to - from;
  if (n === 0 && storedLen === 0) return;
  litFreq[256] = 1;
  buildLengths(litFreq, 286, 15, litLen);
  buildLengths(distFreq, 30, 15, distLen);
  let extraBits = 0;
  let dynBits = 0;
  let fixedBits = 0;
  for (let c = 0; c < 286; c++) {
    const f = litFreq[c];
    if (f === 0) continue;
    dynBits += f * litLen[c];
    fixedBits += f * fixedLitLen[c];
    if (c > 256) extraBits += f * LEN_EXTRA[c - 257];
  }
  for (let c = 0; c < 30; c++) {
    const f = distFreq[c];
    if (f === 0) continue;
    dynBits += f * distLen[c];
    fixedBits += f * 5;
    extraBits += f * DIST_EXTRA[c];
  }
  const dynamicTotal = 3 + dynamicHeader() + dynBits + extraBits;
  const fixedTotal = 3 + fixedBits + extraBits;
  const storedTotal = Math.max(1, Math.ceil(storedLen / 65535)) * 48 + 8 * storedLen;
  if (src !== null && storedTotal <= dynamicTotal && storedTotal <= fixedTotal) {
    storedBlocks(bw, src, from, to);
  } else {
    bw.reserve(((fixedTotal < dynamicTotal ? fixedTotal : dynamicTotal) >>> 3) + 16);
    if (fixedTotal <= dynamicTotal) {
      bw.put(2, 3);
      compressBlock(bw, n, fixedLitCode, fixedLitLen, fixedDistCode, fixedDistLen);
    } else {
      bw.put(4, 3);
      sendDynamicHeader(bw);
      assignCodes(litLen, 286, litCode);
      assignCodes(distLen, 30, dCode);
      compressBlock(bw, n, litCode, litLen, dCode, distLen);
    }
  }
  litFreq.fill(0);
  distFreq.fill(0);
}

/** Options of a {@linkcode Deflater}. */
export interface DeflaterOptions {
  /** Compression level 0 (stored only) to 9 (best), as zlib's. Default 6. */
  level?: number;
  /** Base-2 logarithm of the LZ77 window the peer accepts, 8..15. Default 15. */
  windowBits?: number;
  /** Keep the LZ77 window from one message to the next. Default true. */
  takeover?: boolean;
}

/** Encodes messages for permessage-deflate: raw DEFLATE, sync-flushed, tail removed. */
export class Deflater {
  /** Compression level, 0..9. */
  readonly level: number;
  /** Base-2 logarithm of the window, 8..15. */
  readonly windowBits: number;
  /** Whether the window carries over between messages. */
  readonly takeover: boolean;
  #lz: Lz77 | null = null;

  /** @param options Level, window size and context takeover. */
  constructor(options: DeflaterOptions = {}) {
    const level = options.level ?? 6;
    const windowBits = options.windowBits ?? 15;
    if (!Number.isInteger(level) || level < 0 || level > 9) {
      throw new RangeError(`Compression level must be an integer from 0 to 9, got ${level}`);
    }
    if (!Number.isInteger(windowBits) || windowBits < 8 || windowBits > 15) {
      throw new RangeError(`Window bits must be an integer from 8 to 15, got ${windowBits}`);
    }
    this.level = level;
    this.windowBits = windowBits;
    this.takeover = options.takeover ?? true;
  }

  /** Bytes this encoder holds between messages (its LZ77 state, when it has one). */
  get retainedBytes(): number {
    return this.#lz === null ? 0 : this.#lz.bytes;
  }

  /** Forget the history and release its memory. */
  reset(): void {
    this.#lz = null;
  }

  /**
   * Compress one message: DEFLATE blocks ending with an empty stored block, its final
   * `00 00 ff ff` removed (RFC 7692 §7.2.1).
   * @param data The message.
   * @returns The compressed payload, a new array.
   */
  deflateMessage(data: Uint8Array): Uint8Array {
    const bw = this.#run(data);
    // Sync flush: an empty stored block, whose LEN/NLEN (00 00 ff ff) is what gets removed.
    bw.put(0, 3);
    bw.align();
    return finish(bw);
  }

  /**
   * Compress `data` as a complete raw DEFLATE stream (its last block has BFINAL set), for tools
   * and tests. Context takeover still applies to the next call.
   * @param data The bytes to compress.
   * @returns The stream, a new array.
   */
  deflateRaw(data: Uint8Array): Uint8Array {
    const bw = this.#run(data);
    // An empty final fixed block: BFINAL, BTYPE 01, the 7-bit end-of-block code.
    bw.put(3, 3);
    bw.put(0, 7);
    bw.align();
    return finish(bw);
  }

  #run(data: Uint8Array): BitWriter {
    const bw = new BitWriter(outBuf);
    litFreq.fill(0);
    distFreq.fill(0);
    if (this.level === 0) {
      if (data.length > 0) storedBlocks(bw, data, 0, data.length);
      return bw;
    }
    const wb = this.windowBits;
    // The window buffer is two slide units; a unit is at least 1 KiB and, below 15 bits, twice the
    // window, so a full window of history survives a slide.
    const wsize = wb < 15 ? Math.max(1024, 2 << wb) : 32768;
    let z: Lz77;
    if (this.takeover) {
      z = this.#lz ??= new Lz77(wsize, Math.min(15, Math.max(9, wb + 1)));
      z.hashShift = 32 - z.hashBits;
    } else {
      z = sharedLz ??= new Lz77(32768, 15);
      // Size the hash to the message: a smaller table is cheaper to clear.
      let bits = 9;
      while (bits < 15 && 1 << bits < data.length) bits++;
      z.head.fill(0, 0, 1 << bits);
      z.strstart = 0;
      z.pendingInsert = 0;
      z.hashShift = 32 - bits;
    }
    const [good, lazy, nice, chain] = CONFIG[this.level];
    z.good = good;
    z.lazy = lazy;
    z.nice = nice;
    z.chain = chain;
    z.hashMask = wsize - 1;
    z.maxDist = Math.min(1 << wb, wsize - MIN_LOOKAHEAD);
    z.data = data;
    z.dpos = 0;
    z.lookahead = 0;
    z.blockStart = z.strstart;
    z.symCount = 0;
    z.matchLength = MIN_MATCH - 1;
    z.matchAvailable = 0;
    const fast = CONFIG[this.level][4];
    for (;;) {
      if (z.lookahead < MIN_LOOKAHEAD && z.dpos < data.length) fill(bw, z, wsize);
      if (z.lookahead === 0) break;
      const last = z.dpos >= data.length;
      if (fast) fastLoop(z, last);
      else slowLoop(z, last);
      if (z.symCount === LIT_BUFSIZE) {
        flushBlock(bw, z.symCount, z.blockStart >= 0 ? z.window : null, z.blockStart, z.flushEnd);
        z.blockStart = z.flushEnd;
        z.symCount = 0;
      }
    }
    if (z.matchAvailable !== 0) {
      const c = z.window[z.strstart - 1];
      symDist[z.symCount] = 0;
      symLen[z.symCount++] = c;
      litFreq[c]++;
      z.matchAvailable = 0;
    }
    flushBlock(bw, z.symCount, z.blockStart >= 0 ? z.window : null, z.blockStart, z.strstart);
    z.pendingInsert = Math.min(z.strstart, MIN_MATCH - 1);
    z.data = new Uint8Array(0);
    return bw;
  }
}

/** Copy message bytes into the window, sliding it by `wsize` when the position nears its end. */
function fill(bw: BitWriter, z: Lz77, wsize: number): void {
  const win = z.window;
  if (z.strstart >= 2 * wsize - MIN_LOOKAHEAD) {
    // Emit the block first if its bytes are about to leave the window, so it can be stored.
    const end = z.strstart - z.matchAvailable;
    if (z.blockStart < wsize && z.symCount > 0) {
      flushBlock(bw, z.symCount, z.blockStart >= 0 ? win : null, z.blockStart, end);
      z.blockStart = end;
      z.symCount = 0;
    }
    win.copyWithin(0, wsize, 2 * wsize);
    z.strstart -= wsize;
    z.matchStart -= wsize;
    z.blockStart -= wsize;
    slide(z.head, z.head.length, wsize);
    slide(z.prev, wsize, wsize);
  }
  const at = z.strstart + z.lookahead;
  const n = Math.min(2 * wsize - at, z.data.length - z.dpos);
  if (n <= 0) return;
  win.set(z.data.subarray(z.dpos, z.dpos + n), at);
  z.dpos += n;
  z.lookahead += n;
  // Hash the trailing positions of the previous message now that their 3 bytes are here.
  if (z.pendingInsert > 0) {
    for (let p = z.strstart - z.pendingInsert; p < z.strstart; p++) {
      if (p > 0 && p + MIN_MATCH <= z.strstart + z.lookahead) insertAt(z, p);
    }
    z.pendingInsert = 0;
  }
}

/**
 * Subtract `wsize` from the first `n` positions of a chain table; those that fall out become 0.
 * Positions are below 2 * wsize, a power of two, so a position v slides to v & (wsize - 1) when
 * its wsize bit is set and to 0 otherwise: branch-free, two 16-bit entries per 32-bit word.
 */
function slide(table: Uint16Array, n: number, wsize: number): void {
  const words = new Uint32Array(table.buffer, table.byteOffset, n >> 1);
  const shift = 31 - Math.clz32(wsize);
  const low = wsize - 1;
  for (let i = 0; i < words.length; i++) {
    const x = words[i];
    words[i] = x & (((x >>> shift) & 0x10001) * low);
  }
}

/** Copy the output out at its exact size and keep the (possibly grown) buffer for reuse. */
function finish(bw: BitWriter): Uint8Array {
  const result = bw.out.slice(0, bw.op);
  if (bw.out.length <= KEEP_OUT) outBuf = bw.out;
  return result;
}
