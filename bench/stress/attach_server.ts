/**
 * An echo endpoint inside a Node `http.Server` (or `https.Server`), through the Node adapter's
 * `attach` or `handleUpgrade`, for attacks on that path: the http server parses the request and
 * hands the socket over in its `upgrade` event. It runs on Node, and on Deno and Bun through
 * their Node compatibility; it prints `ws://host:port/` (or `wss://`) when listening, and answers
 * plain requests with 200.
 *
 * Environment, as `echo_server.ts`:
 * - `PORT` (default 9001; 0 picks a free port), on 127.0.0.1;
 * - `TLS_CERT_FILE`, `TLS_KEY_FILE`: PEM files; both set serves `wss:` from an `https.Server`;
 * - `HANDSHAKE_TIMEOUT_MS`, `CLOSE_TIMEOUT_MS`, `PING_INTERVAL_MS`, `MAX_MESSAGE_SIZE`: the
 *   upgrade options of the same name;
 * - `OMNIWS_SERVE_OPTIONS`: a JSON object merged into the upgrade options last;
 * - `OMNIWS_SERVER_ROOT`: serve with the adapters of that checkout instead of this one;
 * - `ATTACH_MODE`: `attach` (default; the endpoint at path `/`) or `handleUpgrade` (the
 *   server's own `upgrade` listener calls it for every request).
 *
 * @module
 */

import process from "node:process";
import { serveOptionsFromEnv, tlsFromEnv } from "./_env.ts";
import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import type { ConnectionHandler, WebSocketServer } from "../../adapters/web_streams.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const root = process.env.OMNIWS_SERVER_ROOT
  ? `file://${process.env.OMNIWS_SERVER_ROOT.replace(/\/?$/, "/")}`
  : new URL("../../", import.meta.url).href;
const adapter = await import(`${root}adapters/node.ts`) as {
  attach(
    server: http.Server,
    options: Record<string, unknown>,
    handler: ConnectionHandler,
  ): WebSocketServer;
  handleUpgrade(
    request: http.IncomingMessage,
    socket: Duplex,
    head: Uint8Array,
    options: Record<string, unknown>,
    handler: ConnectionHandler,
  ): void;
};

const env = process.env;
const options = serveOptionsFromEnv();

const tls = tlsFromEnv();
const secure = tls !== null;
const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end("ok\n");
const server: http.Server = tls !== null
  ? https.createServer(tls, onRequest)
  : http.createServer(onRequest);

const echo: ConnectionHandler = (socket) => {
  socket.onmessage = (e) => socket.send(e.data);
};
const mode = env.ATTACH_MODE ?? "attach";
if (mode === "handleUpgrade") {
  server.on("upgrade", (request, socket, head) => {
    adapter.handleUpgrade(request, socket, head, options, echo);
  });
} else {
  adapter.attach(server, { ...options, path: "/" }, echo);
}

server.listen(Number(env.PORT ?? 9001), "127.0.0.1", () => {
  const addr = server.address() as { address: string; port: number };
  console.log(
    `stress ${mode} server (${runtime}, node:http) listening on ${
      secure ? "wss" : "ws"
    }://${addr.address}:${addr.port}/`,
  );
});
