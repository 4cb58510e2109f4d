/**
 * Benchmark server: Bun's native WebSocket server (`Bun.serve` with `websocket`), echoing every
 * message (text as text, binary as binary) and nothing else, without compression. Listens on
 * 127.0.0.1 at the port given as first argument (default 0: a free one) and prints `PORT <n>`.
 * SIGUSR2 forces a garbage collection.
 *
 * @module
 */

import process from "node:process";

/** The part of Bun's API this server uses. */
interface BunLike {
  serve(options: {
    port: number;
    hostname: string;
    fetch(req: Request, server: { upgrade(req: Request): boolean }): Response | undefined;
    websocket: {
      perMessageDeflate: boolean;
      message(ws: { send(data: string | Uint8Array): number }, data: string | Uint8Array): void;
    };
  }): { port: number };
  gc(force: boolean): void;
}

const Bun = (globalThis as unknown as { Bun: BunLike }).Bun;
const server = Bun.serve({
  port: Number(process.argv[2] ?? 0),
  hostname: "127.0.0.1",
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response("WebSocket only", { status: 400 });
  },
  websocket: {
    perMessageDeflate: false,
    message(ws, data) {
      ws.send(data);
    },
  },
});
process.on("SIGUSR2", () => Bun.gc(true));
console.log(`PORT ${server.port}`);
