// Limits and flow control of server sockets, on the runtime's own adapter (adapters/deno.ts under
// Deno, node.ts under Node, bun.ts under Bun): idle and stalled-message timeouts, the shared
// budget for incomplete messages, read backpressure and its "close" policy, application pause,
// and where errors go (onError). Peers that misbehave are raw sockets (tests/_raw_peer.ts).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { Buffer } from "node:buffer";
import type { AdapterError } from "../adapters/_errors.ts";
import type { WebSocket } from "../adapters/_websocket.ts";
import { type Adapter, type AdapterServeOptions, loadAdapter } from "./_runtime.ts";
import { maskedFrame, readClose, requestText } from "./_helpers.ts";
import { RawPeer } from "./_raw_peer.ts";
import { until } from "./_wait.ts";
import { OP_BINARY, OP_CLOSE, OP_TEXT } from "../framing/rfc6455.ts";

const adapter: Adapter = await loadAdapter();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Reported {
  error: AdapterError;
  socket: WebSocket | null;
}

/** A server on port 0 whose onError reports are collected; closed by `run`'s end. */
async function withServer(
  options: AdapterServeOptions,
  handler: (ws: WebSocket) => void,
  body: (port: number, reported: Reported[], sockets: WebSocket[]) => Promise<void>,
): Promise<void> {
  const reported: Reported[] = [];
  const sockets: WebSocket[] = [];
  const server = adapter.serve({
    port: 0,
    hostname: "127.0.0.1",
    onError: (error, socket) => reported.push({ error, socket }),
    ...options,
  }, (ws) => {
    sockets.push(ws);
    handler(ws);
  });
  try {
    const { port } = await server.listening;
    await body(port, reported, sockets);
  } finally {
    await server.close({ timeout: 200 });
  }
}

const echo = (ws: WebSocket) => {
  ws.binaryType = "bytes";
  ws.onmessage = (e) => ws.send(e.data);
};

/** The close frame a raw peer received, if any. */
function closeFrame(peer: RawPeer): { code: number; reason: string } | null {
  const f = peer.frames().find((f) => f.opcode === OP_CLOSE);
  return f === undefined ? null : readClose(f.payload);
}

describe(`server limits on the ${adapter === undefined ? "" : "runtime's own"} adapter`, () => {
  test("an idle peer is closed with 1001 after idleTimeout and reported as ERR_IDLE_TIMEOUT", async () => {
    await withServer({ idleTimeout: 150 }, echo, async (port, reported, sockets) => {
      const peer = await RawPeer.open(port);
      try {
        await peer.closed();
        assert.equal(closeFrame(peer)?.code, 1001);
        assert.deepEqual(reported.map((r) => r.error.code), ["ERR_IDLE_TIMEOUT"]);
        assert.equal(reported[0].socket, sockets[0]);
      } finally {
        peer.destroy();
      }
    });
  });

  test("a peer that keeps sending is not idle", async () => {
    await withServer({ idleTimeout: 150 }, echo, async (port, reported) => {
      const peer = await RawPeer.open(port);
      try {
        for (let i = 0; i < 8; i++) {
          peer.write(maskedFrame(OP_TEXT, `tick ${i}`));
          await sleep(50);
        }
        assert.equal(peer.ended, false);
        assert.deepEqual(reported, []);
        assert.equal(peer.frames().filter((f) => f.opcode === OP_TEXT).length, 8);
      } finally {
        peer.destroy();
      }
    });
  });

  test("a message that stops arriving is failed with 1008 after messageTimeout (ERR_MESSAGE_TIMEOUT)", async () => {
    await withServer({ idleTimeout: 0, messageTimeout: 150 }, echo, async (port, reported) => {
      const peer = await RawPeer.open(port);
      try {
        const frame = maskedFrame(OP_BINARY, new Uint8Array(100_000));
        peer.write(frame.subarray(0, 50_000));
        await peer.closed();
        assert.equal(closeFrame(peer)?.code, 1008);
        assert.deepEqual(reported.map((r) => r.error.code), ["ERR_MESSAGE_TIMEOUT"]);
      } finally {
        peer.destroy();
      }
    });
  });

  test("connections share maxIncompleteBytes: the one passing it gets 1013, the other goes on", async () => {
    await withServer({ maxIncompleteBytes: 150_000 }, echo, async (port, reported) => {
      const a = await RawPeer.open(port);
      const b = await RawPeer.open(port);
      try {
        const frame = maskedFrame(OP_BINARY, new Uint8Array(100_000));
        a.write(frame.subarray(0, 90_000));
        await until(() => reported.length > 0 || a.ended, "nothing", 200).catch(() => {});
        b.write(frame.subarray(0, 90_000));
        await b.closed();
        assert.equal(closeFrame(b)?.code, 1013);
        assert.deepEqual(reported.map((r) => r.error.code), ["ERR_MEMORY_BUDGET"]);
        // The budget is given back: a completes its message and gets it echoed.
        a.write(frame.subarray(90_000));
        await until(() => a.frames().some((f) => f.opcode === OP_BINARY), "a's echo");
        assert.equal(a.ended, false);
      } finally {
        a.destroy();
        b.destroy();
      }
    });
  });

  test("a peer that sends and never reads pauses the server's reading; once it reads, every echo arrives in order", async () => {
    const COUNT = 64;
    const SIZE = 256 * 1024;
    let received = 0;
    await withServer({ highWaterMark: 512 * 1024 }, (ws) => {
      ws.binaryType = "bytes";
      ws.onmessage = (e) => {
        received++;
        ws.send(e.data as Uint8Array);
      };
    }, async (port, reported, sockets) => {
      const peer = await RawPeer.open(port);
      try {
        peer.socket.pause();
        for (let i = 0; i < COUNT; i++) {
          const m = new Uint8Array(SIZE);
          new DataView(m.buffer).setUint32(0, i);
          peer.write(maskedFrame(OP_BINARY, m));
        }
        await until(() => sockets[0]?.isPaused === true, "the server to pause reading", 10_000);
        // 16 MiB sent; kernel buffers hold a few: a server that kept reading would have them all.
        await sleep(200);
        assert.ok(received < COUNT, `the server read all ${COUNT} messages while paused`);
        peer.socket.resume();
        const total = COUNT * (SIZE + 10);
        await until(() => peer.frameBytes >= total, "every echo", 20_000);
        const echoes = peer.frames().filter((f) => f.opcode === OP_BINARY);
        assert.equal(echoes.length, COUNT);
        echoes.forEach((f, i) =>
          assert.equal(new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0), i)
        );
        await until(() => sockets[0].isPaused === false, "the server to read again");
        assert.deepEqual(reported, []);
      } finally {
        peer.destroy();
      }
    });
  });

  test('backpressure: "close" closes a peer that does not read (ERR_SLOW_CONSUMER)', async () => {
    let closeCode = 0;
    await withServer(
      { highWaterMark: 64 * 1024, backpressure: "close", closeTimeout: 200 },
      (ws) => {
        ws.onclose = (e) => (closeCode = e.code);
        ws.send(new Uint8Array(32 * 1024 * 1024));
      },
      async (port, reported) => {
        const peer = await RawPeer.open(port);
        try {
          peer.socket.pause();
          await until(() => reported.length > 0, "the slow consumer report");
          assert.equal(reported[0].error.code, "ERR_SLOW_CONSUMER");
          await until(() => closeCode !== 0, "the server socket's close event");
          assert.equal(closeCode, 1006);
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("pause() stops reading from the peer and resume() reads on", async () => {
    const got: string[] = [];
    await withServer({}, (ws) => {
      ws.pause();
      ws.onmessage = (e) => got.push(e.data as string);
    }, async (port, _reported, sockets) => {
      const peer = await RawPeer.open(port);
      try {
        await until(() => sockets.length === 1, "the server socket");
        assert.equal(sockets[0].isPaused, true);
        peer.write(maskedFrame(OP_TEXT, "while paused"));
        await sleep(100);
        assert.deepEqual(got, []);
        sockets[0].resume();
        await until(() => got.length === 1, "the message after resume()");
        assert.deepEqual(got, ["while paused"]);
      } finally {
        peer.destroy();
      }
    });
  });

  test("a handler's exception goes to onError as ERR_HANDLER with the socket; the server goes on", async () => {
    await withServer({}, (ws) => {
      ws.onmessage = (e) => {
        if (e.data === "throw") throw new Error("application bug (expected in this test)");
        ws.send(e.data);
      };
    }, async (port, reported, sockets) => {
      const peer = await RawPeer.open(port);
      try {
        peer.write(maskedFrame(OP_TEXT, "throw"));
        peer.write(maskedFrame(OP_TEXT, "after"));
        await until(() => peer.frames().some((f) => f.opcode === OP_TEXT), "the echo");
        assert.equal(reported.length, 1);
        assert.equal(reported[0].error.code, "ERR_HANDLER");
        assert.equal(
          (reported[0].error.cause as Error).message,
          "application bug (expected in this test)",
        );
        assert.equal(reported[0].socket, sockets[0]);
      } finally {
        peer.destroy();
      }
    });
  });

  test("streamMessages is refused with a TypeError by serve() and by WebSocket, not silently ignored", () => {
    assert.throws(
      () => adapter.serve({ port: 0, streamMessages: true } as AdapterServeOptions, echo),
      TypeError,
    );
    assert.throws(
      () => new adapter.WebSocket("ws://127.0.0.1:9/", [], { streamMessages: true } as object),
      TypeError,
    );
  });

  test("bad limits throw from serve(), not from the first connection", () => {
    assert.throws(() => adapter.serve({ port: 0, idleTimeout: -1 }, echo), RangeError);
    assert.throws(
      () => adapter.serve({ port: 0, highWaterMark: 10, lowWaterMark: 20 }, echo),
      RangeError,
    );
    assert.throws(() => adapter.serve({ port: 0, maxMessageSize: 0 }, echo), RangeError);
  });

  test("drained() refuses a negative threshold with a RangeError instead of never resolving", async () => {
    await withServer({}, echo, async (port) => {
      const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
      try {
        assert.throws(() => ws.drained(-1), RangeError);
        await ws.drained(0);
      } finally {
        ws.close();
      }
    });
  });
  test("origins applies to every revision through serve(): others get 403 before the handler, a hixie-75 page too", async () => {
    let opened = 0;
    await withServer({ origins: ["http://good.example"] }, () => opened++, async (port) => {
      const ask = async (head: string): Promise<string> => {
        const socket = net.connect(port, "127.0.0.1");
        let got = "";
        socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
        socket.on("error", () => {});
        socket.write(head);
        try {
          await until(() => got.includes("\r\n"), "the status line");
          return got.split("\r\n")[0];
        } finally {
          socket.destroy();
        }
      };
      const hixie75 = (origin: string) =>
        `GET /chat HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n` +
        `Host: 127.0.0.1:${port}\r\nOrigin: ${origin}\r\n\r\n`;
      assert.match(await ask(hixie75("http://evil.example")), /^HTTP\/1\.1 403/);
      assert.match(await ask(hixie75("http://good.example")), /^HTTP\/1\.1 101/);
      const rfc6455 = (origin: string) =>
        requestText({ headers: { Host: `127.0.0.1:${port}`, Origin: origin } });
      assert.match(await ask(rfc6455("http://evil.example")), /^HTTP\/1\.1 403/);
      assert.match(await ask(rfc6455("http://good.example")), /^HTTP\/1\.1 101/);
      await until(() => opened === 2, "both allowed sockets");
    });
    assert.throws(() => adapter.serve({ port: 0, origins: "http://a" as never }, echo), TypeError);
  });
});
