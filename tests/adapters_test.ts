// One integration suite for every runtime: under Deno it checks adapters/deno.ts, under Node
// adapters/node.ts, under Bun adapters/bun.ts — the same cases, in process, on loopback.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { WebSocketServer } from "../adapters/_session.ts";
import { type Connector, type WebSocket, withConnector } from "../adapters/_websocket.ts";
import { connectorOf } from "../adapters/_client.ts";
import {
  type Adapter,
  type AdapterServeOptions,
  loadAdapter,
  RUNTIME,
  selfSignedCert,
} from "./_runtime.ts";
import { permessageDeflate } from "../extensions/permessage_deflate.ts";
import { AdapterError } from "../adapters/_errors.ts";
import { hasChromium, launchChromium, servePage } from "./_browser.ts";
import { NEEDS_OPENSSL, REQUIRE_PEERS } from "./_servers.ts";

const adapter: Adapter = await loadAdapter();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves with the next event of `type`; rejects after 5 s. */
function once<E extends Event>(target: EventTarget, type: string, ms = 5000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No ${type} event within ${ms} ms`)), ms);
    target.addEventListener(type, (e) => {
      clearTimeout(timer);
      resolve(e as E);
    }, { once: true });
  });
}

async function start(
  options: AdapterServeOptions,
  handler: (ws: WebSocket) => void,
): Promise<{ server: WebSocketServer; port: number }> {
  const server = adapter.serve({ port: 0, hostname: "127.0.0.1", ...options }, handler);
  const { port } = await server.listening;
  return { server, port };
}

const echo = (ws: WebSocket) => {
  ws.onmessage = (e) => ws.send(e.data);
};

/** Messages a client receives, in order. */
function collect(ws: WebSocket): unknown[] {
  const got: unknown[] = [];
  ws.addEventListener("message", (e) => got.push((e as MessageEvent).data));
  return got;
}

const bytesOf = (v: unknown) => new Uint8Array(v as ArrayBuffer);

/** A raw TCP client that completes an RFC 6455 handshake and then does what the test says. */
async function rawHandshake(
  port: number,
  allowHalfOpen = false,
): Promise<{ socket: net.Socket; received: () => Buffer; ended: () => boolean }> {
  const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen });
  let buf = Buffer.alloc(0);
  let ended = false;
  socket.on("data", (d) => (buf = Buffer.concat([buf, d])));
  socket.on("close", () => (ended = true));
  socket.on("error", () => {});
  socket.write(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await waitFor(() => buf.includes("\r\n\r\n"), "the 101 response");
  return { socket, received: () => buf, ended: () => ended };
}

describe(`${RUNTIME} adapter: server and client`, () => {
  let echoServer: { server: WebSocketServer; port: number };
  before(async () => {
    echoServer = await start({}, echo);
  });
  after(async () => {
    await echoServer.server.close();
  });

  test("omniws client echoes text, binary, 1 MiB and empty messages in order", async () => {
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${echoServer.port}/`);
    ws.binaryType = "arraybuffer";
    const got = collect(ws);
    await once(ws, "open");
    assert.equal(ws.readyState, 1);
    const big = new Uint8Array(1 << 20).map((_, i) => i * 7);
    ws.send("hello ✓");
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send(big);
    ws.send("");
    ws.send(new Uint8Array(0));
    await waitFor(() => got.length === 5, "5 echoes");
    assert.equal(got[0], "hello ✓");
    assert.deepEqual(bytesOf(got[1]), new Uint8Array([1, 2, 3]));
    assert.deepEqual(bytesOf(got[2]), big);
    assert.equal(got[3], "");
    assert.equal(bytesOf(got[4]).length, 0);
    const closed = once<CloseEvent>(ws, "close");
    ws.close(1000, "done");
    const ev = await closed;
    assert.equal(ev.code, 1000);
    assert.equal(ev.wasClean, true);
    assert.equal(ws.readyState, 3);
  });

  test("binaryType blob delivers a Blob with the bytes", async () => {
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${echoServer.port}/`);
    await once(ws, "open");
    ws.send(new Uint8Array([9, 8, 7]));
    const ev = await once<MessageEvent>(ws, "message");
    assert.ok(ev.data instanceof Blob);
    assert.deepEqual(
      new Uint8Array(await (ev.data as Blob).arrayBuffer()),
      new Uint8Array([9, 8, 7]),
    );
    ws.close();
  });

  test("the server's onUpgrade chooses a subprotocol both sides see", async () => {
    let serverProtocol = "";
    const { server, port } = await start({
      onUpgrade: (req) => ({ protocol: req.protocols.includes("b") ? "b" : req.protocols[0] }),
    }, (ws) => {
      serverProtocol = ws.protocol;
      ws.close();
    });
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`, ["a", "b"]);
    await once(ws, "open");
    assert.equal(ws.protocol, "b");
    await once(ws, "close");
    assert.equal(serverProtocol, "b");
    await server.close();
  });

  test("a rejection with a status reaches the client as error (with the status) then close 1006", async () => {
    const { server, port } = await start({ onUpgrade: () => ({ reject: 401 }) }, () => {});
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    const events: string[] = [];
    ws.onerror = (e) =>
      events.push(`error ${(e as unknown as { error: { status: number } }).error.status}`);
    ws.onclose = (e) => events.push(`close ${e.code} ${e.wasClean}`);
    await waitFor(() => events.length === 2, "error and close");
    assert.deepEqual(events, ["error 401", "close 1006 false"]);
    await server.close();
  });

  test("an asynchronous onUpgrade decision works", async () => {
    const { server, port } = await start({
      onUpgrade: async (req) => {
        await sleep(20);
        return req.path === "/ok" ? undefined : { reject: 404 };
      },
    }, echo);
    const ok = new adapter.WebSocket(`ws://127.0.0.1:${port}/ok`);
    await once(ok, "open");
    ok.close();
    const no = new adapter.WebSocket(`ws://127.0.0.1:${port}/nope`);
    await once(no, "close");
    await server.close();
  });

  test("a refused connection is an error event then close 1006", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    const events: string[] = [];
    ws.onerror = () => events.push("error");
    ws.onclose = (e) => events.push(`close ${e.code}`);
    await waitFor(() => events.length === 2, "error and close");
    assert.deepEqual(events, ["error", "close 1006"]);
  });

  test("a refused connection's error event carries an AdapterError ERR_CONNECT with the address", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    const closed = once<CloseEvent>(ws, "close");
    const ev = await once<Event & { error?: unknown; message?: string }>(ws, "error");
    const error = ev.error;
    assert.ok(error instanceof AdapterError, `an AdapterError: ${String(error)}`);
    assert.equal(error.code, "ERR_CONNECT");
    assert.equal(error.hostname, "127.0.0.1");
    assert.equal(error.port, port);
    assert.match(error.message, new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port}: `));
    assert.match(error.message, /refused|ECONNREFUSED/i);
    assert.ok(error.cause !== undefined, "the runtime's error is the cause");
    assert.equal(ev.message, error.message);
    assert.equal((await closed).code, 1006);
  });

  test("every entry point exports the one AdapterError class", async () => {
    const entry = adapter as unknown as { AdapterError?: unknown };
    assert.equal(entry.AdapterError, AdapterError);
    const streams = await import("../adapters/web_streams.ts") as { AdapterError?: unknown };
    assert.equal(streams.AdapterError, AdapterError);
  });

  test("a port in use: serve() does not throw, listening rejects with AdapterError ERR_LISTEN naming the address", async () => {
    const taken = echoServer.port;
    let server: WebSocketServer | null = null;
    try {
      server = adapter.serve({ port: taken, hostname: "127.0.0.1" }, echo);
      const error: unknown = await server.listening.then(() => null, (e: unknown) => e);
      assert.ok(error instanceof AdapterError, `an AdapterError: ${String(error)}`);
      assert.equal(error.code, "ERR_LISTEN");
      assert.equal(error.hostname, "127.0.0.1");
      assert.equal(error.port, taken);
      assert.match(
        error.message,
        new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE`),
      );
      assert.equal((error.cause as { code?: unknown }).code, "EADDRINUSE");
      assert.equal(server.connections, 0);
    } finally {
      await server?.close();
    }
    // The server that holds the port still serves.
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${taken}/`);
    await once(ws, "open");
    ws.close();
    await once(ws, "close");
  });

  test(
    "a wss client that does not trust the certificate gets an AdapterError ERR_TLS, and the server goes on",
    {
      skip: NEEDS_OPENSSL,
    },
    async () => {
      const tls = selfSignedCert();
      const errors: AdapterError[] = [];
      const { server, port } = await start({ tls, onError: (e) => errors.push(e) }, echo);
      try {
        const bad = new adapter.WebSocket(`wss://127.0.0.1:${port}/`);
        const closed = once<CloseEvent>(bad, "close");
        const error = (await once<Event & { error?: unknown }>(bad, "error")).error;
        assert.ok(error instanceof AdapterError, `an AdapterError: ${String(error)}`);
        assert.equal(error.code, "ERR_TLS");
        assert.equal(error.hostname, "127.0.0.1");
        assert.equal(error.port, port);
        assert.match(
          error.message,
          new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port}: TLS handshake failed`),
        );
        assert.equal((await closed).code, 1006);
        await waitFor(() => server.connections === 0, "the server to drop the refused connection");
        const ws = new adapter.WebSocket(`wss://127.0.0.1:${port}/`, [], { tls: { ca: tls.cert } });
        await once(ws, "open");
        ws.send("after a failed handshake");
        assert.equal((await once<MessageEvent>(ws, "message")).data, "after a failed handshake");
        ws.close();
        await once(ws, "close");
        assert.ok(
          errors.every((e) => e.code === "ERR_TLS" || e.code === "ERR_CONNECTION"),
          `server reports: ${errors.map((e) => e.code).join(", ")}`,
        );
      } finally {
        await server.close();
      }
    },
  );

  test(
    "a connector dials a CONNECT relay, exchanges raw bytes with it, then starts TLS and runs wss through the tunnel",
    {
      skip: NEEDS_OPENSSL,
    },
    async () => {
      const tls = selfSignedCert();
      const { server, port } = await start({ tls }, echo);
      // A loopback relay that behaves like an HTTP CONNECT proxy: it reads the request head,
      // connects where it asks, answers 200 and relays bytes both ways from then on.
      const requests: string[] = [];
      const sockets: net.Socket[] = [];
      const relay = net.createServer((client) => {
        sockets.push(client);
        client.on("error", () => {});
        let head = Buffer.alloc(0);
        const onData = (chunk: Buffer): void => {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) return;
          client.off("data", onData);
          client.pause();
          const request = head.subarray(0, end).toString("latin1");
          requests.push(request);
          const [, authority] = request.split(" ");
          const colon = authority.lastIndexOf(":");
          const upstream = net.connect(
            Number(authority.slice(colon + 1)),
            authority.slice(0, colon),
            () => {
              client.write("HTTP/1.1 200 Connection established\r\n\r\n");
              client.pipe(upstream);
              upstream.pipe(client);
              client.resume();
            },
          );
          sockets.push(upstream);
          upstream.on("error", () => client.destroy());
        };
        client.on("data", onData);
      });
      await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
      const relayPort = (relay.address() as net.AddressInfo).port;
      // This runtime's own connector, with the proxy's exchange between its dial and its startTls.
      const direct = connectorOf(adapter.WebSocket, "WebSocket");
      const replies: string[] = [];
      const tunnel: Connector = {
        async dial(target) {
          const dialed = await direct.dial({ hostname: "127.0.0.1", port: relayPort });
          const authority = `${target.hostname}:${target.port}`;
          await dialed.write(
            new TextEncoder().encode(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`),
          );
          let reply = "";
          while (!reply.includes("\r\n\r\n")) {
            const chunk = await dialed.read();
            if (chunk === null) throw new Error(`The relay closed after ${JSON.stringify(reply)}`);
            reply += new TextDecoder().decode(chunk);
          }
          replies.push(reply);
          return dialed;
        },
        startTls: (dialed, options) => direct.startTls(dialed, options),
        transport: (dialed, sink) => direct.transport(dialed, sink),
      };
      const ViaRelay = withConnector(tunnel);
      try {
        const ws = new ViaRelay(`wss://127.0.0.1:${port}/tunnel`, [], { tls: { ca: tls.cert } });
        await once(ws, "open");
        ws.send("through the tunnel");
        assert.equal((await once<MessageEvent>(ws, "message")).data, "through the tunnel");
        ws.close();
        await once(ws, "close");
        assert.deepEqual(requests, [
          `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}`,
        ]);
        assert.deepEqual(replies, ["HTTP/1.1 200 Connection established\r\n\r\n"]);
        // TLS failures through the tunnel name the WebSocket server, not the relay.
        const bad = new ViaRelay(`wss://127.0.0.1:${port}/`);
        const error = (await once<Event & { error?: unknown }>(bad, "error")).error;
        assert.ok(error instanceof AdapterError, `an AdapterError: ${String(error)}`);
        assert.equal(error.code, "ERR_TLS");
        assert.equal(error.port, port);
        assert.match(
          error.message,
          new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port}: TLS handshake failed`),
        );
        assert.equal(requests.length, 2, "the second client went through the relay too");
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => relay.close(r));
        await server.close();
      }
    },
  );

  test("plain HTTP requests are answered on the WebSocket port", async () => {
    const { server, port } = await start({
      http: (req) => ({
        status: 200,
        headers: { "content-type": "text/html" },
        body: `page at ${req.target}`,
      }),
    }, echo);
    const res = await fetch(`http://127.0.0.1:${port}/index.html`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "page at /index.html");
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, "open");
    ws.send("still a websocket");
    assert.equal((await once<MessageEvent>(ws, "message")).data, "still a websocket");
    ws.close();
    await server.close();
  });

  test("TLS: wss with a certificate generated for the test", {
    skip: NEEDS_OPENSSL,
  }, async () => {
    const tls = selfSignedCert();
    const { server, port } = await start({ tls }, echo);
    const ws = new adapter.WebSocket(`wss://127.0.0.1:${port}/secure`, [], {
      tls: { ca: tls.cert },
    });
    await once(ws, "open");
    ws.send("over tls");
    assert.equal((await once<MessageEvent>(ws, "message")).data, "over tls");
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  test("the runtime's native WebSocket client talks to the server", {
    skip: typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function"
      ? false
      : "this runtime has no native WebSocket",
  }, async () => {
    const Native = (globalThis as unknown as { WebSocket: typeof WebSocket }).WebSocket;
    const ws = new Native(`ws://127.0.0.1:${echoServer.port}/`);
    ws.binaryType = "arraybuffer";
    const got = collect(ws);
    await once(ws, "open");
    ws.send("native");
    ws.send(new Uint8Array([4, 5]));
    await waitFor(() => got.length === 2, "2 echoes");
    assert.equal(got[0], "native");
    assert.deepEqual(bytesOf(got[1]), new Uint8Array([4, 5]));
    const closed = once<CloseEvent>(ws, "close");
    ws.close(4000, "bye");
    assert.equal((await closed).code, 4000);
  });

  test("bufferedAmount rises while a large send is queued and falls to 0 as it drains", async () => {
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${echoServer.port}/`);
    ws.binaryType = "arraybuffer";
    await once(ws, "open");
    let echoed = 0;
    ws.onmessage = () => echoed++;
    // 32 MiB: more than loopback socket buffers hold while this same thread can't serve reads.
    for (let i = 0; i < 32; i++) ws.send(new Uint8Array(1 << 20));
    const peak = ws.bufferedAmount;
    assert.ok(peak > 0, `bufferedAmount right after sending 32 MiB is ${peak}`);
    await ws.drained();
    assert.equal(ws.bufferedAmount, 0);
    await waitFor(() => echoed === 32, "32 echoes", 30_000);
    ws.close();
  });

  test("1000 concurrent connections exchange messages with none lost or reordered", {
    timeout: 120_000,
  }, async () => {
    const N = 1000;
    const PER = 5;
    const sockets: WebSocket[] = [];
    const received: string[][] = [];
    for (let i = 0; i < N; i++) {
      const ws = new adapter.WebSocket(`ws://127.0.0.1:${echoServer.port}/c${i}`);
      received.push([]);
      ws.onmessage = (e) => received[i].push(e.data as string);
      ws.onopen = () => {
        for (let k = 0; k < PER; k++) ws.send(`${i}:${k}`);
      };
      sockets.push(ws);
    }
    await waitFor(() => received.every((r) => r.length === PER), "every echo", 90_000);
    for (let i = 0; i < N; i++) {
      assert.deepEqual(
        received[i],
        Array.from({ length: PER }, (_, k) => `${i}:${k}`),
      );
    }
    let closed = 0;
    for (const ws of sockets) {
      ws.onclose = () => closed++;
      ws.close();
    }
    await waitFor(() => closed === N, "every close", 30_000);
  });
});

describe(`${RUNTIME} adapter: failures and timeouts`, () => {
  test("an abrupt disconnect mid-frame closes the server socket with 1006, not clean", async () => {
    let closeEvent: CloseEvent | null = null;
    const { server, port } = await start({}, (ws) => {
      ws.onclose = (e) => (closeEvent = e);
    });
    const raw = await rawHandshake(port);
    raw.socket.write(Buffer.from([0x82, 0xfe, 0x10, 0x00, 1, 2, 3, 4, 0, 0, 0])); // 4096-byte frame, 3 bytes sent
    await sleep(20);
    raw.socket.destroy();
    await waitFor(() => closeEvent !== null, "the server's close event");
    assert.equal(closeEvent!.code, 1006);
    assert.equal(closeEvent!.wasClean, false);
    await server.close();
  });

  test("a client that sends no handshake is disconnected after handshakeTimeout", async () => {
    const { server, port } = await start({ handshakeTimeout: 200 }, () => {});
    const socket = net.connect(port, "127.0.0.1");
    let closedAt = 0;
    socket.on("close", () => (closedAt = Date.now()));
    socket.on("error", () => {});
    const t0 = Date.now();
    // The timing is the behaviour here, so it stays, with bounds a loaded machine cannot break:
    // not before the timeout (load only delays a timer), and within 25 times it.
    await waitFor(
      () => closedAt > 0,
      "the server to drop the silent client (handshakeTimeout 200 ms)",
      5000,
    );
    assert.ok(
      closedAt - t0 >= 150,
      `closed after ${closedAt - t0} ms, before the 200 ms handshakeTimeout`,
    );
    await server.close();
  });

  test("a peer that half-closes after its close frame still gets the whole 8 MiB echo, close last", async () => {
    const { server, port } = await start({}, echo);
    const raw = await rawHandshake(port, true);
    const head = raw.received().indexOf("\r\n\r\n") + 4;
    const size = 8 * 1024 * 1024;
    const frame = Buffer.alloc(14 + size);
    frame.set([0x82, 0xff]); // FIN binary, masked, 64-bit length; mask key 0
    frame.writeUInt32BE(size, 6);
    frame.fill(0x5a, 14);
    raw.socket.write(frame);
    raw.socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])); // close 1000, then FIN
    await waitFor(() => raw.ended(), "the server to close the connection", 20_000);
    const got = raw.received().subarray(head);
    assert.equal(got.length, 10 + size + 4, "the echo and the close frame, nothing cut off");
    assert.deepEqual([...got.subarray(0, 2)], [0x82, 127]);
    assert.equal(got.readUInt32BE(6), size);
    assert.equal(got.indexOf(0x5b, 10), -1, "payload intact");
    assert.deepEqual([...got.subarray(10 + size)], [0x88, 0x02, 0x03, 0xe8]);
    await server.close();
  });

  test("handshakeTimeout covers the connect: wss to a server that never speaks TLS", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    const t0 = Date.now();
    const ws = new adapter.WebSocket(`wss://127.0.0.1:${port}/`, [], { handshakeTimeout: 300 });
    const error = once(ws, "error");
    const close = once<CloseEvent>(ws, "close");
    assert.match(String((await error as Event & { message?: string }).message), /timed out/);
    assert.equal((await close).code, 1006);
    // The timing is the behaviour (the timeout covers the TLS connect), so it stays, 10 times
    // the setting: load delays a timer, it cannot make a missing one fire.
    const took = Date.now() - t0;
    assert.ok(took < 3000, `closed after ${took} ms with handshakeTimeout 300 ms (bound 3000 ms)`);
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  test("a peer that never answers a close frame is disconnected after closeTimeout, close 1006", async () => {
    let closeEvent: CloseEvent | null = null;
    const { server, port } = await start({ closeTimeout: 200 }, (ws) => {
      ws.onclose = (e) => (closeEvent = e);
      ws.close(1000, "bye");
    });
    const raw = await rawHandshake(port);
    await waitFor(() => closeEvent !== null, "the server's close event", 5000);
    assert.equal(closeEvent!.code, 1006);
    assert.equal(closeEvent!.wasClean, false);
    await waitFor(() => raw.ended(), "the TCP connection to close", 5000);
    const r = raw.received();
    assert.ok(r.includes(Buffer.from([0x88, 0x05, 0x03, 0xe8])), "the server sent close 1000");
    await server.close();
  });

  test("keepalive pings detect a peer that stopped answering: error, then close 1006", async () => {
    const events: string[] = [];
    const { server, port } = await start({ pingInterval: 100 }, (ws) => {
      ws.onerror = () => events.push("error");
      ws.onclose = (e) => events.push(`close ${e.code}`);
    });
    const raw = await rawHandshake(port);
    await waitFor(() => events.length === 2, "error and close", 5000);
    assert.deepEqual(events, ["error", "close 1006"]);
    assert.ok(raw.received().includes(Buffer.from([0x89, 0x00])), "the server pinged");
    raw.socket.destroy();
    await server.close();
  });

  test("keepalive leaves a peer that answers pings alone", async () => {
    let closed = false;
    const { server, port } = await start({ pingInterval: 50 }, (ws) => {
      ws.onclose = () => (closed = true);
    });
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, "open");
    await sleep(400);
    assert.equal(closed, false);
    assert.equal(ws.readyState, 1);
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  test("an exception in a message handler does not stop the server", async () => {
    const { server, port } = await start({}, (ws) => {
      ws.onmessage = (e) => {
        if (e.data === "throw") throw new Error("application bug (expected in this test)");
        ws.send(e.data);
      };
    });
    const origError = console.error;
    console.error = () => {};
    try {
      const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
      await once(ws, "open");
      ws.send("throw");
      ws.send("after");
      assert.equal((await once<MessageEvent>(ws, "message")).data, "after");
      ws.close();
    } finally {
      console.error = origError;
    }
    await server.close();
  });
});

describe(`${RUNTIME} adapter: the WHATWG interface`, () => {
  test("constructor and close() argument checks throw the standard's DOMExceptions", async () => {
    assert.throws(
      () => new adapter.WebSocket("ftp://x/"),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
    assert.throws(
      () => new adapter.WebSocket("ws://x/#frag"),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
    assert.throws(
      () => new adapter.WebSocket("ws://x/", ["a", "a"]),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
    assert.throws(
      () => new adapter.WebSocket("ws://x/", ["bad proto"]),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
    const { server, port } = await start({}, echo);
    const ws = new adapter.WebSocket(`http://127.0.0.1:${port}/`);
    assert.equal(ws.url, `ws://127.0.0.1:${port}/`);
    assert.throws(
      () => ws.send("early"),
      (e: unknown) => e instanceof DOMException && e.name === "InvalidStateError",
    );
    await once(ws, "open");
    assert.throws(
      () => ws.close(1001),
      (e: unknown) => e instanceof DOMException && e.name === "InvalidAccessError",
    );
    assert.throws(
      () => ws.close(1000, "x".repeat(124)),
      (e: unknown) => e instanceof DOMException && e.name === "SyntaxError",
    );
    assert.equal(adapter.WebSocket.OPEN, 1);
    assert.equal(ws.CLOSING, 2);
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  test("close() while connecting fires error then close 1006", async () => {
    const { server, port } = await start({}, echo);
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    const events: string[] = [];
    ws.onerror = () => events.push("error");
    ws.onclose = (e) => events.push(`close ${e.code} ${e.wasClean}`);
    ws.close();
    assert.equal(ws.readyState, 2);
    await waitFor(() => events.length === 2, "error and close");
    assert.deepEqual(events, ["error", "close 1006 false"]);
    await server.close();
  });

  test("message events are MessageEvents (instanceof, data, origin, target); binaryType bytes is a view", async () => {
    const { server, port } = await start({}, (ws) => {
      ws.binaryType = "bytes";
      ws.onmessage = (e) => {
        const ok = e instanceof MessageEvent && e.data instanceof Uint8Array && e.target === ws &&
          e.origin === `ws://127.0.0.1:${port}` && e.lastEventId === "" && e.ports.length === 0;
        ws.send(ok ? e.data : new Uint8Array([0]));
      };
    });
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    ws.binaryType = "arraybuffer";
    await once(ws, "open");
    const sent = new Uint8Array([1, 2, 3, 4, 5]);
    ws.send(sent);
    sent[0] = 99; // send() took its snapshot already
    const ev = await once<MessageEvent>(ws, "message");
    assert.ok(ev instanceof MessageEvent);
    assert.equal(ev.type, "message");
    assert.equal(ev.target, ws);
    assert.equal(ev.origin, `ws://127.0.0.1:${port}`);
    assert.ok(ev.data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(ev.data)], [1, 2, 3, 4, 5]);
    const big = new Uint8Array(100_000).fill(7);
    ws.send(big);
    big.fill(8); // above the size the core copies itself: send() must have copied
    const echoed = new Uint8Array((await once<MessageEvent>(ws, "message")).data);
    assert.equal(echoed.length, 100_000);
    assert.ok(echoed.every((b) => b === 7));
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  test("onmessage keeps its place among message listeners: where it was first set, replaced in place, removed by null", async () => {
    const calls: string[] = [];
    const { server, port } = await start({}, (ws) => {
      // A lone onmessage first (called without a dispatch), then listeners around it.
      ws.onmessage = () => calls.push("on1");
      ws.addEventListener("message", () => calls.push("a"));
      ws.onmessage = () => calls.push("on2"); // replaces on1 in its place, before "a"
      ws.addEventListener("message", (e) => {
        calls.push("b");
        if ((e as MessageEvent).data === "one") ws.onmessage = null;
        ws.send(String((e as MessageEvent).data));
      });
    });
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, "open");
    ws.send("one");
    await once(ws, "message");
    ws.send("two");
    await once(ws, "message");
    assert.deepEqual(calls, ["on2", "a", "b", "a", "b"]);
    // A listener added before onmessage is set runs before it.
    const late: string[] = [];
    const ws2 = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    ws2.addEventListener("message", () => late.push("listener"));
    ws2.onmessage = () => late.push("on");
    await once(ws2, "open");
    ws2.send("x");
    await once(ws2, "message");
    assert.deepEqual(late, ["listener", "on"]);
    ws.close();
    ws2.close();
    await Promise.all([once(ws, "close"), once(ws2, "close")]);
    await server.close();
  });

  test("a server socket may close with any code a server sends (1001, 1008, 1011); a client may not", async () => {
    const codes = [1001, 1008, 1011];
    let next = 0;
    const { server, port } = await start({}, (ws) => ws.close(codes[next++], "server says"));
    for (const code of codes) {
      const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
      const ev = await once<CloseEvent>(ws, "close");
      assert.equal(ev.code, code);
      assert.equal(ev.reason, "server says");
      assert.equal(ev.wasClean, true);
    }
    const client = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    await once(client, "close");
    assert.throws(() => client.close(1001), { name: "InvalidAccessError" });
    await server.close();
  });

  test("the client offers permessage-deflate by default, as browsers do; extensions: [] offers none", async () => {
    const offers: string[] = [];
    const { server, port } = await start({
      extensions: [permessageDeflate()],
      onUpgrade: (request) => {
        offers.push(request.headers.get("sec-websocket-extensions") ?? "");
      },
    }, echo);
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/`);
    ws.binaryType = "arraybuffer";
    await once(ws, "open");
    assert.equal(ws.extensions, "permessage-deflate");
    const text = "compressible ".repeat(2000);
    ws.send(text);
    assert.equal((await once<MessageEvent>(ws, "message")).data, text);
    ws.close();
    await once(ws, "close");
    const plain = new adapter.WebSocket(`ws://127.0.0.1:${port}/`, [], { extensions: [] });
    await once(plain, "open");
    assert.equal(plain.extensions, "");
    plain.close();
    await once(plain, "close");
    assert.match(offers[0], /^permessage-deflate/);
    assert.equal(offers[1], "");
    await server.close();
  });

  test("server sockets have the same interface: url, readyState, protocol, send, close", async () => {
    let seen: { url: string; readyState: number; binaryType: string } | null = null;
    const { server, port } = await start({}, (ws) => {
      seen = { url: ws.url, readyState: ws.readyState, binaryType: ws.binaryType };
      ws.send("welcome");
      ws.close(4001, "done");
    });
    const ws = new adapter.WebSocket(`ws://127.0.0.1:${port}/room?x=1`);
    const message = once<MessageEvent>(ws, "message");
    const close = once<CloseEvent>(ws, "close");
    assert.equal((await message).data, "welcome");
    const ev = await close;
    assert.equal(ev.code, 4001);
    assert.equal(ev.reason, "done");
    assert.deepEqual(seen, {
      url: `ws://127.0.0.1:${port}/room?x=1`,
      readyState: 1,
      binaryType: "arraybuffer",
    });
    await server.close();
  });
});

describe(`${RUNTIME} adapter: Chromium as a client`, {
  skip: !hasChromium() && !REQUIRE_PEERS ? "chromium is not installed" : false,
}, () => {
  test("Chromium echoes text and binary with this runtime's server and closes cleanly", {
    timeout: 120_000,
  }, async () => {
    const { server, port } = await start({}, echo);
    const page = await servePage(`<!doctype html><script>
      async function run(url) {
        const ws = new WebSocket(url);
        ws.binaryType = "arraybuffer";
        const got = [];
        await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
        const done = new Promise((ok) => ws.onmessage = (e) => { got.push(typeof e.data === "string" ? e.data : Array.from(new Uint8Array(e.data))); if (got.length === 2) ok(); });
        ws.send("from chromium"); ws.send(new Uint8Array([1, 2, 3]));
        await done;
        const closed = new Promise((ok) => ws.onclose = (e) => ok({ code: e.code, wasClean: e.wasClean }));
        ws.close(1000);
        return { got, close: await closed };
      }</script>`);
    const browser = await launchChromium();
    try {
      const tab = await browser.browser.newPage();
      await tab.goto(page.url);
      const result = await tab.evaluate(`run("ws://127.0.0.1:${port}/")`);
      assert.deepEqual(result, {
        got: ["from chromium", [1, 2, 3]],
        close: { code: 1000, wasClean: true },
      });
    } finally {
      await browser.close();
      await page.close();
      await server.close();
    }
  });
});
