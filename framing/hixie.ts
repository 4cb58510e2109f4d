/**
 * Framing of the hixie drafts: draft-hixie-thewebsocketprotocol-75 and
 * draft-hixie-thewebsocketprotocol-76 (= draft-ietf-hybi-thewebsocketprotocol-00).
 *
 * On the wire a frame opens with a type byte:
 *
 * - high bit clear: a sentinel frame, whose payload runs to the next `0xFF`. Type `0x00` is a
 *   text message (`00 48 65 6c 6c 6f ff` is "Hello"); any other type is read and discarded.
 * - high bit set: a length in base-128 groups (high bit = another group follows), then that many
 *   bytes, discarded. In hixie-76 only, type `0xFF` with length 0 (`FF 00`) is the closing
 *   handshake.
 *
 * {@linkcode HixieParser} reports these to the same {@linkcode FrameSink} as the RFC 6455
 * {@linkcode FrameParser}, so the connection needs no second code path:
 *
 * - a text frame is `frameStart(OP_TEXT, true, 0, -1)` (length -1: unknown, the sink checks its
 *   limits as bytes arrive), zero or more `framePayload(view)`, then `frameEnd()`;
 * - the hixie-76 close frame is `frameStart(OP_CLOSE, true, 0, 0)` then `frameEnd()` (option
 *   `closeFrame: true`; in hixie-75, `FF 00` is an empty length-prefixed frame and is discarded);
 * - discarded frames produce no sink calls at all.
 *
 * Invariants:
 *
 * - Any chunking gives the same calls (payload pieces aside): whole, split anywhere, byte by byte.
 * - No copies and no buffer: frame ends are found with `indexOf(0xff, from)` (native speed, never
 *   a byte loop), payload views point into the caller's chunk, and the parser keeps no byte of
 *   its own, only counters (and the current chunk while the sink has it paused inside it). A
 *   peer that never sends `0xFF` cannot make it grow.
 * - Flow control as in {@linkcode FrameParser}: a sink method returning false pauses the parser,
 *   `resume()` continues.
 * - Bounded: every frame, discarded ones included, may carry at most `maxMessageSize` payload
 *   bytes. A sentinel frame fails with 1009 (`MESSAGE_TOO_BIG`) as soon as its byte count passes
 *   the limit, before the sink sees the excess; a length prefix fails as soon as its groups so
 *   far prove the length passes the limit (a group with the high bit set promises at least 128
 *   times the value so far), before any payload and without waiting for its last group. So the
 *   unbounded base-128 accumulator never leaves the safe-integer range and never wraps.
 *
 * Writing: {@linkcode writeHixieText} frames a UTF-8 payload as `00 <payload> FF`;
 * {@linkcode HIXIE_CLOSE} is the hixie-76 closing handshake. Nothing else is ever sent: the
 * drafts have no binary messages, no ping and no close codes.
 *
 * ## Policies for the connection that drives this parser
 *
 * - **Invalid UTF-8 in a text frame fails the connection.** The drafts say to decode with UTF-8
 *   error handling (U+FFFD replacement), and browsers of the time did so. omniws does not: no
 *   conforming sender produces invalid UTF-8 (the drafts can only carry strings), replacing would
 *   corrupt data silently, and the connection already validates every text frame with one fatal
 *   streaming `TextDecoder` for all versions. So the connection applies its usual rule, reporting
 *   `TEXT_INVALID_UTF8` with close code 1007 *locally*. As hixie has no close codes on the wire,
 *   it then sends {@linkcode HIXIE_CLOSE} in hixie-76 (nothing in hixie-75) and closes TCP.
 * - **Other failures** (`MESSAGE_TOO_BIG` from this parser or from the sink's own limits) are
 *   handled the same way: report the code locally, `FF 00` in hixie-76, close TCP.
 * - **Closing.** On the `FF 00` close frame the connection answers {@linkcode HIXIE_CLOSE} if it
 *   has not sent one, reports close code 1005 (no code), and the server closes TCP. A TCP close
 *   without `FF 00` (always the case in hixie-75) is 1006 in hixie-76 and a clean 1005 in
 *   hixie-75, where closing TCP is the only way to close.
 *
 * @module
 */

import { type FrameSink, OP_CLOSE, OP_TEXT } from "./rfc6455.ts";

/** Options of a {@linkcode HixieParser}. */
export interface HixieParserOptions {
  /**
   * Largest payload of any one frame, in bytes, discarded frames included. A frame with more
   * fails with 1009 (`MESSAGE_TOO_BIG`) as soon as the excess byte is seen, or as soon as the
   * length groups read so far prove the length is above it.
   */
  maxMessageSize: number;
  /** True for hixie-76, where `FF 00` is the closing handshake; false for hixie-75. */
  closeFrame: boolean;
}

// Parser states, as in FrameParser: integers in one dispatch loop.
const S_TYPE = 0; // expecting a frame type byte
const S_TEXT = 1; // inside a 0x00 sentinel frame: payload to the sink until 0xFF
const S_SKIP_TO_FF = 2; // inside another sentinel frame: discard until 0xFF
const S_LENGTH = 3; // reading the base-128 length of a length-prefixed frame
const S_SKIP_LENGTH = 4; // discarding the payload of a length-prefixed frame
const S_END = 5; // frame complete, frameEnd owed (the sink may pause before it)
const S_STOPPED = 6;

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Incremental parser of hixie-75/76 frames. Feed it chunks with {@linkcode HixieParser.push};
 * it reports text frames (and the hixie-76 close frame) to a {@linkcode FrameSink}.
 *
 * Flow control is the {@linkcode FrameParser}'s: a sink method that returns false pauses the
 * parser where it is; {@linkcode HixieParser.resume} continues with the rest of the same chunk.
 * The parser never copies and never modifies a chunk; it keeps a reference to the current chunk
 * only while paused inside it, and none once the chunk is consumed.
 *
 * @example Two text frames and a hixie-76 close in one chunk
 * ```ts
 * import assert from "node:assert/strict";
 * import { HixieParser } from "./hixie.ts";
 * import type { FrameSink } from "./rfc6455.ts";
 *
 * const seen: string[] = [];
 * const sink: FrameSink = {
 *   frameStart: (op, _fin, _rsv, len) => (seen.push(`start ${op} ${len}`), true),
 *   framePayload: (data) => (seen.push(new TextDecoder().decode(data)), true),
 *   frameEnd: () => (seen.push("end"), true),
 *   frameError: (code) => void seen.push(`error ${code}`),
 * };
 * const parser = new HixieParser(sink, { maxMessageSize: 1 << 20, closeFrame: true });
 * parser.push(new Uint8Array([0x00, 0x48, 0x69, 0xff, 0x00, 0x21, 0xff, 0xff, 0x00]));
 * assert.deepEqual(seen, ["start 1 -1", "Hi", "end", "start 1 -1", "!", "end", "start 8 0", "end"]);
 * ```
 */
export class HixieParser {
  #sink: FrameSink;
  #maxMessageSize: number;
  #closeFrame: boolean;
  #state: number = S_TYPE;
  /** Type byte of the current length-prefixed frame. */
  #type = 0;
  /** Payload bytes seen in the current sentinel frame, or the accumulated length prefix. */
  #count = 0;
  /** Bytes still to discard in the current length-prefixed frame. */
  #remaining = 0;
  /** The chunk being parsed (EMPTY once consumed), and the position in it. */
  #chunk: Uint8Array = EMPTY;
  #pos = 0;

  /**
   * Creates a parser waiting for a frame type byte.
   *
   * @param sink Receives the frames.
   * @param options Size limit and whether `FF 00` closes (hixie-76).
   * @throws {RangeError} If `maxMessageSize` is not a non-negative safe integer.
   */
  constructor(sink: FrameSink, options: HixieParserOptions) {
    const max = options.maxMessageSize;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`Invalid maxMessageSize: expected a non-negative integer, got ${max}`);
    }
    this.#sink = sink;
    this.#maxMessageSize = max;
    this.#closeFrame = options.closeFrame;
  }

  /**
   * True once parsing stopped for good: after an error, or after {@linkcode HixieParser.stop}.
   *
   * @returns Whether later chunks are ignored.
   */
  get stopped(): boolean {
    return this.#state === S_STOPPED;
  }

  /**
   * True while the sink paused the parser with work left: unparsed bytes in the current chunk,
   * or a `frameEnd` still owed.
   *
   * @returns Whether {@linkcode HixieParser.resume} must be called before the next `push`.
   */
  get paused(): boolean {
    return this.#state === S_END || (this.#state !== S_STOPPED && this.#pos < this.#chunk.length);
  }

  /** Stops parsing for good; later chunks are ignored and the current one is let go. */
  stop(): void {
    this.#state = S_STOPPED;
    this.#chunk = EMPTY;
    this.#pos = 0;
  }

  /**
   * Parses a chunk until it is consumed or the sink pauses. Payload views handed to the sink
   * point into `chunk`, which the parser does not modify. Call only when not
   * {@linkcode HixieParser.paused}.
   *
   * @param chunk The next bytes from the peer, of any length.
   *
   * @example A frame split across chunks
   * ```ts
   * import assert from "node:assert/strict";
   * import { HixieParser } from "./hixie.ts";
   *
   * let text = "";
   * const parser = new HixieParser({
   *   frameStart: () => true,
   *   framePayload: (data) => ((text += new TextDecoder().decode(data)), true),
   *   frameEnd: () => true,
   *   frameError: () => {},
   * }, { maxMessageSize: 1024, closeFrame: false });
   * parser.push(new Uint8Array([0x00, 0x48]));
   * parser.push(new Uint8Array([0x69, 0xff]));
   * assert.equal(text, "Hi");
   * ```
   */
  push(chunk: Uint8Array): void {
    if (this.#state === S_STOPPED) return;
    this.#chunk = chunk;
    this.#pos = 0;
    this.#run();
  }

  /**
   * Continues parsing the current chunk after the sink paused.
   *
   * @example Pausing after each frame
   * ```ts
   * import assert from "node:assert/strict";
   * import { HixieParser } from "./hixie.ts";
   *
   * let frames = 0;
   * const parser = new HixieParser({
   *   frameStart: () => true,
   *   framePayload: () => true,
   *   frameEnd: () => (frames++, false),
   *   frameError: () => {},
   * }, { maxMessageSize: 1024, closeFrame: true });
   * parser.push(new Uint8Array([0x00, 0x61, 0xff, 0x00, 0x62, 0xff]));
   * assert.equal(frames, 1);
   * assert.equal(parser.paused, true);
   * parser.resume();
   * assert.equal(frames, 2);
   * assert.equal(parser.paused, false);
   * ```
   */
  resume(): void {
    this.#run();
  }

  // Each step updates the state and position first and calls the sink last, so that a sink
  // which pauses (returns false) or stops the parser leaves it consistent.
  #run(): void {
    const sink = this.#sink;
    const chunk = this.#chunk;
    const n = chunk.length;
    for (;;) {
      const state = this.#state;
      if (state === S_END) {
        this.#state = S_TYPE;
        if (!sink.frameEnd()) return;
        continue;
      }
      if (state === S_STOPPED) return;
      const pos = this.#pos;
      if (pos >= n) {
        this.#chunk = EMPTY;
        this.#pos = 0;
        return;
      }
      switch (state) {
        case S_TYPE: {
          const type = chunk[pos];
          this.#pos = pos + 1;
          this.#count = 0;
          if ((type & 0x80) !== 0) {
            this.#type = type;
            this.#state = S_LENGTH;
          } else if (type === 0x00) {
            this.#state = S_TEXT;
            if (!sink.frameStart(OP_TEXT, true, 0, -1)) return;
          } else {
            this.#state = S_SKIP_TO_FF;
          }
          break;
        }
        case S_TEXT:
        case S_SKIP_TO_FF: {
          const ff = chunk.indexOf(0xff, pos);
          const end = ff < 0 ? n : ff;
          const take = end - pos;
          if (take > 0) {
            this.#count += take;
            if (this.#count > this.#maxMessageSize) return this.#tooBig();
          }
          this.#pos = ff < 0 ? n : ff + 1;
          if (state === S_TEXT) {
            if (ff >= 0) this.#state = S_END;
            if (take > 0 && !sink.framePayload(chunk.subarray(pos, end))) return;
          } else if (ff >= 0) {
            this.#state = S_TYPE;
          }
          break;
        }
        case S_LENGTH: {
          const b = chunk[pos];
          this.#pos = pos + 1;
          // count * 128 <= maxMessageSize (a safe integer) here, so this is exact until checked.
          const count = this.#count * 128 + (b & 0x7f);
          const more = (b & 0x80) !== 0;
          this.#count = count;
          // Another group to come makes the length at least 128 times what it is now.
          if ((more ? count * 128 : count) > this.#maxMessageSize) return this.#tooBig();
          if (more) break;
          if (this.#count > 0) {
            this.#remaining = this.#count;
            this.#state = S_SKIP_LENGTH;
          } else if (this.#type === 0xff && this.#closeFrame) {
            this.#state = S_END;
            if (!sink.frameStart(OP_CLOSE, true, 0, 0)) return;
          } else {
            this.#state = S_TYPE;
          }
          break;
        }
        default: { // S_SKIP_LENGTH
          const take = Math.min(this.#remaining, n - pos);
          this.#pos = pos + take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = S_TYPE;
          break;
        }
      }
    }
  }

  #tooBig(): void {
    this.stop();
    this.#sink.frameError(
      1009,
      "MESSAGE_TOO_BIG",
      `Frame exceeds the limit of ${this.#maxMessageSize} bytes`,
    );
  }
}

/** Payloads up to this size are copied between the frame bytes into one chunk: one write. */
const COALESCE_LIMIT = 4096;

/**
 * The hixie-76 closing handshake, `FF 00`. Shared: append it to an output list, never modify it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HIXIE_CLOSE } from "./hixie.ts";
 *
 * assert.deepEqual([...HIXIE_CLOSE], [0xff, 0x00]);
 * ```
 */
export const HIXIE_CLOSE: Uint8Array = new Uint8Array([0xff, 0x00]);

/**
 * Appends one hixie text frame, `00 <payload> FF`, to `out`.
 *
 * A payload of up to 4096 bytes is copied into a single chunk (one write, and one small copy is
 * cheaper than a vectored write). A larger one is appended as three chunks, `[00]`, the payload
 * itself (not copied: do not modify it afterwards) and `[FF]`, for vectored writes.
 *
 * @param out The output list to append to.
 * @param payload UTF-8 encoded text. Valid UTF-8 never contains the byte `0xFF`.
 * @returns The number of bytes appended (`payload.length + 2`).
 * @throws {RangeError} If `payload` contains `0xFF`, which would end the frame early.
 *
 * @example "Hello"
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeHixieText } from "./hixie.ts";
 *
 * const out: Uint8Array[] = [];
 * assert.equal(writeHixieText(out, new TextEncoder().encode("Hello")), 7);
 * assert.deepEqual([...out[0]], [0x00, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0xff]);
 * ```
 */
export function writeHixieText(out: Uint8Array[], payload: Uint8Array): number {
  const length = payload.length;
  if (payload.indexOf(0xff) >= 0) {
    throw new RangeError("Hixie text payload contains the byte 0xFF");
  }
  if (length <= COALESCE_LIMIT) {
    const buf = new Uint8Array(length + 2);
    buf.set(payload, 1);
    buf[length + 1] = 0xff;
    out.push(buf);
  } else {
    out.push(new Uint8Array([0x00]), payload, new Uint8Array([0xff]));
  }
  return length + 2;
}
