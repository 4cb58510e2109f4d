/**
 * Calibration peer: the `ws` (npm) echo server, run by Node. Prints `ws://127.0.0.1:PORT/` once
 * listening (PORT from the environment, default 0 = any free port). No compression (ws's server
 * default) unless DEFLATE=1 (perMessageDeflate on, threshold 0, for groups 12 and 13), 64 MiB
 * payload limit so the 9.x cases fit.
 *
 * @module
 */

// deno-lint-ignore-file no-explicit-any
import process from "node:process";
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: process.env.DEFLATE === "1" ? { threshold: 0 } : false,
});
wss.on(
  "connection",
  (
    ws: {
      on(e: string, f: (...a: any[]) => void): void;
      send(d: Uint8Array, o: { binary: boolean }): void;
    },
  ) => {
    ws.on("error", () => {});
    ws.on("message", (data: Uint8Array, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  },
);
wss.on("listening", () => {
  const addr = wss.address() as { port: number };
  console.log(`ws echo server listening on ws://127.0.0.1:${addr.port}/`);
});
process.on("SIGTERM", () => process.exit(0));
