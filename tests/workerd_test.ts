// The core inside workerd, Cloudflare's runtime (npm `workerd`): a module worker bundled from
// mod.ts runs a whole client/server exchange in memory and answers with the result on fetch, over
// loopback. Then the Web Streams adapter, as a client inside the worker, talks through
// `cloudflare:sockets` connect() to a `ws` echo server on loopback. workerd is started on port 0
// and reports its port on a control descriptor; every wait is bounded. The test runs on the Node
// host only: what it proves is about workerd, not about the runtime that drives it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { bundleCore, type EdgeReport, HOST, ROOT } from "./edge/_bundle.ts";

const WORKERD = `${ROOT}node_modules/.bin/workerd`;
const REQUIRE_PEERS = process.env.CI === "true" || process.env.OMNIWS_REQUIRE_PEERS === "1";

/** Tests and sockets run inside the worker's fetch handler; the sockets test needs the adapter. */
const WORKER = `
import { connect as tcp } from "cloudflare:sockets";
import { connect } from ${JSON.stringify(`${ROOT}adapters/web_streams.ts`)};

async function viaSockets(port) {
  const events = [];
  const socket = tcp({ hostname: "127.0.0.1", port });
  const ws = connect(socket, "ws://127.0.0.1:" + port + "/echo", ["echo"]);
  ws.binaryType = "arraybuffer";
  const queue = [];
  let waiter = null;
  let handlerCalls = 0;
  ws.onmessage = () => handlerCalls++;
  ws.addEventListener("message", (e) => { if (waiter) { const w = waiter; waiter = null; w(e.data); } else queue.push(e.data); });
  const next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise((ok) => (waiter = ok));
  await new Promise((ok, fail) => {
    ws.addEventListener("open", ok);
    ws.addEventListener("error", () => fail(new Error("open failed")));
  });
  events.push("open " + ws.protocol);
  ws.send("hello from workerd ✓");
  events.push("text " + (await next()));
  const big = new Uint8Array(100000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
  ws.send(big);
  const back = new Uint8Array(await next());
  events.push("binary " + back.length + " " + (back.every((v, i) => v === big[i]) ? "same" : "different"));
  const closed = new Promise((ok) => ws.addEventListener("close", ok));
  ws.close(1000, "done");
  const e = await closed;
  events.push("close " + e.code + " " + e.wasClean);
  return { events, handlerCalls };
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/core") return Response.json(report());
    if (url.pathname === "/sockets") {
      const timeout = new Promise((_, fail) => setTimeout(() => fail(new Error("timed out in the worker")), 20000));
      try {
        return Response.json(await Promise.race([viaSockets(Number(url.searchParams.get("port"))), timeout]));
      } catch (error) {
        return Response.json({ error: String(error && error.stack || error) }, { status: 500 });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
`;

// Outbound connections go through a network service that may reach loopback ("local"); the
// default one reaches public addresses only.
const CONFIG = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2024-09-23",
  globalOutbound = "loopback",
);
`;

/** The part of a `ws` server-side socket the echo uses (ws ships no types). */
interface EchoSocket {
  on(event: "message", listener: (data: Uint8Array, binary: boolean) => void): void;
  send(data: Uint8Array, options: { binary: boolean }): void;
}

interface Workerd {
  port: number;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Start workerd on a free loopback port, learnt from its control descriptor (fd 3). */
function startWorkerd(dir: string): Promise<Workerd> {
  return new Promise((resolve, reject) => {
    const child = spawn(WORKERD, [
      "serve",
      "config.capnp",
      "--control-fd=3",
      "--socket-addr=http=127.0.0.1:0",
    ], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    let output = "";
    let control = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(kill);
          done();
        });
        child.kill("SIGTERM");
      });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`workerd did not listen within 30 s: ${output}`));
    }, 30_000);
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => {
      control += d.toString();
      for (const line of control.split("\n")) {
        try {
          const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
          if (
            message.event === "listen" && message.socket === "http" &&
            typeof message.port === "number"
          ) {
            clearTimeout(timer);
            resolve({ port: message.port, process: child, output: () => output, stop });
            return;
          }
        } catch {
          // An incomplete line.
        }
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited with ${code}: ${output}`));
    });
  });
}

const skip = HOST !== "node"
  ? "driven from the Node host only"
  : !existsSync(WORKERD) && !REQUIRE_PEERS
  ? "workerd is not installed (npm install)"
  : false;

describe("the core in workerd (runs on the Node host only)", { skip }, () => {
  let dir: string;
  let workerd: Workerd;
  let echo: WebSocketServer;
  let handlerCalls = -1;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "omniws-workerd-"));
    const worker = await bundleCore({
      code: WORKER,
      format: "esm",
      external: ["cloudflare:sockets"],
    });
    writeFileSync(join(dir, "worker.js"), worker);
    writeFileSync(join(dir, "config.capnp"), CONFIG);
    workerd = await startWorkerd(dir);
    echo = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (protocols: Set<string>) => protocols.values().next().value ?? false,
    });
    echo.on("connection", (socket: EchoSocket) => {
      socket.on("message", (data: Uint8Array, binary: boolean) => socket.send(data, { binary }));
    });
    await new Promise<void>((ok) => echo.once("listening", () => ok()));
  });

  after(async () => {
    await workerd?.stop();
    await new Promise<void>((ok) => (echo ? echo.close(() => ok()) : ok()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(
    "a module worker runs a client/server exchange in memory (RFC 6455 and hixie-76) and answers on fetch",
    {
      timeout: 60_000,
    },
    async () => {
      const response = await fetch(`http://127.0.0.1:${workerd.port}/core`, {
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(response.status, 200, workerd.output());
      const report = await response.json() as EdgeReport;
      assert.deepEqual(report.failures, []);
      assert.equal(report.passed.length, 10);
      assert.equal(report.userAgent, "Cloudflare-Workers");
      assert.equal(report.globals.process, "undefined", "no Node globals in the worker");
      assert.equal(report.globals.Deno, "undefined");
    },
  );

  test(
    "the Web Streams adapter in a worker talks to a ws echo server through cloudflare:sockets connect()",
    {
      timeout: 60_000,
    },
    async () => {
      const { port } = echo.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${workerd.port}/sockets?port=${port}`, {
        signal: AbortSignal.timeout(30_000),
      });
      const body = await response.json() as {
        events?: string[];
        handlerCalls?: number;
        error?: string;
      };
      handlerCalls = body.handlerCalls ?? -1;
      assert.equal(response.status, 200, `${body.error}\n${workerd.output()}`);
      assert.deepEqual(body.events, [
        "open echo",
        "text hello from workerd ✓",
        "binary 100000 same",
        "close 1000 true",
      ]);
    },
  );

  // workerd's own EventTarget calls an `on<type>` property of the target when it dispatches;
  // adapters/_websocket.ts must then not add a listener for it too, or handlers run twice.
  test("onmessage is called once per message in workerd (2 messages echoed)", () => {
    assert.equal(handlerCalls, 2);
  });
});
