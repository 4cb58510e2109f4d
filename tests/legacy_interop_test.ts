// Legacy protocol interop with implementations written elsewhere, over loopback TCP:
// - npm websocket-driver (faye) as the server for omniws's hixie-75, hixie-76 and RFC 6455 clients;
// - the omniws echo server (examples/echo_server.ts, unchanged) serving an RFC 6455 client, a
//   hybi-08 client (npm ws with protocolVersion 8), a hixie-76 and a hixie-75 client at once.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { AddressInfo } from "node:net";
import websocket from "websocket-driver";
import WebSocket from "ws";
import type { WebSocketVersion } from "../mod.ts";
import { bin, type RunningServer, startServer } from "./_servers.ts";
import { TcpClient } from "./_tcp_client.ts";

const legacyOptions = (version: WebSocketVersion) => ({
  path: "/echo",
  origin: "http://127.0.0.1",
  version,
});

describe("websocket-driver (npm) server accepts omniws clients", () => {
  let server: net.Server;
  let port = 0;
  before(async () => {
    server = net.createServer((socket) => {
      const driver = websocket.server({ allowDrafts: true });
      driver.on("connect", () => {
        if (websocket.isWebSocket(driver)) driver.start();
      });
      driver.messages.on("data", (message: string) => driver.text(`echo: ${message}`));
      driver.on("close", () => socket.end());
      socket.on("error", () => {});
      socket.pipe(driver.io);
      driver.io.pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  for (const version of ["hixie-75", "hixie-76", 13] as const) {
    test(`omniws ${version} client: handshake, text both ways, close`, async () => {
      const client = new TcpClient(port, legacyOptions(version));
      try {
        await client.waitFor((evs) => evs.some((e) => e.type === "open"), "open");
        client.send("héllo ✓");
        client.send("second");
        await client.waitFor(
          (evs) => evs.filter((e) => e.type === "message").length === 2,
          "two echoes",
        );
        assert.deepEqual(client.messages(), ["echo: héllo ✓", "echo: second"]);
        client.close();
        await client.waitFor((evs) => evs.some((e) => e.type === "close"), "close");
        const close = client.events.at(-1)!;
        assert.equal(close.type, "close");
        if (version !== 13) assert.equal(close.type === "close" && close.code, 1005);
        else assert.equal(close.type === "close" && close.wasClean, true);
        assert.equal(
          client.events.some((e) => e.type === "error"),
          false,
          JSON.stringify(client.events),
        );
      } finally {
        // Left open, it would keep server.close() in after() waiting for ever.
        client.socket.destroy();
      }
    });
  }
});

describe("the echo server, unchanged, serves four protocol versions at once", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(bin("deno"), [
      "run",
      "--allow-net",
      "--allow-env",
      "examples/echo_server.ts",
    ]);
  });
  after(async () => {
    await server?.stop();
  });

  test("RFC 6455 (omniws), hybi-08 (ws protocolVersion 8), hixie-76 and hixie-75 (omniws) clients echo concurrently", async () => {
    const clients = (["hixie-75", "hixie-76", 13] as const).map((v) => ({
      v,
      c: new TcpClient(server.port, legacyOptions(v)),
    }));
    const hybi08 = new WebSocket(`ws://127.0.0.1:${server.port}/`, { protocolVersion: 8 });
    try {
      const hybiMessages: string[] = [];
      hybi08.on("error", () => {});
      hybi08.on(
        "message",
        (d: Buffer, binary: boolean) =>
          hybiMessages.push(binary ? `binary ${d.length}` : d.toString()),
      );
      await new Promise<void>((resolve, reject) => {
        hybi08.once("open", () => resolve());
        hybi08.once("error", reject);
      });
      for (const { c, v } of clients) {
        await c.waitFor((evs) => evs.some((e) => e.type === "open"), `open ${v}`);
      }
      // Interleave traffic on all four connections.
      for (let i = 0; i < 20; i++) {
        for (const { c, v } of clients) c.send(`${v} #${i}`);
        hybi08.send(`hybi-08 #${i}`);
        hybi08.send(new Uint8Array(i + 1));
      }
      for (const { c, v } of clients) {
        await c.waitFor(
          (evs) => evs.filter((e) => e.type === "message").length === 20,
          `20 echoes on ${v}`,
        );
        assert.deepEqual(c.messages(), Array.from({ length: 20 }, (_, i) => `${v} #${i}`));
        assert.equal(c.conn.version, v);
      }
      const deadline = Date.now() + 5000;
      while (hybiMessages.length < 40 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(
        hybiMessages,
        Array.from({ length: 20 }, (_, i) => [`hybi-08 #${i}`, `binary ${i + 1}`]).flat(),
      );
      // Close all: clean closes for every version.
      const hybiClosed = new Promise<number>((resolve) =>
        hybi08.once("close", (code: number) => resolve(code))
      );
      hybi08.close(1000);
      for (const { c } of clients) c.close();
      for (const { c, v } of clients) {
        await c.waitFor((evs) => evs.some((e) => e.type === "close"), `close ${v}`);
        const close = c.events.at(-1)!;
        assert.equal(close.type === "close" && close.wasClean, true, `${v} closed cleanly`);
      }
      assert.equal(await hybiClosed, 1000);
    } finally {
      for (const { c } of clients) c.socket.destroy();
      hybi08.terminate();
    }
  });
});
