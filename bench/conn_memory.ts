/**
 * JavaScript heap per open server connection, in process: what omniws itself keeps for each
 * idle connection, without a runtime's socket. Opens N server sessions (`ServerSessions.start`,
 * the code every adapter runs) on a transport that drops what it is given, completes each
 * RFC 6455 handshake, and gives each socket the `onmessage` echo handler of the benchmark
 * servers; reports (heap after - heap before) / N after forced collections. `--core` measures
 * the core `ServerConnection` alone (handshake accepted, output taken).
 *
 * Runs on Node (`--expose-gc`), Deno (`--v8-flags=--expose-gc`) and Bun:
 *
 *     node_modules/.bin/node --expose-gc bench/conn_memory.ts [--core] [N]
 *     node_modules/.bin/deno run -A --v8-flags=--expose-gc bench/conn_memory.ts [--core] [N]
 *     node_modules/.bin/bun bench/conn_memory.ts [--core] [N]
 *
 * The whole-process figures (socket included) come from `deno task bench`'s idle part.
 *
 * @module
 */

import process from "node:process";
import { ServerSessions } from "../adapters/_session.ts";
import { NO_TRANSPORT } from "../adapters/_driver.ts";
import { ServerConnection } from "../core/server.ts";

const args = process.argv.slice(2);
const core = args.includes("--core");
const count = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);

const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
function collect(): void {
  if (g.Bun !== undefined) g.Bun.gc(true);
  else if (g.gc !== undefined) (g.gc(), g.gc());
  else throw new Error("No gc(): run Node with --expose-gc, Deno with --v8-flags=--expose-gc");
}
function heapUsed(): number {
  collect();
  return process.memoryUsage().heapUsed;
}

const request = new TextEncoder().encode(
  "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);
// One server's sessions, as `serve` keeps them: the options and handler are shared.
let opened = false;
const sessions = new ServerSessions({}, (socket) => {
  opened = true;
  socket.binaryType = "bytes";
  socket.onmessage = (e) => socket.send(e.data);
});
function open(): unknown {
  if (core) {
    const conn = new ServerConnection({});
    conn.receive(request.slice());
    for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
      if (ev.type === "request") conn.accept({});
    }
    conn.takeOutput();
    if (conn.state !== "open") throw new Error(`Handshake failed: ${conn.state}`);
    return conn;
  }
  opened = false;
  const driver = sessions.start(false);
  driver.attach(NO_TRANSPORT);
  driver.receive(request.slice());
  if (!opened) throw new Error("Handshake failed");
  return driver;
}

for (let i = 0; i < 200; i++) open(); // load and optimise the code paths first
const kept: unknown[] = new Array(count);
const before = heapUsed();
for (let i = 0; i < count; i++) kept[i] = open();
const after = heapUsed();
const runtime = g.Bun !== undefined ? "bun" : "Deno" in globalThis ? "deno" : "node";
console.log(
  `${runtime}: ${core ? "ServerConnection" : "server session + WebSocket"}: ` +
    `${Math.round((after - before) / count)} bytes of heap per open connection (${count} open)`,
);
if (kept.length !== count) throw new Error("unreachable");
