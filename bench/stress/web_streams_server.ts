/**
 * An echo server on the Web Streams adapter (`adapters/web_streams.ts`, `accept`): each accepted
 * TCP connection becomes a `{ readable, writable }` pair — Deno's `Conn` streams under Deno, a
 * `node:net` socket through `Duplex.toWeb` under Node and Bun — served by `accept` with one
 * options object (so all connections share one server's budget and reporting). Prints
 * `ws://host:port/` when listening.
 *
 * Environment, as `echo_server.ts` (no TLS): `PORT` (default 9001; 0 picks a free port) on
 * 127.0.0.1; `HANDSHAKE_TIMEOUT_MS`, `CLOSE_TIMEOUT_MS`, `PING_INTERVAL_MS`, `MAX_MESSAGE_SIZE`;
 * `OMNIWS_SERVE_OPTIONS` (JSON merged into the options last); `OMNIWS_SERVER_ROOT`.
 *
 * @module
 */

import process from "node:process";
import net from "node:net";
import { serveOptionsFromEnv } from "./_env.ts";
import { Duplex } from "node:stream";
import type { ConnectionHandler } from "../../adapters/web_streams.ts";
import type { ByteStreamPair } from "../../adapters/web_streams.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const root = process.env.OMNIWS_SERVER_ROOT
  ? `file://${process.env.OMNIWS_SERVER_ROOT.replace(/\/?$/, "/")}`
  : new URL("../../", import.meta.url).href;
const adapter = await import(`${root}adapters/web_streams.ts`) as {
  accept(pair: ByteStreamPair, options: Record<string, unknown>, handler: ConnectionHandler): void;
};

const env = process.env;
const options = serveOptionsFromEnv();

const echo: ConnectionHandler = (socket) => {
  socket.onmessage = (e) => socket.send(e.data);
};
const port = Number(env.PORT ?? 9001);
const announce = (p: number) =>
  console.log(`stress web-streams server (${runtime}) listening on ws://127.0.0.1:${p}/`);

if (runtime === "deno") {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  announce((listener.addr as Deno.NetAddr).port);
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      // Out of fds or the like: the connection is lost, the server is not.
      console.error(`accept failed: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    adapter.accept({ readable: conn.readable, writable: conn.writable }, options, echo);
  }
} else {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true);
    adapter.accept(Duplex.toWeb(socket) as ByteStreamPair, options, echo);
  });
  server.listen(port, "127.0.0.1", () => announce((server.address() as net.AddressInfo).port));
}
