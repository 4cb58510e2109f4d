// permessage-deflate interop over loopback, both ways, with compressible and incompressible
// messages from empty to 256 KiB (tests/_deflate.ts interopMessages):
// - omniws server (Deno, adapters/deno.ts, tests/peers/deflate_echo_server.ts) with npm `ws`
//   (run by Node), Python `websockets` and Chromium as clients; the server counts the messages
//   that arrived and left compressed;
// - omniws ClientConnection on node:net with `ws` and Python `websockets` as servers.
// Each in a default configuration and with all four parameters in play.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  permessageDeflate,
  type PermessageDeflateOptions,
} from "../extensions/permessage_deflate.ts";
import { counting, type DeflateStats, interopMessages } from "./_deflate.ts";
import { TcpClient } from "./_tcp_client.ts";
import {
  bin,
  hasPythonModule,
  PYTHON,
  ROOT,
  type RunningServer,
  skipUnlessPeer,
  startServer,
} from "./_servers.ts";
import { hasChromium, launchChromium, servePage } from "./_browser.ts";

const NODE = bin("node");
const PYTHON_OK = hasPythonModule("websockets");
const skipPython = skipUnlessPeer(PYTHON_OK, "python3-websockets is not installed");
const skipChromium = skipUnlessPeer(hasChromium(), "chromium is not installed");

const ALL_FOUR: PermessageDeflateOptions = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: 10,
  clientMaxWindowBits: 9,
};

interface PeerReport {
  extension: string;
  echoes: Record<string, boolean>;
  stats: { extensions: string } & Partial<DeflateStats>;
}

/** Peer clients still running: each describe's after() kills them, whatever happened. */
const children = new Set<ChildProcess>();

function killChildren(): void {
  for (const c of children) c.kill("SIGKILL");
  children.clear();
}

/** Run a peer client to completion and parse the JSON report it prints. */
function runPeer(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<PeerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new Error(`${command} did not start: ${error.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      const line = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !line.startsWith("{")) {
        reject(new Error(`${args.join(" ")} exited ${code}: ${stdout}${stderr}`));
      } else resolve(JSON.parse(line));
    });
  });
}

function assertEchoes(echoes: Record<string, boolean>): void {
  const names = interopMessages().map(([name]) => name);
  assert.deepEqual(Object.keys(echoes).sort(), [...names].sort());
  for (const [name, ok] of Object.entries(echoes)) assert.equal(ok, true, `echo of ${name}`);
}

/**
 * Send every interop message over a core client offering permessage-deflate, each after the
 * echo of the previous one; the echoes' verdicts, the negotiated header and the extension's counts.
 */
async function exchange(
  port: number,
  options: PermessageDeflateOptions,
): Promise<{ echoes: Record<string, boolean>; extensions: string; stats: DeflateStats[] }> {
  const stats: DeflateStats[] = [];
  const extension = counting(permessageDeflate({ threshold: 0, ...options }), (s) => stats.push(s));
  const client = new TcpClient(port, { extensions: [extension], maxMessageSize: 64 << 20 });
  try {
    return await exchangeOver(client, stats);
  } finally {
    client.socket.destroy();
  }
}

async function exchangeOver(
  client: TcpClient,
  stats: DeflateStats[],
): Promise<{ echoes: Record<string, boolean>; extensions: string; stats: DeflateStats[] }> {
  const LONG = 30_000;
  const state = () => client.conn.state;
  await client.waitFor(() => state() === "open" || state() === "closed", "open", LONG);
  assert.equal(state(), "open", JSON.stringify(client.events));
  const echoes: Record<string, boolean> = {};
  for (const [name, data] of interopMessages()) {
    const before = client.events.length;
    client.send(data);
    await client.waitFor(
      (events) => events.slice(before).some((e) => e.type === "message"),
      `echo of ${name}`,
      LONG,
    );
    const back = client.events.slice(before).find((e) => e.type === "message")!;
    echoes[name] = back.type === "message" &&
      (typeof data === "string"
        ? back.data === data
        : back.data instanceof Uint8Array && back.data.length === data.length &&
          back.data.every((b, i) => b === data[i]));
  }
  const extensions = client.conn.extensions;
  client.close();
  await client.waitFor(() => state() === "closed", "close", LONG);
  return { echoes, extensions, stats };
}

describe("permessage-deflate interop: peers' clients with the omniws server on Deno", () => {
  let server: RunningServer;
  let constrained: RunningServer;
  const deno = (options: PermessageDeflateOptions) =>
    startServer(bin("deno"), [
      "run",
      "--allow-net",
      "--allow-env",
      "tests/peers/deflate_echo_server.ts",
    ], {
      PMD_OPTIONS: JSON.stringify({ threshold: 0, ...options }),
    });
  before(async () => {
    [server, constrained] = await Promise.all([
      deno({}),
      deno({ serverMaxWindowBits: 9, clientNoContextTakeover: true }),
    ]);
  });
  after(async () => {
    killChildren();
    await Promise.all([server?.stop(), constrained?.stop()]);
  });
  const url = (s: RunningServer) => `ws://127.0.0.1:${s.port}/`;

  test(
    "ws client, default offer: every message compressed both ways",
    { timeout: 60_000 },
    async () => {
      const report = await runPeer(NODE, ["tests/peers/ws_deflate_peer.ts", "client", url(server)]);
      assertEchoes(report.echoes);
      assert.equal(report.stats.extensions, "permessage-deflate");
      assert.equal(report.stats.compressedIn, 13); // 12 messages and the stats request
      assert.equal(report.stats.compressedOut, 12);
    },
  );

  test("ws client offering all four parameters", { timeout: 60_000 }, async () => {
    const report = await runPeer(NODE, ["tests/peers/ws_deflate_peer.ts", "client", url(server)], {
      WS_PMD: JSON.stringify({ threshold: 0, ...ALL_FOUR }),
    });
    assertEchoes(report.echoes);
    assert.equal(
      report.stats.extensions,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    );
    assert.equal(report.stats.compressedIn, 13);
    // Without takeover, messages compression would not shrink (empties, noise) go as they are.
    assert.ok(report.stats.compressedOut! >= 5, JSON.stringify(report.stats));
  });

  test("ws client with a server that limits its own window and the client's context", {
    timeout: 60_000,
  }, async () => {
    const report = await runPeer(NODE, [
      "tests/peers/ws_deflate_peer.ts",
      "client",
      url(constrained),
    ]);
    assertEchoes(report.echoes);
    assert.equal(
      report.stats.extensions,
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=9",
    );
    assert.equal(report.stats.compressedIn, 13);
  });

  test(
    "Python websockets client, default offer",
    { skip: skipPython, timeout: 60_000 },
    async () => {
      const report = await runPeer(PYTHON, [
        "tests/peers/python_deflate_peer.py",
        "client",
        url(server),
      ]);
      assertEchoes(report.echoes);
      assert.match(report.stats.extensions, /^permessage-deflate/);
      assert.equal(report.stats.compressedIn, 13);
      assert.equal(report.stats.compressedOut, 12);
    },
  );

  test("Python websockets client offering all four parameters", {
    skip: skipPython,
    timeout: 60_000,
  }, async () => {
    const options = {
      server_no_context_takeover: true,
      client_no_context_takeover: true,
      server_max_window_bits: 9,
      client_max_window_bits: 10,
    };
    const report = await runPeer(PYTHON, [
      "tests/peers/python_deflate_peer.py",
      "client",
      url(server),
      JSON.stringify(options),
    ]);
    assertEchoes(report.echoes);
    assert.equal(
      report.stats.extensions,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
    );
    assert.equal(report.stats.compressedIn, 13);
  });

  test("Chromium: the browser's offer, compressed messages both ways", {
    skip: skipChromium,
    timeout: 120_000,
  }, async () => {
    const page = await servePage(CHROMIUM_PAGE);
    let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;
    try {
      browser = await launchChromium();
      const tab = await browser.browser.newPage();
      await tab.goto(page.url);
      const report = (await tab.evaluate(`run("${url(server)}")`)) as PeerReport;
      assertEchoes(report.echoes);
      assert.match(report.extension, /^permessage-deflate/);
      assert.equal(report.stats.extensions, report.extension);
      // Chromium compresses every message it sends, our server every message it echoes.
      assert.equal(report.stats.compressedIn, 13);
      assert.equal(report.stats.compressedOut, 12);
    } finally {
      await browser?.close();
      await page.close();
    }
  });
});

describe("permessage-deflate interop: the omniws client with peers' servers", () => {
  let ws: RunningServer;
  let wsConstrained: RunningServer;
  let python: RunningServer | null = null;
  before(async () => {
    const wsPeer = (options: Record<string, unknown>) =>
      startServer(NODE, ["tests/peers/ws_deflate_peer.ts", "server"], {
        WS_PMD: JSON.stringify({ threshold: 0, ...options }),
      });
    [ws, wsConstrained] = await Promise.all([wsPeer({}), wsPeer({ ...ALL_FOUR })]);
    if (PYTHON_OK) {
      python = await startServer(PYTHON, ["tests/peers/python_deflate_peer.py", "server"]);
    }
  });
  after(async () => {
    killChildren();
    await Promise.all([ws?.stop(), wsConstrained?.stop(), python?.stop()]);
  });

  async function session(
    port: number,
    options: PermessageDeflateOptions,
    expected: string | RegExp,
  ) {
    const { echoes, extensions, stats } = await exchange(port, options);
    assertEchoes(echoes);
    if (typeof expected === "string") assert.equal(extensions, expected);
    else assert.match(extensions, expected);
    assert.equal(stats.length, 1);
    return stats[0];
  }

  test("ws server: every message compressed both ways", { timeout: 60_000 }, async () => {
    const stats = await session(ws.port, {}, "permessage-deflate");
    assert.deepEqual(stats, { compressedIn: 12, compressedOut: 12, plainOut: 0 });
  });

  test("ws server asked for all four parameters", { timeout: 60_000 }, async () => {
    const stats = await session(
      ws.port,
      ALL_FOUR,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    );
    assert.equal(stats.compressedIn, 12);
  });

  test("ws server asked for an 8-bit window (zlib compresses with 9 bits: still decoded)", {
    timeout: 60_000,
  }, async () => {
    const stats = await session(
      ws.port,
      { serverMaxWindowBits: 8 },
      "permessage-deflate; server_max_window_bits=8",
    );
    assert.equal(stats.compressedIn, 12);
  });

  test("ws server imposing all four parameters on a plain offer", { timeout: 60_000 }, async () => {
    const stats = await session(
      wsConstrained.port,
      {},
      "permessage-deflate; client_max_window_bits=9; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10",
    );
    assert.equal(stats.compressedIn, 12);
  });

  test("Python websockets server", { skip: skipPython, timeout: 60_000 }, async () => {
    const stats = await session(python!.port, {}, /^permessage-deflate/);
    assert.equal(stats.compressedIn, 12);
    assert.equal(stats.compressedOut, 12);
  });

  test("Python websockets server asked for all four parameters", {
    skip: skipPython,
    timeout: 60_000,
  }, async () => {
    const stats = await session(
      python!.port,
      ALL_FOUR,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    );
    assert.equal(stats.compressedIn, 12);
  });
});

/** The page Chromium runs: the interop messages (generated in the page), echoed, then stats. */
const CHROMIUM_PAGE =
  `<!doctype html><meta charset="utf-8"><title>permessage-deflate</title><script>
function messages() {
  const json = (n, seed) => { let s = ""; let i = seed; while (s.length < n) { s += JSON.stringify({ id: i, user: "user" + (i % 37), ts: 1700000000000 + i * 7919, ok: i % 2 === 0 }) + "\\n"; i++; } return s.slice(0, n); };
  const words = "the of and to a in is it you that he was for on are with as his they be at one have".split(" ");
  let prose = ""; let k = 1; while (prose.length < 262144) { k = (k * 1103515245 + 12345) >>> 0; prose += words[k % words.length] + " "; }
  const noise = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536))); return b; };
  const mixed = new Uint8Array(200000); for (let i = 0; i < mixed.length; i++) mixed[i] = (i * 7 / 13) & 255;
  const json1k = json(1000, 1);
  return [["empty text", ""], ["empty binary", new Uint8Array(0)], ["short text", "Hello"], ["unicode text", "Grüße, мир, 世界 ✓ 🎉"],
    ["json 1 KB", json1k], ["json 1 KB again", json1k], ["json 64 KB", json(65536, 2)], ["prose 256 KB", prose.slice(0, 262144)],
    ["mixed binary 200 KB", mixed], ["noise 100 B", noise(100)], ["noise 64 KB", noise(65536)], ["noise 256 KB", noise(262144)]];
}
async function run(url) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const queue = []; let waiter = null;
  ws.onmessage = (e) => { if (waiter) { const w = waiter; waiter = null; w(e.data); } else queue.push(e.data); };
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error("open failed")); });
  const next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise((ok) => (waiter = ok));
  const same = (a, b) => {
    if (typeof a === "string") return a === b;
    if (!(b instanceof ArrayBuffer)) return false;
    const y = new Uint8Array(b);
    return a.length === y.length && a.every((v, i) => v === y[i]);
  };
  const echoes = {};
  for (const [name, data] of messages()) { ws.send(data); echoes[name] = same(data, await next()); }
  ws.send("__stats__");
  const stats = JSON.parse(await next());
  const extension = ws.extensions;
  ws.close(1000);
  return { extension, echoes, stats };
}
</script>`;
