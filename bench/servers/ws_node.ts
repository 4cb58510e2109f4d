/**
 * Benchmark server: ws (`new WebSocketServer({ port })`) on Node, echoing every message (text as
 * text, binary as binary) and nothing else, with bufferutil when it is installed. Listens on
 * 127.0.0.1 at the port given as first argument (default 0: a free one), prints
 * `INFO ws <version> mask=<node|bufferutil|js>` (how ws's `lib/buffer-util.js` masks: Node's
 * native `http.websocketMask`, the bufferutil addon, or plain JavaScript), then `PORT <n>`.
 * SIGUSR2 forces a garbage collection when run with `--expose-gc`.
 *
 * @module
 */

import process from "node:process";
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";
import { WebSocketServer } from "ws";

const require = createRequire(import.meta.url);
const wsDir = path.dirname(require.resolve("ws"));
const bufferUtil = require(path.join(wsDir, "lib", "buffer-util.js")) as {
  mask: { toString(): string };
};
const version = (require(path.join(wsDir, "package.json")) as { version: string }).version;
const native = (http as unknown as { websocketMask?: unknown }).websocketMask !== undefined;
const mask = native
  ? "node"
  : bufferUtil.mask.toString().includes("bufferUtil")
  ? "bufferutil"
  : "js";

const wss = new WebSocketServer({ port: Number(process.argv[2] ?? 0), host: "127.0.0.1" });
// ws ships no types of its own (no @types/ws here): the two calls this server makes.
interface WsSocket {
  on(event: "message", listener: (data: Uint8Array, isBinary: boolean) => void): void;
  send(data: Uint8Array, options: { binary: boolean }): void;
}
wss.on("connection", (ws: WsSocket) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => {
  const { port } = wss.address() as { port: number };
  console.log(`INFO ws ${version} mask=${mask}`);
  console.log(`PORT ${port}`);
});
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.());
