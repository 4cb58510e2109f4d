/**
 * An echo server for attacks that need options the example echo servers do not take: TLS and
 * the server's limits and timeouts, from the environment. The same file runs on Deno, Node and
 * Bun and serves with that runtime's adapter; it prints `ws://host:port/` (or `wss://`) when
 * listening, as the examples do.
 *
 * Environment:
 * - `PORT` (default 9001; 0 picks a free port), on 127.0.0.1;
 * - `TLS_CERT_FILE`, `TLS_KEY_FILE`: PEM files; both set serves `wss:`;
 * - `HANDSHAKE_TIMEOUT_MS`, `CLOSE_TIMEOUT_MS`, `PING_INTERVAL_MS`, `MAX_MESSAGE_SIZE`: the
 *   serve options of the same name;
 * - `OMNIWS_SERVE_OPTIONS`: a JSON object merged into the serve options last (for options this
 *   file does not know by name yet, e.g. stall timeouts or memory budgets);
 * - `OMNIWS_SERVER_ROOT`: serve with the adapters of that checkout instead of this one.
 *
 * @module
 */

import process from "node:process";
import { serveOptionsFromEnv, tlsFromEnv } from "./_env.ts";
import type { ConnectionHandler, WebSocketServer } from "../../adapters/web_streams.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const root = process.env.OMNIWS_SERVER_ROOT
  ? `file://${process.env.OMNIWS_SERVER_ROOT.replace(/\/?$/, "/")}`
  : new URL("../../", import.meta.url).href;
const adapter = await import(`${root}adapters/${runtime}.ts`) as {
  serve(options: Record<string, unknown>, handler: ConnectionHandler): WebSocketServer;
};

const env = process.env;
const tls = tlsFromEnv();
const secure = tls !== null;
const options = serveOptionsFromEnv({
  port: Number(env.PORT ?? 9001),
  hostname: "127.0.0.1",
  ...(secure ? { tls } : {}),
});

const server = adapter.serve(options, (socket) => {
  socket.onmessage = (e) => socket.send(e.data);
});
const addr = await server.listening;
console.log(
  `stress echo server (${runtime}) listening on ${
    secure ? "wss" : "ws"
  }://${addr.hostname}:${addr.port}/`,
);
