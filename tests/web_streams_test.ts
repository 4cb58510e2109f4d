// The Web Streams adapter and WebSocketStream, on every runtime: client and server over
// node:net sockets turned into Web Streams with Duplex.toWeb, on loopback.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Duplex } from "node:stream";
import { accept, type ByteStreamPair, connect, connectStream } from "../adapters/web_streams.ts";
import type { WebSocket } from "../adapters/_websocket.ts";
import { acceptKey } from "../mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` until it holds; fails naming `what` (a string, or a function giving the state). */
async function waitFor(
  cond: () => boolean,
  what: string | (() => string),
  ms = 5000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`,
      );
    }
    await sleep(5);
  }
}

const toPair = (socket: net.Socket) => Duplex.toWeb(socket) as unknown as ByteStreamPair;

/** A TCP server whose connections are served by the Web Streams adapter's accept(). */
async function streamServer(
  handler: (ws: WebSocket) => void,
): Promise<{ port: number; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    accept(toPair(socket), {}, handler);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A loopback TCP connection as a stream pair. The socket is added to `sockets` (if given) as soon
 * as it exists, so a test's `finally` can destroy it whatever happened.
 */
function tcp(port: number, sockets?: net.Socket[]): Promise<ByteStreamPair> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(toPair(socket)));
    sockets?.push(socket);
    socket.once("error", reject);
  });
}

/** Message i as 64 KiB whose first 4 bytes hold i. */
function numbered(i: number): Uint8Array {
  const m = new Uint8Array(64 * 1024);
  new DataView(m.buffer).setUint32(0, i);
  return m;
}

describe("Web Streams adapter", () => {
  test("a client and a server over stream pairs echo text and binary and close cleanly", async () => {
    const server = await streamServer((ws) => {
      ws.onmessage = (e) => ws.send(e.data);
    });
    const sockets: net.Socket[] = [];
    try {
      const ws = connect(tcp(server.port, sockets), `ws://127.0.0.1:${server.port}/streams`);
      ws.binaryType = "arraybuffer";
      const got: unknown[] = [];
      ws.onmessage = (e) => got.push(e.data);
      let closeCode = 0;
      ws.onclose = (e) => (closeCode = e.code);
      await new Promise((r) => (ws.onopen = r));
      ws.send("over streams");
      ws.send(new Uint8Array([1, 2, 3]));
      await waitFor(() => got.length === 2, "two echoes");
      assert.equal(got[0], "over streams");
      assert.deepEqual(new Uint8Array(got[1] as ArrayBuffer), new Uint8Array([1, 2, 3]));
      ws.close(1000);
      await waitFor(() => closeCode === 1000, "close 1000");
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });

  test("WebSocketStream: opened, readable and writable, closed resolves on a clean close", async () => {
    const server = await streamServer((ws) => {
      ws.onmessage = (e) => (e.data === "bye" ? ws.close(4000, "asked") : ws.send(e.data));
    });
    const sockets: net.Socket[] = [];
    try {
      const wss = connectStream(tcp(server.port, sockets), `ws://127.0.0.1:${server.port}/`);
      const { readable, writable } = await wss.opened;
      const writer = writable.getWriter();
      const reader = readable.getReader();
      await writer.write("one");
      await writer.write(new Uint8Array([7]));
      assert.equal((await reader.read()).value, "one");
      assert.deepEqual((await reader.read()).value, new Uint8Array([7]));
      await writer.write("bye");
      assert.deepEqual(await wss.closed, { closeCode: 4000, reason: "asked" });
      assert.equal((await reader.read()).done, true);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });

  test(
    "WebSocketStream: a paused reader stops the socket being read, so the sender is held back (bounded memory)",
    { timeout: 60_000 },
    async () => {
      const TOTAL = 400; // 25 MiB in 64 KiB messages
      let sent = 0;
      let senderDone = false;
      /** The server socket while its sender waits for its output to drain, else null. */
      let waiting: WebSocket | null = null;
      const server = await streamServer(async (ws) => {
        for (let i = 0; i < TOTAL && ws.readyState === 1; i++) {
          ws.send(numbered(i));
          sent++;
          // The sender respects backpressure: it waits while more than 256 KiB are queued.
          waiting = ws;
          await ws.drained(256 * 1024);
          waiting = null;
        }
        senderDone = true;
      });
      const sockets: net.Socket[] = [];
      let wss: ReturnType<typeof connectStream> | null = null;
      try {
        wss = connectStream(tcp(server.port, sockets), `ws://127.0.0.1:${server.port}/`, {
          readableHighWaterMark: 4,
        });
        const { readable } = await wss.opened;
        const reader = readable.getReader();
        for (let i = 0; i < 5; i++) {
          const { value } = await reader.read();
          assert.equal(
            new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset).getUint32(
              0,
            ),
            i,
          );
        }
        // Stop reading. Stalled means: the client's socket is no longer read (the reader's
        // backpressure reached it), the server's socket takes no more (it needs a drain the
        // kernel cannot give) and the sender waits in drained().
        const client = sockets[0]!;
        const state = () => {
          const serverSocket = [...server.sockets][0];
          return `client socket paused ${client.isPaused()}, server socket needs drain ${serverSocket?.writableNeedDrain}, sender waiting ${
            waiting !== null
          }, sent ${sent}, done ${senderDone}`;
        };
        const stalled = () =>
          client.isPaused() && [...server.sockets][0]?.writableNeedDrain === true &&
          waiting !== null;
        await waitFor(
          () => stalled() || senderDone,
          () => `the sender to stall (${state()})`,
          20_000,
        );
        const sentWhilePaused = sent;
        assert.ok(stalled(), `the sender stalled while the reader was paused (${state()})`);
        assert.ok(
          sentWhilePaused < TOTAL / 2,
          `sent ${sentWhilePaused} of ${TOTAL} messages while the reader was paused`,
        );
        // Read the rest: nothing lost or reordered.
        for (let i = 5; i < TOTAL; i++) {
          const { value } = await reader.read();
          assert.equal(
            new DataView((value as Uint8Array).buffer, (value as Uint8Array).byteOffset).getUint32(
              0,
            ),
            i,
          );
        }
        await waitFor(() => senderDone, "the sender to finish");
        wss.close({ closeCode: 1000 });
        await wss.closed;
        console.log(
          `# backpressure: ${sentWhilePaused} of ${TOTAL} 64 KiB messages sent while the reader paused`,
        );
      } finally {
        wss?.closed.catch(() => {});
        for (const s of sockets) s.destroy();
        await server.close();
      }
    },
  );

  test("WebSocketStream: writes wait while the peer does not read (bounded memory)", {
    timeout: 60_000,
  }, async () => {
    const HIGH_WATER = 1 << 20;
    // A peer that completes the handshake and then stops reading.
    const peers: net.Socket[] = [];
    const server = net.createServer((socket) => {
      peers.push(socket);
      let head = Buffer.alloc(0);
      socket.on("data", function onData(d: Buffer) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData);
        const key = /sec-websocket-key: *(\S+)/i.exec(head.toString("latin1"))![1];
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${
            acceptKey(key)
          }\r\n\r\n`,
        );
        socket.pause();
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const sockets: net.Socket[] = [];
    let wss: ReturnType<typeof connectStream> | null = null;
    try {
      const port = (server.address() as net.AddressInfo).port;
      wss = connectStream(tcp(port, sockets), `ws://127.0.0.1:${port}/`, {
        writableHighWaterMark: HIGH_WATER,
      });
      const { writable } = await wss.opened;
      const writer = writable.getWriter();
      let written = 0;
      let pending = false;
      const writing = (async () => {
        for (let i = 0; i < 1000; i++) {
          pending = true;
          await writer.write(numbered(i));
          pending = false;
          written++;
        }
      })();
      writing.catch(() => {});
      // Stalled means: the kernel takes no more (the client socket needs a drain it cannot get)
      // and a write is waiting.
      const client = sockets[0]!;
      const stalled = () => pending && client.writableNeedDrain;
      await waitFor(
        () => stalled() || written === 1000,
        "a write to wait on a full socket",
        20_000,
      );
      const stalledAt = written;
      assert.ok(
        stalled(),
        `writes stalled (${written} written, socket needs drain ${client.writableNeedDrain})`,
      );
      // Every write that resolved is with the socket or within the high-water mark.
      assert.ok(
        stalledAt * 65536 <= client.bytesWritten + HIGH_WATER + 65536,
        `${stalledAt} writes of 64 KiB resolved, the socket took ${client.bytesWritten} bytes`,
      );
      assert.ok(
        stalledAt < 500,
        `${stalledAt} of 1000 64 KiB writes completed while the peer did not read`,
      );
      console.log(
        `# backpressure: ${stalledAt} of 1000 64 KiB writes completed while the peer did not read`,
      );
    } finally {
      wss?.closed.catch(() => {});
      wss?.close();
      for (const s of [...sockets, ...peers]) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
