/**
 * Echo server: every message comes back unchanged (text as text, binary as binary), for every
 * protocol revision (RFC 6455, hybi-07/08, hixie-76, hixie-75). Listens on 127.0.0.1, port from
 * PORT (default 9001). Conformance tools and benchmarks use it, so it stays exactly that.
 *
 * Run: `deno task echo`
 *
 * @module
 */

import { serve } from "../adapters/deno.ts";

const port = Number(Deno.env.get("PORT") ?? 9001);
const server = serve({ port, hostname: "127.0.0.1" }, (socket) => {
  socket.onmessage = (e) => socket.send(e.data);
});
const addr = await server.listening;
console.log(`omniws echo server listening on ws://${addr.hostname}:${addr.port}/`);
