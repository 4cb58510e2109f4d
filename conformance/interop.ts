/**
 * The interop matrix's shared scenario. Every pair of (omniws, real peer) exchanges text, binary,
 * 1 MiB and empty messages, pings, a clean close (1000) and error closes:
 *
 * - a peer client against the omniws interop server (conformance/peers/omniws_interop_server.ts)
 *   runs its own script and prints a JSON {@linkcode ClientReport};
 * - the omniws client ({@linkcode runOmniwsClientScenario}) runs against a peer server that speaks
 *   the same commands (`ping-me`, `close-4001`, `send-invalid-utf8`) and prints one JSON line per
 *   closed connection with the close code it received.
 *
 * @module
 */

import net from "node:net";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { ClientConnection, type ConnectionEvent } from "../mod.ts";
import { ROOT, stopProcess } from "./targets.ts";

/** The omniws interop server on Deno (adapters/deno.ts), as a command line. */
export const OMNIWS_INTEROP_SERVER: string[] = [
  `${ROOT}node_modules/.bin/deno`,
  "run",
  "--allow-net",
  "--allow-env",
  "conformance/peers/omniws_interop_server.ts",
];

/** 1 MiB: the "large" message of the matrix. */
export const LARGE = 1024 * 1024;

/** What a peer client prints after running its script against the omniws interop server. */
export interface ClientReport {
  /** Echo checks by name (text, binary, empty_text, empty_binary, large_text, large_binary). */
  echo: Record<string, boolean>;
  /** The client's own ping got a pong with its payload (null: the client has no ping API). */
  pong: boolean | null;
  /** After asking the server to ping, the connection carried on ("pinged" came back). */
  serverPing: boolean;
  /** Close codes and reasons the client saw. */
  cleanClose: { code: number; reason: string };
  serverClose: { code: number; reason: string };
  tooBig: { code: number; reason: string };
  /** Absent when the client cannot send invalid UTF-8. */
  invalidUtf8?: { code: number; reason: string };
}

/** Deterministic bytes for binary checks. */
export function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** An omniws client on node:net with promise helpers, for scripted exchanges. */
export class TestClient {
  readonly conn: ClientConnection;
  readonly events: ConnectionEvent[] = [];
  readonly #socket: net.Socket;
  #waiters: Array<() => void> = [];
  #seen = 0;

  constructor(url: string) {
    const u = new URL(url);
    this.conn = new ClientConnection({ host: u.host, path: `${u.pathname}${u.search}` });
    this.#socket = net.connect({ host: u.hostname, port: Number(u.port) });
    this.#socket.setNoDelay(true);
    this.#socket.on("data", (d: Uint8Array) => {
      this.conn.receive(new Uint8Array(d));
      this.#pump();
    });
    const end = () => {
      this.conn.receiveEnd();
      this.#pump();
    };
    this.#socket.on("end", end);
    this.#socket.on("close", end);
    this.#socket.on("error", () => {});
    this.#pump();
  }

  #pump(): void {
    for (let ev = this.conn.nextEvent(); ev !== null; ev = this.conn.nextEvent()) {
      this.events.push(ev);
    }
    for (const chunk of this.conn.takeOutput()) this.#socket.write(chunk);
    if (this.conn.shouldCloseTransport) this.#socket.end();
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolve with the first new event matching `pred`; reject after `ms`. */
  async next<T extends ConnectionEvent>(
    pred: (e: ConnectionEvent) => e is T,
    what: string,
    ms = 10_000,
  ): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (; this.#seen < this.events.length; this.#seen++) {
        const e = this.events[this.#seen];
        if (pred(e)) {
          this.#seen++;
          return e;
        }
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${what}; events: ${this.events.map((e) => e.type).join(", ")}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  message(ms?: number): Promise<Extract<ConnectionEvent, { type: "message" }>> {
    return this.next(
      (e): e is Extract<ConnectionEvent, { type: "message" }> => e.type === "message",
      "a message",
      ms,
    );
  }

  closed(ms?: number): Promise<Extract<ConnectionEvent, { type: "close" }>> {
    return this.next(
      (e): e is Extract<ConnectionEvent, { type: "close" }> => e.type === "close",
      "the close event",
      ms,
    );
  }

  opened(): Promise<ConnectionEvent> {
    return this.next((e): e is ConnectionEvent => e.type === "open", "open");
  }

  send(data: string | Uint8Array): void {
    this.conn.send(data);
    this.#pump();
  }

  ping(data: string): void {
    this.conn.ping(data);
    this.#pump();
  }

  close(code?: number, reason?: string): void {
    this.conn.close(code, reason);
    this.#pump();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** What the omniws client saw against a peer server. */
export interface OmniwsClientReport {
  echo: Record<string, boolean>;
  pong: boolean;
  serverPing: boolean;
  cleanClose: { code: number; reason: string; wasClean: boolean };
  peerClose: { code: number; reason: string; wasClean: boolean };
  clientErrorClose: { code: number; wasClean: boolean };
  invalidUtf8: { error: string; code: number };
}

const sameBytes = (a: unknown, b: Uint8Array) =>
  a instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Run the omniws client side of the matrix against a peer server at `url`.
 * @param url The peer's `ws://` URL.
 * @param peerPingPayload The payload the peer pings with on `ping-me` (it answers `pong:PAYLOAD`).
 */
export async function runOmniwsClientScenario(
  url: string,
  peerPingPayload: string,
): Promise<OmniwsClientReport> {
  const echo: Record<string, boolean> = {};
  // 1. Messages both ways, pings both ways, clean close.
  const a = new TestClient(url);
  await a.opened();
  const checks: Array<[string, string | Uint8Array]> = [
    ["text", "Hello, wörld ✓"],
    ["binary", pattern(256)],
    ["empty_text", ""],
    ["empty_binary", new Uint8Array(0)],
    ["large_text", "a".repeat(LARGE)],
    ["large_binary", pattern(LARGE)],
  ];
  for (const [name, data] of checks) {
    a.send(data);
    const m = await a.message();
    echo[name] = typeof data === "string" ? m.data === data : sameBytes(m.data, data);
  }
  a.ping("omniws-ping");
  const p = await a.next(
    (e): e is Extract<ConnectionEvent, { type: "pong" }> => e.type === "pong",
    "a pong",
  );
  const pong = new TextDecoder().decode(p.data) === "omniws-ping";
  a.send("ping-me");
  const serverPing = (await a.message()).data === `pong:${peerPingPayload}`;
  a.close(1000);
  const c1 = await a.closed();
  a.destroy();
  // 2. The peer closes with 4001 and a reason.
  const b = new TestClient(url);
  await b.opened();
  b.send("close-4001");
  const c2 = await b.closed();
  b.destroy();
  // 3. omniws closes with 4000 and a reason (the peer reports what it got).
  const c = new TestClient(url);
  await c.opened();
  c.close(4000, "omniws says bye");
  const c3 = await c.closed();
  c.destroy();
  // 4. The peer sends invalid UTF-8: omniws must fail the connection with 1007.
  const d = new TestClient(url);
  await d.opened();
  d.send("send-invalid-utf8");
  const err = await d.next(
    (e): e is Extract<ConnectionEvent, { type: "error" }> => e.type === "error",
    "a protocol error",
  );
  await d.closed();
  d.destroy();
  return {
    echo,
    pong,
    serverPing,
    cleanClose: { code: c1.code, reason: c1.reason, wasClean: c1.wasClean },
    peerClose: { code: c2.code, reason: c2.reason, wasClean: c2.wasClean },
    clientErrorClose: { code: c3.code, wasClean: c3.wasClean },
    invalidUtf8: { error: err.error.code, code: err.error.closeCode },
  };
}

/** A peer server process printing its URL, then one JSON line per closed connection. */
export interface PeerServer {
  url: string;
  /** JSON lines printed so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolve when at least `n` lines arrived (rejects after `ms`). */
  waitLines(n: number, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Start a peer server command (run from the repository root, PORT=0). */
export function startPeerServer(command: string[]): Promise<PeerServer> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = command;
    const child: ChildProcess = spawn(program, args, {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let url: string | null = null;
    const lines: Array<Record<string, unknown>> = [];
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Peer server did not start within 30 s: ${out}${err}`));
    }, 30_000);
    child.stderr!.on(
      "data",
      (d: Uint8Array) => (err = (err + new TextDecoder().decode(d)).slice(-10000)),
    );
    child.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      let nl;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        if (url === null) {
          const m = /ws:\/\/[^\s/]+\/?/.exec(line);
          if (m === null) continue;
          url = m[0];
          clearTimeout(timer);
          resolve({
            url,
            lines,
            async waitLines(n: number, ms = 10_000) {
              const deadline = Date.now() + ms;
              while (lines.length < n) {
                if (Date.now() > deadline) {
                  throw new Error(`Peer printed ${lines.length} of ${n} lines; stderr: ${err}`);
                }
                await new Promise((r) => setTimeout(r, 20));
              }
            },
            stop: () => stopProcess(child),
          });
        } else if (line.startsWith("{")) {
          lines.push(JSON.parse(line));
        }
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (url === null) reject(new Error(`Peer server exited with ${code}: ${out}${err}`));
    });
  });
}

/** Run a peer client command to completion (bounded) and parse the JSON report it prints last. */
export function runPeerClient(command: string[], limitMs = 60_000): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = command;
    const child = spawn(program, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
    child.stderr!.on(
      "data",
      (d: Uint8Array) => (err = (err + new TextDecoder().decode(d)).slice(-10000)),
    );
    const timer = setTimeout(() => void stopProcess(child), limitMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").at(-1) ?? "";
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(last) as ClientReport);
      } catch (e) {
        reject(new Error(`Peer client failed (${(e as Error).message}): ${out}\n${err}`));
      }
    });
  });
}

/**
 * Problems in a peer client's report against the omniws interop server (empty when all is well).
 * @param r The report.
 * @param hasPing Whether the client has a ping API (its pong must then have arrived).
 * @param canSendInvalid Whether the client can send invalid UTF-8 (then 1007 is expected).
 */
export function clientReportProblems(
  r: ClientReport,
  hasPing: boolean,
  canSendInvalid: boolean,
): string[] {
  const p: string[] = [];
  for (
    const name of ["text", "binary", "empty_text", "empty_binary", "large_text", "large_binary"]
  ) {
    if (r.echo[name] !== true) p.push(`echo of ${name}`);
  }
  if (hasPing ? r.pong !== true : r.pong !== null) p.push(`pong: ${r.pong}`);
  if (!r.serverPing) p.push("the connection did not carry on after the server's ping");
  if (r.cleanClose.code !== 1000) p.push(`clean close: ${JSON.stringify(r.cleanClose)}`);
  if (r.serverClose.code !== 4000 || r.serverClose.reason !== "omniws says bye") {
    p.push(`server close: ${JSON.stringify(r.serverClose)}`);
  }
  if (r.tooBig.code !== 1009) p.push(`too big: ${JSON.stringify(r.tooBig)}`);
  if (canSendInvalid && r.invalidUtf8?.code !== 1007) {
    p.push(`invalid UTF-8: ${JSON.stringify(r.invalidUtf8)}`);
  }
  return p;
}

/**
 * Problems in what the omniws client and the peer server saw (empty when all is well).
 * @param r The omniws client's report.
 * @param peerLines The peer server's JSON lines (one per closed connection).
 * @param peerReason The reason the peer closes with on `close-4001`.
 */
export function omniwsClientProblems(
  r: OmniwsClientReport,
  peerLines: Array<Record<string, unknown>>,
  peerReason: string,
): string[] {
  const p: string[] = [];
  for (const [name, ok] of Object.entries(r.echo)) if (!ok) p.push(`echo of ${name}`);
  if (Object.keys(r.echo).length !== 6) p.push("not every echo check ran");
  if (!r.pong) p.push("no pong for the omniws client's ping");
  if (!r.serverPing) p.push("the peer did not get a pong for its ping");
  if (r.cleanClose.code !== 1000 || !r.cleanClose.wasClean) {
    p.push(`clean close: ${JSON.stringify(r.cleanClose)}`);
  }
  if (r.peerClose.code !== 4001 || r.peerClose.reason !== peerReason || !r.peerClose.wasClean) {
    p.push(`peer's close: ${JSON.stringify(r.peerClose)}`);
  }
  // RFC 6455 §5.5.1: the answer "typically" echoes the code; 1000 is allowed too.
  if (![4000, 1000].includes(r.clientErrorClose.code) || !r.clientErrorClose.wasClean) {
    p.push(`omniws close 4000: ${JSON.stringify(r.clientErrorClose)}`);
  }
  if (r.invalidUtf8.error !== "TEXT_INVALID_UTF8" || r.invalidUtf8.code !== 1007) {
    p.push(`invalid UTF-8: ${JSON.stringify(r.invalidUtf8)}`);
  }
  if (!peerLines.some((l) => l.code === 4000 && l.reason === "omniws says bye")) {
    p.push(`the peer did not see 4000 "omniws says bye": ${JSON.stringify(peerLines)}`);
  }
  if (!peerLines.some((l) => l.code === 1007)) {
    p.push(`the peer did not see 1007: ${JSON.stringify(peerLines)}`);
  }
  return p;
}
