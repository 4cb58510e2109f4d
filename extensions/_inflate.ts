/**
 * A raw DEFLATE decoder (RFC 1951): stored, fixed and dynamic Huffman blocks, table-driven,
 * synchronous, with a bounded output and an optional history window carried across messages.
 *
 * Invariants:
 * - Never throws on any input: a malformed stream yields an {@linkcode InflateError}.
 * - The output is limited while it is produced: the output buffer never grows past `maxSize`
 *   bytes, and the first byte over the limit stops decoding at once (`tooBig`).
 * - History (context takeover) lives in a ring of 2^max(9, windowBits) bytes (zlib, and so most
 *   peers, compresses with 9 bits when 8 are negotiated), allocated on the
 *   first message that needs it and dropped by {@linkcode Inflater.reset}. Without takeover an
 *   inflater holds no buffer at all between messages.
 * - Huffman tables and the input copy are module-level scratch shared by every inflater: decoding
 *   is synchronous and never re-entered, so one set serves all connections.
 *
 * Matches are copied four bytes at a time through a DataView below 33 bytes, and with
 * copyWithin above (in spans as long as the distance, when source and target overlap); a
 * distance of 1 is a fill. Output past the 64 KiB scratch grows to the size the input read so
 * far predicts, so most large messages are copied once.
 *
 * Decoding tables are two-level (a 10-bit root for literals/lengths, 8-bit for distances, with
 * subtables for longer codes), one Int32 per entry: `value << 16 | extra << 8 | type << 4 | bits`,
 * where `bits` is the full code length.
 *
 * @module
 */

/** Why a stream could not be inflated. */
export class InflateError {
  /** True when the output exceeded the size limit (close code 1009), false for bad data (1007). */
  readonly tooBig: boolean;
  /** What went wrong, sentence case. */
  readonly message: string;

  /**
   * @param tooBig Whether the size limit was the problem.
   * @param message What went wrong.
   */
  constructor(tooBig: boolean, message: string) {
    this.tooBig = tooBig;
    this.message = message;
  }
}

// Entry types (0: a literal).
const T_BASE = 1;
const T_EOB = 2;
const T_LINK = 3;
const T_BAD = 4;

const LIT_ROOT = 10;
const DIST_ROOT = 8;
const CL_ROOT = 7;
const LIT_MASK = (1 << LIT_ROOT) - 1;
const DIST_MASK = (1 << DIST_ROOT) - 1;

const KIND_CODES = 0;
const KIND_LIT = 1;
const KIND_DIST = 2;

const LEN_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
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
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
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
/** Order in which code length code lengths are sent (RFC 1951 §3.2.7). */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

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

/** The lowest `len` bits of `code` in reverse order (DEFLATE sends Huffman codes MSB first). */
function reverse(code: number, len: number): number {
  return ((REV8[code & 0xff] << 8) | REV8[code >>> 8]) >>> (16 - len);
}

const BAD_ENTRY = (T_BAD << 4) | 1;

/** Largest tables: the root plus one 2^(15-root) subtable per symbol (a loose upper bound). */
const LIT_TABLE_SIZE = (1 << LIT_ROOT) + 288 * (1 << (15 - LIT_ROOT));
const DIST_TABLE_SIZE = (1 << DIST_ROOT) + 32 * (1 << (15 - DIST_ROOT));

// Shared scratch (see the module invariants).
const litTable = new Int32Array(LIT_TABLE_SIZE);
const distTable = new Int32Array(DIST_TABLE_SIZE);
const clTable = new Int32Array(1 << CL_ROOT);
const lens = new Uint8Array(288 + 32);
const count = new Uint16Array(16);
const offs = new Uint16Array(16);
const sorted = new Uint16Array(288);

function entryFor(sym: number, kind: number, bits: number): number {
  if (kind === KIND_CODES) return (sym << 16) | bits;
  if (kind === KIND_LIT) {
    if (sym < 256) return (sym << 16) | bits;
    if (sym === 256) return (T_EOB << 4) | bits;
    if (sym < 286) {
      return (LEN_BASE[sym - 257] << 16) | (LEN_EXTRA[sym - 257] << 8) | (T_BASE << 4) | bits;
    }
    return (T_BAD << 4) | bits;
  }
  if (sym < 30) return (DIST_BASE[sym] << 16) | (DIST_EXTRA[sym] << 8) | (T_BASE << 4) | bits;
  return (T_BAD << 4) | bits;
}

/**
 * Build a decoding table for `n` code lengths at `lens[off..]`.
 * Returns false when the lengths do not form a valid code. Incomplete codes are accepted only
 * when they have a single code of length 1 (zlib's rule: a lone distance or literal code), and
 * an empty code gives a table of invalid entries.
 */
function buildTable(
  off: number,
  n: number,
  table: Int32Array,
  root: number,
  kind: number,
): boolean {
  count.fill(0);
  for (let i = 0; i < n; i++) count[lens[off + i]]++;
  let max = 15;
  while (max >= 1 && count[max] === 0) max--;
  const size = 1 << root;
  if (max === 0) {
    table.fill(BAD_ENTRY, 0, size);
    return true;
  }
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len];
    if (left < 0) return false; // over-subscribed
  }
  if (left > 0 && (kind === KIND_CODES || max !== 1)) return false; // incomplete
  if (left > 0) table.fill(BAD_ENTRY, 0, size);
  offs[1] = 0;
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  const total = offs[15] + count[15];
  for (let sym = 0; sym < n; sym++) {
    const len = lens[off + sym];
    if (len !== 0) sorted[offs[len]++] = sym;
  }
  const subBits = max > root ? max - root : 0;
  const subSize = 1 << subBits;
  let next = size;
  let prefix = -1;
  let subOff = 0;
  let code = 0;
  let len = lens[off + sorted[0]];
  for (let i = 0; i < total; i++) {
    const sym = sorted[i];
    const l = lens[off + sym];
    if (l !== len) {
      code <<= l - len;
      len = l;
    }
    const rev = reverse(code, len);
    const entry = entryFor(sym, kind, len);
    if (len <= root) {
      for (let k = rev; k < size; k += 1 << len) table[k] = entry;
    } else {
      const p = rev & (size - 1);
      if (p !== prefix) {
        prefix = p;
        subOff = next;
        next += subSize;
        table[p] = (subOff << 16) | (subBits << 8) | (T_LINK << 4) | root;
      }
      for (let k = rev >>> root; k < subSize; k += 1 << (len - root)) table[subOff + k] = entry;
    }
    code++;
  }
  return true;
}

/** The fixed Huffman decoding tables (RFC 1951 §3.2.6). */
function fixedTable(dist: boolean): Int32Array {
  const table = new Int32Array(1 << (dist ? DIST_ROOT : LIT_ROOT));
  if (dist) {
    lens.fill(5, 0, 32);
    buildTable(0, 32, table, DIST_ROOT, KIND_DIST);
  } else {
    lens.fill(8, 0, 144);
    lens.fill(9, 144, 256);
    lens.fill(7, 256, 280);
    lens.fill(8, 280, 288);
    buildTable(0, 288, table, LIT_ROOT, KIND_LIT);
  }
  return table;
}
const fixedLit: Int32Array = fixedTable(false);
const fixedDist: Int32Array = fixedTable(true);

/** The RFC 7692 §7.2.2 tail: an empty stored block's LEN and NLEN. */
const TAIL = [0x00, 0x00, 0xff, 0xff];
/** Input copies up to this size are kept for reuse. */
const KEEP_INPUT = 64 * 1024;
let inputScratch: Uint8Array = new Uint8Array(4096);
/** Output scratch: messages that fit are decoded here and copied out at their exact size. */
const OUT_SCRATCH = 64 * 1024;
let outScratch: Uint8Array | null = null;

// Status codes of the symbol decoders.
const S_EOB = 0;
const S_MORE = 1;
const S_BAD_LIT = -1;
const S_BAD_DIST = -2;
const S_TOO_FAR = -3;
const S_TRUNCATED = -4;
const S_TOO_BIG = -5;

// Errors found while reading block headers.
const S_BAD_TYPE = -10;
const S_BAD_STORED = -11;
const S_BAD_COUNTS = -12;
const S_BAD_CL_CODE = -13;
const S_BAD_REPEAT = -14;
const S_NO_EOB = -15;
const S_BAD_LIT_CODE = -16;
const S_BAD_DIST_CODE = -17;

const MESSAGES: Record<number, string> = {
  [S_BAD_LIT]: "Invalid literal/length code",
  [S_BAD_DIST]: "Invalid distance code",
  [S_TOO_FAR]: "Distance reaches before the start of the window",
  [S_TRUNCATED]: "Compressed data is truncated",
  [S_TOO_BIG]: "Inflated message exceeds the size limit",
  [S_BAD_TYPE]: "Invalid block type",
  [S_BAD_STORED]: "Stored block length does not match its complement",
  [S_BAD_COUNTS]: "Too many length or distance codes",
  [S_BAD_CL_CODE]: "Invalid code lengths code",
  [S_BAD_REPEAT]: "Invalid code length repeat",
  [S_NO_EOB]: "Literal code has no end-of-block code",
  [S_BAD_LIT_CODE]: "Invalid literal/length code lengths",
  [S_BAD_DIST_CODE]: "Invalid distance code lengths",
};

/** The decoder's registers, shared by the block loop and the symbol decoders. */
class State {
  src: Uint8Array = new Uint8Array(0);
  end = 0;
  ip = 0;
  hold = 0;
  bits = 0;
  out: Uint8Array = new Uint8Array(0);
  op = 0;
  /** Largest output allowed. */
  max = 0;
  /** History of earlier messages (a ring), its size mask, valid bytes and write position. */
  win: Uint8Array = new Uint8Array(0);
  wmask = 0;
  whave = 0;
  wpos = 0;
}

/**
 * Decode symbols while at least 12 input bytes and 258 output bytes remain, with no bounds
 * checks (zlib's inflate_fast). Returns S_EOB, S_MORE (bounds reached: go slow) or an error.
 */
function fastSymbols(st: State, lt: Int32Array, dt: Int32Array): number {
  const src = st.src;
  const out = st.out;
  const inLimit = st.end - 12;
  const outLimit = out.length - 258 - 4;
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  const win = st.win;
  const wmask = st.wmask;
  const whave = st.whave;
  const wpos = st.wpos;
  let ip = st.ip;
  let hold = st.hold;
  let bits = st.bits;
  let op = st.op;
  let status = S_MORE;
  while (ip < inLimit && op < outLimit) {
    if (bits < 15) {
      hold |= (src[ip] << bits) | (src[ip + 1] << (bits + 8));
      ip += 2;
      bits += 16;
    }
    let e = lt[hold & LIT_MASK];
    if ((e & 0xf0) === 0) {
      // A literal, the commonest entry: taken before the subtable check.
      const m = e & 15;
      hold >>= m;
      bits -= m;
      out[op++] = e >> 16;
      continue;
    }
    if ((e & 0xf0) === T_LINK << 4) {
      e = lt[(e >> 16) + ((hold >> LIT_ROOT) & ((1 << ((e >> 8) & 15)) - 1))];
    }
    let n = e & 15;
    hold >>= n;
    bits -= n;
    let t = e & 0xf0;
    if (t === 0) {
      out[op++] = e >> 16;
      continue;
    }
    if (t !== T_BASE << 4) {
      status = t === T_EOB << 4 ? S_EOB : S_BAD_LIT;
      break;
    }
    let len = e >> 16;
    n = (e >> 8) & 15;
    if (n !== 0) {
      if (bits < n) {
        hold |= (src[ip] << bits) | (src[ip + 1] << (bits + 8));
        ip += 2;
        bits += 16;
      }
      len += hold & ((1 << n) - 1);
      hold >>= n;
      bits -= n;
    }
    if (bits < 15) {
      hold |= (src[ip] << bits) | (src[ip + 1] << (bits + 8));
      ip += 2;
      bits += 16;
    }
    e = dt[hold & DIST_MASK];
    if ((e & 0xf0) === T_LINK << 4) {
      e = dt[(e >> 16) + ((hold >> DIST_ROOT) & ((1 << ((e >> 8) & 15)) - 1))];
    }
    n = e & 15;
    hold >>= n;
    bits -= n;
    t = e & 0xf0;
    if (t !== T_BASE << 4) {
      status = S_BAD_DIST;
      break;
    }
    let dist = e >> 16;
    n = (e >> 8) & 15;
    if (n !== 0) {
      if (bits < n) {
        hold |= (src[ip] << bits) | (src[ip + 1] << (bits + 8));
        ip += 2;
        bits += 16;
      }
      dist += hold & ((1 << n) - 1);
      hold >>= n;
      bits -= n;
    }
    let from = op - dist;
    if (from < 0) {
      // The match starts in the history of earlier messages.
      if (-from > whave) {
        status = S_TOO_FAR;
        break;
      }
      let rp = (wpos + from) & wmask;
      let k = -from < len ? -from : len;
      len -= k;
      while (k-- > 0) {
        out[op++] = win[rp];
        rp = (rp + 1) & wmask;
      }
      from = 0;
    }
    if (dist >= 4) {
      if (len > 32) {
        // Spans as long as the distance, which doubles as the copy proceeds (overlapping runs).
        const end = op + len;
        while (op < end) {
          const n = end - op < op - from ? end - op : op - from;
          out.copyWithin(op, from, from + n);
          op += n;
        }
      } else {
        // Four bytes at a time (a distance of 4 or more never reads a byte this writes); may
        // write up to 3 bytes past the match, inside the margin outLimit keeps.
        const end = op + len;
        do {
          dv.setInt32(op, dv.getInt32(from, true), true);
          op += 4;
          from += 4;
        } while (op < end);
        op = end;
      }
    } else if (dist === 1) {
      out.fill(out[op - 1], op, op + len);
      op += len;
    } else {
      while (len-- > 0) out[op++] = out[from++];
    }
  }
  st.ip = ip;
  st.hold = hold;
  st.bits = bits;
  st.op = op;
  return status;
}

/** Pull input bytes into the bit buffer until it holds `need` bits or the input ends. */
function refill(st: State, need: number): boolean {
  while (st.bits < need) {
    if (st.ip >= st.end) return false;
    st.hold |= st.src[st.ip++] << st.bits;
    st.bits += 8;
  }
  return true;
}

/** Make room for `need` output bytes in total; false when that exceeds the limit. */
function room(st: State, need: number): boolean {
  if (need <= st.out.length) return true;
  if (need > st.max) return false;
  const old = st.out;
  // Double, or jump to the size the input read so far predicts (one copy for most messages).
  let size = old.length * 2;
  if (st.ip > 0) {
    const projected = Math.floor((st.op / st.ip) * st.end * 1.0625) + 4096;
    if (projected > size) size = projected;
  }
  if (size < need) size = need;
  const grown = new Uint8Array(size < st.max ? size : st.max);
  grown.set(old.subarray(0, st.op));
  st.out = grown;
  return true;
}

/** Read a symbol from a table with every bound checked; -1 when the input ends first. */
function slowCode(st: State, table: Int32Array, root: number): number {
  refill(st, 15);
  let e = table[st.hold & ((1 << root) - 1)];
  if ((e & 0xf0) === T_LINK << 4) {
    e = table[(e >> 16) + ((st.hold >> root) & ((1 << ((e >> 8) & 15)) - 1))];
  }
  const n = e & 15;
  if (n > st.bits) return -1;
  st.hold >>= n;
  st.bits -= n;
  return e;
}

/** Read `n` extra bits; -1 when the input ends first. */
function slowBits(st: State, n: number): number {
  if (n === 0) return 0;
  if (!refill(st, n)) return -1;
  const v = st.hold & ((1 << n) - 1);
  st.hold >>= n;
  st.bits -= n;
  return v;
}

/** Decode one symbol with every bound checked: S_EOB, S_MORE or an error. */
function slowSymbol(st: State, lt: Int32Array, dt: Int32Array): number {
  let e = slowCode(st, lt, LIT_ROOT);
  if (e < 0) return S_TRUNCATED;
  let t = e & 0xf0;
  if (t === 0) {
    if (!room(st, st.op + 1)) return S_TOO_BIG;
    st.out[st.op++] = e >> 16;
    return S_MORE;
  }
  if (t !== T_BASE << 4) return t === T_EOB << 4 ? S_EOB : S_BAD_LIT;
  const extraLen = slowBits(st, (e >> 8) & 15);
  if (extraLen < 0) return S_TRUNCATED;
  let len = (e >> 16) + extraLen;
  e = slowCode(st, dt, DIST_ROOT);
  if (e < 0) return S_TRUNCATED;
  t = e & 0xf0;
  if (t !== T_BASE << 4) return S_BAD_DIST;
  const extraDist = slowBits(st, (e >> 8) & 15);
  if (extraDist < 0) return S_TRUNCATED;
  const dist = (e >> 16) + extraDist;
  if (dist > st.op + st.whave) return S_TOO_FAR;
  if (!room(st, st.op + len)) return S_TOO_BIG;
  const out = st.out;
  let op = st.op;
  let from = op - dist;
  while (from < 0 && len > 0) {
    out[op++] = st.win[(st.wpos + from) & st.wmask];
    from++;
    len--;
  }
  while (len-- > 0) out[op++] = out[from++];
  st.op = op;
  return S_MORE;
}

const state = new State();
const EMPTY = new Uint8Array(0);

/**
 * Inflates raw DEFLATE data one message at a time, as permessage-deflate needs: each call
 * decodes a whole message; with `takeover`, the last 2^windowBits bytes of output are kept as
 * the history the next message may refer to.
 */
export class Inflater {
  /** Base-2 logarithm of the history window, 8..15. */
  readonly windowBits: number;
  /** Base-2 logarithm of the history ring: at least 9, as zlib never compresses with 8. */
  readonly #ringBits: number;
  /** Whether history is carried from one message to the next. */
  readonly takeover: boolean;
  #window: Uint8Array | null = null;
  /** Next write position in the ring. */
  #wpos = 0;
  /** Valid bytes in the ring. */
  #whave = 0;

  /**
   * @param windowBits Base-2 logarithm of the peer's LZ77 window, 8..15.
   * @param takeover Keep history across messages (no `*_no_context_takeover` for the peer).
   */
  constructor(windowBits = 15, takeover = true) {
    if (!Number.isInteger(windowBits) || windowBits < 8 || windowBits > 15) {
      throw new RangeError(`Window bits must be an integer from 8 to 15, got ${windowBits}`);
    }
    this.windowBits = windowBits;
    this.#ringBits = Math.max(9, windowBits);
    this.takeover = takeover;
  }

  /** Bytes this inflater holds between messages (its history ring, when allocated). */
  get retainedBytes(): number {
    return this.#window === null ? 0 : this.#window.length;
  }

  /** Forget the history and release its memory. */
  reset(): void {
    this.#window = null;
    this.#wpos = 0;
    this.#whave = 0;
  }

  /**
   * Inflate one permessage-deflate message: `data` followed by the `00 00 ff ff` tail the sender
   * removed (RFC 7692 §7.2.2).
   * @param data The compressed message payload.
   * @param maxSize The largest output allowed.
   * @returns The inflated bytes, or why they could not be produced.
   */
  inflateMessage(data: Uint8Array, maxSize: number): Uint8Array | InflateError {
    const n = data.length;
    let src = inputScratch;
    if (src.length < n + 4) {
      src = new Uint8Array(Math.max(n + 4, src.length * 2));
      if (src.length <= KEEP_INPUT) inputScratch = src;
    }
    src.set(data);
    src[n] = TAIL[0];
    src[n + 1] = TAIL[1];
    src[n + 2] = TAIL[2];
    src[n + 3] = TAIL[3];
    return this.inflate(src, n + 4, maxSize);
  }

  /**
   * Inflate raw DEFLATE data that ends with a final block or at a block boundary.
   * @param src The compressed bytes.
   * @param length How many bytes of `src` to use. Default: all.
   * @param maxSize The largest output allowed. Default: unlimited (2^31 - 1).
   * @returns The inflated bytes, or why they could not be produced.
   */
  inflate(
    src: Uint8Array,
    length: number = src.length,
    maxSize = 0x7fffffff,
  ): Uint8Array | InflateError {
    const st = state;
    const scratch = outScratch ??= new Uint8Array(OUT_SCRATCH);
    st.src = src;
    st.end = length;
    st.ip = 0;
    st.hold = 0;
    st.bits = 0;
    st.out = maxSize < scratch.length ? scratch.subarray(0, maxSize) : scratch;
    st.op = 0;
    st.max = maxSize;
    st.win = this.takeover && this.#window !== null ? this.#window : EMPTY;
    st.wmask = (1 << this.#ringBits) - 1;
    st.whave = this.takeover ? this.#whave : 0;
    st.wpos = this.#wpos;
    const status = run(st);
    const out = st.out;
    const end = st.op;
    st.src = EMPTY;
    st.out = EMPTY;
    st.win = EMPTY;
    if (status < 0) {
      // The connection fails after an error: the history is of no further use.
      this.reset();
      return new InflateError(status === S_TOO_BIG, MESSAGES[status] ?? "Invalid compressed data");
    }
    if (this.takeover) this.#remember(out, end);
    if (out.buffer === scratch.buffer) return out.slice(0, end);
    // A grown buffer: hand it over unless too much of it would be wasted.
    return out.length - end <= end >> 2 ? out.subarray(0, end) : out.slice(0, end);
  }

  /** Keep the last 2^ringBits bytes of this message's output as history. */
  #remember(out: Uint8Array, n: number): void {
    if (n === 0) return;
    const size = 1 << this.#ringBits;
    const win = this.#window ??= new Uint8Array(size);
    if (n >= size) {
      win.set(out.subarray(n - size, n));
      this.#wpos = 0;
      this.#whave = size;
      return;
    }
    const first = Math.min(n, size - this.#wpos);
    win.set(out.subarray(0, first), this.#wpos);
    if (first < n) win.set(out.subarray(first, n), 0);
    this.#wpos = (this.#wpos + n) & (size - 1);
    this.#whave = Math.min(size, this.#whave + n);
  }
}

/** Decode blocks until a final block, or until the input ends at a block boundary. */
function run(st: State): number {
  for (;;) {
    if (!refill(st, 3)) {
      // Clean end: every byte consumed at a block boundary (RFC 7692 messages end here).
      return st.ip >= st.end && st.bits === 0 ? S_EOB : S_TRUNCATED;
    }
    const final = st.hold & 1;
    const type = (st.hold >> 1) & 3;
    st.hold >>= 3;
    st.bits -= 3;
    if (type === 0) {
      const status = storedBlock(st);
      if (status < 0) return status;
    } else if (type === 3) {
      return S_BAD_TYPE;
    } else {
      let lt = fixedLit;
      let dt = fixedDist;
      if (type === 2) {
        const status = dynamicTables(st);
        if (status < 0) return status;
        lt = litTable;
        dt = distTable;
      }
      for (;;) {
        let status = fastSymbols(st, lt, dt);
        if (status === S_MORE) status = slowSymbol(st, lt, dt);
        if (status === S_EOB) break;
        if (status < 0) return status;
      }
    }
    if (final !== 0) return S_EOB;
    // A non-final block ended: the message may end here (whole input consumed, padding only).
    if (st.ip >= st.end && st.bits < 8) return S_EOB;
  }
}

/** A stored block: skip to a byte boundary, check LEN against NLEN, copy. */
function storedBlock(st: State): number {
  // Give back whole bytes held in the bit buffer, dropping the padding bits.
  st.ip -= st.bits >>> 3;
  st.hold = 0;
  st.bits = 0;
  const src = st.src;
  let ip = st.ip;
  if (ip + 4 > st.end) return S_TRUNCATED;
  const len = src[ip] | (src[ip + 1] << 8);
  const nlen = src[ip + 2] | (src[ip + 3] << 8);
  ip += 4;
  if (len !== (~nlen & 0xffff)) return S_BAD_STORED;
  if (ip + len > st.end) return S_TRUNCATED;
  if (!room(st, st.op + len)) return S_TOO_BIG;
  st.out.set(src.subarray(ip, ip + len), st.op);
  st.op += len;
  st.ip = ip + len;
  return S_MORE;
}

/** Read a dynamic block's code lengths and build its tables. */
function dynamicTables(st: State): number {
  if (!refill(st, 14)) return S_TRUNCATED;
  const nlit = (st.hold & 31) + 257;
  const ndist = ((st.hold >>> 5) & 31) + 1;
  const ncl = ((st.hold >>> 10) & 15) + 4;
  st.hold >>>= 14;
  st.bits -= 14;
  if (nlit > 286 || ndist > 30) return S_BAD_COUNTS;
  lens.fill(0, 0, 19);
  for (let i = 0; i < ncl; i++) {
    const v = slowBits(st, 3);
    if (v < 0) return S_TRUNCATED;
    lens[CL_ORDER[i]] = v;
  }
  if (!buildTable(0, 19, clTable, CL_ROOT, KIND_CODES)) return S_BAD_CL_CODE;
  const total = nlit + ndist;
  let i = 0;
  while (i < total) {
    const e = slowCode(st, clTable, CL_ROOT);
    if (e < 0) return S_TRUNCATED;
    if ((e & 0xf0) !== 0) return S_BAD_CL_CODE;
    const sym = e >>> 16;
    if (sym < 16) {
      lens[i++] = sym;
      continue;
    }
    if (sym === 16 && i === 0) return S_BAD_REPEAT;
    const value = sym === 16 ? lens[i - 1] : 0;
    const extra = slowBits(st, sym === 16 ? 2 : sym === 17 ? 3 : 7);
    if (extra < 0) return S_TRUNCATED;
    const repeat = (sym === 18 ? 11 : 3) + extra;
    if (i + repeat > total) return S_BAD_REPEAT;
    lens.fill(value, i, i + repeat);
    i += repeat;
  }
  if (lens[256] === 0) return S_NO_EOB;
  // buildTable reads the distance lengths at 288.
  lens.copyWithin(288, nlit, total);
  if (!buildTable(0, nlit, litTable, LIT_ROOT, KIND_LIT)) return S_BAD_LIT_CODE;
  if (!buildTable(288, ndist, distTable, DIST_ROOT, KIND_DIST)) return S_BAD_DIST_CODE;
  return S_MORE;
}
