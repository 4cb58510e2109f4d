/**
 * The fuzzer's own wire layer: frames written byte for byte as a case says (valid or not), an
 * incremental frame reader, and the two opening handshakes. Written independently of omniws
 * (node:crypto for SHA-1, no import from the core), so a bug in the implementation under test
 * cannot hide itself by being shared with the tool that judges it.
 *
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

/** Opcodes by name. */
export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();

/** Bytes of a string as UTF-8, or the bytes themselves. */
export function bytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** `pattern` repeated (and cut) to exactly `length` bytes (Autobahn's `payload_len`). */
export function repeatTo(pattern: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (pattern.length === 0 || length === 0) return out;
  let at = Math.min(pattern.length, length);
  out.set(pattern.subarray(0, at));
  while (at < length) {
    const n = Math.min(at, length - at);
    out.copyWithin(at, 0, n);
    at += n;
  }
  return out;
}

/** A frame to write, exactly as given. */
export interface RawFrame {
  /** Any value 0-15, reserved ones included. */
  opcode: number;
  /** FIN bit. */
  fin: boolean;
  /** RSV bits as Autobahn numbers them: 4 = RSV1, 2 = RSV2, 1 = RSV3. */
  rsv: number;
  /** Payload before masking. */
  payload: Uint8Array;
  /** Masking key, or null for an unmasked frame. */
  mask: Uint8Array | null;
}

/**
 * Encode one frame.
 * @param frame What to write.
 * @returns The frame's bytes.
 */
export function encodeFrame(frame: RawFrame): Uint8Array {
  const len = frame.payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const maskLen = frame.mask === null ? 0 : 4;
  const out = new Uint8Array(2 + ext + maskLen + len);
  out[0] = (frame.fin ? 0x80 : 0) | ((frame.rsv & 7) << 4) | (frame.opcode & 0x0f);
  const m = frame.mask === null ? 0 : 0x80;
  if (ext === 0) {
    out[1] = m | len;
  } else if (ext === 2) {
    out[1] = m | 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = m | 127;
    const hi = Math.floor(len / 2 ** 32);
    new DataView(out.buffer).setUint32(2, hi);
    new DataView(out.buffer).setUint32(6, len >>> 0);
  }
  const at = 2 + ext + maskLen;
  out.set(frame.payload, at);
  if (frame.mask !== null) {
    out.set(frame.mask, 2 + ext);
    const k = frame.mask;
    for (let i = 0; i < len; i++) out[at + i] ^= k[i & 3];
  }
  return out;
}

/** A frame as read from the peer (payload already unmasked). */
export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Chunks in arrival order with exact-size reads; copies only what it hands out. */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #length = 0;

  /** Bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Queue a chunk (kept by reference). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Byte at offset `i` from the front, without consuming. */
  at(i: number): number {
    let idx = 0;
    let off = this.#head + i;
    while (off >= this.#chunks[idx].length) {
      off -= this.#chunks[idx].length;
      idx++;
    }
    return this.#chunks[idx][off];
  }

  /** Remove and return the first `n` bytes (a copy). */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0];
      const k = Math.min(n - at, c.length - this.#head);
      out.set(c.subarray(this.#head, this.#head + k), at);
      at += k;
      this.#head += k;
      if (this.#head === c.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#length -= n;
    return out;
  }
}

/** Largest frame the fuzzer accepts from a peer (the biggest case message is 16 MiB). */
export const MAX_FRAME = 64 * 1024 * 1024;

/** Incremental frame reader: push bytes, pull whole frames. */
export class FrameReader {
  readonly #q = new ByteQueue();

  /** Queue received bytes. */
  push(chunk: Uint8Array): void {
    this.#q.push(chunk);
  }

  /**
   * The next whole frame, null when more bytes are needed.
   * @throws Error when a length is absurd (above {@linkcode MAX_FRAME} or the 64-bit MSB set).
   */
  next(): Frame | null {
    const q = this.#q;
    if (q.length < 2) return null;
    const b0 = q.at(0);
    const b1 = q.at(1);
    const masked = (b1 & 0x80) !== 0;
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (q.length < 4) return null;
      len = (q.at(2) << 8) | q.at(3);
      head = 4;
    } else if (len === 127) {
      if (q.length < 10) return null;
      if (q.at(2) & 0x80) throw new Error("64-bit payload length has its most significant bit set");
      let hi = 0;
      for (let i = 2; i < 6; i++) hi = hi * 256 + q.at(i);
      let lo = 0;
      for (let i = 6; i < 10; i++) lo = lo * 256 + q.at(i);
      len = hi * 2 ** 32 + lo;
      head = 10;
    }
    if (len > MAX_FRAME) throw new Error(`Frame of ${len} bytes is above the fuzzer's limit`);
    const total = head + (masked ? 4 : 0) + len;
    if (q.length < total) return null;
    q.take(head);
    const key = masked ? q.take(4) : null;
    const payload = q.take(len);
    if (key !== null) { for (let i = 0; i < len; i++) payload[i] ^= key[i & 3]; }
    return { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload };
  }
}

/** `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2). */
export function acceptFor(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** A fresh 16-byte base64 `Sec-WebSocket-Key`. */
export function newKey(): string {
  return randomBytes(16).toString("base64");
}

/** A fresh 4-byte masking key. */
export function newMask(): Uint8Array {
  return new Uint8Array(randomBytes(4));
}

/** An HTTP head split at the blank line. */
export interface Head {
  /** Request line or status line. */
  start: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Map<string, string>;
  /** Bytes after the head (early frames). */
  rest: Uint8Array;
}

const CRLFCRLF = [13, 10, 13, 10];

/**
 * Find the end of an HTTP head in `buf`; null when incomplete.
 * @param buf The bytes received so far.
 */
export function parseHead(buf: Uint8Array): Head | null {
  let end = -1;
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === CRLFCRLF[0] && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  const text = new TextDecoder("latin1").decode(buf.subarray(0, end));
  const lines = text.split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { start: lines[0], headers, rest: buf.slice(end + 4) };
}

/** The upgrade request a fuzzing client sends, with `offer` as its Sec-WebSocket-Extensions. */
export function clientRequest(
  host: string,
  path: string,
  key: string,
  offer: string | null = null,
): Uint8Array {
  const extensions = offer === null ? "" : `Sec-WebSocket-Extensions: ${offer}\r\n`;
  return encoder.encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extensions}` +
      `User-Agent: omniws-conformance\r\n\r\n`,
  );
}

/** Time a fuzzing client waits for the 101 response. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Connect and perform the client opening handshake, offering `offer` as the
 * Sec-WebSocket-Extensions header when given. Without an offer, a response naming extensions
 * fails the handshake.
 * @returns The socket and the parsed 101 response (`head.rest`: the bytes that followed it).
 */
export function clientHandshake(
  host: string,
  port: number,
  hostHeader: string,
  path: string,
  offer: string | null = null,
): Promise<{ socket: net.Socket; head: Head }> {
  return new Promise((resolve, reject) => {
    const key = newKey();
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    let buf: Uint8Array = new Uint8Array(0);
    const fail = (message: string) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.destroy();
      reject(new Error(message));
    };
    const timer = setTimeout(() => fail("no 101 response within 10 s"), HANDSHAKE_TIMEOUT_MS);
    socket.on("error", (e) => fail(e.message));
    socket.on("close", () => fail("connection closed during the handshake"));
    socket.on("data", (d: Uint8Array) => {
      buf = concat([buf, new Uint8Array(d)]);
      if (buf.length > 16384) return fail("response head too large");
      const head = parseHead(buf);
      if (head === null) return;
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.removeAllListeners("close");
      socket.removeAllListeners("error");
      if (!/^HTTP\/1\.1 101\b/.test(head.start)) return fail(`unexpected response: ${head.start}`);
      if (head.headers.get("sec-websocket-accept") !== acceptFor(key)) {
        return fail("wrong Sec-WebSocket-Accept");
      }
      if (offer === null && (head.headers.get("sec-websocket-extensions") ?? "") !== "") {
        return fail("server answered with extensions nobody offered");
      }
      resolve({ socket, head });
    });
    socket.write(clientRequest(hostHeader, path, key, offer));
  });
}

/** The 101 response a fuzzing server sends. */
export function serverResponse(key: string): Uint8Array {
  return encoder.encode(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Accept: ${acceptFor(key)}\r\nServer: omniws-conformance\r\n\r\n`,
  );
}

/** A plain HTTP error response. */
export function httpError(status: number, message: string): Uint8Array {
  const body = encoder.encode(message);
  return concat([
    encoder.encode(
      `HTTP/1.1 ${status} Error\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    ),
    body,
  ]);
}

/** Concatenate byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte arrays are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Hex of at most `max` bytes, with an ellipsis when cut. */
export function hex(data: Uint8Array, max = 32): string {
  let s = "";
  for (let i = 0; i < Math.min(data.length, max); i++) s += data[i].toString(16).padStart(2, "0");
  return data.length > max ? `${s}... (${data.length} bytes)` : s;
}

/**
 * Valid close codes on the wire (RFC 6455 §7.4.1, §7.4.2 and the IANA registry): 1000-1003,
 * 1007-1014, 3000-4999.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}
