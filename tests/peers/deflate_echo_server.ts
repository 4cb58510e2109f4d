/**
 * An omniws echo server on Deno (adapters/deno.ts) with permessage-deflate, for the interop tests.
 * Every message comes back as it came; the text message `__stats__` is answered with JSON
 * describing the connection: the negotiated extension header and how many messages arrived
 * compressed (RSV1) and left compressed or not. `__memory__` is answered with the process's memory
 * use after a garbage collection when one can be forced (`--v8-flags=--expose-gc`), for
 * bench/deflate_bench.ts.
 *
 * Listens on 127.0.0.1, port from PORT (0: any); prints `ws://127.0.0.1:PORT/` when listening.
 * PMD_OPTIONS may hold permessageDeflate options as JSON (default: threshold 0).
 *
 * Run: deno run --allow-net --allow-env tests/peers/deflate_echo_server.ts
 *
 * @module
 */

import { serve } from "../../adapters/deno.ts";
import {
  permessageDeflate,
  type PermessageDeflateOptions,
} from "../../extensions/permessage_deflate.ts";
import { counting, type DeflateStats } from "../_deflate.ts";

const options: PermessageDeflateOptions = {
  threshold: 0,
  ...JSON.parse(Deno.env.get("PMD_OPTIONS") ?? "{}"),
};
/** Counters of the connection whose handshake completed last (the handler runs right after it). */
let latest: DeflateStats | null = null;
const extension = counting(permessageDeflate(options), (stats) => (latest = stats));

function memory(): Deno.MemoryUsage {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage();
}

const port = Number(Deno.env.get("PORT") ?? 0);
const server = serve({ port, hostname: "127.0.0.1", extensions: [extension] }, (socket) => {
  const stats = latest ?? { compressedIn: 0, compressedOut: 0, plainOut: 0 };
  latest = null;
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => {
    if (e.data === "__stats__") {
      socket.send(JSON.stringify({ extensions: socket.extensions, ...stats }));
    } else if (e.data === "__memory__") {
      socket.send(JSON.stringify(memory()));
    } else {
      socket.send(e.data);
    }
  };
});
const addr = await server.listening;
console.log(
  `omniws permessage-deflate echo server listening on ws://${addr.hostname}:${addr.port}/`,
);
