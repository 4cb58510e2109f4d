/**
 * Echo server on Bun: every message comes back unchanged (text as text, binary as binary), for
 * every protocol revision, exactly as `examples/echo_server.ts` does on Deno. Listens on
 * 127.0.0.1, port from PORT (default 9001).
 *
 * Run: `deno task echo:bun`
 *
 * @module
 */

import process from "node:process";
import { serve } from "../adapters/bun.ts";

const port = Number(process.env.PORT ?? 9001);
const server = serve({ port, hostname: "127.0.0.1" }, (socket) => {
  socket.onmessage = (e) => socket.send(e.data);
});
const addr = await server.listening;
console.log(`omniws echo server listening on ws://${addr.hostname}:${addr.port}/`);
