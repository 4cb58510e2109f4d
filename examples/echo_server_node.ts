/**
 * Echo server on Node: every message comes back unchanged (text as text, binary as binary), for
 * every protocol revision, exactly as `examples/echo_server.ts` does on Deno. Listens on
 * 127.0.0.1, port from PORT (default 9001). Node 22.18+ runs it as is (type stripping).
 *
 * Run: `deno task echo:node`
 *
 * @module
 */

import process from "node:process";
import { serve } from "../adapters/node.ts";

const port = Number(process.env.PORT ?? 9001);
const server = serve({ port, hostname: "127.0.0.1" }, (socket) => {
  socket.onmessage = (e) => socket.send(e.data);
});
const addr = await server.listening;
console.log(`omniws echo server listening on ws://${addr.hostname}:${addr.port}/`);
