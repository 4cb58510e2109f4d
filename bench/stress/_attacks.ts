/**
 * Attack primitives against a WebSocket server on loopback, for the stress suite
 * (`bench/stress/run.ts`) and the hardening regression tests (`tests/hardening_test.ts`).
 *
 * The attacker is deliberately independent of omniws: raw `node:net` / `node:tls` sockets and
 * RFC 6455 frames built by hand (client frames masked), so a bug in omniws's own client cannot
 * hide a bug in its server. It runs unchanged on Deno, Node and Bun.
 *
 * Every primitive is bounded in count and in time, cleans up every socket it opened before it
 * resolves, never throws for what the server does (a reset, a close, a refusal is a measurement),
 * and returns what it measured. Traffic goes to 127.0.0.1 only.
 *
 * Also here: `/proc` readers for a server's resident set size and open file descriptors, an
 * ordinary-client probe (one echo round trip, timed) and a {@linkcode Monitor} that samples all
 * three while an attack runs.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { readdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";

/** The only host attacked. */
export const HOST = "127.0.0.1";

const MiB = 1024 * 1024;

// ---- frames and heads -----------------------------------------------------------------------

/** A valid RFC 6455 opening request head (the key is the RFC's sample nonce). */
export const UPGRADE_HEAD: Uint8Array = new TextEncoder().encode(
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

/** Opcodes used here. */
export const OP = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** The fixed mask key of attacker frames (masking is required of clients, not secrecy). */
const MASK = [0x37, 0xfa, 0x21, 0x3d] as const;

/**
 * The header of a masked client frame (FIN set) declaring `length` payload bytes.
 * @param opcode Frame opcode.
 * @param length Declared payload length (up to 2^53).
 * @returns The header bytes, mask key included.
 */
export function frameHeader(opcode: number, length: number): Uint8Array {
  const head: number[] = [0x80 | opcode];
  if (length < 126) head.push(0x80 | length);
  else if (length < 65536) head.push(0x80 | 126, length >> 8, length & 0xff);
  else {
    const hi = Math.floor(length / 2 ** 32);
    head.push(0x80 | 127, 0, 0, (hi >> 8) & 0xff, hi & 0xff);
    head.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  head.push(...MASK);
  return new Uint8Array(head);
}

/** Mask `payload` with the attacker's key as if it started at payload offset `offset`. */
export function maskBytes(payload: Uint8Array, offset = 0): Uint8Array {
  const out = new Uint8Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ MASK[(i + offset) & 3]!;
  return out;
}

/**
 * A whole masked client frame.
 * @param opcode Frame opcode.
 * @param payload Unmasked payload.
 * @returns Header and masked payload in one buffer.
 */
export function maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const head = frameHeader(opcode, payload.length);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(maskBytes(payload), head.length);
  return out;
}

/** `n` copies of `frame` back to back, for writing floods in few large writes. */
export function repeated(frame: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(frame.length * n);
  for (let i = 0; i < n; i++) out.set(frame, i * frame.length);
  return out;
}

/** A normal close frame with code 1000. */
export const CLOSE_1000: Uint8Array = maskedFrame(OP.close, new Uint8Array([0x03, 0xe8]));

let bigFrame: Uint8Array | null = null;
/** A masked 1 MiB binary frame, built once. */
export function oneMiBFrame(): Uint8Array {
  bigFrame ??= maskedFrame(OP.binary, new Uint8Array(MiB).fill(0x5a));
  return bigFrame;
}

/**
 * The first part of a TLS ClientHello: a handshake record header that declares 512 bytes and
 * only the first few of them. A server waiting for the rest of the record waits forever unless
 * it has a handshake timeout.
 */
export const HALF_CLIENT_HELLO: Uint8Array = new Uint8Array([
  0x16,
  0x03,
  0x01,
  0x02,
  0x00, // handshake record, TLS 1.0 framing, 512 bytes
  0x01,
  0x00,
  0x01,
  0xfc, // ClientHello, 508 bytes
  0x03,
  0x03, // client_version TLS 1.2
  ...new Array(16).fill(0x42), // half of the random
]);

// ---- /proc --------------------------------------------------------------------------------------

/** Resident set size of a process in bytes (`VmRSS`), or NaN if it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** Number of open file descriptors of a process (`/proc/PID/fd`), or NaN if it is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Whether a process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Format bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(1)} MiB` : "n/a";
}

// ---- sockets ------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with a connected socket, or null on error or after `timeoutMs`. With `secure`, a TLS
 * socket (any certificate accepted) once its TLS handshake completed.
 */
export function connect(
  port: number,
  timeoutMs = 3000,
  secure = false,
): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = secure
      ? tls.connect({ port, host: HOST, rejectUnauthorized: false })
      : net.connect({ port, host: HOST });
    const event = secure ? "secureConnect" : "connect";
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (s: net.Socket | null) => {
      clearTimeout(timer);
      socket.off(event, onConnect);
      socket.off("error", onError);
      if (s === null) socket.destroy();
      else socket.on("error", () => {});
      resolve(s);
    };
    const onConnect = () => done(socket);
    const onError = () => done(null);
    socket.once(event, onConnect);
    socket.once("error", onError);
  });
}

/** Write and resolve once the bytes are handed to the kernel (or the socket failed, or `ms`). */
export function writeFlushed(socket: net.Socket, bytes: Uint8Array, ms = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(false);
    const timer = setTimeout(() => resolve(false), ms);
    socket.write(bytes, (error) => {
      clearTimeout(timer);
      resolve(error == null);
    });
  });
}

/** An upgraded connection: the socket (paused, no data listener) and bytes read past the head. */
export interface Upgraded {
  socket: net.Socket;
  rest: Uint8Array;
}

/**
 * Connect and complete the opening handshake; resolves with the socket paused (nothing more is
 * read until the caller reads), or null if the server did not answer 101 within `timeoutMs`.
 */
export async function upgrade(
  port: number,
  timeoutMs = 3000,
  secure = false,
): Promise<Upgraded | null> {
  const deadline = Date.now() + timeoutMs;
  const socket = await connect(port, timeoutMs, secure);
  if (socket === null) return null;
  return await new Promise<Upgraded | null>((resolve) => {
    let buf = new Uint8Array(0);
    const timer = setTimeout(() => finish(false), Math.max(1, deadline - Date.now()));
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      if (!ok) {
        socket.destroy();
        return resolve(null);
      }
      const end = indexOfHeadEnd(buf);
      resolve({ socket, rest: buf.subarray(end + 4) });
    };
    const onData = (d: Uint8Array) => {
      const next = new Uint8Array(buf.length + d.length);
      next.set(buf);
      next.set(d, buf.length);
      buf = next;
      const end = indexOfHeadEnd(buf);
      if (end < 0) return;
      finish(new TextDecoder().decode(buf.subarray(0, 13)) === "HTTP/1.1 101 ");
    };
    const onClose = () => finish(false);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.write(UPGRADE_HEAD);
  });
}

function indexOfHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** Resolves when the socket closes or ends (true) or after `ms` (false). */
function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => done(false), ms);
    const done = (v: boolean) => {
      clearTimeout(timer);
      socket.off("close", onEnd);
      socket.off("end", onEnd);
      resolve(v);
    };
    const onEnd = () => done(true);
    socket.once("close", onEnd);
    socket.once("end", onEnd);
  });
}

/** Destroy with a TCP reset (SO_LINGER 0) where the runtime allows, else plainly. */
export function reset(socket: net.Socket): void {
  try {
    if (!socket.destroyed) socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** Run `n` jobs with at most `concurrency` at once, stopping new ones after `deadline`. */
async function pool(
  n: number,
  concurrency: number,
  deadline: number,
  job: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < n && Date.now() < deadline) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return next;
}

// ---- the ordinary client ------------------------------------------------------------------------

/**
 * One ordinary client: connect, upgrade, send a masked text message, wait for its echo, close.
 * @param port Server port on 127.0.0.1.
 * @param timeoutMs Give up after this long.
 * @param secure Over TLS.
 * @returns The round trip of the whole exchange in ms (connect to echo), or null on failure.
 */
export async function probe(
  port: number,
  timeoutMs = 3000,
  secure = false,
): Promise<number | null> {
  const started = performance.now();
  const up = await upgrade(port, timeoutMs, secure);
  if (up === null) return null;
  const { socket } = up;
  const text = new TextEncoder().encode(`probe ${Date.now()}`);
  const expected = [0x81, text.length, ...text];
  let got = Array.from(up.rest);
  const ok = await new Promise<boolean>((resolve) => {
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const timer = setTimeout(() => done(false), left);
    const check = () => {
      if (got.length < expected.length) return;
      done(expected.every((b, i) => got[i] === b));
    };
    const done = (v: boolean) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve(v);
    };
    const onData = (d: Uint8Array) => {
      got = got.concat(Array.from(d));
      check();
    };
    const onClose = () => done(false);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.resume();
    socket.write(maskedFrame(OP.text, text));
    check();
  });
  const ms = performance.now() - started;
  if (ok) socket.end(CLOSE_1000);
  socket.destroy();
  return ok ? ms : null;
}

/** Probe until one succeeds or `withinMs` passes; the first successful round trip, or null. */
export async function probeUntil(
  port: number,
  withinMs: number,
  secure = false,
): Promise<number | null> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const ms = await probe(port, Math.min(2000, Math.max(200, deadline - Date.now())), secure);
    if (ms !== null) return ms;
    await sleep(100);
  }
  return null;
}

// ---- monitoring ---------------------------------------------------------------------------------

/** One sample of a server under attack. */
export interface Sample {
  /** ms since the monitor started. */
  t: number;
  rss: number;
  fds: number;
  /** Probe round trip in ms, null if it failed, undefined if not probed. */
  probeMs?: number | null;
}

/** Summary of a monitored window. */
export interface MonitorSummary {
  baseRss: number;
  peakRss: number;
  /** Peak RSS minus the RSS when the monitor started. */
  rssGrowth: number;
  baseFds: number;
  peakFds: number;
  /** Whether the process was alive at every sample. */
  alive: boolean;
  probes: number;
  failedProbes: number;
  /** Median and worst successful probe round trips, ms (NaN if none succeeded). */
  probeP50: number;
  probeMax: number;
  samples: Sample[];
}

/** Samples a server's RSS, fds and (optionally) probe latency every `everyMs` until stopped. */
export class Monitor {
  readonly samples: Sample[] = [];
  readonly #pid: number;
  readonly #port: number;
  readonly #everyMs: number;
  readonly #probe: boolean;
  readonly #started = performance.now();
  readonly #baseRss: number;
  readonly #baseFds: number;
  #alive = true;
  #running = true;
  readonly #loop: Promise<void>;

  /**
   * @param pid Server process.
   * @param port Server port, for the probe.
   * @param options `everyMs` between samples (default 250), `probe` with an ordinary client.
   */
  constructor(pid: number, port: number, options: { everyMs?: number; probe?: boolean } = {}) {
    this.#pid = pid;
    this.#port = port;
    this.#everyMs = options.everyMs ?? 250;
    this.#probe = options.probe ?? false;
    this.#baseRss = rssBytes(pid);
    this.#baseFds = fdCount(pid);
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const t0 = performance.now();
      const sample: Sample = {
        t: t0 - this.#started,
        rss: rssBytes(this.#pid),
        fds: fdCount(this.#pid),
      };
      if (!alive(this.#pid)) this.#alive = false;
      if (this.#probe) sample.probeMs = await probe(this.#port, 2000);
      this.samples.push(sample);
      const wait = this.#everyMs - (performance.now() - t0);
      if (wait > 0 && this.#running) await sleep(wait);
    }
  }

  /** Stop sampling and sum up. */
  async stop(): Promise<MonitorSummary> {
    this.#running = false;
    await this.#loop;
    this.samples.push({
      t: performance.now() - this.#started,
      rss: rssBytes(this.#pid),
      fds: fdCount(this.#pid),
    });
    const rss = this.samples.map((s) => s.rss).filter(Number.isFinite);
    const fds = this.samples.map((s) => s.fds).filter(Number.isFinite);
    const probed = this.samples.filter((s) => s.probeMs !== undefined);
    const ok = probed.map((s) => s.probeMs).filter((v): v is number => typeof v === "number")
      .sort((a, b) => a - b);
    const peakRss = Math.max(this.#baseRss, ...rss);
    return {
      baseRss: this.#baseRss,
      peakRss,
      rssGrowth: peakRss - this.#baseRss,
      baseFds: this.#baseFds,
      peakFds: Math.max(this.#baseFds, ...fds),
      alive: this.#alive && alive(this.#pid),
      probes: probed.length,
      failedProbes: probed.length - ok.length,
      probeP50: ok.length > 0 ? ok[Math.floor(ok.length / 2)]! : NaN,
      probeMax: ok.length > 0 ? ok[ok.length - 1]! : NaN,
      samples: this.samples,
    };
  }
}

// ---- 1. reset storms ----------------------------------------------------------------------------

/** Where in a connection's life a reset storm resets it. */
export const RESET_STAGES = ["accept", "head", "upgrade", "frame", "close", "echo"] as const;
/** One stage of {@linkcode RESET_STAGES}. */
export type ResetStage = typeof RESET_STAGES[number];

/** What a reset storm did. */
export interface ResetStormResult {
  /** Connections attempted. */
  attempted: number;
  /** Connections reset at their intended stage, per stage. */
  reset: Record<ResetStage, number>;
  /** Connections that could not reach their stage (refused, no 101, timed out). */
  failed: number;
  ms: number;
}

const HALF_HEAD = UPGRADE_HEAD.subarray(0, 40);
const HALF_FRAME = maskedFrame(OP.binary, new Uint8Array(1024)).subarray(0, 500);

/** One connection reset at `stage`; true if it got there. */
async function resetAt(port: number, stage: ResetStage, timeoutMs: number): Promise<boolean> {
  if (stage === "accept" || stage === "head" || stage === "upgrade") {
    const socket = await connect(port, timeoutMs);
    if (socket === null) return false;
    if (stage === "head") await writeFlushed(socket, HALF_HEAD, timeoutMs);
    if (stage === "upgrade") await writeFlushed(socket, UPGRADE_HEAD, timeoutMs);
    reset(socket);
    return true;
  }
  const up = await upgrade(port, timeoutMs);
  if (up === null) return false;
  const { socket } = up;
  if (stage === "frame") await writeFlushed(socket, HALF_FRAME, timeoutMs);
  else if (stage === "close") await writeFlushed(socket, CLOSE_1000, timeoutMs);
  else {
    // A 1 MiB message, reset as soon as its echo starts to arrive (the server is mid-write).
    socket.write(oneMiBFrame());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        socket.off("data", done);
        resolve();
      }
      socket.once("data", done);
      socket.resume();
    });
  }
  reset(socket);
  return true;
}

/**
 * Connections reset (RST, not FIN) at every stage of their life, round robin over `stages`.
 * @param port Server port.
 * @param options `count` connections (default 1000), `concurrency` at once (default 32),
 *   `durationMs` to stop starting new ones (default 10 s), `stages` (default all).
 */
export async function resetStorm(
  port: number,
  options: { count?: number; concurrency?: number; durationMs?: number; stages?: ResetStage[] } =
    {},
): Promise<ResetStormResult> {
  const count = options.count ?? 1000;
  const stages = options.stages ?? [...RESET_STAGES];
  const started = performance.now();
  const deadline = Date.now() + (options.durationMs ?? 10_000);
  const result: ResetStormResult = {
    attempted: 0,
    reset: Object.fromEntries(RESET_STAGES.map((s) => [s, 0])) as Record<ResetStage, number>,
    failed: 0,
    ms: 0,
  };
  result.attempted = await pool(count, options.concurrency ?? 32, deadline, async (i) => {
    const stage = stages[i % stages.length]!;
    if (await resetAt(port, stage, 2000)) result.reset[stage]++;
    else result.failed++;
  });
  result.ms = performance.now() - started;
  return result;
}

// ---- 2. file-descriptor exhaustion --------------------------------------------------------------

/** What a burst of held connections did. */
export interface HoldResult {
  /** Connections the kernel completed (accepted by the server or queued in its backlog). */
  connected: number;
  /** Connections refused or timed out. */
  failed: number;
  /** Held connections the server closed while they were held. */
  closedByServer: number;
}

/**
 * Open `count` connections (each sends an upgrade head, to make the server read), hold them for
 * `holdMs`, then close them all (FIN).
 */
export async function holdConnections(
  port: number,
  options: { count: number; holdMs?: number; concurrency?: number; sendHead?: boolean },
): Promise<HoldResult> {
  const sockets: net.Socket[] = [];
  const result: HoldResult = { connected: 0, failed: 0, closedByServer: 0 };
  const deadline = Date.now() + 10_000;
  try {
    await pool(options.count, options.concurrency ?? 64, deadline, async () => {
      const socket = await connect(port, 2000);
      if (socket === null) return void result.failed++;
      result.connected++;
      sockets.push(socket);
      socket.once("close", () => result.closedByServer++);
      if (options.sendHead ?? true) socket.write(UPGRADE_HEAD);
    });
    await sleep(options.holdMs ?? 1000);
  } finally {
    for (const s of sockets) {
      s.removeAllListeners("close");
      s.destroy();
    }
  }
  return result;
}

// ---- 3. silent TLS clients and 7. slowloris ----------------------------------------------------

/** How a set of stalling connections ended. */
export interface StallResult {
  opened: number;
  /** Connections the server closed (FIN, RST or error), with when, ms after opening. */
  closedByServer: number;
  closeTimesMs: number[];
  /** Connections still open when the attacker gave up. */
  stillOpen: number;
}

function summarizeStall(opened: number, times: number[]): StallResult {
  times.sort((a, b) => a - b);
  return {
    opened,
    closedByServer: times.length,
    closeTimesMs: times,
    stillOpen: opened - times.length,
  };
}

/**
 * TCP connections to a TLS port that send nothing (`mode: "silent"`) or half a ClientHello and
 * then nothing; waits up to `waitMs` for the server to close each.
 */
export async function silentTls(
  port: number,
  options: { count: number; mode: "silent" | "half-hello"; waitMs: number },
): Promise<StallResult> {
  const sockets: net.Socket[] = [];
  const times: number[] = [];
  try {
    await pool(options.count, 64, Date.now() + 5000, async () => {
      const socket = await connect(port, 2000);
      if (socket === null) return;
      const opened = performance.now();
      sockets.push(socket);
      socket.once("close", () => times.push(performance.now() - opened));
      socket.resume(); // read (and drop) whatever the server sends, e.g. an alert
      if (options.mode === "half-hello") socket.write(HALF_CLIENT_HELLO);
    });
    const deadline = Date.now() + options.waitMs;
    while (times.length < sockets.length && Date.now() < deadline) await sleep(50);
    return summarizeStall(sockets.length, times.slice());
  } finally {
    for (const s of sockets) {
      s.removeAllListeners("close");
      s.destroy();
    }
  }
}

/**
 * Slowloris: `count` connections each sending the upgrade head one byte every `intervalMs`
 * (it would take them 150 intervals to finish), for at most `durationMs`.
 */
export async function slowloris(
  port: number,
  options: { count: number; intervalMs?: number; durationMs: number },
): Promise<StallResult> {
  const interval = options.intervalMs ?? 1000;
  const sockets: Array<{ socket: net.Socket; opened: number; sent: number; closed: boolean }> = [];
  const times: number[] = [];
  const deadline = Date.now() + options.durationMs;
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    await pool(options.count, 64, deadline, async () => {
      const socket = await connect(port, 2000);
      if (socket === null) return;
      const entry = { socket, opened: performance.now(), sent: 0, closed: false };
      sockets.push(entry);
      socket.resume();
      socket.once("close", () => {
        entry.closed = true;
        times.push(performance.now() - entry.opened);
      });
      socket.write(UPGRADE_HEAD.subarray(0, 1));
      entry.sent = 1;
    });
    ticker = setInterval(() => {
      for (const e of sockets) {
        if (e.closed || e.sent >= UPGRADE_HEAD.length - 1) continue;
        e.socket.write(UPGRADE_HEAD.subarray(e.sent, e.sent + 1));
        e.sent++;
      }
    }, interval);
    while (times.length < sockets.length && Date.now() < deadline) await sleep(100);
    return summarizeStall(sockets.length, times.slice());
  } finally {
    clearInterval(ticker);
    for (const e of sockets) {
      e.socket.removeAllListeners("close");
      e.socket.destroy();
    }
  }
}

// ---- 4. ping flood and 5. never-reading client -------------------------------------------------

/** What a flood wrote. */
export interface FloodResult {
  connections: number;
  bytesWritten: number;
  /** Writes the kernel took; with read backpressure on the server this levels off. */
  frames: number;
  /** Whether the server closed a flooding connection (a defence as valid as backpressure). */
  closedByServer: number;
  ms: number;
}

/** How long and how wide a flood runs. */
export interface FloodOptions {
  /** Flooding connections (default 1). */
  connections?: number;
  /** Stop after this long. */
  durationMs: number;
  /**
   * Checked between writes: stop early when it returns true (e.g. once the server's RSS grew past
   * twice the bound a test checks, so a failing run does not take the machine's memory with it).
   */
  stopWhen?: () => boolean;
  /** Over TLS (any certificate accepted). */
  secure?: boolean;
}

/**
 * Upgrade `connections` sockets, then write `batch` (whole frames) on each as fast as the
 * socket takes it for `durationMs`, never reading.
 */
async function flood(
  port: number,
  batch: Uint8Array,
  framesPerBatch: number,
  options: FloodOptions,
): Promise<FloodResult> {
  const started = performance.now();
  const stopWhen = options.stopWhen ?? (() => false);
  const deadline = Date.now() + options.durationMs;
  const ups = (await Promise.all(
    Array.from({ length: options.connections ?? 1 }, () => upgrade(port, 3000, options.secure)),
  )).filter((u): u is Upgraded => u !== null);
  const result: FloodResult = {
    connections: ups.length,
    bytesWritten: 0,
    frames: 0,
    closedByServer: 0,
    ms: 0,
  };
  try {
    await Promise.all(ups.map(async ({ socket }) => {
      let closed = false;
      socket.once("close", () => {
        closed = true;
        result.closedByServer++;
      });
      while (!closed && Date.now() < deadline && !stopWhen()) {
        const more = socket.write(batch);
        result.bytesWritten += batch.length;
        result.frames += framesPerBatch;
        if (!more) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
            function done() {
              clearTimeout(timer);
              socket.off("drain", done);
              socket.off("close", done);
              resolve();
            }
            socket.once("drain", done);
            socket.once("close", done);
          });
        } else {
          // Let timers (the monitor) run between writes the kernel took at once.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    }));
  } finally {
    for (const { socket } of ups) {
      socket.removeAllListeners("close");
      reset(socket);
    }
  }
  result.ms = performance.now() - started;
  return result;
}

/** Masked pings with 125-byte payloads (the largest a control frame may carry), never read. */
export function pingFlood(port: number, options: FloodOptions): Promise<FloodResult> {
  const ping = maskedFrame(OP.ping, new Uint8Array(125).fill(0x70));
  return flood(port, repeated(ping, 512), 512, options);
}

/** 1 MiB binary messages to an echo server as fast as the socket allows, never read. */
export function neverReader(port: number, options: FloodOptions): Promise<FloodResult> {
  return flood(port, oneMiBFrame(), 1, options);
}

// ---- 6. stalled large messages ------------------------------------------------------------------

/** How one stalled connection ended. */
export interface StalledEnd {
  /** Close code of the server's close frame; 1005 for one without a code, 1006 for none. */
  code: number;
  /** Payload bytes of the large message the kernel took on this connection. */
  sent: number;
  /** Whether the server closed it (close frame, FIN or reset) before the attacker gave up. */
  closed: boolean;
  /** Whether that happened before this connection had sent its `send` bytes. */
  duringSend: boolean;
  /** ms from this connection's last payload byte handed to the kernel to the close (NaN if open). */
  msAfterLastByte: number;
}

/** What stalled large messages did. */
export interface StalledResult {
  connections: number;
  /** Payload bytes the kernel took, over all connections. */
  bytesSent: number;
  /** Connections the server closed during the stall, with when (ms after the stall began). */
  closedByServer: number;
  closeTimesMs: number[];
  /** Each connection's end, in the order they upgraded. */
  ends: StalledEnd[];
}

/**
 * `count` connections each declare a `declared`-byte binary frame (default 64 MiB), send
 * `send` bytes of it (default 3/4), then stall for `holdMs`. The attacker reads what the server
 * sends (only to learn its close code; a server that stops reading stalls the attacker's sending
 * too) and stops sending on a connection once the server closes it.
 */
export async function stalledLarge(
  port: number,
  options: { count?: number; declared?: number; send?: number; holdMs: number },
): Promise<StalledResult> {
  const declared = options.declared ?? 64 * MiB;
  const send = Math.min(options.send ?? Math.floor(declared * 0.75), declared);
  const ups = (await Promise.all(
    Array.from({ length: options.count ?? 10 }, () => upgrade(port, 3000)),
  )).filter((u): u is Upgraded => u !== null);
  const chunk = maskBytes(new Uint8Array(MiB).fill(0x33));
  const result: StalledResult = {
    connections: ups.length,
    bytesSent: 0,
    closedByServer: 0,
    closeTimesMs: [],
    ends: [],
  };
  let stallStart = Infinity;
  const states = ups.map(({ socket, rest }) => {
    const end: StalledEnd = {
      code: 1006,
      sent: 0,
      closed: false,
      duringSend: false,
      msAfterLastByte: NaN,
    };
    result.ends.push(end);
    const state = { socket, end, lastByteAt: performance.now(), sending: true };
    let head: number[] = [...rest];
    const closed = () => {
      if (end.closed) return;
      end.closed = true;
      end.duringSend = state.sending;
      end.msAfterLastByte = performance.now() - state.lastByteAt;
      result.closeTimesMs.push(Math.max(0, performance.now() - stallStart));
    };
    const onData = (d: Uint8Array) => {
      if (head.length < 4) head = head.concat(Array.from(d.subarray(0, 4)));
      // The first frame the server sends these connections is its close frame.
      if (head.length >= 2 && (head[0]! & 0x0f) === OP.close) {
        if ((head[1]! & 0x7f) === 0) end.code = 1005;
        else if (head.length >= 4) end.code = (head[2]! << 8) | head[3]!;
        else return;
        closed();
      }
    };
    socket.on("data", onData);
    socket.once("end", closed);
    socket.once("close", closed);
    socket.resume();
    onData(new Uint8Array(0));
    return state;
  });
  try {
    const sendDeadline = Date.now() + 30_000;
    await Promise.all(states.map(async (state) => {
      const { socket, end } = state;
      if (await writeFlushed(socket, frameHeader(OP.binary, declared))) {
        while (end.sent < send && !end.closed && Date.now() < sendDeadline) {
          const n = Math.min(chunk.length, send - end.sent);
          if (!(await writeFlushed(socket, chunk.subarray(0, n), 10_000))) break;
          state.lastByteAt = performance.now();
          end.sent += n;
          result.bytesSent += n;
        }
      }
      state.sending = false;
    }));
    stallStart = performance.now();
    const deadline = Date.now() + options.holdMs;
    while (states.some((s) => !s.end.closed) && Date.now() < deadline) await sleep(50);
  } finally {
    for (const { socket } of states) {
      socket.removeAllListeners("data");
      socket.removeAllListeners("end");
      socket.removeAllListeners("close");
      socket.destroy();
    }
  }
  result.closedByServer = result.ends.filter((e) => e.closed).length;
  result.closeTimesMs.sort((a, b) => a - b);
  return result;
}

// ---- soak: mixed traffic and churn --------------------------------------------------------------

/** What a soak's traffic did. */
export interface ChurnResult {
  echoes: number;
  echoFailures: number;
  connectionsOpened: number;
  resets: number;
}

/**
 * Mixed traffic for `durationMs`: `workers` loops, each opening a connection, echoing a few
 * messages of random sizes (16 B - 64 KiB), then closing it cleanly or with a reset.
 */
export async function churn(
  port: number,
  options: { workers?: number; durationMs: number },
): Promise<ChurnResult> {
  const deadline = Date.now() + options.durationMs;
  const result: ChurnResult = { echoes: 0, echoFailures: 0, connectionsOpened: 0, resets: 0 };
  const worker = async () => {
    while (Date.now() < deadline) {
      const up = await upgrade(port, 3000);
      if (up === null) {
        result.echoFailures++;
        await sleep(100);
        continue;
      }
      result.connectionsOpened++;
      const { socket } = up;
      let got = up.rest.length;
      socket.on("data", (d: Uint8Array) => got += d.length);
      socket.resume();
      const messages = 1 + Math.floor(Math.random() * 8);
      for (let i = 0; i < messages && Date.now() < deadline; i++) {
        const size = 16 << Math.floor(Math.random() * 13); // 16 B .. 64 KiB
        const expect = got + size + (size < 126 ? 2 : size < 65536 ? 4 : 10);
        socket.write(maskedFrame(OP.binary, new Uint8Array(size)));
        const until = Date.now() + 3000;
        while (got < expect && Date.now() < until && !socket.destroyed) await sleep(2);
        if (got >= expect) result.echoes++;
        else result.echoFailures++;
      }
      if (Math.random() < 0.3) {
        result.resets++;
        reset(socket);
      } else {
        socket.end(CLOSE_1000);
        await closedWithin(socket, 1000);
        socket.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers ?? 8 }, worker));
  return result;
}

// ---- closing frames ----------------------------------------------------------------------------

/**
 * Read an upgraded connection until the server's close frame, FIN or reset, for at most `ms`.
 * @returns The close code (1005 for a close frame without one, 1006 for none) and when it came,
 *   ms after the call; null if the connection was still open after `ms`.
 */
export function closeCodeWithin(
  up: Upgraded,
  ms: number,
): Promise<{ code: number; ms: number } | null> {
  const { socket } = up;
  const started = performance.now();
  return new Promise((resolve) => {
    let bytes: number[] = [...up.rest];
    const timer = setTimeout(() => done(null), ms);
    const done = (v: { code: number; ms: number } | null) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      resolve(v);
    };
    const onData = (d?: Uint8Array) => {
      if (d !== undefined && bytes.length < 64 * 1024) bytes = bytes.concat(Array.from(d));
      // Skip whole frames (an unmasked server frame of up to 64 KiB) until a close frame.
      for (let at = 0; at + 2 <= bytes.length;) {
        const len7 = bytes[at + 1]! & 0x7f;
        const headLen = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (at + headLen > bytes.length) return;
        const len = len7 === 126 ? (bytes[at + 2]! << 8) | bytes[at + 3]! : len7;
        if ((bytes[at]! & 0x0f) === OP.close) {
          if (len === 0) return done({ code: 1005, ms: performance.now() - started });
          if (at + 4 > bytes.length) return;
          return done({
            code: (bytes[at + 2]! << 8) | bytes[at + 3]!,
            ms: performance.now() - started,
          });
        }
        at += headLen + len;
      }
    };
    const onEnd = () => done({ code: 1006, ms: performance.now() - started });
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.resume();
    onData();
  });
}

// ---- a malicious server, for clients ------------------------------------------------------------

/** What a {@linkcode floodingTlsServer} is doing. */
export interface FloodingServer {
  port: number;
  /** Resolves when the first client's flood ended (time, count or `stopWhen`). */
  done: Promise<FloodResult>;
  /** The first client's flood so far, or null before a client connected. */
  progress(): FloodResult | null;
  /** Stop flooding, destroy every socket and close the listener. */
  close(): Promise<void>;
}

/** The `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2). */
function acceptKey(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/**
 * A `wss:` server with no omniws code in it, on 127.0.0.1: it completes each client's opening
 * handshake, then never reads from it again and floods it, as fast as the socket takes it for
 * `durationMs`, with 125-byte pings (`mode: "pings"`) or 1 MiB binary messages (`"messages"`).
 * @param options PEM `cert` and `key`, the mode, the flood's length, a delay before it (so a
 *   client's baseline can be taken) and an early stop.
 */
export async function floodingTlsServer(
  options: {
    cert: string;
    key: string;
    mode: "pings" | "messages";
    durationMs: number;
    /** Wait this long after the handshake before flooding (default 0). */
    delayMs?: number;
    /** Port on 127.0.0.1 (default 0, a free one). */
    port?: number;
    stopWhen?: () => boolean;
  },
): Promise<FloodingServer> {
  const sockets = new Set<tls.TLSSocket>();
  let stopped = false;
  let settle!: (r: FloodResult) => void;
  let first: FloodResult | null = null;
  const done = new Promise<FloodResult>((resolve) => settle = resolve);
  const batch = options.mode === "pings"
    ? repeated(new Uint8Array([0x80 | OP.ping, 125, ...new Array(125).fill(0x70)]), 512)
    : (() => {
      const frame = new Uint8Array(10 + MiB).fill(0x5a);
      frame.set([0x80 | OP.binary, 127, 0, 0, 0, 0, 0, 0x10, 0, 0]);
      return frame;
    })();
  const perBatch = options.mode === "pings" ? 512 : 1;
  const stopWhen = options.stopWhen ?? (() => false);
  const floodOne = async (socket: tls.TLSSocket) => {
    if (options.delayMs) await sleep(options.delayMs);
    const started = performance.now();
    const deadline = Date.now() + options.durationMs;
    const result: FloodResult = {
      connections: 1,
      bytesWritten: 0,
      frames: 0,
      closedByServer: 0,
      ms: 0,
    };
    first ??= result;
    let closed = false;
    socket.once("close", () => {
      closed = true;
      result.closedByServer++; // here: closed by the client
    });
    while (!closed && !stopped && Date.now() < deadline && !stopWhen()) {
      const more = socket.write(batch);
      result.bytesWritten += batch.length;
      result.frames += perBatch;
      result.ms = performance.now() - started;
      await new Promise<void>((resolve) => {
        if (more) return void setImmediate(resolve);
        const timer = setTimeout(finish, Math.max(1, Math.min(200, deadline - Date.now())));
        function finish() {
          clearTimeout(timer);
          socket.off("drain", finish);
          socket.off("close", finish);
          resolve();
        }
        socket.once("drain", finish);
        socket.once("close", finish);
      });
    }
    result.ms = performance.now() - started;
    settle(result);
  };
  const server = tls.createServer({ cert: options.cert, key: options.key }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
    let head = "";
    const onData = (d: Uint8Array) => {
      head += new TextDecoder("latin1").decode(d);
      if (!head.includes("\r\n\r\n")) {
        if (head.length > 16 * 1024) socket.destroy();
        return;
      }
      socket.off("data", onData);
      socket.pause(); // never read again
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head)?.[1] ?? "";
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      void floodOne(socket);
    };
    socket.on("data", onData);
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, HOST, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    done,
    progress: () => first === null ? null : { ...first },
    close: async () => {
      stopped = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
