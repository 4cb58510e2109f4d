/**
 * An omniws client in a process of its own, so a test can measure its RSS while a malicious
 * server floods it: the `WebSocket` of the runtime it runs on (Deno's, Node's or Bun's adapter)
 * connects, prints `flooded client open` once open and `flooded client closed CODE` when closed,
 * and with `FLOOD_ECHO=1` sends every message it receives straight back (as an application
 * relaying messages would).
 *
 * Environment:
 * - `FLOOD_URL`: the `ws:` or `wss:` URL;
 * - `FLOOD_CA_FILE`: a PEM certificate to trust for `wss:` (the test server's self-signed one);
 * - `FLOOD_CLIENT_OPTIONS`: a JSON object merged into the client options (e.g.
 *   `{"backpressure":"pause"}`);
 * - `FLOOD_ECHO`: `1` to echo messages back;
 * - `FLOOD_VERBOSE`: `1` to print messages received, `bufferedAmount` and memory every 500 ms;
 * - `OMNIWS_SERVER_ROOT`: use the adapters of that checkout instead of this one.
 *
 * It exits when the connection closes, or after `FLOOD_MAX_MS` (default 60 s) in any case.
 *
 * @module
 */

import process from "node:process";
import { readFileSync } from "node:fs";
import type { WebSocketBase as WebSocketClass } from "../../adapters/web_streams.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const root = process.env.OMNIWS_SERVER_ROOT
  ? `file://${process.env.OMNIWS_SERVER_ROOT.replace(/\/?$/, "/")}`
  : new URL("../../", import.meta.url).href;
const adapter = await import(`${root}adapters/${runtime}.ts`) as {
  WebSocket: typeof WebSocketClass;
};

const env = process.env;
const options: Record<string, unknown> = {};
if (env.FLOOD_CA_FILE) options.tls = { ca: readFileSync(env.FLOOD_CA_FILE, "utf8") };
if (env.FLOOD_CLIENT_OPTIONS) Object.assign(options, JSON.parse(env.FLOOD_CLIENT_OPTIONS));

const ws = new adapter.WebSocket(env.FLOOD_URL ?? "ws://127.0.0.1:9001/", [], options);
ws.binaryType = "arraybuffer";
let received = 0;
const echo = env.FLOOD_ECHO === "1";
ws.onopen = () => console.log(`flooded client (${runtime}) open`);
ws.onmessage = (e) => {
  received++;
  if (echo) ws.send(e.data as ArrayBuffer);
};
ws.onerror = (e) => console.error(`flooded client error: ${(e as ErrorEvent).message ?? e.type}`);
ws.onclose = (e) => {
  console.log(`flooded client closed ${e.code} after ${received} messages`);
  process.exit(0);
};
if (env.FLOOD_VERBOSE === "1") {
  setInterval(() => {
    const mem = process.memoryUsage();
    console.log(
      `flooded client: ${received} messages, bufferedAmount ${ws.bufferedAmount}, rss ${
        mem.rss >> 20
      } MiB, external ${mem.external >> 20} MiB, heap ${mem.heapUsed >> 20} MiB`,
    );
  }, 500);
}
setTimeout(() => {
  console.log(`flooded client gave up after ${received} messages`);
  process.exit(0);
}, Number(env.FLOOD_MAX_MS ?? 60_000));
