/**
 * The time bounds the unit tests used to assert with `Date.now()` / `performance.now()`, measured
 * here instead, where a slow machine makes a number bigger rather than a test red. The tests keep
 * the behaviour (the close code, the error, the result, memory staying flat, a parser stopping at
 * its limit); this prints the time of each case, the median of `--runs` runs (default 5), next to
 * the bound the test used to hold it to. Inputs are built before the clock starts; each run checks
 * its result too, so a broken path is reported rather than timed.
 *
 * Decompression bombs, each through a `ServerConnection` with permessage-deflate, as a peer's
 * frame would (was tests/inflate_test.ts, tests/permessage_deflate_test.ts):
 *
 * - a 1 MiB dense bomb (1 GiB inflated) under a 1 MiB maxMessageSize (was 2 s, on the decoder);
 * - a 4 MiB dense bomb (4 GiB inflated) under the default and an 8 MiB maxMessageSize (was 10 s);
 * - 64 KiB of zlib-compressed zeros (64 MiB inflated), refused by maxInflateRatio (was 5 s);
 * - a 1 MiB zlib bomb (1 GiB inflated) under a 1 GiB maxMessageSize, maxInflateRatio 16 (was 5 s).
 *
 * Handshake parsing on hostile input, linear time (was tests/http_test.ts, tests/hixie76_test.ts):
 *
 * - 1 MB of header bytes without a blank line, in 1-byte and 1000-byte chunks: 431 (was 2 s each);
 * - a 16000-byte head fed one byte at a time (was 2 s);
 * - a 1 MB head allowed by maxHeadSize fed one byte at a time (was 2 s);
 * - `parseHeaderList` on 100k commas, 100k spaces and a 1 MB element (was 1 s);
 * - `parseExtensions` on pathological values: 100k separators, 100k parameters, long quoted
 *   strings, unterminated strings (was 2 s);
 * - `hixie76KeyNumber` refusing a key of 100000 digits (was 1 s).
 *
 * The exit code is 1 if a median is over its old bound, so that a regression is noticed when the
 * benchmark is run; nothing runs it in CI.
 *
 * Usage: deno run -A bench/bounds_bench.ts [--runs N] (or node / bun bench/bounds_bench.ts)
 *
 * @module
 */

import { OP_BINARY, ServerConnection } from "../mod.ts";
import {
  permessageDeflate,
  type PermessageDeflateOptions,
} from "../extensions/permessage_deflate.ts";
import {
  type HttpHeadResult,
  HttpRequestParser,
  parseExtensions,
  parseHeaderList,
} from "../handshake/http.ts";
import { hixie76KeyNumber } from "../handshake/hixie76.ts";
import { bomb, zlibZeros } from "../tests/_deflate.ts";
import { maskedFrame, requestBytes } from "../tests/_helpers.ts";

const RSV1 = 0x40;

/** One timed case: `prepare` builds its inputs (untimed) and returns one run giving its ms. */
interface Case {
  name: string;
  /** The bound the unit test used to assert, in milliseconds. */
  boundMs: number;
  prepare: () => () => number;
}

/** A case whose whole run is timed; `run` throws if the result is wrong. */
function timedCase(name: string, boundMs: number, prepare: () => () => void): Case {
  return {
    name,
    boundMs,
    prepare: () => {
      const run = prepare();
      return () => {
        const started = performance.now();
        run();
        return performance.now() - started;
      };
    },
  };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`Wrong result: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Decompression bombs

interface BombCase {
  name: string;
  boundMs: number;
  payload: () => Uint8Array;
  options: PermessageDeflateOptions;
  maxMessageSize?: number;
}

const BOMBS: BombCase[] = [
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
function openServer(c: BombCase): ServerConnection {
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
function refuse(c: BombCase, frame: Uint8Array): number {
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
    throw new Error(
      `${c.name}: expected a 1009 error and a close, got ${types.join(",")} (${code})`,
    );
  }
  return ms;
}

function bombCase(c: BombCase): Case {
  return {
    name: c.name,
    boundMs: c.boundMs,
    prepare: () => {
      const frame = maskedFrame(OP_BINARY, c.payload(), { rsv: RSV1 });
      return () => refuse(c, frame);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Handshake parsing on hostile input

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

/** Feeds `stream` in `size`-byte chunks; 431 must come with the chunk holding byte 16384. */
function unterminatedHead(size: number): Case {
  return timedCase(
    `1 MB of header bytes without a blank line, ${size}-byte chunks: 431`,
    2000,
    () => {
      const stream = new Uint8Array(1 << 20).fill(0x61);
      stream.set(latin1("GET / HTTP/1.1\r\nX-Long: "));
      return () => {
        const parser = new HttpRequestParser();
        let errorAt = -1;
        for (let pos = 0; pos < stream.length; pos += size) {
          const result = parser.push(stream.subarray(pos, pos + size));
          if (result.kind === "error" && errorAt < 0) {
            check(result.status === 431, `status ${result.status}`);
            errorAt = pos + size;
          }
        }
        check(errorAt === Math.ceil(16384 / size) * size, `431 after ${errorAt} bytes`);
        check(parser.buffered === 0, `${parser.buffered} bytes buffered after the error`);
      };
    },
  );
}

/** A head of `bytes` fed one byte at a time must complete. */
function byteByByte(name: string, bytes: Uint8Array, maxHeadSize?: number): Case {
  return timedCase(name, 2000, () => () => {
    const parser = new HttpRequestParser(maxHeadSize === undefined ? {} : { maxHeadSize });
    let result: HttpHeadResult<unknown> = { kind: "incomplete" };
    for (let i = 0; i < bytes.length; i++) result = parser.push(bytes.subarray(i, i + 1));
    check(result.kind === "complete", `${result.kind} after ${bytes.length} bytes`);
  });
}

function head16000(): Uint8Array {
  let text = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\n";
  for (let i = 0; text.length < 15000; i++) text += `X-Header-${i}: ${"v".repeat(250)}\r\n`;
  text += "X-Pad: " + "p".repeat(16000 - text.length - 11) + "\r\n\r\n";
  return latin1(text);
}

function headOneMegabyte(): Uint8Array {
  const size = 1_000_000;
  const bytes = new Uint8Array(size).fill(0x7a);
  bytes.set(latin1("GET / HTTP/1.1\r\nX-Big: "));
  bytes.set(latin1("\r\n\r\n"), size - 4);
  return bytes;
}

const headerLists = timedCase(
  "parseHeaderList: 100k commas, 100k spaces, a 1 MB element",
  1000,
  () => {
    const commas = ",".repeat(100_000);
    const spaces = " ".repeat(100_000);
    const padded = spaces + "x" + spaces;
    const separators = ", \t".repeat(100_000) + "x";
    const elements = "a,".repeat(100_000);
    const long = "a".repeat(1 << 20);
    return () => {
      check(parseHeaderList(commas).length === 0, "commas");
      check(parseHeaderList(spaces).length === 0, "spaces");
      check(parseHeaderList(padded)[0] === "x", "padded element");
      check(parseHeaderList(separators)[0] === "x", "separators");
      check(parseHeaderList(elements).length === 100_000, "100k elements");
      check(parseHeaderList(long)[0]?.length === 1 << 20, "1 MB element");
    };
  },
);

const extensionValues = timedCase("parseExtensions: pathological values", 2000, () => {
  const long = "v".repeat(100_000);
  const names = Array.from({ length: 20_000 }, (_, i) => `a${i}`).join("; ");
  const inputs: Array<[string, (r: ReturnType<typeof parseExtensions>) => boolean]> = [
    [",".repeat(100_000), (r) => r === null],
    [" ".repeat(100_000), (r) => r === null],
    [",".repeat(100_000) + "x", (r) => r?.[0]?.name === "x"],
    [" ".repeat(100_000) + "x" + " ".repeat(100_000), (r) => r?.[0]?.name === "x"],
    ["x;".repeat(100_000), (r) => r === null],
    ["x" + "; a".repeat(100_000), (r) => r?.[0]?.repeatedParams?.length === 1],
    [`x; ${names}; ${names}`, (r) => r?.[0]?.repeatedParams?.length === 20_000],
    [`x; a="${long}"`, (r) => r?.[0]?.params.get("a") === long],
    [`x; a="${"\\v".repeat(100_000)}"`, (r) => r?.[0]?.params.get("a") === long],
    [`x; a="${long}`, (r) => r === null],
    [`x; a="${'\\"'.repeat(100_000)}`, (r) => r === null],
    [`x; a="${" ".repeat(100_000)}"`, (r) => r === null],
    [
      "x" + Array.from({ length: 50_000 }, (_, i) => `; p${i}=${i}`).join(""),
      (r) => r?.[0]?.params.size === 50_000,
    ],
    ["x, ".repeat(100_000), (r) => r?.length === 100_000],
  ];
  return () => {
    for (const [input, ok] of inputs) check(ok(parseExtensions(input)), input.slice(0, 40));
  };
});

const longKey = timedCase("hixie76KeyNumber: a key of 100000 digits is refused", 1000, () => {
  const key = "9".repeat(100000) + " ";
  return () => check(hixie76KeyNumber(key) === null, "the key is refused");
});

const CASES: Case[] = [
  ...BOMBS.map(bombCase),
  unterminatedHead(1),
  unterminatedHead(1000),
  byteByByte("a 16000-byte head fed one byte at a time", head16000()),
  byteByByte("a 1 MB head (maxHeadSize 1 MB) fed one byte at a time", headOneMegabyte(), 1_000_000),
  headerLists,
  extensionValues,
  longKey,
];

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
  const run = c.prepare();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) times.push(run());
  const ms = median(times);
  const verdict = ms < c.boundMs ? "ok" : "OVER";
  if (verdict === "OVER") over++;
  console.log(`| ${c.name} | ${ms.toFixed(1)} | ${c.boundMs} | ${verdict} |`);
}
if (over > 0) {
  console.error(`bounds_bench: ${over} case(s) over the bound the tests used to assert`);
  process.exit(1);
}
