/**
 * Benchmark server: omniws on Bun (`adapters/bun.ts`), echoing every message (text as text,
 * binary as binary) and nothing else. Listens on 127.0.0.1 at the port given as first argument
 * (default 0: a free one) and prints `PORT <n>`. SIGUSR2 forces a garbage collection.
 *
 * @module
 */

import process from "node:process";
import { serve } from "../../adapters/bun.ts";

const server = serve({ port: Number(process.argv[2] ?? 0), hostname: "127.0.0.1" }, (socket) => {
  // Binary messages as Uint8Array views, no copy: what ws ("nodebuffer") and Bun deliver.
  socket.binaryType = "bytes";
  socket.onmessage = (e) => socket.send(e.data);
});
const { port } = await server.listening;
process.on("SIGUSR2", () => (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc(true));
console.log(`PORT ${port}`);
