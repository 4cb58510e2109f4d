/**
 * RFC 6455 §5 framing (also hybi-07 and hybi-08, which frame identically).
 *
 * {@linkcode FrameParser} is incremental: it accepts any chunking and reports each frame to a
 * {@linkcode FrameSink} as `frameStart`, zero or more `framePayload` views, `frameEnd`. Only the
 * header (at most 14 bytes) is ever buffered; payload bytes are handed on as views into the
 * caller's chunk, unmasked in place, so the parser itself never copies a payload.
 *
 * The parser enforces the rules that a single frame header decides (RSV bits, reserved opcodes,
 * control-frame length and FIN, masking direction, 64-bit length MSB, size limit), each as soon as
 * the bytes that decide it have arrived: a header announcing more than the limit fails once its
 * length bytes are in, without waiting for the masking key. Rules spanning frames (fragmentation
 * order, message size, UTF-8) belong to the connection.
 *
 * {@linkcode writeFrame} appends a frame to an output list, header and payload as separate
 * chunks for large payloads (vectored writes) and as one chunk for small ones. Connections write
 * the same bytes through `_output.ts`, which shares {@linkcode headerSize} and
 * {@linkcode writeHeader} and packs consecutive frames into one chunk.
 *
 * @module
 */

import { applyMask } from "./_mask.ts";

/** Continuation frame opcode. */
export const OP_CONTINUATION = 0x0;
/** Text frame opcode. */
export const OP_TEXT = 0x1;
/** Binary frame opcode. */
export const OP_BINARY = 0x2;
/** Close frame opcode. */
export const OP_CLOSE = 0x8;
/** Ping frame opcode. */
export const OP_PING = 0x9;
/** Pong frame opcode. */
export const OP_PONG = 0xa;

/** RSV1 bit as it stands in the first header byte (used by permessage-deflate). */
export const RSV1 = 0x40;
/** RSV2 bit as it stands in the first header byte. */
export const RSV2 = 0x20;
/** RSV3 bit as it stands in the first header byte. */
export const RSV3 = 0x10;

/** Largest payload of a control frame. */
export const MAX_CONTROL_PAYLOAD = 125;

/** Why the frame parser stopped: the `code` of the {@linkcode ProtocolError} it leads to. */
export type FrameErrorCode =
  | "FRAME_RSV"
  | "FRAME_OPCODE"
  | "FRAME_MASK"
  | "FRAME_LENGTH"
  | "FRAME_CONTROL"
  | "MESSAGE_TOO_BIG";

/**
 * Receives what a {@linkcode FrameParser} finds. Implemented by the connection.
 */
export interface FrameSink {
  /**
   * A frame header was parsed. Like every sink method, returns false to pause the parser (it
   * resumes with {@linkcode FrameParser.resume}) unless the sink also stopped it.
   * @param opcode The frame's opcode.
   * @param fin Whether FIN is set.
   * @param rsv The RSV bits, masked out of the first byte (`RSV1 | RSV2 | RSV3` positions).
   * @param length The payload length.
   */
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): boolean;
  /**
   * A piece of the current frame's payload, already unmasked. A view into the chunk given to
   * {@linkcode FrameParser.push}, valid as long as that chunk is. Returns false to pause.
   */
  framePayload(data: Uint8Array): boolean;
  /** The current frame is complete. Returns false to pause. */
  frameEnd(): boolean;
  /**
   * The header broke a rule; parsing has stopped.
   * @param closeCode The RFC 6455 close code to answer with.
   * @param code A stable code naming the rule.
   * @param message What was wrong, in sentence case.
   */
  frameError(
    closeCode: number,
    code: FrameErrorCode,
    message: string,
  ): void;
}

/** Options of a {@linkcode FrameParser}. */
export interface FrameParserOptions {
  /** True when frames must be masked (a server reading a client), false when they must not be. */
  expectMasked: boolean;
  /** Largest payload accepted in one frame; larger headers fail with 1009 before any payload. */
  maxPayload: number;
  /**
   * RSV bits that a negotiated extension defines, allowed on text and binary frames (the first
   * frame of a message); any other set bit, and any RSV bit on a continuation or control frame,
   * fails with 1002.
   */
  allowedRsv?: number;
}

const NO_BYTES = new Uint8Array(0);
/** Where the parser keeps the current frame's masking key in its header buffer. */
const MASK_AT = 10;

const S_HEADER = 0; // first two bytes and extended length: each rule checked as its bytes arrive
const S_PAYLOAD = 1;
const S_MASK_KEY = 2; // length accepted, masking key still arriving
const S_END = 3; // payload complete, frameEnd owed (the sink may pause before it)
const S_STOPPED = 4;

/**
 * Incremental RFC 6455 frame parser. Feed it chunks with {@linkcode FrameParser.push}.
 *
 * It unmasks payload bytes in place inside the chunk it is given, so a chunk passed to `push`
 * belongs to the parser (and its sink) from then on.
 *
 * @example Parsing the RFC 6455 §5.7 unmasked "Hello" frame
 * ```ts
 * import { FrameParser, type FrameSink } from "@omniws/omniws";
 * const seen: string[] = [];
 * const sink: FrameSink = {
 *   frameStart: (op, fin, _rsv, len) => (seen.push(`start ${op} ${fin} ${len}`), true),
 *   framePayload: (data) => (seen.push(new TextDecoder().decode(data)), true),
 *   frameEnd: () => (seen.push("end"), true),
 *   frameError: (code) => void seen.push(`error ${code}`),
 * };
 * const parser = new FrameParser(sink, { expectMasked: false, maxPayload: 1 << 20 });
 * parser.push(new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
 * console.assert(seen.join("|") === "start 1 true 5|Hello|end");
 * ```
 */
export class FrameParser {
  #sink: FrameSink;
  #expectMasked: boolean;
  #maxPayload: number;
  #allowedRsv: number;
  #state: number = S_HEADER;
  /** Header bytes up to the extended length (0-9), then the masking key (10-13): one buffer. */
  #header: Uint8Array = new Uint8Array(14);
  /** Bytes of the header gathered so far; in `S_MASK_KEY`, bytes of the masking key. */
  #headerLength = 0;
  #remaining = 0;
  #masked = false;
  #maskOffset = 0;
  /** The chunk being parsed; let go once consumed, so an idle connection holds no input. */
  #chunk: Uint8Array = NO_BYTES;
  #pos = 0;

  /**
   * A parser that reports frames to `sink` as their bytes arrive.
   * @param sink Receives the frames.
   * @param options Masking direction, size limit and extension RSV bits.
   */
  constructor(sink: FrameSink, options: FrameParserOptions) {
    this.#sink = sink;
    this.#expectMasked = options.expectMasked;
    this.#maxPayload = options.maxPayload;
    this.#allowedRsv = options.allowedRsv ?? 0;
  }

  /** RSV bits allowed from now on (set once extensions are negotiated). */
  set allowedRsv(bits: number) {
    this.#allowedRsv = bits;
  }

  /** True once parsing stopped for good (a header broke a rule, or the sink called `stop`). */
  get stopped(): boolean {
    return this.#state === S_STOPPED;
  }

  /** True while the current chunk has unparsed bytes (the sink paused the parser). */
  get paused(): boolean {
    return this.#state === S_END || (this.#state !== S_STOPPED && this.#pos < this.#chunk.length);
  }

  /** Stop parsing; later chunks are ignored. */
  stop(): void {
    this.#state = S_STOPPED;
  }

  /**
   * Parse a chunk until it is consumed or the sink pauses. Payload views handed to the sink
   * point into `chunk`. Call only when not {@linkcode FrameParser.paused}.
   * @param chunk The next bytes from the peer.
   */
  push(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
    this.#run();
  }

  /** Continue parsing the current chunk after the sink paused. */
  resume(): void {
    this.#run();
  }

  #run(): void {
    const sink = this.#sink;
    const chunk = this.#chunk;
    const n = chunk.length;
    for (;;) {
      const state = this.#state;
      if (state === S_END) {
        this.#state = S_HEADER;
        if (!sink.frameEnd()) return;
      } else if (this.#pos >= n) {
        this.#chunk = NO_BYTES;
        this.#pos = 0;
        return;
      } else if (state === S_HEADER) {
        if (!this.#readHeader(chunk)) return;
      } else if (state === S_MASK_KEY) {
        if (!this.#readMaskKey(chunk)) return;
      } else if (state === S_PAYLOAD) {
        const pos = this.#pos;
        const take = Math.min(this.#remaining, n - pos);
        const view = chunk.subarray(pos, pos + take);
        this.#pos = pos + take;
        this.#remaining -= take;
        if (this.#masked) {
          applyMask(view, view, this.#header, this.#maskOffset, MASK_AT);
          this.#maskOffset += take;
        }
        if (this.#remaining === 0) this.#state = S_END;
        if (!sink.framePayload(view)) return;
      } else {
        return;
      }
    }
  }

  /**
   * Reads the header up to the end of its length from `chunk`, checking every rule as soon as the
   * bytes that decide it are in: RSV bits, opcode and a control frame's FIN at the first byte,
   * masking direction and a control frame's length at the second, the 64-bit MSB and the size
   * limit once the length is complete (before the masking key, so a peer announcing 2^62 bytes
   * is refused at once). Returns false when parsing stopped or the sink paused.
   */
  #readHeader(chunk: Uint8Array): boolean {
    const h = this.#header;
    const n = chunk.length;
    let pos = this.#pos;
    let have = this.#headerLength;
    if (have === 0) {
      const b0 = chunk[pos++]; // #run calls with at least one byte left
      h[0] = b0;
      if (!this.#checkFirstByte(b0)) return false;
      if (pos === n) {
        this.#pos = pos;
        this.#headerLength = 1;
        return true;
      }
      have = 1;
    }
    let b1 = h[1];
    if (have === 1) {
      b1 = chunk[pos++];
      h[1] = b1;
      if (!this.#checkSecondByte(h[0], b1)) return false;
      have = 2;
    }
    const len7 = b1 & 0x7f;
    let length = len7;
    if (len7 >= 126) {
      const end = len7 === 126 ? 4 : 10;
      while (have < end && pos < n) h[have++] = chunk[pos++];
      if (have < end) {
        this.#pos = pos;
        this.#headerLength = have;
        return true;
      }
      if (len7 === 126) {
        length = (h[2] << 8) | h[3];
      } else {
        const hi = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
        const lo = ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
        if (hi > 0x7fffffff) {
          this.#fail(1002, "FRAME_LENGTH", "Frame length has its most significant bit set");
          return false;
        }
        length = hi * 0x100000000 + lo;
      }
    }
    if (length > this.#maxPayload) {
      this.#fail(
        1009,
        "MESSAGE_TOO_BIG",
        `Frame of ${length} bytes exceeds the limit of ${this.#maxPayload}`,
      );
      return false;
    }
    this.#pos = pos;
    this.#headerLength = 0;
    this.#remaining = length;
    if ((b1 & 0x80) !== 0) {
      this.#masked = true;
      this.#state = S_MASK_KEY;
      return this.#readMaskKey(chunk);
    }
    this.#masked = false;
    return this.#startFrame();
  }

  /** Reads the masking key from `chunk`; returns false when the sink paused. */
  #readMaskKey(chunk: Uint8Array): boolean {
    const h = this.#header;
    const n = chunk.length;
    let pos = this.#pos;
    let have = this.#headerLength;
    while (have < 4 && pos < n) h[MASK_AT + have++] = chunk[pos++];
    this.#pos = pos;
    if (have < 4) {
      this.#headerLength = have;
      return true;
    }
    this.#headerLength = 0;
    this.#maskOffset = 0;
    return this.#startFrame();
  }

  /** The header is complete: reports the frame; returns false when the sink paused. */
  #startFrame(): boolean {
    const b0 = this.#header[0];
    const length = this.#remaining;
    this.#state = length > 0 ? S_PAYLOAD : S_END;
    return this.#sink.frameStart(b0 & 0x0f, (b0 & 0x80) !== 0, b0 & 0x70, length);
  }

  /**
   * Checks the rules the first header byte decides alone: RSV bits (an extension's bits only on
   * a text or binary frame, since extensions transform whole messages and mark their first
   * frame), opcode, control frame FIN.
   */
  #checkFirstByte(b0: number): boolean {
    const rsv = b0 & 0x70;
    if ((rsv & ~this.#allowedRsv) !== 0) {
      this.#fail(1002, "FRAME_RSV", "Reserved bits are set without a negotiated extension");
      return false;
    }
    const opcode = b0 & 0x0f;
    if ((opcode > 2 && opcode < 8) || opcode > 10) {
      this.#fail(1002, "FRAME_OPCODE", `Reserved opcode ${opcode}`);
      return false;
    }
    if (rsv !== 0 && (opcode === OP_CONTINUATION || opcode >= OP_CLOSE)) {
      const kind = opcode === OP_CONTINUATION ? "Continuation" : "Control";
      this.#fail(1002, "FRAME_RSV", `${kind} frame has reserved bits set`);
      return false;
    }
    if (opcode >= 8 && (b0 & 0x80) === 0) {
      this.#fail(1002, "FRAME_CONTROL", "Control frame is fragmented");
      return false;
    }
    return true;
  }

  /** Checks the rules the second header byte decides: control frame length, mask direction. */
  #checkSecondByte(b0: number, b1: number): boolean {
    if ((b0 & 0x0f) >= 8 && (b1 & 0x7f) > MAX_CONTROL_PAYLOAD) {
      this.#fail(1002, "FRAME_CONTROL", "Control frame payload is longer than 125 bytes");
      return false;
    }
    if (((b1 & 0x80) !== 0) !== this.#expectMasked) {
      this.#fail(
        1002,
        "FRAME_MASK",
        this.#expectMasked ? "Client frame is not masked" : "Server frame is masked",
      );
      return false;
    }
    return true;
  }

  #fail(
    closeCode: number,
    code: FrameErrorCode,
    message: string,
  ): void {
    this.#state = S_STOPPED;
    this.#sink.frameError(closeCode, code, message);
  }
}

/**
 * Payloads up to this size are copied behind their header into one chunk (one write, not two);
 * larger unmasked ones are referenced, not copied. Callers that must snapshot what they send
 * need to copy only above it.
 */
export const COALESCE_LIMIT = 4096;

/**
 * Append one frame to `out`: a single chunk for small or masked payloads, `[header, payload]`
 * for large unmasked ones (the payload is then not copied: do not modify it afterwards).
 *
 * @param out The output list to append to.
 * @param opcode The frame opcode.
 * @param fin Whether this is the last frame of its message.
 * @param rsv RSV bits in first-byte position (`RSV1` ...), normally 0.
 * @param payload The payload.
 * @param maskKey A fresh 4-byte key for client frames, or null for server frames.
 * @returns The number of bytes appended.
 *
 * @example The RFC 6455 §5.7 unmasked "Hello" frame
 * ```ts
 * import { writeFrame, OP_TEXT } from "@omniws/omniws";
 * const out: Uint8Array[] = [];
 * writeFrame(out, OP_TEXT, true, 0, new TextEncoder().encode("Hello"), null);
 * console.assert(out[0].join() === [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f].join());
 * ```
 */
export function writeFrame(
  out: Uint8Array[],
  opcode: number,
  fin: boolean,
  rsv: number,
  payload: Uint8Array,
  maskKey: Uint8Array | null,
): number {
  const length = payload.length;
  const headerLength = headerSize(length, maskKey !== null);
  const together = maskKey !== null || length <= COALESCE_LIMIT;
  const buf = new Uint8Array(together ? headerLength + length : headerLength);
  writeHeader(buf, 0, (fin ? 0x80 : 0) | rsv | opcode, length, maskKey);
  if (maskKey !== null) {
    // Copy, then mask in place: the in-place path always qualifies for the word loop.
    const body = buf.subarray(headerLength);
    body.set(payload);
    applyMask(body, body, maskKey, 0);
    out.push(buf);
  } else if (together) {
    buf.set(payload, headerLength);
    out.push(buf);
  } else {
    out.push(buf, payload);
  }
  return headerLength + length;
}

/**
 * Length of a frame header.
 *
 * @param length The payload length.
 * @param masked Whether the frame carries a masking key.
 * @returns 2 to 14.
 */
export function headerSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Write a frame header into `buf` at `at`.
 *
 * @param buf Destination, with room for {@linkcode headerSize} bytes from `at`.
 * @param at Offset in `buf`.
 * @param b0 The first header byte (FIN, RSV bits, opcode).
 * @param length The payload length.
 * @param mask The 4-byte masking key, or null for an unmasked frame.
 * @returns The header's length.
 */
export function writeHeader(
  buf: Uint8Array,
  at: number,
  b0: number,
  length: number,
  mask: Uint8Array | null,
): number {
  buf[at] = b0;
  let h: number;
  if (length < 126) {
    buf[at + 1] = length;
    h = 2;
  } else if (length < 0x10000) {
    buf[at + 1] = 126;
    buf[at + 2] = length >>> 8;
    buf[at + 3] = length & 0xff;
    h = 4;
  } else {
    buf[at + 1] = 127;
    const hi = Math.floor(length / 0x100000000);
    buf[at + 2] = hi >>> 24;
    buf[at + 3] = (hi >>> 16) & 0xff;
    buf[at + 4] = (hi >>> 8) & 0xff;
    buf[at + 5] = hi & 0xff;
    buf[at + 6] = length >>> 24;
    buf[at + 7] = (length >>> 16) & 0xff;
    buf[at + 8] = (length >>> 8) & 0xff;
    buf[at + 9] = length & 0xff;
    h = 10;
  }
  if (mask !== null) {
    buf[at + 1] |= 0x80;
    buf[at + h] = mask[0];
    buf[at + h + 1] = mask[1];
    buf[at + h + 2] = mask[2];
    buf[at + h + 3] = mask[3];
    h += 4;
  }
  return h;
}

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4 and the IANA registry):
 * 1000-1003, 1007-1014 and 3000-4999.
 *
 * @param code A close code.
 * @returns True when a peer may send it.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}
