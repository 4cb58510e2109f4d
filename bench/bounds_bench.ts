/**
 * How long a server takes to refuse a decompression bomb: the time bounds the unit tests used to
 * assert with `Date.now()` (tests/inflate_test.ts, tests/permessage_deflate_test.ts), measured
 * here instead, where a slow machine makes a number bigger rather than a test red. The tests keep
 * the behaviour (the close code, the error, memory staying flat, the decoder stopping at the
 * limit before reading the rest); this prints the time, the median of `--runs` runs (default 5),
 * next to the bound the test used to hold it to.
 *
 * Each case goes through a `ServerConnection` with permessage-deflate, as a peer's frame would:
 *
 * - a 1 MiB dense bomb (1 GiB inflated) under a 1 MiB maxMessageSize (was 2 s, on the decoder);
 * - a 4 MiB dense bomb (4 GiB inflated) under the default and an 8 MiB maxMessageSize (was 10 s);
 * - 64 KiB of zlib-compressed zeros (64 MiB inflated), refused by maxInflateRatio (was 5 s);
 * - a 1 MiB zlib bomb (1 GiB inflated) under a 1 GiB maxMessageSize, maxInflateRatio 16 (was 5 s).
 *
 * The exit code is 1 if a median is over its old bound, so that a regression is noticed when the
 * benchmark is run; nothing runs it in CI.
 *
 * Usage: deno run -A bench/bounds_bench.ts [--runs N] (or node / bun bench/bounds_bench.ts)
 *
 * @module
 */

import { OP_BINARY, ServerConnection } from "../mod.ts";
import { permessageDeflate, type PermessageDeflateOptions } from "../extensions/permessage_deflate.ts";
import { bomb, zlibZeros } from "../tests/_deflate.ts";
import { maskedFrame, requestBytes } from "../tests/_helpers.ts";

const RSV1 = 0x40;

interface Case {
  name: string;
  /** The bound the unit test used to assert, in milliseconds. */
  boundMs: number;
  payload: () => Uint8Array;
  options: PermessageDeflateOptions;
  maxMessageSize?: number;
}

const CASES: Case[] = [
  {
    name: "1 MiB dense bomb (1 GiB inflated), 1 MiB limit",
    boundMs: 2000,
    payload: () => bomb(4 << 20),
    options: {},
    maxMessageSize: 1 << 20,
  },
  {
    name: "4 MiB dense bomb (4 GiB inflated), default limits",
    boundMs: 10_000,
    payload: () => bomb(16 << 20),
    options: {},
  },
  {
    name: "4 MiB dense bomb (4 GiB inflated), 8 MiB limit",
    boundMs: 10_000,
    payload: () => bomb(16 << 20),
    options: {},
    maxMessageSize: 8 << 20,
  },
  {
    name: "64 KiB of zlib zeros (64 MiB inflated), default limits",
    boundMs: 5000,
    payload: () => zlibZeros(64),
    options: {},
  },
  {
    name: "1 MiB zlib bomb (1 GiB inflated), 1 GiB limit, ratio 16",
    boundMs: 5000,
    payload: () => zlibZeros(1024),
    options: { maxInflateRatio: 16 },
    maxMessageSize: 1 << 30,
  },
];

/** An open server connection that negotiated permessage-deflate. */
function openServer(c: Case): ServerConnection {
  const server = new ServerConnection({
    extensions: [permessageDeflate(c.options)],
    ...(c.maxMessageSize === undefined ? {} : { maxMessageSize: c.maxMessageSize }),
  });
  server.receive(requestBytes({ headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } }));
  while (server.nextEvent() !== null);
  server.accept();
  server.takeOutput();
  while (server.nextEvent() !== null);
  return server;
}

/** Milliseconds from the frame's arrival to the refusal; throws if it was not refused with 1009. */
function refuse(c: Case, frame: Uint8Array): number {
  const server = openServer(c);
  const copy = frame.slice(); // receive() unmasks in place
  const started = performance.now();
  server.receive(copy);
  const types: string[] = [];
  let code: number | undefined;
  for (let ev = server.nextEvent(); ev !== null; ev = server.nextEvent()) {
    types.push(ev.type);
    if (ev.type === "error") code = ev.error.closeCode;
  }
  const ms = performance.now() - started;
  if (types.join(",") !== "error,close" || code !== 1009) {
    throw new Error(`${c.name}: expected a 1009 error and a close, got ${types.join(",")} (${code})`);
  }
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function parseRuns(args: string[]): number {
  const i = args.indexOf("--runs");
  if (i < 0) return 5;
  const runs = Number(args[i + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError("--runs needs a positive integer");
  return runs;
}

const runs = parseRuns(typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2));
let over = 0;
console.log(`| case | median ms (${runs} runs) | old test bound ms | |`);
console.log("| --- | ---: | ---: | --- |");
for (const c of CASES) {
  const frame = maskedFrame(OP_BINARY, c.payload(), { rsv: RSV1 });
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(refuse(c, frame));
  const ms = median(times);
  const verdict = ms < c.boundMs ? "ok" : "OVER";
  if (verdict === "OVER") over++;
  console.log(`| ${c.name} | ${ms.toFixed(1)} | ${c.boundMs} | ${verdict} |`);
}
if (over > 0) {
  console.error(`bounds_bench: ${over} case(s) over the bound the tests used to assert`);
  process.exit(1);
}
