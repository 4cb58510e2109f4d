/**
 * permessage-deflate against node:zlib, on the same data in the same process:
 *
 * 1. Compression and decompression throughput (MB/s of uncompressed data) of 1 MiB of JSON lines,
 *    prose, mixed binary and noise at levels 1, 6 and 9, with the compressed sizes; the ratio
 *    column is omniws time / zlib time (below 1: omniws is faster).
 * 2. Many small messages (20,000 JSON messages of 100 B to 2 KiB) compressed one by one, as a
 *    server does: zlib without context takeover (its synchronous API cannot keep a stream), and
 *    omniws with and without it.
 * 3. Memory per idle compressed connection on a server: N clients each exchange one compressed
 *    message with an omniws server (Deno, tests/peers/deflate_echo_server.ts) or a ws server (Node,
 *    tests/peers/ws_deflate_peer.ts), then the server reports its memory after a forced garbage
 *    collection; (after - before) / N, with and without context takeover. Needs Deno and Node
 *    from node_modules/.bin; skipped with `--no-memory`.
 *
 * 4. Hostile input: the CPU one compressed message costs a server that echoes it (receive,
 *    inflate, send back compressed), for 64 KiB of zlib-compressed zeros (64 MiB inflated, a
 *    bomb) under the default limits and with `maxInflateRatio: Infinity` (no ratio bound, only
 *    the 64 MiB maxMessageSize), against valid JSON; per message, per compressed input byte and
 *    per inflated output byte. Skipped with `--no-hostile`.
 *
 * Run as a script on any runtime (`deno run -A bench/deflate_bench.ts`, `node
 * bench/deflate_bench.ts`, `bun bench/deflate_bench.ts`; `--quick` for fewer repetitions). Under
 * `deno bench` it registers the JSON 1 MiB level 6 comparisons only.
 *
 * @module
 */

import zlib from "node:zlib";
import net from "node:net";
import { Deflater } from "../extensions/_deflate.ts";
import { InflateError, Inflater } from "../extensions/_inflate.ts";
import { ClientConnection, ServerConnection } from "../mod.ts";
import {
  permessageDeflate,
  type PermessageDeflateOptions,
} from "../extensions/permessage_deflate.ts";
import { jsonText, mixed, noise, prose, zlibZeros } from "../tests/_deflate.ts";
import { maskedFrame, requestBytes } from "../tests/_helpers.ts";
import { bin, type RunningServer, startServer } from "../tests/_servers.ts";

const MiB = 1 << 20;
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

/** The fastest of `runs` timed calls after `warm` untimed ones, in milliseconds. */
function best(f: () => void, runs: number, warm = 3): number {
  for (let i = 0; i < warm; i++) f();
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

function inflateOurs(stream: Uint8Array): Uint8Array {
  const out = new Inflater(15, false).inflate(stream);
  if (out instanceof InflateError) throw new Error(out.message);
  return out;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const mbps = (bytes: number, ms: number) => (bytes / MiB / (ms / 1000)).toFixed(0);

function throughput(runs: number): void {
  console.log(
    "\n1. Throughput on 1 MiB (MB/s of uncompressed data; ratio = omniws time / zlib time)\n",
  );
  console.log(
    "data          lvl | deflate omniws  zlib  ratio | size omniws    zlib | inflate omniws  zlib  ratio",
  );
  const corpora: Array<[string, Uint8Array]> = [
    ["JSON lines", jsonText(MiB)],
    ["prose", prose(MiB)],
    ["mixed binary", mixed(MiB)],
    ["noise", noise(MiB)],
  ];
  for (const [name, data] of corpora) {
    for (const level of [1, 6, 9]) {
      let ours: Uint8Array = new Uint8Array(0);
      let theirs: Uint8Array = new Uint8Array(0);
      const dOurs = best(
        () => (ours = new Deflater({ level, takeover: false }).deflateRaw(data)),
        runs,
      );
      const dZlib = best(
        () => (theirs = new Uint8Array(zlib.deflateRawSync(data, { level }))),
        runs,
      );
      if (
        inflateOurs(ours).length !== data.length || zlib.inflateRawSync(ours).length !== data.length
      ) {
        throw new Error("Round trip failed");
      }
      const iOurs = best(() => inflateOurs(theirs), runs);
      const iZlib = best(() => zlib.inflateRawSync(theirs), runs);
      console.log(
        `${name.padEnd(13)} ${pad(level, 3)} | ${pad(mbps(data.length, dOurs), 14)} ${
          pad(mbps(data.length, dZlib), 5)
        } ${pad((dOurs / dZlib).toFixed(2), 6)} | ${pad(ours.length, 11)} ${
          pad(theirs.length, 7)
        } | ${pad(mbps(data.length, iOurs), 14)} ${pad(mbps(data.length, iZlib), 5)} ${
          pad((iOurs / iZlib).toFixed(2), 6)
        }`,
      );
    }
  }
}

function smallMessages(runs: number): void {
  const count = 20_000;
  const messages: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const m = jsonText(100 + ((i * 7919) % 1900), i % 50);
    messages.push(m);
    total += m.length;
  }
  console.log(
    `\n2. ${count} JSON messages of 100 B to 2 KiB (${
      (total / MiB).toFixed(1)
    } MiB), level 6, one by one\n`,
  );
  console.log(
    "compressor                               messages/s   MB/s   compressed  inflate MB/s",
  );
  const row = (label: string, compress: () => Uint8Array[], inflate: (c: Uint8Array[]) => void) => {
    let out: Uint8Array[] = [];
    const ms = best(() => (out = compress()), runs, 1);
    const bytes = out.reduce((n, c) => n + c.length, 0);
    const msIn = best(() => inflate(out), runs, 1);
    console.log(
      `${label.padEnd(40)} ${pad((count / (ms / 1000)).toFixed(0), 10)} ${
        pad(mbps(total, ms), 6)
      } ${pad(bytes, 12)} ${pad(mbps(total, msIn), 13)}`,
    );
  };
  const zlibEach = () =>
    messages.map((m) => new Uint8Array(zlib.deflateRawSync(m, { level: 6, ...SYNC })));
  row(
    "node:zlib, no context takeover",
    zlibEach,
    (c) => c.forEach((p) => zlib.inflateRawSync(p, SYNC)),
  );
  for (const takeover of [false, true]) {
    row(
      `omniws, ${takeover ? "context takeover" : "no context takeover"}`,
      () => {
        const d = new Deflater({ level: 6, takeover });
        return messages.map((m) => d.deflateMessage(m));
      },
      (c) => {
        const inf = new Inflater(15, takeover);
        for (const p of c) inf.inflateMessage(p, 1 << 30);
      },
    );
  }
}

/** An open server connection with permessage-deflate negotiated with `options`. */
function deflateServer(options: PermessageDeflateOptions): ServerConnection {
  const server = new ServerConnection({ extensions: [permessageDeflate(options)] });
  server.receive(
    requestBytes({ headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } }),
  );
  while (server.nextEvent() !== null);
  server.accept();
  server.takeOutput();
  while (server.nextEvent() !== null);
  return server;
}

function hostile(runs: number): void {
  console.log("\n4. One compressed message echoed by a server (receive, inflate, send back)\n");
  console.log(
    "message                                  wire bytes  inflated   result                 ms/msg  us/in B  ns/out B",
  );
  const json = jsonText(4 * MiB);
  const rows: Array<[string, Uint8Array, PermessageDeflateOptions]> = [
    ["zeros bomb, default limits", zlibZeros(64), {}],
    ["zeros bomb, maxInflateRatio: Infinity", zlibZeros(64), { maxInflateRatio: Infinity }],
    ["JSON 256 KiB, valid", new Deflater().deflateMessage(json.subarray(0, 256 << 10)), {}],
    ["JSON 4 MiB, valid", new Deflater().deflateMessage(json), {}],
  ];
  for (const [label, payload, options] of rows) {
    const frame = maskedFrame(2, payload, { rsv: 0x40 });
    let result = "";
    let inflated = 0;
    // A fresh connection each time (a refused message closes it; an echoed one would fill the
    // compression history); its handshake costs microseconds.
    const ms = best(() => {
      const server = deflateServer(options);
      server.receive(frame.slice()); // the parser unmasks in place
      for (let ev = server.nextEvent(); ev !== null; ev = server.nextEvent()) {
        if (ev.type === "message") {
          result = "echoed";
          inflated = (ev.data as Uint8Array).length;
          server.send(ev.data);
        } else if (ev.type === "error") {
          result = `${ev.error.closeCode} ${ev.error.code}`;
          // What the limit let the inflater produce before it stopped.
          const ratio = options.maxInflateRatio ?? 256;
          inflated = Math.min(64 * MiB, Math.max(MiB, ratio * payload.length));
        }
      }
      server.takeOutput();
    }, runs);
    console.log(
      `${label.padEnd(40)} ${pad(payload.length, 10)} ${pad(inflated, 9)}   ${result.padEnd(20)} ${
        pad(ms.toFixed(1), 8)
      } ${pad((ms * 1000 / payload.length).toFixed(3), 8)} ${
        pad((ms * 1e6 / inflated).toFixed(2), 9)
      }`,
    );
  }
}

/**
 * Open `n` omniws clients, offering permessage-deflate unless `options` is null; each exchanges
 * one 2 KB JSON message (compressed both ways when negotiated).
 */
async function openClients(
  port: number,
  n: number,
  options: PermessageDeflateOptions | null,
): Promise<net.Socket[]> {
  const message = jsonText(2000);
  const one = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const conn = new ClientConnection({
        host: `127.0.0.1:${port}`,
        extensions: options === null ? [] : [permessageDeflate({ ...options, threshold: 0 })],
      });
      const socket = net.connect(port, "127.0.0.1");
      const flush = () => {
        for (const c of conn.takeOutput()) socket.write(c);
      };
      socket.on("error", reject);
      socket.on("data", (d: Uint8Array) => {
        conn.receive(new Uint8Array(d));
        for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
          if (ev.type === "open") {
            if ((conn.extensions === "") !== (options === null)) {
              reject(new Error("Unexpected negotiation"));
            }
            conn.send(message);
          } else if (ev.type === "message") resolve(socket);
        }
        flush();
      });
      flush();
    });
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += 50) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, one)));
  }
  return sockets;
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

/** Ask the server for its memory use over a connection without compression. */
async function serverMemory(port: number): Promise<Memory> {
  return await new Promise<Memory>((resolve, reject) => {
    const conn = new ClientConnection({ host: `127.0.0.1:${port}` });
    const socket = net.connect(port, "127.0.0.1");
    const flush = () => {
      for (const c of conn.takeOutput()) socket.write(c);
    };
    socket.on("error", reject);
    socket.on("data", (d: Uint8Array) => {
      conn.receive(new Uint8Array(d));
      for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
        if (ev.type === "open") conn.send("__memory__");
        if (ev.type === "message") {
          socket.destroy();
          resolve(JSON.parse(ev.data as string));
        }
      }
      flush();
    });
    flush();
  });
}

async function memory(n: number): Promise<void> {
  console.log(
    `\n3. Server memory per idle connection (${n} connections, each after one 2 KB message each way;`,
  );
  console.log(
    "   a fresh server process per row; JS = V8 heap + external memory, where typed arrays and",
  );
  console.log("   Node's zlib streams are counted)\n");
  console.log("server           compression               RSS per connection   JS per connection");
  const noTakeover = { serverNoContextTakeover: true, clientNoContextTakeover: true };
  const omniws = (options: PermessageDeflateOptions) => () =>
    startServer(bin("deno"), [
      "run",
      "--v8-flags=--expose-gc",
      "--allow-net",
      "--allow-env",
      "tests/peers/deflate_echo_server.ts",
    ], {
      PMD_OPTIONS: JSON.stringify(options),
    });
  const ws = (options: Record<string, unknown>) => () =>
    startServer(bin("node"), ["--expose-gc", "tests/peers/ws_deflate_peer.ts", "server"], {
      WS_PMD: JSON.stringify({ threshold: 0, ...options }),
    });
  const rows: Array<[string, string, () => Promise<RunningServer>, boolean]> = [
    ["omniws on Deno", "none", omniws({}), false],
    ["omniws on Deno", "context takeover", omniws({}), true],
    ["omniws on Deno", "no context takeover", omniws(noTakeover), true],
    ["ws on Node", "none", ws({}), false],
    ["ws on Node", "context takeover", ws({}), true],
    ["ws on Node", "no context takeover", ws(noTakeover), true],
  ];
  for (const [label, mode, start, compressed] of rows) {
    const server = await start();
    try {
      const before = await serverMemory(server.port);
      const sockets = await openClients(server.port, n, compressed ? {} : null);
      await new Promise((r) => setTimeout(r, 300));
      const after = await serverMemory(server.port);
      for (const s of sockets) s.destroy();
      const kib = (x: number) => (x / n / 1024).toFixed(0) + " KiB";
      const js = (m: Memory) => m.heapUsed + m.external;
      console.log(
        `${label.padEnd(16)} ${mode.padEnd(25)} ${pad(kib(after.rss - before.rss), 18)} ${
          pad(kib(js(after) - js(before)), 19)
        }`,
      );
    } finally {
      await server.stop();
    }
  }
  console.log(
    "\nomniws's own accounting (Deflater/Inflater retainedBytes): 192 KiB + 32 KiB per connection with",
  );
  console.log("context takeover at 15 window bits, nothing without it.");
}

const args = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
if (import.meta.main) {
  const quick = args.includes("--quick");
  const runtime = typeof Deno !== "undefined"
    ? `Deno ${Deno.version.deno}`
    : "Bun" in globalThis
    ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
    : `Node ${process.version}`;
  console.log(`permessage-deflate benchmark on ${runtime}; node:zlib is this runtime's zlib`);
  throughput(quick ? 3 : 9);
  smallMessages(quick ? 1 : 3);
  if (!args.includes("--no-hostile")) hostile(quick ? 3 : 7);
  if (!args.includes("--no-memory")) await memory(quick ? 100 : 400);
} else if (typeof Deno !== "undefined" && typeof Deno.bench === "function") {
  const data = jsonText(MiB);
  const stream = new Uint8Array(zlib.deflateRawSync(data, { level: 6 }));
  Deno.bench({
    name: "omniws deflate, JSON 1 MiB, level 6",
    group: "deflate",
    fn: () => void new Deflater({ takeover: false }).deflateRaw(data),
  });
  Deno.bench({
    name: "node:zlib deflateRawSync, JSON 1 MiB, level 6",
    group: "deflate",
    baseline: true,
    fn: () => void zlib.deflateRawSync(data, { level: 6 }),
  });
  Deno.bench({
    name: "omniws inflate, JSON 1 MiB",
    group: "inflate",
    fn: () => void inflateOurs(stream),
  });
  Deno.bench({
    name: "node:zlib inflateRawSync, JSON 1 MiB",
    group: "inflate",
    baseline: true,
    fn: () => void zlib.inflateRawSync(stream),
  });
}
