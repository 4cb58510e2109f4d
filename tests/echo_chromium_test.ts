// Chromium's native WebSocket against the echo server (examples/echo_server.ts on Deno).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { bin, REQUIRE_PEERS, type RunningServer, startServer } from "./_servers.ts";
import { hasChromium, launchChromium, servePage } from "./_browser.ts";

const PAGE = `<!doctype html><meta charset="utf-8"><title>echo</title><script>
async function run(url) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const queue = [];
  let waiter = null;
  ws.onmessage = (e) => { if (waiter) { const w = waiter; waiter = null; w(e.data); } else queue.push(e.data); };
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error("open failed")); });
  const next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise((ok) => (waiter = ok));
  const results = {};
  const same = (a, b) => {
    if (typeof a === "string") return a === b;
    const x = new Uint8Array(a), y = new Uint8Array(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  };
  const cases = { text: "Hello, wörld ✓", empty_text: "", empty_binary: new Uint8Array(0).buffer };
  for (const n of [125, 126, 65535, 65536, 16 * 1024 * 1024]) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255;
    cases["binary_" + n] = b.buffer;
    cases["text_" + n] = "é".repeat(n >> 1);
  }
  for (const [name, data] of Object.entries(cases)) {
    ws.send(data);
    const back = await next();
    results[name] = typeof back === typeof data && same(data, back);
  }
  const closed = new Promise((ok) => (ws.onclose = (e) => ok({ code: e.code, reason: e.reason, wasClean: e.wasClean })));
  ws.close(4000, "bye");
  results.close = await closed;
  return results;
}
</script>`;

describe("echo server with Chromium", {
  skip: !hasChromium() && !REQUIRE_PEERS ? "chromium is not installed" : false,
}, () => {
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

  test(
    "Chromium echoes text, binary, empty, 125..65536-byte and 16 MiB messages and closes with 4000",
    { timeout: 120_000 },
    async () => {
      const page = await servePage(PAGE);
      const browser = await launchChromium();
      try {
        const tab = await browser.browser.newPage();
        await tab.goto(page.url);
        const results = await tab.evaluate(`run("ws://127.0.0.1:${server.port}/")`);
        const { close, ...echo } = results as Record<string, unknown>;
        assert.equal(Object.keys(echo).length, 13);
        for (const [name, ok] of Object.entries(echo)) assert.equal(ok, true, `echo of ${name}`);
        assert.deepEqual(close, { code: 4000, reason: "", wasClean: true });
      } finally {
        await browser.close();
        await page.close();
      }
    },
  );
});
