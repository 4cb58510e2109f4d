/**
 * In-process framing throughput: omniws's `FrameParser` and `writeFrame`
 * (`framing/rfc6455.ts`) against ws's `Receiver` and `Sender.frame` (`node_modules/ws/lib`), on
 * the same bytes in the same process, for 16 B, 1 KiB, 64 KiB and 1 MiB payloads, masked
 * (client to server) and unmasked, text and binary.
 *
 * - Parser: about 2 MiB of back-to-back frames, fed in 64 KiB chunks (what a socket read
 *   delivers) to a new parser per iteration. omniws's sink counts frames and, for text, decodes
 *   them as its connection does: a frame that arrives in one piece at once (`decodeUtf8`), one
 *   split across chunks with a fatal streaming `TextDecoder`; ws's `Receiver` (written
 *   to as ws's socket handler does) assembles messages and validates text with `isUtf8`. Masked
 *   chunks are restored before each iteration, untimed, because both unmask in place. Every
 *   frame and byte is counted on both sides, so a parser that skips work fails loudly.
 * - Writer: frames built from a payload (text: from a string, encoded by each library's own
 *   path) with a fresh mask key each when masked (omniws from a 1 KiB `getRandomValues` pool as
 *   its connection does; ws from its own pool), about 2 MiB (at most 20,000 frames) per
 *   iteration.
 *
 * Each case alternates the two implementations for a time budget and keeps the median
 * iteration time. Prints a table, or one JSON object with `--json` (read by `bench/run.ts`).
 * Runs on Node 24 (`node bench/framing_bench.ts`), Deno (`deno run -A`) and Bun.
 * `--budget MS` sets the time per implementation and case (default 200).
 *
 * @module
 */

import process from "node:process";
import path from "node:path";
import { createRequire } from "node:module";
import { Buffer } from "node:buffer";
import { FrameParser, type FrameSink, OP_BINARY, OP_TEXT, writeFrame } from "../framing/rfc6455.ts";
import { decodeUtf8 } from "../framing/_utf8.ts";

const require = createRequire(import.meta.url);
const wsDir = path.dirname(require.resolve("ws"));

/** The part of ws's `Receiver` used here. */
interface WsReceiver {
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  write(chunk: Buffer): boolean;
}
/** The part of ws's `Sender` used here. */
interface WsSenderClass {
  frame(
    data: Buffer,
    options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
  ): Buffer[];
}

const Receiver = require(path.join(wsDir, "lib", "receiver.js")) as new (
  options: { isServer: boolean; binaryType: string },
) => WsReceiver;
const Sender = require(path.join(wsDir, "lib", "sender.js")) as WsSenderClass;
const wsVersion = (require(path.join(wsDir, "package.json")) as { version: string }).version;

const TOTAL = 2 << 20;
const CHUNK = 64 << 10;
const STREAM = { stream: true };

/** One measured case. */
export interface CaseResult {
  /** What was measured. */
  kind: "parser" | "writer";
  /** Payload size in bytes. */
  size: number;
  /** Whether the frames are masked. */
  masked: boolean;
  /** "text" or "binary". */
  op: "text" | "binary";
  /** omniws: frames per second and payload MB (10^6 bytes) per second. */
  omniws: { framesPerS: number; mbPerS: number };
  /** ws: the same. */
  ws: { framesPerS: number; mbPerS: number };
}

function payloadOf(size: number, text: boolean): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = text ? 97 + (i * 7) % 26 : (i * 131 + 17) & 0xff;
  return p;
}

/** Back-to-back frames of one payload, masked with varying keys when asked. */
function frames(size: number, masked: boolean, text: boolean): { bytes: Buffer; count: number } {
  const header = 2 + (size < 126 ? 0 : size < 65536 ? 2 : 8) + (masked ? 4 : 0);
  const count = Math.max(1, Math.floor(TOTAL / (header + size)));
  const payload = payloadOf(size, text);
  const out: Uint8Array[] = [];
  const key = new Uint8Array(4);
  for (let f = 0; f < count; f++) {
    key[0] = f & 0xff;
    key[1] = 0x5a;
    key[2] = (f >> 8) & 0xff;
    key[3] = 0xc3;
    writeFrame(out, text ? OP_TEXT : OP_BINARY, true, 0, payload, masked ? key : null);
  }
  return { bytes: Buffer.concat(out), count };
}

class CountingSink implements FrameSink {
  frames = 0;
  bytes = 0;
  chars = 0;
  text = false;
  whole = 0;
  streaming = false;
  decoder: TextDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  frameStart(opcode: number, fin: boolean, _rsv: number, length: number): boolean {
    this.text = opcode === OP_TEXT;
    this.whole = fin ? length : -1;
    return true;
  }
  framePayload(data: Uint8Array): boolean {
    this.bytes += data.length;
    if (!this.text) return true;
    if (data.length === this.whole) {
      // A whole message in one view: decoded at once, as the connection does.
      const s = decodeUtf8(data);
      if (s === null) throw new Error("omniws: invalid UTF-8");
      this.chars += s.length;
    } else {
      this.streaming = true;
      this.chars += this.decoder.decode(data, STREAM).length;
    }
    return true;
  }
  frameEnd(): boolean {
    this.frames++;
    if (this.streaming) {
      this.streaming = false;
      this.chars += this.decoder.decode().length;
    }
    return true;
  }
  frameError(_closeCode: number, code: string, message: string): void {
    throw new Error(`omniws parser failed: ${code} ${message}`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Alternates `a` and `b` (each returns the ms it timed) for about `budget` ms each. */
function race(a: () => number, b: () => number, budget: number): [number, number] {
  // Warm-up (lets the JIT optimise both): at least 3 rounds and a third of the budget.
  const warm = performance.now() + budget / 3;
  for (let i = 0; i < 3 || (i < 1000 && performance.now() < warm); i++) (a(), b());
  const ta: number[] = [];
  const tb: number[] = [];
  let spentA = 0;
  let spentB = 0;
  const stop = performance.now() + 3 * budget; // wall clock, untimed work included
  for (
    let round = 0;
    round < 3 ||
    (round < 10_000 && (spentA < budget || spentB < budget) && performance.now() < stop);
    round++
  ) {
    const da = a();
    ta.push(da);
    spentA += da;
    const db = b();
    tb.push(db);
    spentB += db;
  }
  return [median(ta), median(tb)];
}

/** Runs `f` after the untimed `before`, checks with `after`; returns the ms `f` took. */
function timed(before: () => void, f: () => void, after: () => void): number {
  before();
  const t = performance.now();
  f();
  const d = performance.now() - t;
  after();
  return d;
}

function rate(
  frameCount: number,
  size: number,
  ms: number,
): { framesPerS: number; mbPerS: number } {
  return { framesPerS: frameCount / (ms / 1000), mbPerS: (frameCount * size) / 1e6 / (ms / 1000) };
}

function parserCase(size: number, masked: boolean, text: boolean, budget: number): CaseResult {
  const { bytes, count } = frames(size, masked, text);
  const pristine = Buffer.from(bytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) {
    chunks.push(bytes.subarray(at, Math.min(bytes.length, at + CHUNK)));
  }
  const restore = masked ? () => bytes.set(pristine) : () => {}; // unmasking mutates
  let seen = 0;
  let seenBytes = 0;
  const check = (who: string) => {
    if (seen !== count || seenBytes !== count * size) {
      throw new Error(
        `${who} saw ${seen} frames, ${seenBytes} bytes; expected ${count}, ${count * size}`,
      );
    }
  };
  const ours = () => {
    const sink = new CountingSink();
    const parser = new FrameParser(sink, { expectMasked: masked, maxPayload: 1 << 30 });
    for (let i = 0; i < chunks.length; i++) parser.push(chunks[i]);
    seen = sink.frames;
    seenBytes = sink.bytes;
  };
  const theirs = () => {
    const receiver = new Receiver({ isServer: masked, binaryType: "nodebuffer" });
    let n = 0;
    let b = 0;
    receiver.on("message", (data) => {
      n++;
      b += data.length;
    });
    receiver.on("error", (error) => {
      throw error;
    });
    for (let i = 0; i < chunks.length; i++) receiver.write(chunks[i]);
    seen = n;
    seenBytes = b;
  };
  const [ta, tb] = race(
    () => timed(restore, ours, () => check("omniws")),
    () => timed(restore, theirs, () => check("ws")),
    budget,
  );
  return {
    kind: "parser",
    size,
    masked,
    op: text ? "text" : "binary",
    omniws: rate(count, size, ta),
    ws: rate(count, size, tb),
  };
}

function writerCase(size: number, masked: boolean, text: boolean, budget: number): CaseResult {
  const count = Math.min(20_000, Math.max(2, Math.floor(TOTAL / size)));
  const payload = Buffer.from(payloadOf(size, text));
  const str = text ? payload.toString("latin1") : "";
  const encoder = new TextEncoder();
  const opcode = text ? OP_TEXT : OP_BINARY;
  let pool = new Uint8Array(1024);
  let poolPos = pool.length;
  const maskKey = (): Uint8Array => {
    if (poolPos + 4 > pool.length) {
      pool = new Uint8Array(1024);
      crypto.getRandomValues(pool);
      poolPos = 0;
    }
    poolPos += 4;
    return pool.subarray(poolPos - 4, poolPos);
  };
  let written = 0;
  const ours = () => {
    const out: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const data = text ? encoder.encode(str) : payload;
      total += writeFrame(out, opcode, true, 0, data, masked ? maskKey() : null);
      if (out.length >= 1024) out.length = 0;
    }
    written = total;
  };
  const options = { fin: true, opcode, mask: masked, readOnly: !text, rsv1: false };
  const theirs = () => {
    let total = 0;
    for (let i = 0; i < count; i++) {
      const data = text ? Buffer.from(str) : payload;
      const list = Sender.frame(data, options);
      total += list[0].length + (list.length > 1 ? list[1].length : 0);
    }
    written = total;
  };
  const check = (who: string) => {
    if (written < count * size) {
      throw new Error(`${who} wrote ${written} bytes for ${count} frames`);
    }
  };
  const none = () => {};
  const [ta, tb] = race(
    () => timed(none, ours, () => check("omniws")),
    () => timed(none, theirs, () => check("ws")),
    budget,
  );
  return {
    kind: "writer",
    size,
    masked,
    op: text ? "text" : "binary",
    omniws: rate(count, size, ta),
    ws: rate(count, size, tb),
  };
}

/**
 * Runs every case.
 * @param budget Milliseconds per implementation and case.
 * @returns The results, parsers first.
 */
export function runAll(budget: number): CaseResult[] {
  const results: CaseResult[] = [];
  for (const kind of ["parser", "writer"] as const) {
    for (const size of [16, 1024, 65536, 1048576]) {
      for (const masked of [true, false]) {
        for (const text of [false, true]) {
          results.push(
            kind === "parser"
              ? parserCase(size, masked, text, budget)
              : writerCase(size, masked, text, budget),
          );
        }
      }
    }
  }
  return results;
}

function runtime(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

if (import.meta.main ?? process.argv[1]?.endsWith("framing_bench.ts")) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--budget");
  const budget = at >= 0 ? Number(args[at + 1]) : 200;
  const results = runAll(budget);
  if (args.includes("--json")) {
    console.log(JSON.stringify({ runtime: runtime(), ws: wsVersion, results }));
  } else {
    console.log(`${runtime()}, ws ${wsVersion}; median of alternating iterations`);
    for (const r of results) {
      const label = `${r.kind} ${r.size} B ${r.masked ? "masked" : "unmasked"} ${r.op}`;
      const o = r.size <= 16 ? r.omniws.framesPerS / 1e6 : r.omniws.mbPerS;
      const w = r.size <= 16 ? r.ws.framesPerS / 1e6 : r.ws.mbPerS;
      const unit = r.size <= 16 ? "M frames/s" : "MB/s";
      console.log(
        `${label.padEnd(34)} omniws ${o.toFixed(1).padStart(8)}  ws ${w.toFixed(1).padStart(8)} ${
          unit.padEnd(10)
        } ratio ${(o / w).toFixed(2)}`,
      );
    }
  }
}
