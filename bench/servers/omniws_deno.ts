/**
 * Benchmark server: omniws on Deno (`adapters/deno.ts`), echoing every message (text as text,
 * binary as binary) and nothing else. Listens on 127.0.0.1 at the port given as first argument
 * (default 0: a free one) and prints `PORT <n>`. SIGUSR2 forces a garbage collection when run
 * with `--v8-flags=--expose-gc`, so `bench/run.ts` can measure memory after one.
 *
 * @module
 */

import { serve } from "../../adapters/deno.ts";

const server = serve({ port: Number(Deno.args[0] ?? 0), hostname: "127.0.0.1" }, (socket) => {
  // Binary messages as Uint8Array views, no copy: what ws ("nodebuffer") and Bun deliver.
  socket.binaryType = "bytes";
  socket.onmessage = (e) => socket.send(e.data);
});
const { port } = await server.listening;
Deno.addSignalListener("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.());
console.log(`PORT ${port}`);
