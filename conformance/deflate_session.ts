/**
 * Runs one permessage-deflate case (groups 12, 13) in either role and judges it.
 *
 * The fuzzer's side of the compression is node:zlib (raw DEFLATE streams flushed with
 * Z_SYNC_FLUSH, the negotiated window), never omniws's codec: with context takeover one stream
 * per direction lives for the whole connection, without it each message gets a fresh one. So a
 * peer that keeps or drops its context wrongly, or uses a larger window than agreed, has its
 * message decoded wrongly (or not at all: "invalid distance too far back") and the case FAILED.
 * (zlib's preset dictionaries would do too, but Deno's node:zlib ignores them in raw mode.) The extension headers are
 * parsed here too (RFC 7692 §7 grammar), not by omniws.
 *
 * The script is upstream's: send a message, wait for its echo, compare type and bytes, send the
 * next; after the last one close with 1000 and expect a clean closing handshake. Frames from the
 * peer are checked as a strict endpoint would: RSV1 only on the first frame of a data message,
 * no RSV2/RSV3, masking by role, control frames short and unfragmented.
 *
 * @module
 */

import type net from "node:net";
import zlib from "node:zlib";
import { corpus } from "./deflate_corpora.ts";
import { offerString } from "./deflate_cases.ts";
import type { CaseDef, CaseResult, DeflateOffer, DeflateSpec, Verdict } from "./model.ts";
import {
  acceptFor,
  clientHandshake,
  concat,
  encodeFrame,
  equalBytes,
  type Frame,
  FrameReader,
  type Head,
  hex,
  isValidCloseCode,
  newMask,
  OP,
} from "./wire.ts";

/** How a deflate case runs. */
export interface DeflateRunOptions {
  /** Messages per case; default the case's own (upstream's 1000). */
  count?: number;
}

/** Negotiated parameters (RFC 7692 §7.1), from the response. */
export interface Negotiated {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverWindowBits: number;
  clientWindowBits: number;
}

/** One extension element: name and parameters (values unquoted; `true` when valueless). */
interface Element {
  name: string;
  params: Array<[string, string | true]>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parse a `Sec-WebSocket-Extensions` value; null when malformed (RFC 6455 §9.1 grammar).
 * @param value The header value.
 */
export function parseExtensionHeader(value: string): Element[] | null {
  const out: Element[] = [];
  // Split on commas and semicolons outside quoted strings.
  const elements: string[][] = [[]];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === "\\" && i + 1 < value.length) {
        cur += value[++i];
        continue;
      }
      if (ch === '"') quoted = false;
      cur += ch;
    } else if (ch === '"') {
      quoted = true;
      cur += ch;
    } else if (ch === ",") {
      elements[elements.length - 1].push(cur);
      elements.push([]);
      cur = "";
    } else if (ch === ";") {
      elements[elements.length - 1].push(cur);
      cur = "";
    } else {
      cur += ch;
    }
  }
  if (quoted) return null;
  elements[elements.length - 1].push(cur);
  for (const parts of elements) {
    const trimmed = parts.map((p) => p.trim());
    if (trimmed.length === 1 && trimmed[0] === "") continue; // empty list element
    const [name, ...rest] = trimmed;
    if (!TOKEN.test(name)) return null;
    const params: Array<[string, string | true]> = [];
    for (const p of rest) {
      const eq = p.indexOf("=");
      const key = (eq < 0 ? p : p.slice(0, eq)).trim();
      if (!TOKEN.test(key)) return null;
      if (eq < 0) {
        params.push([key, true]);
        continue;
      }
      let v = p.slice(eq + 1).trim();
      if (v.startsWith('"')) {
        if (!v.endsWith('"') || v.length < 2) return null;
        v = v.slice(1, -1);
      }
      if (!TOKEN.test(v)) return null;
      params.push([key, v]);
    }
    out.push({ name, params });
  }
  return out.length === 0 ? null : out;
}

/** The four parameters of one element; `clientMaxWindowBits` true = present without a value. */
interface Params {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number | true;
}

const BITS = /^(?:8|9|1[0-5])$/;

/** Validate one permessage-deflate element; a string says what is wrong. */
function readParams(e: Element, response: boolean): Params | string {
  const p: Params = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 0,
    clientMaxWindowBits: 0,
  };
  const seen = new Set<string>();
  for (const [k, v] of e.params) {
    if (seen.has(k)) return `parameter ${k} repeated`;
    seen.add(k);
    if (k === "server_no_context_takeover" || k === "client_no_context_takeover") {
      if (v !== true) return `${k} has a value`;
      if (k === "server_no_context_takeover") p.serverNoContextTakeover = true;
      else p.clientNoContextTakeover = true;
    } else if (k === "server_max_window_bits") {
      if (v === true || !BITS.test(v)) return `${k} has a bad value`;
      p.serverMaxWindowBits = Number(v);
    } else if (k === "client_max_window_bits") {
      if (v === true) {
        if (response) return `${k} without a value in a response`;
        p.clientMaxWindowBits = true;
      } else if (!BITS.test(v)) {
        return `${k} has a bad value`;
      } else {
        p.clientMaxWindowBits = Number(v);
      }
    } else {
      return `unknown parameter ${k}`;
    }
  }
  return p;
}

/** Whether a valid response accepts this offer (RFC 7692 §7.1.1, §7.1.2). */
function responseFits(r: Params, o: DeflateOffer): boolean {
  // Autobahn's offers always carry client_no_context_takeover and client_max_window_bits.
  if (o.serverNoContextTakeover && !r.serverNoContextTakeover) return false;
  if (o.serverMaxWindowBits !== 0) {
    if (r.serverMaxWindowBits === 0 || r.serverMaxWindowBits > o.serverMaxWindowBits) return false;
  }
  return true;
}

function negotiated(r: Params): Negotiated {
  return {
    serverNoContextTakeover: r.serverNoContextTakeover,
    clientNoContextTakeover: r.clientNoContextTakeover,
    serverWindowBits: r.serverMaxWindowBits || 15,
    clientWindowBits: typeof r.clientMaxWindowBits === "number" && r.clientMaxWindowBits > 0
      ? r.clientMaxWindowBits
      : 15,
  };
}

/**
 * The fuzzing server's answer to a client's offers (Autobahn's accept functions), or a string
 * saying why there is none.
 * @param header The client's `Sec-WebSocket-Extensions`, or undefined.
 * @param spec The case.
 * @returns The response element and what it negotiates, null (decline), or an error string.
 */
export function acceptOffers(
  header: string | undefined,
  spec: DeflateSpec,
): { response: string; negotiated: Negotiated } | null | string {
  if (header === undefined || header.trim() === "") return null;
  const elements = parseExtensionHeader(header);
  if (elements === null) return `malformed Sec-WebSocket-Extensions: ${header}`;
  const offers: Params[] = [];
  for (const e of elements) {
    if (e.name !== "permessage-deflate") continue;
    const p = readParams(e, false);
    if (typeof p === "string") return `invalid permessage-deflate offer (${p}): ${header}`;
    offers.push(p);
  }
  for (const [noContext, bits] of spec.accept) {
    for (const o of offers) {
      // Autobahn's offer parser lets the server ask for client_no_context_takeover always; a
      // window request needs client_max_window_bits in the offer (RFC 7692 §7.1.2.2).
      if (bits !== 0 && o.clientMaxWindowBits === 0) continue;
      if (bits !== 0 && typeof o.clientMaxWindowBits === "number" && o.clientMaxWindowBits < bits) {
        continue;
      }
      const r: Params = {
        serverNoContextTakeover: o.serverNoContextTakeover,
        clientNoContextTakeover: noContext || o.clientNoContextTakeover,
        serverMaxWindowBits: o.serverMaxWindowBits,
        clientMaxWindowBits: bits,
      };
      let s = "permessage-deflate";
      if (r.serverNoContextTakeover) s += "; server_no_context_takeover";
      if (r.clientNoContextTakeover) s += "; client_no_context_takeover";
      if (r.serverMaxWindowBits !== 0) s += `; server_max_window_bits=${r.serverMaxWindowBits}`;
      if (bits !== 0) s += `; client_max_window_bits=${bits}`;
      return { response: s, negotiated: negotiated(r) };
    }
  }
  return null;
}

/**
 * Check a server's response against the offers; a string says why it is not acceptable.
 * @param header The response's `Sec-WebSocket-Extensions`, or undefined.
 * @param offers What was offered.
 * @returns What it negotiates, null when the server declined, or an error string.
 */
export function checkResponse(
  header: string | undefined,
  offers: DeflateOffer[],
): Negotiated | null | string {
  if (header === undefined || header.trim() === "") return null;
  const elements = parseExtensionHeader(header);
  if (elements === null) return `malformed Sec-WebSocket-Extensions in the response: ${header}`;
  if (elements.length !== 1 || elements[0].name !== "permessage-deflate") {
    return `the response names extensions that were not offered, or more than one: ${header}`;
  }
  const p = readParams(elements[0], true);
  if (typeof p === "string") return `invalid permessage-deflate response (${p}): ${header}`;
  if (!offers.some((o) => responseFits(p, o))) {
    return `the response fits none of the offers: ${header}`;
  }
  return negotiated(p);
}

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const { Z_SYNC_FLUSH } = zlib.constants;

type Stream = zlib.DeflateRaw | zlib.InflateRaw;

/** Write `data` to a zlib stream and flush it (Z_SYNC_FLUSH); resolves with all it produced. */
function pump(stream: Stream, data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const onData = (c: Uint8Array) => chunks.push(new Uint8Array(c));
    const onError = (e: Error) => {
      stream.off("data", onData);
      reject(e);
    };
    stream.on("data", onData);
    stream.once("error", onError);
    try {
      stream.write(data);
      stream.flush(Z_SYNC_FLUSH, () => {
        stream.off("data", onData);
        stream.off("error", onError);
        resolve(concat(chunks));
      });
    } catch (e) {
      onError(e as Error); // Deno's zlib throws from write() on corrupt input
    }
  });
}

/**
 * One direction's codec: a persistent node:zlib raw stream of the negotiated window while
 * context takeover is on (a new one per message when it is off).
 */
class Direction {
  readonly #bits: number;
  readonly #takeover: boolean;
  readonly #compress: boolean;
  #stream: Stream | null = null;

  constructor(bits: number, takeover: boolean, compress: boolean) {
    // zlib cannot deflate with an 8-bit window (it uses 9): such a peer is not in these cases.
    this.#bits = Math.max(9, bits);
    this.#takeover = takeover;
    this.#compress = compress;
  }

  #current(): Stream {
    if (this.#stream !== null && this.#takeover) return this.#stream;
    this.close();
    const o = { windowBits: this.#bits };
    this.#stream = this.#compress ? zlib.createDeflateRaw(o) : zlib.createInflateRaw(o);
    this.#stream.on("error", () => {}); // reported through pump()
    return this.#stream;
  }

  /** Compress one message (RFC 7692 §7.2.1: sync flush, its 00 00 ff ff tail removed). */
  async deflate(data: Uint8Array): Promise<Uint8Array> {
    const out = await pump(this.#current(), data);
    return out.length >= 4 && equalBytes(out.subarray(out.length - 4), TAIL)
      ? out.subarray(0, out.length - 4)
      : out;
  }

  /** Decompress one message (RFC 7692 §7.2.2: the tail appended). */
  inflate(data: Uint8Array): Promise<Uint8Array> {
    return pump(this.#current(), concat([data, TAIL]));
  }

  close(): void {
    const s = this.#stream;
    this.#stream = null;
    if (s !== null) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}

/** The message bytes of a case, in upstream's order: consecutive slices, wrapping around. */
class Payloads {
  readonly #data: Uint8Array;
  readonly #size: number;
  #at = 0;

  constructor(spec: DeflateSpec) {
    this.#data = corpus(spec.corpus);
    this.#size = spec.size;
  }

  next(): Uint8Array {
    const d = this.#data;
    const from = this.#at;
    const to = (from + this.#size) % d.length;
    this.#at = to;
    return to > from ? d.slice(from, to) : concat([d.subarray(from), d.subarray(0, to)]);
  }
}

function failedResult(def: CaseDef, verdict: Verdict, reason: string, started: number): CaseResult {
  return {
    id: def.id,
    verdict,
    reason,
    duration: Math.round(performance.now() - started),
    behavior: verdict,
    behaviorClose: "FAILED",
    remoteCloseCode: null,
    closedByMe: false,
    wasClean: false,
    droppedByMe: true,
    received: [],
  };
}

/**
 * Test a server: connect, offer as the case says, check the response, run the messages.
 * @returns The judged result. Never rejects.
 */
export async function runDeflateCaseAsClient(
  host: string,
  port: number,
  hostHeader: string,
  path: string,
  def: CaseDef,
  options: DeflateRunOptions,
): Promise<CaseResult> {
  const spec = def.deflate!;
  const started = performance.now();
  const offer = spec.offers.map(offerString).join(", ");
  let opened: { socket: net.Socket; head: Head };
  try {
    opened = await clientHandshake(host, port, hostHeader, path, offer);
  } catch (e) {
    return failedResult(
      def,
      "FAILED",
      `Opening handshake failed: ${(e as Error).message}`,
      started,
    );
  }
  const n = checkResponse(opened.head.headers.get("sec-websocket-extensions"), spec.offers);
  if (typeof n === "string") {
    opened.socket.destroy();
    return failedResult(def, "FAILED", `Offer ${offer}: ${n}`, started);
  }
  const answer = opened.head.headers.get("sec-websocket-extensions") ?? "(declined)";
  return new DeflateRun(opened.socket, def, "client", n, `${offer} -> ${answer}`, options).run(
    opened.head.rest,
  );
}

/**
 * Test a client: answer its upgrade request (already read) per the case, run the messages.
 * @returns The judged result. Never rejects.
 */
export function runDeflateCaseAsServer(
  socket: net.Socket,
  head: Head,
  key: string,
  def: CaseDef,
  options: DeflateRunOptions,
): Promise<CaseResult> {
  const started = performance.now();
  const offered = head.headers.get("sec-websocket-extensions");
  const a = acceptOffers(offered, def.deflate!);
  if (typeof a === "string") {
    socket.end(
      new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    );
    return Promise.resolve(failedResult(def, "FAILED", `The client's offer: ${a}`, started));
  }
  socket.write(
    new TextEncoder().encode(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
        (a === null ? "" : `Sec-WebSocket-Extensions: ${a.response}\r\n`) +
        `Server: omniws-conformance\r\n\r\n`,
    ),
  );
  return new DeflateRun(
    socket,
    def,
    "server",
    a === null ? null : a.negotiated,
    `${offered ?? "(none)"} -> ${a === null ? "(declined)" : a.response}`,
    options,
  ).run(head.rest);
}

class DeflateRun {
  readonly #socket: net.Socket;
  readonly #def: CaseDef;
  readonly #spec: DeflateSpec;
  readonly #role: "client" | "server";
  readonly #negotiated: Negotiated | null;
  readonly #negotiation: string;
  readonly #count: number;
  readonly #reader = new FrameReader();
  readonly #payloads: Payloads;
  #tx: Direction | null = null;
  #rx: Direction | null = null;
  #expected: Uint8Array = new Uint8Array(0);
  #sent = 0;
  #echoed = 0;
  #compressedEchoes = 0;
  #wireIn = 0;
  #msgOpcode = 0;
  #msgRsv1 = false;
  #msgParts: Uint8Array[] = [];
  #verdict: Verdict = "FAILED";
  #reason = "";
  #closeSent = false;
  #closeReceived = false;
  #remoteCode: number | null = null;
  #wasClean = false;
  #droppedByMe = false;
  #tcpClosed = false;
  #started = 0;
  #ended = 0;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #finish: () => void = () => {};

  constructor(
    socket: net.Socket,
    def: CaseDef,
    role: "client" | "server",
    negotiated: Negotiated | null,
    negotiation: string,
    options: DeflateRunOptions,
  ) {
    this.#socket = socket;
    this.#def = def;
    this.#spec = def.deflate!;
    this.#role = role;
    this.#negotiated = negotiated;
    this.#negotiation = negotiation;
    this.#count = Math.max(1, Math.min(options.count ?? this.#spec.count, this.#spec.count));
    this.#payloads = new Payloads(this.#spec);
  }

  run(early: Uint8Array): Promise<CaseResult> {
    const done = new Promise<void>((resolve) => (this.#finish = resolve));
    this.#started = performance.now();
    const s = this.#socket;
    s.setNoDelay(true);
    s.on("data", (d: Uint8Array) => this.#onData(new Uint8Array(d)));
    s.on("end", () => this.#onPeerEnd());
    s.on("close", () => this.#onClosed());
    s.on("error", () => {});
    const n = this.#negotiated;
    if (n === null) {
      this.#verdict = "UNIMPLEMENTED";
      this.#reason = `permessage-deflate was not negotiated (${this.#negotiation})`;
      this.#sendClose(1000);
    } else {
      // Each side compresses with its own window and takeover; the fuzzer plays `role`.
      const mine = this.#role === "client"
        ? { bits: n.clientWindowBits, takeover: !n.clientNoContextTakeover }
        : { bits: n.serverWindowBits, takeover: !n.serverNoContextTakeover };
      const theirs = this.#role === "client"
        ? { bits: n.serverWindowBits, takeover: !n.serverNoContextTakeover }
        : { bits: n.clientWindowBits, takeover: !n.clientNoContextTakeover };
      this.#tx = new Direction(mine.bits, mine.takeover, true);
      this.#rx = new Direction(theirs.bits, theirs.takeover, false);
      this.#reason = `Case did not finish within ${this.#spec.waitSeconds} seconds`;
      this.#timer(this.#spec.waitSeconds * 1000, () => this.#sendClose(1000));
      if (early.length > 0) this.#onData(early);
      void this.#sendOne();
    }
    // Hard cap past the case deadline and the closing handshake.
    this.#timer(this.#spec.waitSeconds * 1000 + 10_000, () => this.#drop());
    return done.then(() => this.#judge());
  }

  #timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#tcpClosed) fn();
    }, ms);
    this.#timers.add(t);
  }

  #mask(): Uint8Array | null {
    return this.#role === "client" ? newMask() : null;
  }

  #write(data: Uint8Array): void {
    if (this.#tcpClosed || this.#socket.destroyed) return;
    try {
      this.#socket.write(data);
    } catch {
      // gone
    }
  }

  async #sendOne(): Promise<void> {
    const payload = this.#payloads.next();
    this.#expected = payload;
    this.#sent++;
    let compressed: Uint8Array;
    try {
      compressed = await this.#tx!.deflate(payload);
    } catch (e) {
      return this.#fail(`The fuzzer's compressor failed: ${(e as Error).message}`);
    }
    const opcode = this.#spec.binary ? OP.BINARY : OP.TEXT;
    const size = this.#spec.fragmentSize > 0 ? this.#spec.fragmentSize : compressed.length;
    const frames = Math.max(1, Math.ceil(compressed.length / Math.max(1, size)));
    for (let i = 0; i < frames; i++) {
      this.#write(encodeFrame({
        opcode: i === 0 ? opcode : OP.CONT,
        fin: i === frames - 1,
        rsv: i === 0 ? 4 : 0,
        payload: compressed.subarray(i * size, (i + 1) * size),
        mask: this.#mask(),
      }));
    }
  }

  #sendClose(code: number): void {
    if (this.#closeSent || this.#tcpClosed) return;
    this.#closeSent = true;
    this.#write(encodeFrame({
      opcode: OP.CLOSE,
      fin: true,
      rsv: 0,
      payload: new Uint8Array([code >> 8, code & 0xff]),
      mask: this.#mask(),
    }));
    this.#timer(2000, () => this.#drop());
  }

  #drop(): void {
    if (this.#tcpClosed) return;
    this.#droppedByMe = true;
    const s = this.#socket;
    try {
      s.end();
    } catch {
      // gone
    }
    const t = setTimeout(() => s.destroy(), 100);
    this.#timers.add(t);
  }

  #fail(reason: string): void {
    if (this.#verdict === "FAILED" && this.#reason.startsWith("Case did not")) {
      this.#reason = reason;
    }
    this.#verdict = "FAILED";
    if (!this.#closeSent) this.#sendClose(1000);
  }

  #violation(what: string): void {
    this.#fail(`Protocol violation: ${what}`);
    this.#drop();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closeReceived) return;
    this.#wireIn += chunk.length;
    this.#reader.push(chunk);
    for (;;) {
      let f: Frame | null;
      try {
        f = this.#reader.next();
      } catch (e) {
        return this.#violation((e as Error).message);
      }
      if (f === null || this.#tcpClosed) return;
      this.#onFrame(f);
      if (this.#closeReceived) return;
    }
  }

  #onFrame(f: Frame): void {
    const expectMasked = this.#role === "server";
    if (f.masked !== expectMasked) {
      return this.#violation(expectMasked ? "unmasked client frame" : "masked server frame");
    }
    if ((f.rsv & 3) !== 0) return this.#violation(`RSV2/RSV3 set (rsv ${f.rsv})`);
    const rsv1 = (f.rsv & 4) !== 0;
    if (f.opcode >= 8) {
      if (rsv1) return this.#violation("RSV1 on a control frame");
      if (!f.fin || f.payload.length > 125) return this.#violation("bad control frame");
      if (f.opcode === OP.PING) {
        if (!this.#closeSent) {
          this.#write(
            encodeFrame({
              opcode: OP.PONG,
              fin: true,
              rsv: 0,
              payload: f.payload,
              mask: this.#mask(),
            }),
          );
        }
        return;
      }
      if (f.opcode === OP.CLOSE) return this.#onClose(f.payload);
      if (f.opcode === OP.PONG) return;
      return this.#violation(`reserved opcode ${f.opcode}`);
    }
    if (f.opcode === OP.CONT) {
      if (this.#msgOpcode === 0) return this.#violation("continuation with no message open");
      if (rsv1) return this.#violation("RSV1 on a continuation frame");
    } else if (f.opcode === OP.TEXT || f.opcode === OP.BINARY) {
      if (this.#msgOpcode !== 0) return this.#violation("new message inside a fragmented one");
      this.#msgOpcode = f.opcode;
      this.#msgRsv1 = rsv1;
      this.#msgParts = [];
    } else {
      return this.#violation(`reserved opcode ${f.opcode}`);
    }
    this.#msgParts.push(f.payload);
    if (f.fin) void this.#onMessage();
  }

  async #onMessage(): Promise<void> {
    const binary = this.#msgOpcode === OP.BINARY;
    const raw = concat(this.#msgParts);
    const compressed = this.#msgRsv1;
    this.#msgOpcode = 0;
    this.#msgParts = [];
    if (this.#closeSent) return; // late echoes after a failure or the deadline
    let data: Uint8Array;
    if (compressed) {
      try {
        // One message is in flight at a time, so inflations never overlap.
        data = await this.#rx!.inflate(raw);
      } catch (e) {
        return this.#fail(
          `Echo of message ${this.#sent} (RSV1, ${raw.length} B) does not inflate: ${
            (e as Error).message
          }`,
        );
      }
      this.#compressedEchoes++;
    } else {
      data = raw;
    }
    const want = this.#expected;
    if (binary !== this.#spec.binary) {
      return this.#fail(
        `Echo of message ${this.#sent} has the wrong type (binary ${binary}, expected ${this.#spec.binary})`,
      );
    }
    if (data.length !== want.length) {
      return this.#fail(
        `Echo of message ${this.#sent} has length ${data.length}, expected ${want.length}${
          compressed ? " (inflated)" : ""
        }`,
      );
    }
    if (!equalBytes(data, want)) {
      let at = 0;
      while (data[at] === want[at]) at++;
      return this.#fail(
        `Echo of message ${this.#sent} differs at byte ${at}${compressed ? " (inflated)" : ""}: ${
          hex(data.subarray(at), 8)
        } instead of ${hex(want.subarray(at), 8)}`,
      );
    }
    if (this.#closeSent) return;
    this.#echoed++;
    if (this.#sent < this.#count) return void this.#sendOne();
    this.#verdict = "OK";
    this.#reason = "Ok, received all echo'ed messages in time";
    this.#sendClose(1000);
  }

  #onClose(payload: Uint8Array): void {
    this.#closeReceived = true;
    if (payload.length >= 2) {
      const code = (payload[0] << 8) | payload[1];
      this.#remoteCode = code;
      if (!isValidCloseCode(code)) {
        this.#fail(`the peer sent invalid close code ${code}`);
      }
    } else if (payload.length === 1) {
      this.#fail("the peer sent a 1-byte close payload");
    }
    if (!this.#closeSent) {
      // The peer closed first: upstream's case never ends that way.
      if (this.#verdict !== "UNIMPLEMENTED") {
        this.#fail(
          `The peer closed (code ${
            this.#remoteCode ?? "none"
          }) after ${this.#echoed} of ${this.#count} echoes`,
        );
      }
      this.#closeSent = true;
      this.#write(encodeFrame({
        opcode: OP.CLOSE,
        fin: true,
        rsv: 0,
        payload: payload.subarray(0, 2),
        mask: this.#mask(),
      }));
    }
    if (this.#role === "server") {
      this.#wasClean = true;
      this.#drop();
      this.#droppedByMe = false; // a server closing TCP after the handshake is the clean way
    } else {
      this.#timer(2000, () => this.#drop());
    }
  }

  #onPeerEnd(): void {
    if (this.#role === "client" && this.#closeSent && this.#closeReceived && !this.#droppedByMe) {
      this.#wasClean = true;
    }
    try {
      this.#socket.end();
    } catch {
      // gone
    }
    const t = setTimeout(() => this.#socket.destroy(), 100);
    this.#timers.add(t);
  }

  #onClosed(): void {
    if (this.#tcpClosed) return;
    if (this.#role === "client" && this.#closeSent && this.#closeReceived && !this.#droppedByMe) {
      this.#wasClean = true;
    }
    this.#tcpClosed = true;
    this.#ended = performance.now();
    this.#tx?.close();
    this.#rx?.close();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#finish();
  }

  #judge(): CaseResult {
    let verdict = this.#verdict;
    let reason = this.#reason;
    if (verdict === "OK") {
      if (!this.#closeReceived || !this.#wasClean) {
        verdict = "FAILED";
        reason = this.#closeReceived
          ? "The closing handshake completed but the server did not close TCP in time"
          : "The connection ended without a complete closing handshake";
      } else if (this.#remoteCode !== null && this.#remoteCode !== 1000) {
        verdict = "NON-STRICT";
        reason = `The close code should have been 1000 or empty, got ${this.#remoteCode}`;
      }
    }
    const bytesOut = this.#spec.size * this.#echoed;
    return {
      id: this.#def.id,
      verdict,
      reason,
      duration: Math.round((this.#ended || performance.now()) - this.#started),
      behavior: this.#verdict,
      behaviorClose: this.#wasClean ? "OK" : "UNCLEAN",
      remoteCloseCode: this.#remoteCode,
      closedByMe: this.#closeSent && !this.#closeReceived ? true : this.#verdict !== "FAILED",
      wasClean: this.#wasClean,
      droppedByMe: this.#droppedByMe,
      received: [
        `negotiated: ${this.#negotiation}${
          this.#negotiated === null ? "" : ` ${JSON.stringify(this.#negotiated)}`
        }`,
        `${this.#echoed} of ${this.#count} messages of ${this.#spec.size} B echoed, ${this.#compressedEchoes} of them compressed by the peer (RSV1); ${this.#wireIn} B in for ${bytesOut} B of payload`,
      ],
    };
  }
}
