/**
 * The omniws echo server with permessage-deflate (default options) for groups 12 and 13, on
 * whichever runtime runs it: adapters/deno.ts, adapters/node.ts or adapters/bun.ts, as
 * examples/echo_server*.ts but with `extensions: [permessageDeflate()]`. Prints
 * `ws://127.0.0.1:PORT/` once listening (PORT=0: any free port).
 *
 * @module
 */

import process from "node:process";
import { permessageDeflate } from "../../extensions/permessage_deflate.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
// Literal specifiers, so Deno resolves them without read permission.
const { serve } = runtime === "deno"
  ? await import("../../adapters/deno.ts")
  : runtime === "bun"
  ? await import("../../adapters/bun.ts")
  : await import("../../adapters/node.ts");
const server = serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  extensions: [permessageDeflate()],
}, (socket) => {
  socket.onmessage = (e) => socket.send(e.data);
});
const addr = await server.listening;
console.log(
  `omniws ${runtime} deflate echo server listening on ws://${addr.hostname}:${addr.port}/`,
);
