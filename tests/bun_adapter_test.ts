// The Bun adapter (adapters/bun.ts) in process under Bun, on loopback: its server with its own
// client and with Bun's native WebSocket, TLS, refusal, partial writes under a slow reader, and
// the Bun socket behaviours it relies on (fresh `data` buffers, pause/resume). The echo example
// runs as a child `bun` process on every runtime, with that runtime's native client.
// Every wait is bounded.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { settled } from "./_wait.ts";
import net from "node:net";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { WebSocket as WebSocketType } from "../adapters/_websocket.ts";
import { bin, NEEDS_OPENSSL, ROOT } from "./_servers.ts";
import { selfSignedCert } from "./_runtime.ts";

// deno-lint-ignore no-explicit-any
const Bun: any = (globalThis as { Bun?: unknown }).Bun;
const NEEDS_BUN = Bun === undefined ? "needs Bun: runs the Bun adapter in process" : false;
const adapter: typeof import("../adapters/bun.ts") = await import("../adapters/bun.ts");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves with the next event of `type`; rejects after `ms`. */
function once<E extends Event>(target: EventTarget, type: string, ms = 5000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No ${type} event within ${ms} ms`)), ms);
    target.addEventListener(type, (e) => {
      clearTimeout(timer);
      resolve(e as E);
    }, { once: true });
  });
}

function collect(ws: EventTarget): unknown[] {
  const got: unknown[] = [];
  ws.addEventListener("message", (e) => got.push((e as MessageEvent).data));
  return got;
}

/** `n` bytes whose content depends on `seed`, so a lost or reordered chunk shows. */
function pattern(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const HANDSHAKE =
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** A masked client frame. */
function clientFrame(first: number, payload: Uint8Array): Buffer {
  const key = [0x11, 0x22, 0x33, 0x44];
  const head = payload.length < 126
    ? [first, 0x80 | payload.length]
    : [first, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from([...head, ...key]), body]);
}

/** Parse the server's (unmasked) frames: opcode and payload of each, in order. */
function serverFrames(buf: Buffer): { op: number; payload: Buffer }[] {
  const out: { op: number; payload: Buffer }[] = [];
  let p = 0;
  while (p + 2 <= buf.length) {
    let len = buf[p + 1] & 0x7f;
    let at = p + 2;
    if (len === 126) {
      len = buf.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > buf.length) break;
    out.push({ op: buf[p] & 0x0f, payload: buf.subarray(at, at + len) });
    p = at + len;
  }
  return out;
}

test("adapters/bun.ts loads on every runtime and exports serve, WebSocket, WebSocketStream and WebSocketError", () => {
  assert.equal(typeof adapter.serve, "function");
  assert.equal(typeof adapter.WebSocket, "function");
  assert.equal(adapter.WebSocket.OPEN, 1);
  assert.equal(typeof adapter.WebSocketStream, "function");
  assert.equal(new adapter.WebSocketError("x", 1011).closeCode, 1011);
});

describe("Bun adapter in process", { skip: NEEDS_BUN }, () => {
  const echo = (ws: WebSocketType) => {
    ws.onmessage = (e) => ws.send(e.data);
  };

  test("serve listens on 127.0.0.1, port 0 picks a free port, close() closes open sockets with 1001 and stops accepting", async () => {
    const server = adapter.serve({ port: 0 }, echo);
    const addr = await server.listening;
    assert.equal(addr.hostname, "127.0.0.1");
    assert.ok(addr.port > 0);
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${addr.port}/`);
    await once(ws, "open");
    const closed = once<CloseEvent>(ws, "close");
    await server.close();
    await server.close(); // twice is fine
    assert.equal(server.connections, 0);
    const e = await closed;
    assert.equal(e.code, 1001);
    assert.equal(e.wasClean, true);
    const late = new adapter.WebSocket(`ws://127.0.0.1:${addr.port}/`);
    assert.equal((await once<CloseEvent>(late, "close")).code, 1006);
  });

  test("the adapter's client echoes text, binary, 1 MiB and empty messages in order", async () => {
    const server = adapter.serve({ port: 0 }, echo);
    const { port } = await server.listening;
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/path?q=1`);
    ws.binaryType = "arraybuffer";
    const got = collect(ws);
    await once(ws, "open");
    const big = pattern(1, 1 << 20);
    ws.send("héllo");
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send(big);
    ws.send("");
    ws.send(new Uint8Array(0));
    await waitFor(() => got.length === 5, "5 echoes", 10_000);
    assert.equal(got[0], "héllo");
    assert.deepEqual(new Uint8Array(got[1] as ArrayBuffer), new Uint8Array([1, 2, 3]));
    assert.deepEqual(new Uint8Array(got[2] as ArrayBuffer), big);
    assert.equal(got[3], "");
    assert.equal((got[4] as ArrayBuffer).byteLength, 0);
    const closed = once<CloseEvent>(ws, "close");
    ws.close(1000, "done");
    const ev = await closed;
    assert.equal(ev.code, 1000);
    assert.equal(ev.wasClean, true);
    await server.close();
  });

  test("a subprotocol chosen by onUpgrade is seen by both sides", async () => {
    let serverSide = "";
    const server = adapter.serve({
      port: 0,
      onUpgrade: (req) => ({
        protocol: req.protocols.includes("chat.v2") ? "chat.v2" : req.protocols[0],
      }),
    }, (ws) => {
      serverSide = ws.protocol;
    });
    const { port } = await server.listening;
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`, ["chat.v1", "chat.v2"]);
    await once(ws, "open");
    assert.equal(ws.protocol, "chat.v2");
    await waitFor(() => serverSide !== "", "the server socket");
    assert.equal(serverSide, "chat.v2");
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  test("Bun's native WebSocket client talks to serve: text, binary, close code and reason", async () => {
    let serverClose: CloseEvent | null = null;
    const server = adapter.serve({ port: 0 }, (ws) => {
      echo(ws);
      ws.onclose = (e) => (serverClose = e);
    });
    const { port } = await server.listening;
    const ws = new globalThis.WebSocket(`ws://127.0.0.1:${port}/`);
    ws.binaryType = "arraybuffer";
    const got = collect(ws);
    await once(ws, "open");
    ws.send("native");
    ws.send(pattern(2, 70_000));
    await waitFor(() => got.length === 2, "2 echoes");
    assert.equal(got[0], "native");
    assert.deepEqual(new Uint8Array(got[1] as ArrayBuffer), pattern(2, 70_000));
    const closed = once<CloseEvent>(ws, "close");
    ws.close(4001, "bye");
    assert.equal((await closed).code, 4001);
    await waitFor(() => serverClose !== null, "the server's close event");
    assert.equal(serverClose!.code, 4001);
    assert.equal(serverClose!.reason, "bye");
    assert.equal(serverClose!.wasClean, true);
    await server.close();
  });

  test("TLS: wss with an openssl certificate, for 127.0.0.1 and localhost, server close is clean", {
    skip: NEEDS_OPENSSL,
    timeout: 60_000,
  }, async () => {
    const tls = selfSignedCert();
    let serverClose: CloseEvent | null = null;
    const server = adapter.serve({ port: 0, tls }, (ws) => {
      ws.onmessage = (e) => {
        if (e.data === "close") ws.close(4002, "server says bye");
        else ws.send(e.data);
      };
      ws.onclose = (e) => (serverClose = e);
    });
    const { port } = await server.listening;
    for (const host of ["127.0.0.1", "localhost"]) {
      const ws = new adapter.WebSocket(`wss://${host}:${port}/secure`, [], {
        tls: { ca: tls.cert },
      });
      ws.binaryType = "arraybuffer";
      const got = collect(ws);
      await once(ws, "open");
      ws.send("over tls");
      ws.send(pattern(3, 300_000));
      await waitFor(() => got.length === 2, "2 echoes over TLS");
      assert.equal(got[0], "over tls");
      assert.deepEqual(new Uint8Array(got[1] as ArrayBuffer), pattern(3, 300_000));
      const closed = once<CloseEvent>(ws, "close");
      ws.send("close");
      const ev = await closed;
      assert.equal(ev.code, 4002);
      assert.equal(ev.wasClean, true);
      await waitFor(() => serverClose !== null, "the server's close event");
      assert.equal(serverClose!.wasClean, true);
      serverClose = null;
    }
    // Bun's own client with the same CA.
    const native = new globalThis.WebSocket(
      `wss://127.0.0.1:${port}/`,
      { tls: { ca: tls.cert } } as never,
    );
    await once(native, "open");
    native.send("native tls");
    assert.equal((await once<MessageEvent>(native, "message")).data, "native tls");
    native.close();
    await once(native, "close");
    await server.close();
  });

  test("TLS: a certificate the client does not trust is an error event, then close 1006", {
    skip: NEEDS_OPENSSL,
    timeout: 60_000,
  }, async () => {
    const tls = selfSignedCert();
    const server = adapter.serve({ port: 0, tls }, echo);
    const { port } = await server.listening;
    const ws = new adapter.WebSocket(`wss://127.0.0.1:${port}/`);
    const error = once<Event & { message: string }>(ws, "error");
    const closed = once<CloseEvent>(ws, "close");
    const e = await error;
    assert.match(
      e.message,
      new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port}: TLS handshake failed: `),
    );
    assert.equal((await closed).code, 1006);
    assert.equal(ws.readyState, 3);
    // Not trusting it is allowed explicitly.
    const lax = new adapter.WebSocket(`wss://127.0.0.1:${port}/`, [], {
      tls: { rejectUnauthorized: false },
    });
    await once(lax, "open");
    lax.close();
    await once(lax, "close");
    await server.close();
  });

  test("a refused connection is an error event with the address, then close 1006", async () => {
    // A port that was free a moment ago.
    const probe = adapter.serve({ port: 0 }, echo);
    const { port } = await probe.listening;
    await probe.close();
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    const events: string[] = [];
    ws.onerror = (e) => events.push(`error: ${(e as Event & { message: string }).message}`);
    const closed = once<CloseEvent>(ws, "close");
    const ev = await closed;
    assert.equal(ev.code, 1006);
    assert.equal(ev.wasClean, false);
    assert.equal(events.length, 1);
    assert.match(
      events[0],
      new RegExp(`^error: Cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
  });

  test("a client that half-closes after its close frame still gets the echo and the close reply", async () => {
    const server = adapter.serve({ port: 0 }, echo);
    const { port } = await server.listening;
    const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let buf = Buffer.alloc(0);
    let ended = false;
    s.on("data", (d) => (buf = Buffer.concat([buf, d])));
    s.on("end", () => (ended = true));
    s.on("error", () => {});
    s.write(HANDSHAKE);
    await waitFor(() => buf.includes("\r\n\r\n"), "the 101 response");
    const head = buf.indexOf("\r\n\r\n") + 4;
    const payload = pattern(4, 200_000);
    s.write(clientFrame(0x82, payload.subarray(0, 100)));
    s.end(
      Buffer.concat([
        clientFrame(0x82, payload.subarray(0, 60_000)),
        clientFrame(0x88, new Uint8Array([0x03, 0xe8])),
      ]),
    );
    await waitFor(() => ended, "the server's FIN");
    const frames = serverFrames(buf.subarray(head));
    assert.deepEqual(frames.map((f) => f.op), [2, 2, 8]);
    assert.deepEqual(new Uint8Array(frames[0].payload), payload.subarray(0, 100));
    assert.deepEqual(new Uint8Array(frames[1].payload), payload.subarray(0, 60_000));
    assert.deepEqual([...frames[2].payload], [0x03, 0xe8]);
    s.destroy();
    await server.close();
  });

  test(
    "partial writes under a slow reader: 20 MB arrive whole and in order, bufferedAmount rises then falls",
    {
      timeout: 60_000,
    },
    async () => {
      const N = 20;
      const SIZE = 1 << 20;
      const samples: number[] = [];
      let serverSocket: WebSocketType | null = null;
      let afterSend = -1;
      const server = adapter.serve({ port: 0 }, (ws) => {
        serverSocket = ws;
        for (let i = 0; i < N; i++) ws.send(pattern(100 + i, SIZE));
        afterSend = ws.bufferedAmount;
      });
      const { port } = await server.listening;
      const s = net.connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      let total = 0;
      let headerSeen = false;
      s.on("data", (d) => {
        chunks.push(d);
        total += d.length;
        if (!headerSeen && Buffer.concat(chunks).includes("\r\n\r\n")) {
          headerSeen = true;
          s.pause(); // a reader that stops reading
        }
      });
      s.on("error", () => {});
      s.write(HANDSHAKE);
      await waitFor(() => serverSocket !== null && headerSeen, "the handshake");
      await sleep(200);
      const whilePaused = serverSocket!.bufferedAmount;
      // The kernel took a few MB; the rest waits in the adapter's queue, nothing was dropped.
      assert.ok(
        afterSend > N * SIZE / 2,
        `bufferedAmount right after sending 20 MiB is ${afterSend}`,
      );
      assert.ok(
        whilePaused > N * SIZE / 2,
        `bufferedAmount while the reader is paused is ${whilePaused}`,
      );
      s.resume();
      const expected = N * (SIZE + 10);
      const sampler = setInterval(() => samples.push(serverSocket!.bufferedAmount), 2);
      await waitFor(() => serverSocket!.bufferedAmount === 0, "the queue to drain", 30_000);
      clearInterval(sampler);
      await waitFor(() => total >= expected + 129, "20 MiB at the client", 30_000);
      for (let i = 1; i < samples.length; i++) {
        assert.ok(
          samples[i] <= samples[i - 1],
          `bufferedAmount rose while draining: ${samples[i - 1]} -> ${samples[i]}`,
        );
      }
      const all = Buffer.concat(chunks);
      const frames = serverFrames(all.subarray(all.indexOf("\r\n\r\n") + 4));
      assert.equal(frames.length, N);
      for (let i = 0; i < N; i++) {
        assert.equal(frames[i].op, 2);
        assert.ok(
          Buffer.from(pattern(100 + i, SIZE)).equals(frames[i].payload),
          `message ${i} arrived intact`,
        );
      }
      await serverSocket!.drained();
      serverSocket!.close();
      s.destroy();
      await server.close();
    },
  );

  test("WebSocketStream: echo over streams, then a clean close", async () => {
    const server = adapter.serve({ port: 0 }, echo);
    const { port } = await server.listening;
    const wss = new adapter.WebSocketStream(`ws://127.0.0.1:${port}/`);
    const { readable, writable } = await wss.opened;
    const writer = writable.getWriter();
    const reader = readable.getReader();
    await writer.write("stream text");
    await writer.write(new Uint8Array([9, 8, 7]));
    assert.equal((await reader.read()).value, "stream text");
    assert.deepEqual((await reader.read()).value, new Uint8Array([9, 8, 7]));
    wss.close({ closeCode: 1000 });
    assert.deepEqual(await wss.closed, { closeCode: 1000, reason: "" });
    await server.close();
  });

  test(
    "WebSocketStream: a slow reader pauses the Bun socket, so the sender's queue holds the rest",
    {
      timeout: 60_000,
    },
    async () => {
      const N = 40;
      const SIZE = 1 << 20;
      let serverSocket: WebSocketType | null = null;
      const server = adapter.serve({ port: 0 }, (ws) => {
        serverSocket = ws;
        for (let i = 0; i < N; i++) ws.send(pattern(200 + i, SIZE));
      });
      const { port } = await server.listening;
      const wss = new adapter.WebSocketStream(`ws://127.0.0.1:${port}/`, {
        readableHighWaterMark: 2,
      });
      const { readable } = await wss.opened;
      await waitFor(() => serverSocket !== null, "the server socket");
      // Not reading: the client holds its 2 queued messages, one in assembly and what the kernel
      // buffers; everything else waits in the server's queue (measured: 33.8 of 41.9 MB). Wait
      // until that queue holds still (the client's socket is paused, so no drain comes); the
      // server is paused too, by its own backpressure (output over its high-water mark).
      const stall = await settled(
        () => ({
          bufferedAmount: serverSocket!.bufferedAmount,
          serverPaused: serverSocket!.isPaused,
        }),
        () => true,
        "the server's queue to hold still",
      );
      const held = stall.bufferedAmount;
      assert.ok(
        held > N * SIZE / 2,
        `the server still holds ${held} bytes while the client does not read (${
          JSON.stringify(stall)
        })`,
      );
      const reader = readable.getReader();
      for (let i = 0; i < N; i++) {
        const { value } = await reader.read();
        assert.ok(
          Buffer.from(pattern(200 + i, SIZE)).equals(value as Uint8Array),
          `message ${i} intact and in order`,
        );
      }
      assert.equal(serverSocket!.bufferedAmount, 0);
      wss.close();
      await wss.closed;
      await server.close();
    },
  );

  test(
    "WebSocketStream: writes wait while the peer does not read (bounded by writableHighWaterMark)",
    {
      timeout: 60_000,
    },
    async () => {
      // A raw server that completes the handshake and then never reads.
      const { createHash } = await import("node:crypto");
      let peer: net.Socket | null = null;
      const raw = net.createServer((sock) => {
        peer = sock;
        sock.on("error", () => {});
        sock.once("data", (d) => {
          const key = /sec-websocket-key: *(\S+)/i.exec(d.toString())![1];
          const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
            .digest("base64");
          sock.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          );
          sock.pause();
        });
      });
      await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
      const port = (raw.address() as net.AddressInfo).port;
      const HIGH = 1 << 20;
      const wss = new adapter.WebSocketStream(`ws://127.0.0.1:${port}/`, {
        writableHighWaterMark: HIGH,
      });
      const { writable } = await wss.opened;
      const writer = writable.getWriter();
      let written = 0;
      let writing = false;
      let failed = false;
      const chunk = new Uint8Array(256 * 1024);
      (async () => {
        try {
          for (let i = 0; i < 400; i++) {
            writing = true;
            await writer.write(chunk);
            writing = false;
            written++;
          }
        } catch {
          failed = true; // The connection is torn down at the end of the test.
        }
      })();
      // Stalled means: a write is pending, the peer's socket is paused (it never reads) and
      // neither moves from poll to poll (the client's queue is over its high-water mark and the
      // kernel takes no more, so no drain comes).
      const stall = await settled(
        () => ({ written, writing, failed, peerPaused: peer?.isPaused() ?? false }),
        (s) => s.written === 400 || s.failed || (s.writing && s.peerPaused),
        "the writer to stall",
      );
      const first = stall.written;
      assert.ok(
        stall.writing && !stall.failed && stall.peerPaused,
        `the writer is stalled: ${JSON.stringify(stall)}`,
      );
      assert.equal(written, first, "the writer is stalled");
      assert.ok(first < 400, "not everything was accepted");
      // Accepted: what the kernel took (send and peer's receive buffers, about 4 MB on loopback
      // here) plus at most the high-water mark and one chunk; measured 19 x 256 KiB.
      assert.ok(first * chunk.length < 24 << 20, `${first} writes of 256 KiB resolved`);
      peer!.destroy();
      raw.close();
      await wss.closed.catch(() => {});
    },
  );

  test(
    "Bun hands each data chunk over in fresh memory, TCP and TLS (so the adapter need not copy)",
    {
      timeout: 60_000,
    },
    async () => {
      for (const secure of [false, true]) {
        if (secure && NEEDS_OPENSSL) continue;
        const tls = secure ? selfSignedCert() : undefined;
        const kept: Uint8Array[] = [];
        const copies: Uint8Array[] = [];
        let closed = false;
        const listener = Bun.listen({
          hostname: "127.0.0.1",
          port: 0,
          ...(tls ? { tls } : {}),
          socket: {
            data(_s: unknown, d: Uint8Array) {
              kept.push(d);
              copies.push(d.slice());
            },
            close() {
              closed = true;
            },
          },
        });
        const client = await Bun.connect({
          hostname: "127.0.0.1",
          port: listener.port,
          ...(tls ? { tls: { ca: tls.cert } } : {}),
          socket: { data() {} },
        });
        for (let i = 0; i < 100; i++) {
          client.write(pattern(i, 1000 + 97 * i));
          await sleep(1);
        }
        client.end();
        await waitFor(() => closed, "the server's close");
        listener.stop(true);
        assert.ok(kept.length > 10, `only ${kept.length} reads`);
        const buffers = new Set(kept.map((k) => k.buffer));
        assert.equal(buffers.size, kept.length, "every read has an ArrayBuffer of its own");
        for (let i = 0; i < kept.length; i++) {
          assert.deepEqual(kept[i], copies[i], `read ${i} kept its bytes`);
        }
      }
    },
  );

  test("messages received one per read keep their bytes after later reads (no buffer reuse end to end)", async () => {
    const got: ArrayBuffer[] = [];
    const server = adapter.serve({ port: 0 }, (ws) => {
      ws.onmessage = (e) => got.push(e.data as ArrayBuffer);
    });
    const { port } = await server.listening;
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, "open");
    for (let i = 0; i < 100; i++) {
      ws.send(pattern(i, 500 + i));
      await sleep(1);
    }
    await waitFor(() => got.length === 100, "100 messages");
    for (let i = 0; i < 100; i++) {
      assert.deepEqual(new Uint8Array(got[i]), pattern(i, 500 + i), `message ${i}`);
    }
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  test("Bun's pause() stops reading and resume() restarts it (what pauseReading maps onto)", async () => {
    let got = 0;
    let sock: { resume(): void } | null = null;
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(s: { pause(): void; resume(): void }) {
          s.pause();
          sock = s;
        },
        data(_s: unknown, d: Uint8Array) {
          got += d.length;
        },
      },
    });
    const c = net.connect(listener.port, "127.0.0.1");
    c.on("error", () => {});
    await new Promise((r) => c.once("connect", r));
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < 16; i++) c.write(chunk);
    await sleep(200);
    assert.equal(got, 0);
    assert.ok(c.writableLength > 0, "the sender is held back");
    sock!.resume();
    await waitFor(() => got === 16 << 20, "16 MiB after resume", 10_000);
    c.destroy();
    listener.stop(true);
  });
});

test("examples/echo_server_bun.ts echoes text and binary with this runtime's native client", {
  skip: !existsSync(bin("bun"))
    ? "node_modules/.bin/bun is not installed"
    : typeof (globalThis as { WebSocket?: unknown }).WebSocket !== "function"
    ? "this runtime has no native WebSocket"
    : false,
  timeout: 60_000,
}, async () => {
  const child = spawn(bin("bun"), ["examples/echo_server_bun.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await waitFor(
      () => /listening on ws:\/\/127\.0\.0\.1:\d+\//.test(output) || child.exitCode !== null,
      "the echo server",
      30_000,
    );
    const m = /omniws echo server listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
    assert.ok(m, `unexpected output: ${output}`);
    const Native = (globalThis as unknown as { WebSocket: typeof WebSocket }).WebSocket;
    const ws = new Native(`ws://127.0.0.1:${m[1]}/`);
    ws.binaryType = "arraybuffer";
    const got = collect(ws);
    await once(ws, "open", 10_000);
    ws.send("echo me");
    ws.send(new Uint8Array([0, 1, 254, 255]));
    await waitFor(() => got.length === 2, "2 echoes");
    assert.equal(got[0], "echo me");
    assert.deepEqual(new Uint8Array(got[1] as ArrayBuffer), new Uint8Array([0, 1, 254, 255]));
    const closed = once<CloseEvent>(ws, "close");
    ws.close(1000);
    assert.equal((await closed).code, 1000);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    }
  }
});
