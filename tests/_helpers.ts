/**
 * Shared test utilities for the core suite: deterministic randomness, chunkings, a client and a
 * server wired together in memory, hand-made frames, and connections already past the handshake.
 *
 * Every byte array handed to `receive()` belongs to the connection afterwards (payloads are
 * unmasked in place), so the helpers that feed bytes always copy them first.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ClientConnection, type ClientOptions } from "../core/client.ts";
import type { Connection, ConnectionEvent } from "../core/connection.ts";
import { ServerConnection, type ServerOptions } from "../core/server.ts";
import type { UpgradeRequest } from "../handshake/rfc6455.ts";
import { acceptKey } from "../handshake/rfc6455.ts";

export const encoder: TextEncoder = new TextEncoder();
export const decoder: TextDecoder = new TextDecoder();

/** A seeded PRNG (mulberry32) returning 32-bit unsigned integers. */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `length` bytes from a seeded PRNG. */
export function seededBytes(seed: number, length: number): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/** A `randomBytes` option filling buffers from a seeded PRNG, for deterministic clients. */
export function seededRandom(seed: number): (buffer: Uint8Array) => void {
  const next = mulberry32(seed);
  return (buffer: Uint8Array): void => {
    for (let i = 0; i < buffer.length; i++) buffer[i] = next() & 0xff;
  };
}

/** Cut `bytes` at the given offsets (sorted, inside the array); every piece is a fresh copy. */
export function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const at of offsets) {
    if (at <= from || at >= bytes.length) continue;
    out.push(bytes.slice(from, at));
    from = at;
  }
  out.push(bytes.slice(from));
  return out;
}

/**
 * Chunkings of `bytes`, each a list of fresh copies: whole, byte by byte, then `random` seeded
 * random splits (alternately into up to 4 pieces and into up to 4096 pieces).
 */
export function splits(bytes: Uint8Array, seed: number, random = 6): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes.slice()]];
  const single: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(bytes.slice(i, i + 1));
  out.push(single);
  const next = mulberry32(seed);
  for (let r = 0; r < random; r++) {
    const offsets: number[] = [];
    if (bytes.length > 1) {
      const many = Math.min(4096, Math.max(1, bytes.length >>> 1));
      const count = r % 2 === 0 ? 1 + (next() % 4) : 1 + (next() % many);
      for (let i = 0; i < count; i++) offsets.push(1 + (next() % (bytes.length - 1)));
      offsets.sort((a, b) => a - b);
    }
    out.push(cut(bytes, offsets));
  }
  return out;
}

/** Join byte arrays into one. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parse space-separated hex (`"81 05 48"`; whitespace optional between pairs) into bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new TypeError(`Bad hex: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes as lowercase space-separated hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Bytes shown on each side of the first difference by {@linkcode assertBytesEqual}. */
const WINDOW = 8;

/** `bytes[from..to)` as hex, the byte at `mark` in brackets, with ellipses where it is cut. */
function hexWindow(bytes: Uint8Array, mark: number): string {
  const from = Math.max(0, mark - WINDOW);
  const to = Math.min(bytes.length, mark + WINDOW + 1);
  const parts: string[] = [];
  for (let i = from; i < to; i++) {
    const h = bytes[i].toString(16).padStart(2, "0");
    parts.push(i === mark ? `[${h}]` : h);
  }
  if (mark >= bytes.length) parts.push("[end]");
  return `${from > 0 ? "… " : ""}${parts.join(" ")}${to < bytes.length ? " …" : ""}`;
}

/** A short description of a value for a failure message: byte arrays and long strings summarised. */
export function brief(value: unknown, limit = 400): string {
  if (value instanceof Uint8Array) {
    const head = toHex(value.subarray(0, 2 * WINDOW));
    return `${value.constructor.name}(${value.length})${head === "" ? "" : ` ${head}`}${
      value.length > 2 * WINDOW ? " …" : ""
    }`;
  }
  let text: string;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => {
      if (v instanceof Uint8Array) return `<${brief(v)}>`;
      if (typeof v === "string" && v.length > 80) return `${v.slice(0, 60)}… (${v.length} chars)`;
      return v;
    }) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length} chars)` : text;
}

/**
 * Asserts that `actual` is a byte array equal to `expected` (same prototype, as
 * `assert.deepStrictEqual` would check), failing fast with a short message: the lengths and the
 * first differing index with a hex window around it. `assert.deepEqual` over large arrays renders
 * and diffs every element on failure, which took a failing test minutes and gigabytes.
 */
export function assertBytesEqual(actual: unknown, expected: Uint8Array, what = "bytes"): void {
  if (!(actual instanceof Uint8Array)) {
    assert.fail(`${what}: expected ${brief(expected)}, got ${brief(actual)}`);
  }
  if (Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) {
    assert.fail(
      `${what}: expected a ${expected.constructor.name}, got a ${actual.constructor.name}`,
    );
  }
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  if (i === n && actual.length === expected.length) return;
  const lengths = actual.length === expected.length
    ? `both ${n} bytes`
    : `actual ${actual.length} bytes, expected ${expected.length}`;
  assert.fail(
    `${what}: ${lengths}; first difference at index ${i}: actual ${
      hexWindow(actual, i)
    }, expected ${hexWindow(expected, i)}`,
  );
}

/** Strings compared by {@linkcode assertDeepEqualBytes} by first difference from this length. */
const LONG_STRING = 200;

/**
 * `assert.deepStrictEqual` for values that hold large byte arrays or strings (lists of events,
 * of calls, of messages): arrays and plain objects are walked, byte arrays compared with
 * {@linkcode assertBytesEqual}, long strings by their first difference, everything else with
 * `assert.deepStrictEqual`. A mismatch fails at once, naming its path (`calls[3][1]`) and
 * summarising both sides, instead of rendering a diff of every byte.
 */
export function assertDeepEqualBytes(actual: unknown, expected: unknown, what = "value"): void {
  if (expected instanceof Uint8Array) return assertBytesEqual(actual, expected, what);
  const mismatch = (why: string): never =>
    assert.fail(`${what}: ${why}: expected ${brief(expected)}, got ${brief(actual)}`);
  if (typeof expected === "string") {
    if (typeof actual !== "string") return mismatch("not a string");
    if (actual === expected) return;
    if (actual.length < LONG_STRING && expected.length < LONG_STRING) {
      return assert.equal(actual, expected, `${what}: ${brief(actual)} !== ${brief(expected)}`);
    }
    let i = 0;
    while (i < actual.length && actual[i] === expected[i]) i++;
    const at = (t: string) => JSON.stringify(t.slice(Math.max(0, i - 20), i + 20));
    return assert.fail(
      `${what}: strings of ${actual.length} and ${expected.length} chars (actual, expected) ` +
        `first differ at ${i}: actual ${at(actual)}, expected ${at(expected)}`,
    );
  }
  if (expected === null || typeof expected !== "object") {
    if (!Object.is(actual, expected)) return mismatch("not equal");
    return;
  }
  if (actual === null || typeof actual !== "object") return mismatch("not an object");
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return mismatch("not an array");
    if (actual.length !== expected.length) {
      return mismatch(`${actual.length} elements, expected ${expected.length}`);
    }
    for (let i = 0; i < expected.length; i++) {
      assertDeepEqualBytes(actual[i], expected[i], `${what}[${i}]`);
    }
    return;
  }
  const proto = Object.getPrototypeOf(expected);
  if (proto === Object.prototype || proto === null) {
    if (Object.getPrototypeOf(actual) !== proto) return mismatch("not a plain object");
    const keys = Object.keys(expected).sort();
    const actualKeys = Object.keys(actual).sort();
    if (keys.join("\0") !== actualKeys.join("\0")) {
      return mismatch(`keys ${actualKeys.join(",")}, expected ${keys.join(",")}`);
    }
    for (const key of keys) {
      assertDeepEqualBytes(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${what}.${key}`,
      );
    }
    return;
  }
  if (actual instanceof Uint8Array) return mismatch("a byte array");
  // Anything else (errors, maps) is small: the built-in check, with a message of our own.
  assert.deepStrictEqual(
    actual,
    expected,
    `${what}: expected ${brief(expected)}, got ${brief(actual)}`,
  );
}

/** Every pending event of a connection. */
export function drain(conn: Connection): ConnectionEvent[] {
  const out: ConnectionEvent[] = [];
  for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) out.push(ev);
  return out;
}

/** Every pending output chunk of a connection, joined. */
export function output(conn: Connection): Uint8Array {
  return concat(conn.takeOutput());
}

/** Feed copies of `chunks` to `conn`, one `receive` each. */
export function feed(conn: Connection, chunks: readonly Uint8Array[]): void {
  for (const c of chunks) conn.receive(c.slice());
}

/** The types of a list of events, for compact assertions. */
export function types(events: readonly ConnectionEvent[]): string[] {
  return events.map((e) => e.type);
}

/** The one event of the given type (fails the test if there are none or several). */
export function only<T extends ConnectionEvent["type"]>(
  events: readonly ConnectionEvent[],
  type: T,
): Extract<ConnectionEvent, { type: T }> {
  const found = events.filter((e) => e.type === type);
  if (found.length !== 1) {
    throw new Error(`Expected one ${type} event, got ${found.length}: ${types(events).join(",")}`);
  }
  return found[0] as Extract<ConnectionEvent, { type: T }>;
}

/** Options of a hand-made frame. */
export interface FrameOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV bits in first-byte position; default 0. */
  rsv?: number;
  /** The 4-byte masking key, or null for an unmasked frame; default `37 fa 21 3d`. */
  mask?: Uint8Array | null;
}

/**
 * A frame written by hand, independently of `writeFrame`: masked by default (as a client
 * sends), with the shortest length encoding.
 */
export function maskedFrame(
  opcode: number,
  payload: Uint8Array | string,
  options: FrameOptions = {},
): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const fin = options.fin ?? true;
  const rsv = options.rsv ?? 0;
  const mask = options.mask === undefined ? hex("37 fa 21 3d") : options.mask;
  const n = data.length;
  const head: number[] = [(fin ? 0x80 : 0) | rsv | opcode];
  const m = mask === null ? 0 : 0x80;
  if (n < 126) {
    head.push(m | n);
  } else if (n < 65536) {
    head.push(m | 126, n >> 8, n & 0xff);
  } else {
    const hi = Math.floor(n / 2 ** 32);
    head.push(m | 127, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    head.push(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  if (mask !== null) head.push(mask[0], mask[1], mask[2], mask[3]);
  const out = new Uint8Array(head.length + n);
  out.set(head);
  for (let i = 0; i < n; i++) {
    out[head.length + i] = mask === null ? data[i] : data[i] ^ mask[i & 3];
  }
  return out;
}

/** An unmasked frame, as a server sends. */
export function serverFrame(
  opcode: number,
  payload: Uint8Array | string,
  options: Omit<FrameOptions, "mask"> = {},
): Uint8Array {
  return maskedFrame(opcode, payload, { ...options, mask: null });
}

/** A close frame payload: 2-byte code and UTF-8 reason. */
export function closePayload(code: number, reason: string | Uint8Array = ""): Uint8Array {
  const r = typeof reason === "string" ? encoder.encode(reason) : reason;
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** A parsed frame, as `parseFrames` returns it (payload unmasked). */
export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  mask: Uint8Array | null;
  payload: Uint8Array;
}

/**
 * A reference parser for frames written by the code under test (whole frames only, no
 * validation), written independently of `FrameParser`.
 */
export function parseFrames(bytes: Uint8Array): ParsedFrame[] {
  const frames: ParsedFrame[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const b0 = bytes[pos];
    const b1 = bytes[pos + 1];
    pos += 2;
    let n = b1 & 0x7f;
    if (n === 126) {
      n = (bytes[pos] << 8) | bytes[pos + 1];
      pos += 2;
    } else if (n === 127) {
      n = 0;
      for (let i = 0; i < 8; i++) n = n * 256 + bytes[pos + i];
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const mask = masked ? bytes.slice(pos, pos + 4) : null;
    if (masked) pos += 4;
    if (pos + n > bytes.length) throw new Error(`Truncated frame at ${pos}`);
    const payload = bytes.slice(pos, pos + n);
    if (mask !== null) { for (let i = 0; i < n; i++) payload[i] ^= mask[i & 3]; }
    pos += n;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: b0 & 0x70,
      opcode: b0 & 0x0f,
      masked,
      mask,
      payload,
    });
  }
  return frames;
}

/** The close code and reason of a close frame's payload (1005 when empty). */
export function readClose(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: "" };
  return { code: (payload[0] << 8) | payload[1], reason: decoder.decode(payload.subarray(2)) };
}

/** The RFC 6455 §1.2 sample key and its accept value. */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** Options of {@linkcode requestText}. */
export interface RequestTextOptions {
  method?: string;
  target?: string;
  httpVersion?: string;
  /** Header lines to use instead of the defaults (name, value); null values drop a default. */
  headers?: Record<string, string | null>;
  /** Lines added after the headers, verbatim. */
  extra?: string[];
}

/** A valid RFC 6455 upgrade request head (with overrides), as a string. */
export function requestText(options: RequestTextOptions = {}): string {
  const headers: Record<string, string | null> = {
    Host: "server.example.com",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": SAMPLE_KEY,
    "Sec-WebSocket-Version": "13",
    ...options.headers,
  };
  let text = `${options.method ?? "GET"} ${options.target ?? "/chat"} HTTP/${
    options.httpVersion ?? "1.1"
  }\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value !== null) text += `${name}: ${value}\r\n`;
  }
  for (const line of options.extra ?? []) text += line + "\r\n";
  return text + "\r\n";
}

/** The same request as bytes. */
export function requestBytes(options: RequestTextOptions = {}): Uint8Array {
  return encoder.encode(requestText(options));
}

/** A ServerConnection already open: fed a valid request, accepted, its 101 taken. */
export function serverAfterHandshake(options: ServerOptions = {}): ServerConnection {
  const server = new ServerConnection(options);
  server.receive(requestBytes());
  const events = drain(server);
  if (events.length !== 1 || events[0].type !== "request") {
    throw new Error(`Unexpected ${types(events)}`);
  }
  server.accept();
  server.takeOutput();
  const opened = drain(server);
  if (opened.length !== 1 || opened[0].type !== "open") {
    throw new Error(`Unexpected ${types(opened)}`);
  }
  return server;
}

/** The `Sec-WebSocket-Key` a client wrote in its request. */
export function keyOf(requestBytes: Uint8Array): string {
  const m = /\r\nSec-WebSocket-Key: ([^\r]*)\r\n/i.exec(decoder.decode(requestBytes));
  if (m === null) throw new Error("No key in the request");
  return m[1];
}

/** A valid 101 answer to a request with this key, with extra header lines. */
export function responseText(key: string, extra: string[] = []): string {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` + extra.map((l) => l + "\r\n").join("") + "\r\n";
}

/** Client options with a default host. */
export type TestClientOptions = Partial<ClientOptions>;

/** A ClientConnection already open: its request taken, fed a valid 101. */
export function clientAfterHandshake(options: TestClientOptions = {}): ClientConnection {
  const client = new ClientConnection({ host: "server.example.com", ...options });
  const request = output(client);
  client.receive(encoder.encode(responseText(keyOf(request))));
  const events = drain(client);
  if (events.length !== 1 || events[0].type !== "open") {
    throw new Error(`Unexpected ${types(events)}`);
  }
  return client;
}

/** How a {@linkcode ConnectionPair} answers the server's `request` event. */
export type RequestHandler = (request: UpgradeRequest, server: ServerConnection) => void;

/** Options of a {@linkcode ConnectionPair}. */
export interface PairOptions {
  client?: TestClientOptions;
  server?: ServerOptions;
  /** Called on the server's request event; default `server.accept()`. */
  onRequest?: RequestHandler;
}

/**
 * A client and a server wired together in memory. `pump()` moves output both ways until
 * neither side has anything left to say, collecting events per side (and answering the
 * server's request with the callback). Transport closes are not simulated unless asked with
 * {@linkcode ConnectionPair.endTransport}.
 */
export class ConnectionPair {
  readonly client: ClientConnection;
  readonly server: ServerConnection;
  readonly clientEvents: ConnectionEvent[] = [];
  readonly serverEvents: ConnectionEvent[] = [];
  /** Every byte the client wrote, and the server wrote, in order. */
  readonly clientWrote: Uint8Array[] = [];
  readonly serverWrote: Uint8Array[] = [];
  readonly #onRequest: RequestHandler;

  constructor(options: PairOptions = {}) {
    this.client = new ClientConnection({ host: "server.example.com", ...options.client });
    this.server = new ServerConnection(options.server ?? {});
    this.#onRequest = options.onRequest ?? ((_r, s) => s.accept());
    this.pump();
  }

  /** Move bytes both ways until quiet. Returns the number of chunks moved. */
  pump(): number {
    let moved = 0;
    for (;;) {
      let progress = false;
      for (const bytes of this.client.takeOutput()) {
        this.clientWrote.push(bytes.slice());
        this.server.receive(bytes.slice());
        moved++;
        progress = true;
      }
      for (const ev of drain(this.server)) {
        this.serverEvents.push(ev);
        if (ev.type === "request") this.#onRequest(ev.request, this.server);
        progress = true;
      }
      for (const bytes of this.server.takeOutput()) {
        this.serverWrote.push(bytes.slice());
        this.client.receive(bytes.slice());
        moved++;
        progress = true;
      }
      for (const ev of drain(this.client)) {
        this.clientEvents.push(ev);
        progress = true;
      }
      if (!progress) return moved;
    }
  }

  /** Simulate the transport closing (as the side that asked for it would): both sides see the end. */
  endTransport(): void {
    this.pump();
    this.client.receiveEnd();
    this.server.receiveEnd();
    this.pump();
  }

  /** Take the events collected so far for one side. */
  take(side: "client" | "server"): ConnectionEvent[] {
    const list = side === "client" ? this.clientEvents : this.serverEvents;
    return list.splice(0, list.length);
  }
}

/**
 * Events made comparable across chunkings: the `fragment` events of one streamed message are
 * joined into one `message*` entry, placed at its last fragment (pings and pongs that arrived
 * between its fragments stay where they are, since how many fragments precede them depends on
 * the chunking); a streamed message cut short becomes a `partial*` entry before the event that
 * ended it. Byte views become plain arrays and errors are reduced to their codes.
 */
export function normalize(events: readonly ConnectionEvent[]): unknown[] {
  const out: unknown[] = [];
  let frag: { binary: boolean; parts: Array<string | Uint8Array> } | null = null;
  const joinFrag = (f: { binary: boolean; parts: Array<string | Uint8Array> }): unknown =>
    f.binary ? Array.from(concat(f.parts as Uint8Array[])) : (f.parts as string[]).join("");
  for (const ev of events) {
    if (ev.type === "fragment") {
      frag ??= { binary: ev.binary, parts: [] };
      frag.parts.push(ev.data);
      if (ev.last) {
        out.push({ type: "message*", binary: frag.binary, data: joinFrag(frag) });
        frag = null;
      }
      continue;
    }
    if (frag !== null && ev.type !== "ping" && ev.type !== "pong") {
      out.push({ type: "partial*", data: joinFrag(frag) });
      frag = null;
    }
    switch (ev.type) {
      case "message":
        out.push({
          type: "message",
          data: typeof ev.data === "string" ? ev.data : Array.from(ev.data),
        });
        break;
      case "ping":
      case "pong":
        out.push({ type: ev.type, data: Array.from(ev.data) });
        break;
      case "error":
        out.push({
          type: "error",
          code: ev.error.code,
          closeCode: ev.error.closeCode,
          status: ev.error.status,
        });
        break;
      case "request":
        out.push({ type: "request", target: ev.request.target, version: ev.request.version });
        break;
      default:
        out.push(ev);
    }
  }
  if (frag !== null) out.push({ type: "partial*", data: joinFrag(frag) });
  return out;
}

/**
 * Checks the event-sequence invariants of a finished or running connection: at most one
 * `close`, last if present; every `error` directly followed by `close`; `open` at most once and
 * before any message (pass `alreadyOpen` for events collected after the `open` event). Returns a
 * description of the first violation, or null.
 */
export function sequenceProblem(
  events: readonly ConnectionEvent[],
  alreadyOpen = false,
): string | null {
  let closes = 0;
  let opens = alreadyOpen ? 1 : 0;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    if (ev.type === "close") {
      closes++;
      if (i !== events.length - 1) return `close at ${i} is not last`;
    }
    if (ev.type === "error" && events[i + 1]?.type !== "close") {
      return `error at ${i} not followed by close`;
    }
    if (ev.type === "open") opens++;
    if (
      (ev.type === "message" || ev.type === "fragment" || ev.type === "ping" ||
        ev.type === "pong") && opens === 0
    ) {
      return `${ev.type} at ${i} before open`;
    }
  }
  if (closes > 1) return "several close events";
  if (opens > 1) return "several open events";
  return null;
}
