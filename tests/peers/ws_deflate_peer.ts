/**
 * npm `ws` with permessage-deflate, run by Node, for the interop tests.
 *
 * - `server`: an echo server (PORT from the environment, 0 = any) that prints
 *   `ws://127.0.0.1:PORT/` once listening. The text message `__memory__` is answered with
 *   `process.memoryUsage()` after a garbage collection when `--expose-gc` allows one (for
 *   bench/deflate_bench.ts).
 * - `client URL`: sends the interop messages (tests/_deflate.ts) to an echo server, checks each
 *   echo, asks for `__stats__`, and prints one JSON report:
 *   `{ extension, echoes: { name: ok }, stats }`.
 *
 * WS_PMD holds ws's `perMessageDeflate` options as JSON (default `{ "threshold": 0 }`).
 *
 * @module
 */

// deno-lint-ignore-file no-explicit-any
import process from "node:process";
import WebSocket, { WebSocketServer } from "ws";
import { interopMessages } from "../_deflate.ts";

const perMessageDeflate = { threshold: 0, ...JSON.parse(process.env.WS_PMD ?? "{}") };
const [mode, url] = process.argv.slice(2);

function same(a: string | Uint8Array, b: unknown): boolean {
  if (typeof a === "string") return a === b;
  if (!(b instanceof Uint8Array) || b.length !== a.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

if (mode === "server") {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: Number(process.env.PORT ?? 0),
    perMessageDeflate,
  });
  wss.on("connection", (ws: any) => {
    ws.on("error", () => {});
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary && data.length === 10 && data.toString() === "__memory__") {
        (globalThis as any).gc?.();
        ws.send(JSON.stringify(process.memoryUsage()));
      } else {
        ws.send(data, { binary: isBinary });
      }
    });
  });
  wss.on("listening", () => {
    console.log(
      `ws permessage-deflate echo server listening on ws://127.0.0.1:${
        (wss.address() as any).port
      }/`,
    );
  });
  process.on("SIGTERM", () => process.exit(0));
} else {
  const ws = new WebSocket(url, { perMessageDeflate, maxPayload: 64 << 20 });
  ws.binaryType = "nodebuffer";
  const queue: Array<string | Uint8Array> = [];
  let wake: (() => void) | null = null;
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    queue.push(
      isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.length) : data.toString("utf8"),
    );
    wake?.();
  });
  ws.on("error", (e: Error) => {
    console.log(JSON.stringify({ error: String(e) }));
    process.exit(1);
  });
  const next = async (): Promise<string | Uint8Array> => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift()!;
  };
  ws.on("open", async () => {
    const echoes: Record<string, boolean> = {};
    for (const [name, data] of interopMessages()) {
      ws.send(data, { binary: typeof data !== "string" });
      echoes[name] = same(data, await next());
    }
    ws.send("__stats__");
    const stats = JSON.parse((await next()) as string);
    const params = (ws as any)._extensions?.["permessage-deflate"]?.params ?? null;
    console.log(JSON.stringify({ extension: ws.extensions, params, echoes, stats }));
    ws.close(1000);
    ws.on("close", () => process.exit(0));
  });
}
