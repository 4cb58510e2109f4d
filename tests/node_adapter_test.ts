// adapters/node.ts on its own: WebSocket endpoints inside an http/https server (routes and
// upgrades on one port), path filtering, rejection, TLS, the client's errors, Node's native
// WebSocket against serve(), and the Node echo example. Runs on Node, and on Deno and Bun
// through their Node compatibility. Loopback only; every wait is bounded.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { settled } from "./_wait.ts";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import {
  AdapterError,
  attach,
  handleUpgrade,
  serve,
  WebSocket,
  type WebSocketServer,
  WebSocketStream,
} from "../adapters/node.ts";
import type { UpgradeRequest } from "../handshake/rfc6455.ts";
import { selfSignedCert } from "./_runtime.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** Resolves as `promise` does; rejects naming `what` if it has not settled after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next `count` messages of a socket, in order; rejects after `ms`. */
function messages(ws: EventTarget, count: number, ms = 5000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const timer = setTimeout(
      () => reject(new Error(`Got ${got.length} of ${count} messages within ${ms} ms`)),
      ms,
    );
    const onMessage = (e: Event) => {
      got.push((e as MessageEvent).data);
      if (got.length === count) {
        clearTimeout(timer);
        ws.removeEventListener("message", onMessage);
        resolve(got);
      }
    };
    ws.addEventListener("message", onMessage);
  });
}

const echo = (ws: WebSocket) => {
  ws.onmessage = (e) => ws.send(e.data);
};

/** An http server with two ordinary routes, listening on a free loopback port. */
async function httpServer(
  options: http.ServerOptions = {},
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(options, (req, res) => {
    if (req.url === "/hello") return void res.end("hello");
    const m = /^\/n\/(\d+)$/.exec(req.url ?? "");
    if (m) return void res.end(`n=${m[1]}`);
    res.statusCode = 404;
    res.end("no such route");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

async function stopHttp(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** GET over a fresh connection (no keep-alive pool left behind). */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const upgradeHead = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** A masked client frame (mask 0x11223344). */
function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const key = [0x11, 0x22, 0x33, 0x44];
  const head = payload.length < 126
    ? [0x80 | opcode, 0x80 | payload.length]
    : [0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from([...head, ...key]), body]);
}

/** Send raw bytes, then collect what the server sends until it closes (or `ms` passes). */
function rawExchange(
  port: number,
  bytes: Buffer | string,
  ms = 3000,
  end = false,
): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(got);
    }, ms);
    socket.on("data", (d) => (got = Buffer.concat([got, d])));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.write(bytes);
    if (end) socket.end();
  });
}

const statusLine = (b: Buffer) => b.toString("latin1").split("\r\n")[0];

describe("node adapter: WebSockets inside an http server", () => {
  test("ordinary routes and WebSocket upgrades share one port under concurrent use (50 requests, 50 echoes)", async () => {
    const { server, port } = await httpServer();
    attach(server, { path: "/ws" }, echo);
    try {
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) {
        jobs.push((async () => {
          const r = await get(port, `/n/${i}`);
          assert.deepEqual(r, { status: 200, body: `n=${i}` });
        })());
        jobs.push((async () => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?client=${i}`);
          ws.binaryType = "arraybuffer";
          await once(ws, "open");
          const got = messages(ws, 2);
          ws.send(`text ${i}`);
          ws.send(new Uint8Array([i, 255 - i, 0]));
          const [text, binary] = await got;
          assert.equal(text, `text ${i}`);
          assert.deepEqual(new Uint8Array(binary as ArrayBuffer), new Uint8Array([i, 255 - i, 0]));
          ws.close(1000, "done");
          const ev = await once<CloseEvent>(ws, "close");
          assert.equal(ev.wasClean, true);
        })());
      }
      await Promise.all(jobs);
      // Both still work afterwards.
      assert.equal((await get(port, "/hello")).body, "hello");
    } finally {
      await stopHttp(server);
    }
  });

  test("an upgrade for a path no endpoint serves gets 404 when the server has no other upgrade listener", async () => {
    const { server, port } = await httpServer();
    attach(server, { path: "/ws" }, echo);
    try {
      const answer = await rawExchange(port, upgradeHead("/elsewhere"));
      assert.equal(statusLine(answer), "HTTP/1.1 404 Not Found");
      const ws = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
      const error = await once<Event & { message?: string }>(ws, "error");
      assert.match(String(error.message), /404/);
      assert.equal((await once<CloseEvent>(ws, "close")).code, 1006);
      // The path ignores the query.
      const ok = new WebSocket(`ws://127.0.0.1:${port}/ws?x=1`);
      await once(ok, "open");
      ok.close();
      await once(ok, "close");
    } finally {
      await stopHttp(server);
    }
  });

  test("upgrades for other paths are left to the server's other upgrade listeners", async () => {
    const { server, port } = await httpServer();
    attach(server, { path: "/ws" }, echo);
    server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
      if (req.url !== "/legacy") return;
      socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    try {
      assert.equal(
        statusLine(await rawExchange(port, upgradeHead("/legacy"))),
        "HTTP/1.1 418 I'm a teapot",
      );
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await once(ws, "open");
      ws.close();
      await once(ws, "close");
    } finally {
      await stopHttp(server);
    }
  });

  test("two endpoints on one server, one by path and one by predicate; close() detaches one", async () => {
    const { server, port } = await httpServer();
    const a = attach(
      server,
      { path: "/a" },
      (ws) => (ws.onmessage = (e) => ws.send(`a:${e.data}`)),
    );
    const b = attach(
      server,
      { path: (req) => (req.url ?? "").startsWith("/b/") },
      (ws) => (ws.onmessage = (e) => ws.send(`b:${e.data}`)),
    );
    try {
      assert.deepEqual(await a.listening, { hostname: "127.0.0.1", port });
      for (const [path, tag] of [["/a", "a"], ["/b/room", "b"]]) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
        await once(ws, "open");
        const got = messages(ws, 1);
        ws.send("x");
        assert.deepEqual(await got, [`${tag}:x`]);
        ws.close();
        await once(ws, "close");
      }
      await a.close();
      assert.equal(
        statusLine(await rawExchange(port, upgradeHead("/a"))),
        "HTTP/1.1 404 Not Found",
      );
      assert.match(
        statusLine(await rawExchange(port, upgradeHead("/b/x"), 400)),
        /^HTTP\/1\.1 101 /,
      );
      await b.close();
      // Nothing attached any more: the server's request handler answers the route as usual.
      assert.equal((await get(port, "/hello")).body, "hello");
    } finally {
      await stopHttp(server);
    }
  });

  test("onUpgrade rejects with a status, headers and body; an accepted request sees the client's headers", async () => {
    const { server, port } = await httpServer();
    attach(server, {
      path: "/ws",
      onUpgrade: (req) =>
        req.headers.get("authorization") === "Bearer ok"
          ? { protocol: req.protocols.includes("chat") ? "chat" : undefined } as {
            protocol?: string;
          }
          : { reject: 401, headers: { "WWW-Authenticate": "Bearer" }, body: "who are you?" },
    }, echo);
    try {
      const answer = (await rawExchange(port, upgradeHead("/ws"))).toString("latin1");
      assert.match(answer, /^HTTP\/1\.1 401 /);
      assert.match(answer, /\r\nWWW-Authenticate: Bearer\r\n/i);
      assert.ok(answer.endsWith("who are you?"), answer);
      const refused = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const error = await once<Event & { message?: string }>(refused, "error");
      assert.match(String(error.message), /401/);
      assert.equal((await once<CloseEvent>(refused, "close")).code, 1006);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ["chat"], {
        headers: { Authorization: "Bearer ok" },
      });
      await once(ws, "open");
      assert.equal(ws.protocol, "chat");
      ws.close();
      await once(ws, "close");
    } finally {
      await stopHttp(server);
    }
  });

  test("handleUpgrade gives the core the request head as sent: header order, case, repeats, query, early frames", async () => {
    const { server, port } = await httpServer();
    const seen: UpgradeRequest[] = [];
    const onUpgrade = (req: UpgradeRequest) => void seen.push(req);
    const got: unknown[] = [];
    server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      handleUpgrade(
        req,
        socket,
        head,
        { onUpgrade },
        (ws) => (ws.onmessage = (e) => got.push(e.data)),
      );
    });
    const direct = serve({ port: 0, onUpgrade }, (ws) => (ws.onmessage = (e) => got.push(e.data)));
    try {
      const directPort = (await direct.listening).port;
      const extra = "X-Repeat: 1\r\nx-repeat: 2\r\nCookie: a=1\r\nX-Latin: caf\xe9\r\n";
      // The request and a first frame in one write: Node hands the frame over as `head`.
      const bytes = Buffer.concat([
        Buffer.from(upgradeHead("/ws?room=7", extra), "latin1"),
        clientFrame(1, new TextEncoder().encode("early")),
      ]);
      for (const p of [port, directPort]) {
        const answer = await rawExchange(p, bytes, 400);
        assert.match(statusLine(answer), /^HTTP\/1\.1 101 /);
      }
      await waitFor(() => got.length === 2, "both early frames");
      assert.deepEqual(got, ["early", "early"]);
      const [viaHttp, viaServe] = seen;
      assert.equal(viaHttp.target, "/ws?room=7");
      assert.equal(viaHttp.query, "room=7");
      assert.deepEqual(viaHttp.headers.getAll("x-repeat"), ["1", "2"]);
      assert.deepEqual(viaHttp.headers.entries(), viaServe.headers.entries());
    } finally {
      await direct.close();
      await stopHttp(server);
    }
  });

  test("the replies to one read batch leave in one socket write (101 response and 100 echoes)", async () => {
    const { server, port } = await httpServer();
    let writes = 0;
    server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const write = socket.write;
      socket.write = function (this: net.Socket, ...args: unknown[]) {
        writes++;
        return (write as (...a: unknown[]) => boolean).apply(this, args);
      } as typeof socket.write;
      handleUpgrade(req, socket, head, {}, echo);
    });
    try {
      const frames: Buffer[] = [Buffer.from(upgradeHead("/"))];
      for (let i = 0; i < 100; i++) frames.push(clientFrame(1, new TextEncoder().encode(`m${i}`)));
      const answer = await rawExchange(port, Buffer.concat(frames), 500);
      const at = answer.indexOf("\r\n\r\n") + 4;
      const expected: number[] = [];
      for (let i = 0; i < 100; i++) {
        expected.push(0x81, `m${i}`.length, ...new TextEncoder().encode(`m${i}`));
      }
      assert.deepEqual([...answer.subarray(at)], expected);
      assert.equal(writes, 1);
    } finally {
      await stopHttp(server);
    }
  });

  test("an upgraded socket outlives the http server's request and headers timeouts", async () => {
    const { server, port } = await httpServer(
      {
        requestTimeout: 300,
        headersTimeout: 200,
        connectionsCheckingInterval: 50,
      } as http.ServerOptions,
    );
    server.keepAliveTimeout = 100;
    attach(server, { path: "/ws" }, echo);
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await once(ws, "open");
      await sleep(800);
      const got = messages(ws, 1);
      ws.send("still here");
      assert.deepEqual(await got, ["still here"]);
      ws.close();
      assert.equal((await once<CloseEvent>(ws, "close")).wasClean, true);
    } finally {
      await stopHttp(server);
    }
  });
});

describe("node adapter: TLS", () => {
  let pem: { cert: string; key: string };
  before(() => {
    pem = selfSignedCert();
  });

  test("https server + attach: the omniws client connects with tls: { ca }; routes still answer", async () => {
    const server = https.createServer(
      { cert: pem.cert, key: pem.key },
      (_req, res) => res.end("secure hello"),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    let serverUrl = "";
    attach(server, { path: "/ws" }, (ws) => {
      serverUrl = ws.url;
      echo(ws);
    });
    try {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, [], { tls: { ca: pem.cert } });
      ws.binaryType = "arraybuffer";
      await once(ws, "open");
      assert.equal(serverUrl, `wss://127.0.0.1:${port}/ws`);
      const got = messages(ws, 2);
      ws.send("over tls");
      ws.send(new Uint8Array(100_000).fill(9));
      const [text, binary] = await got;
      assert.equal(text, "over tls");
      assert.deepEqual(new Uint8Array(binary as ArrayBuffer), new Uint8Array(100_000).fill(9));
      ws.close(4000, "bye");
      const ev = await once<CloseEvent>(ws, "close");
      assert.equal(ev.code, 4000);
      assert.equal(ev.wasClean, true);
      const body = await new Promise<string>((resolve, reject) => {
        https.get({ host: "127.0.0.1", port, path: "/", ca: pem.cert, agent: false }, (res) => {
          let b = "";
          res.on("data", (d: Buffer) => (b += d));
          res.on("end", () => resolve(b));
        }).on("error", reject);
      });
      assert.equal(body, "secure hello");
    } finally {
      await stopHttp(server);
    }
  });

  test("serve with tls: a client without the CA gets an error naming the TLS failure, then close 1006", async () => {
    const server = serve({ port: 0, tls: pem }, echo);
    try {
      const { port } = await server.listening;
      const bad = new WebSocket(`wss://127.0.0.1:${port}/`);
      const error = await once<Event & { message?: string }>(bad, "error");
      assert.match(
        String(error.message),
        new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port}: TLS handshake failed`),
      );
      const ev = await once<CloseEvent>(bad, "close");
      assert.equal(ev.code, 1006);
      assert.equal(ev.wasClean, false);
      // The server goes on serving: with the CA, and with verification turned off.
      for (const tls of [{ ca: [pem.cert] }, { rejectUnauthorized: false }]) {
        const ws = new WebSocket(`wss://localhost:${port}/`, [], { tls });
        await once(ws, "open");
        const got = messages(ws, 1);
        ws.send("ok");
        assert.deepEqual(await got, ["ok"]);
        ws.close();
        await once(ws, "close");
      }
    } finally {
      await server.close();
    }
  });
});

describe("node adapter: serve and the client", () => {
  let server: WebSocketServer;
  let port: number;
  before(async () => {
    server = serve({ port: 0 }, echo);
    port = (await server.listening).port;
  });
  after(async () => {
    await server.close();
  });

  test("a refused connection is an error event naming ECONNREFUSED, then close 1006", async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const free = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const ws = new WebSocket(`ws://127.0.0.1:${free}/`);
    const closed = once<CloseEvent>(ws, "close");
    const error = await once<Event & { message?: string }>(ws, "error");
    assert.match(
      String(error.message),
      new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${free}: .*ECONNREFUSED`),
    );
    const ev = await closed;
    assert.equal(ev.code, 1006);
    assert.equal(ev.wasClean, false);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  test("the runtime's native WebSocket talks to serve(): text, binary, clean close", {
    skip: typeof globalThis.WebSocket !== "function"
      ? "this runtime has no global WebSocket (Node < 22)"
      : false,
  }, async () => {
    const Native = globalThis.WebSocket;
    const ws = new Native(`ws://127.0.0.1:${port}/native`);
    ws.binaryType = "arraybuffer";
    await once(ws, "open");
    const got = messages(ws, 2);
    ws.send("native text");
    ws.send(new Uint8Array([1, 2, 3, 250]));
    const [text, binary] = await got;
    assert.equal(text, "native text");
    assert.deepEqual(new Uint8Array(binary as ArrayBuffer), new Uint8Array([1, 2, 3, 250]));
    ws.close(1000, "done");
    const ev = await once<CloseEvent>(ws, "close");
    assert.equal(ev.code, 1000);
    assert.equal(ev.wasClean, true);
  });

  test("a client's close frame followed at once by its FIN still gets the close frame back", async () => {
    const bytes = Buffer.concat([
      Buffer.from(upgradeHead("/")),
      clientFrame(8, new Uint8Array([0x03, 0xe8])),
    ]);
    const answer = await rawExchange(port, bytes, 3000, true);
    const at = answer.indexOf("\r\n\r\n") + 4;
    assert.match(statusLine(answer), /^HTTP\/1\.1 101 /);
    assert.deepEqual([...answer.subarray(at)], [0x88, 0x02, 0x03, 0xe8]);
  });

  test("a peer that half-closes after its close frame still receives all that is queued, our close frame last", async () => {
    const BIG = 8 * 1024 * 1024;
    let server: WebSocket | null = null;
    const own = serve({ port: 0 }, (ws) => {
      server = ws;
      ws.send(new Uint8Array(BIG));
    });
    try {
      const p = (await own.listening).port;
      const socket = net.connect({ port: p, host: "127.0.0.1", allowHalfOpen: true });
      socket.on("error", () => {});
      socket.pause();
      socket.write(upgradeHead("/"));
      // The server accepted and queued its 8 MiB (the handler ran), none of it read.
      await waitFor(() => server !== null, "the server to accept the upgrade");
      const state = () =>
        `server readyState ${server!.readyState}, paused ${server!.isPaused}, bufferedAmount ${
          server!.bufferedAmount
        }`;
      // Close frame and FIN while 8 MiB wait unread in the server's socket buffer.
      await within(
        new Promise<void>((r) => socket.end(clientFrame(8, new Uint8Array([0x03, 0xe8])), r)),
        5000,
        "the close frame and FIN to be flushed",
      );
      // Both are on the server's side of the loopback now: the server has read the close frame
      // (closing) or does not read for backpressure (its 8 MiB over the high-water mark).
      await waitFor(
        () => server!.readyState >= 2 || server!.isPaused,
        () => `the server to take the close frame or hold it for backpressure (${state()})`,
      );
      const chunks: Buffer[] = [];
      socket.on("data", (d: Buffer) => chunks.push(d));
      const closed = new Promise((r) => socket.once("close", r));
      socket.resume();
      await Promise.race([closed, sleep(5000)]);
      socket.destroy();
      const got = Buffer.concat(chunks);
      const at = got.indexOf("\r\n\r\n") + 4;
      assert.equal(got.length - at, 10 + BIG + 4, "the whole message and the close frame arrived");
      assert.deepEqual([...got.subarray(got.length - 4)], [0x88, 0x02, 0x03, 0xe8]);
    } finally {
      await own.close();
    }
  });

  test("close() stops listening and closes open sockets with 1001, resolving once they are gone", async () => {
    const own = serve({ port: 0 }, echo);
    const p = (await own.listening).port;
    const ws = new WebSocket(`ws://127.0.0.1:${p}/`);
    await once(ws, "open");
    assert.equal(own.connections, 1);
    const closed = once<CloseEvent>(ws, "close");
    await own.close();
    assert.equal(own.connections, 0, "close() resolved before its connections were gone");
    const e = await closed;
    assert.equal(e.code, 1001);
    assert.equal(e.reason, "Server shutting down");
    assert.equal(e.wasClean, true);
    const late = new WebSocket(`ws://127.0.0.1:${p}/`);
    assert.match(
      String((await once<Event & { message?: string }>(late, "error")).message),
      /ECONNREFUSED/,
    );
  });

  test("close({ code, reason, timeout }) drops a peer that does not answer the close frame", async () => {
    const own = serve({ port: 0 }, echo);
    const p = (await own.listening).port;
    const raw = net.connect(p, "127.0.0.1");
    raw.on("error", () => {});
    raw.write(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    let received = Buffer.alloc(0);
    raw.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
    const deadline = Date.now() + 5000;
    while (own.connections === 0 || !received.includes("\r\n\r\n")) {
      assert.ok(Date.now() < deadline, "the raw client did not open");
      await new Promise((r) => setTimeout(r, 10));
    }
    const started = Date.now();
    await own.close({ code: 1012, reason: "restart", timeout: 200 });
    assert.equal(own.connections, 0);
    assert.ok(Date.now() - started < 3000, "close() waited past its timeout");
    const frame = Buffer.from([0x88, 0x09, 0x03, 0xf4, ...Buffer.from("restart")]);
    assert.ok(received.includes(frame), "the server sent close 1012 with its reason");
    raw.destroy();
  });

  test(
    "WebSocketStream: a paused reader stops the socket being read, so a sender waiting on drained() stalls",
    { timeout: 60_000 },
    async () => {
      const TOTAL = 400; // 25 MiB in 64 KiB messages
      let sent = 0;
      let senderDone = false;
      let maxBuffered = 0;
      let server: WebSocket | null = null;
      /** Whether the sender waits in drained() for its output to fall to 256 KiB. */
      let waiting = false;
      const own = serve({ port: 0 }, async (ws) => {
        server = ws;
        for (let i = 0; i < TOTAL && ws.readyState === 1; i++) {
          const m = new Uint8Array(64 * 1024);
          new DataView(m.buffer).setUint32(0, i);
          ws.send(m);
          sent++;
          maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
          waiting = true;
          await ws.drained(256 * 1024);
          waiting = false;
        }
        senderDone = true;
      });
      try {
        const p = (await own.listening).port;
        const wss = new WebSocketStream(`ws://127.0.0.1:${p}/`, { readableHighWaterMark: 4 });
        const reader = (await wss.opened).readable.getReader();
        const next = async () => {
          const { value } = await reader.read();
          const v = value as Uint8Array;
          return new DataView(v.buffer, v.byteOffset).getUint32(0);
        };
        for (let i = 0; i < 5; i++) assert.equal(await next(), i);
        // Stop reading. Stalled means: the sender waits in drained() with more than its 256 KiB
        // still queued at the server (the client's socket is no longer read, so nothing drains),
        // and that holds still from poll to poll (sent and bufferedAmount do not move).
        const stall = await settled(
          () => ({ sent, waiting, bufferedAmount: server?.bufferedAmount ?? 0, senderDone }),
          (s) => s.senderDone || (s.waiting && s.bufferedAmount > 256 * 1024),
          "the sender to stall or finish",
        );
        const sentWhilePaused = stall.sent;
        assert.ok(
          !stall.senderDone && stall.waiting && stall.bufferedAmount > 256 * 1024,
          `the sender stalled while the reader was paused: ${JSON.stringify(stall)}`,
        );
        assert.equal(sent, sentWhilePaused, "the sender stalled while the reader was paused");
        assert.ok(
          sentWhilePaused < TOTAL / 2,
          `sent ${sentWhilePaused} of ${TOTAL} messages while the reader was paused`,
        );
        for (let i = 5; i < TOTAL; i++) assert.equal(await next(), i);
        await waitFor(() => senderDone, "the sender to finish");
        assert.ok(
          maxBuffered <= 256 * 1024 + 64 * 1024 + 14,
          `bufferedAmount reached ${maxBuffered}`,
        );
        wss.close({ closeCode: 1000 });
        await wss.closed;
        console.log(
          `# node backpressure: ${sentWhilePaused} of ${TOTAL} 64 KiB messages sent while the reader paused; sender's bufferedAmount peaked at ${maxBuffered} B`,
        );
      } finally {
        await own.close();
      }
    },
  );

  test("listening rejects with a clear error when the port is taken", async () => {
    const taken = serve({ port }, echo);
    await assert.rejects(taken.listening, (error: unknown) => {
      assert.ok(error instanceof AdapterError);
      assert.equal(error.code, "ERR_LISTEN");
      assert.match(
        error.message,
        new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
      );
      assert.equal((error.cause as { code?: string }).code, "EADDRINUSE");
      return true;
    });
    await taken.close();
  });
});

/** Start the example with PORT=0 on the pinned Node; resolves with its port once it prints it. */
function startExample(): Promise<{ port: number; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${ROOT}node_modules/.bin/node`, ["examples/echo_server_node.ts"], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`The Node echo server did not start within 20 s: ${output}`));
    }, 20_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /omniws echo server listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), child });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`The Node echo server exited with ${code}: ${output}`));
    });
  });
}

describe("node adapter: examples/echo_server_node.ts", () => {
  test("echoes text and binary on the port it prints", async () => {
    const { port, child } = await startExample();
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      ws.binaryType = "arraybuffer";
      await once(ws, "open");
      const got = messages(ws, 2);
      ws.send("héllo");
      ws.send(new Uint8Array([0, 1, 2, 255]));
      const [text, binary] = await got;
      assert.equal(text, "héllo");
      assert.deepEqual(new Uint8Array(binary as ArrayBuffer), new Uint8Array([0, 1, 2, 255]));
      ws.close();
      assert.equal((await once<CloseEvent>(ws, "close")).wasClean, true);
    } finally {
      child.removeAllListeners("exit");
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }
  });
});
