/**
 * npm `ws` as a client of the omniws interop server, run by Node:
 * `ws_interop_client.ts ws://127.0.0.1:PORT/` -- prints one JSON report (conformance/interop.ts,
 * ClientReport).
 *
 * @module
 */

// deno-lint-ignore-file no-explicit-any
import process from "node:process";
import WebSocket from "ws";

const url = process.argv[2];
const LARGE = 1024 * 1024;
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function open(): Promise<any> {
  return new Promise((resolve, reject) => {
    const ws: any = new WebSocket(url, { maxPayload: 64 * LARGE, perMessageDeflate: false });
    ws.on("error", () => {});
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", () => reject(new Error("handshake refused")));
  });
}
const next = (ws: any): Promise<{ data: Uint8Array; isBinary: boolean }> =>
  new Promise((resolve) =>
    ws.once(
      "message",
      (data: Uint8Array, isBinary: boolean) => resolve({ data: new Uint8Array(data), isBinary }),
    )
  );
const closed = (ws: any): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) =>
    ws.once(
      "close",
      (code: number, reason: Uint8Array) =>
        resolve({ code, reason: new TextDecoder().decode(reason) }),
    )
  );

const out: Record<string, unknown> = { echo: {} };
const echo = out.echo as Record<string, boolean>;
let ws = await open();
const checks: Array<[string, string | Uint8Array]> = [
  ["text", "Hello, wörld ✓"],
  ["binary", pattern(256)],
  ["empty_text", ""],
  ["empty_binary", new Uint8Array(0)],
  ["large_text", "a".repeat(LARGE)],
  ["large_binary", pattern(LARGE)],
];
for (const [name, data] of checks) {
  ws.send(data);
  const m = await next(ws);
  echo[name] = typeof data === "string"
    ? !m.isBinary && new TextDecoder().decode(m.data) === data
    : m.isBinary && same(m.data, data);
}
const pong = new Promise<Uint8Array>((resolve) =>
  ws.once("pong", (d: Uint8Array) => resolve(new Uint8Array(d)))
);
ws.ping("ws-ping");
out.pong = new TextDecoder().decode(await pong) === "ws-ping";
ws.send("ping-me");
out.serverPing = new TextDecoder().decode((await next(ws)).data) === "pinged";
let c = closed(ws);
ws.close(1000);
out.cleanClose = await c;

ws = await open();
c = closed(ws);
ws.send("close-4000");
out.serverClose = await c;

ws = await open();
c = closed(ws);
ws.send(new Uint8Array(3 * LARGE));
out.tooBig = await c;

ws = await open();
c = closed(ws);
ws.send(new Uint8Array([0x61, 0xff, 0xfe]), { binary: false }); // a text frame that is not UTF-8
out.invalidUtf8 = await c;
console.log(JSON.stringify(out));
process.exit(0);
