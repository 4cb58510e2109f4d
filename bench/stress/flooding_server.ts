/**
 * A malicious `wss:` server for attacks on clients ({@linkcode floodingTlsServer}, no omniws code
 * in it): it completes each client's opening handshake, then never reads from it again and
 * floods it with pings or 1 MiB messages. Run it on Node: Deno's `node:tls` keeps reading a
 * paused `TLSSocket`, so there it would not be a peer that never reads.
 *
 * Prints `flooding server listening on wss://127.0.0.1:PORT/`, then `flood: {json}` (a
 * `FloodResult` of the first client) every 250 ms once a client connected, and
 * `flood done: {json}` when the flood ended. Stops on SIGTERM.
 *
 * Environment: `PORT` (default 0); `TLS_CERT_FILE`, `TLS_KEY_FILE` (PEM, required);
 * `FLOOD_MODE` (`pings` or `messages`); `FLOOD_MS` (default 4000); `FLOOD_DELAY_MS` (after
 * the handshake, default 500).
 *
 * @module
 */

import process from "node:process";
import { readFileSync } from "node:fs";
import { floodingTlsServer } from "./_attacks.ts";

const env = process.env;
const server = await floodingTlsServer({
  cert: readFileSync(env.TLS_CERT_FILE!, "utf8"),
  key: readFileSync(env.TLS_KEY_FILE!, "utf8"),
  mode: env.FLOOD_MODE === "messages" ? "messages" : "pings",
  durationMs: Number(env.FLOOD_MS ?? 4000),
  delayMs: Number(env.FLOOD_DELAY_MS ?? 500),
  port: Number(env.PORT ?? 0),
});
console.log(`flooding server listening on wss://127.0.0.1:${server.port}/`);
const ticker = setInterval(() => {
  const progress = server.progress();
  if (progress !== null) console.log(`flood: ${JSON.stringify(progress)}`);
}, 250);
server.done.then((result) => {
  clearInterval(ticker);
  console.log(`flood done: ${JSON.stringify(result)}`);
});
process.on("SIGTERM", () => {
  clearInterval(ticker);
  void server.close().then(() => process.exit(0));
});
