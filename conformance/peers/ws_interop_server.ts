/**
 * npm `ws` as a server for the omniws client, run by Node: echoes, and obeys `ping-me` (pings
 * "ws-ping", then sends "pong:ws-ping" once the pong arrived), `close-4001` (closes with 4001
 * "ws says bye") and `send-invalid-utf8` (a text frame that is not UTF-8). Prints
 * ws://127.0.0.1:PORT/ once listening, then {"code": ..., "reason": ...} per closed connection.
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
});
wss.on("connection", (ws: any) => {
  ws.on("error", () => {});
  ws.on("message", (data: Uint8Array, isBinary: boolean) => {
    const text = isBinary ? null : new TextDecoder().decode(data);
    if (text === "close-4001") ws.close(4001, "ws says bye");
    else if (text === "send-invalid-utf8") ws.send(new Uint8Array([0xff, 0xfe]), { binary: false });
    else if (text === "ping-me") {
      ws.once("pong", (d: Uint8Array) => ws.send(`pong:${new TextDecoder().decode(d)}`));
      ws.ping("ws-ping");
    } else ws.send(data, { binary: isBinary });
  });
  ws.on(
    "close",
    (code: number, reason: Uint8Array) =>
      console.log(JSON.stringify({ code, reason: new TextDecoder().decode(reason) })),
  );
});
wss.on(
  "listening",
  () =>
    console.log(
      `ws server listening on ws://127.0.0.1:${(wss.address() as { port: number }).port}/`,
    ),
);
process.on("SIGTERM", () => process.exit(0));
