/**
 * A runtime's native WHATWG `WebSocket` (Deno, Node 24's global, Bun) as a client of the omniws
 * interop server: `whatwg_interop_client.ts ws://127.0.0.1:PORT/`, under any of the three. Prints
 * one JSON report (conformance/interop.ts, ClientReport). The standard API has no ping and cannot
 * send invalid UTF-8: `pong` is null when the runtime offers no ping (Bun's `ping()` is used),
 * and the invalid UTF-8 check is left out.
 *
 * @module
 */

// deno-lint-ignore-file no-explicit-any
const url = (globalThis as any).Deno?.args[0] ?? (globalThis as any).process.argv[2];
const LARGE = 1024 * 1024;
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

interface Conn {
  ws: WebSocket;
  messages: Array<string | ArrayBuffer>;
  waiters: Array<() => void>;
  closed: Promise<{ code: number; reason: string }>;
}

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    const conn: Conn = { ws, messages: [], waiters: [], closed: null as any };
    conn.closed = new Promise((r) =>
      ws.addEventListener("close", (e) => r({ code: e.code, reason: e.reason }))
    );
    ws.onmessage = (e) => {
      conn.messages.push(e.data);
      for (const w of conn.waiters.splice(0)) w();
    };
    ws.onopen = () => resolve(conn);
    ws.onerror = () => reject(new Error("connection failed"));
  });
}

async function next(c: Conn): Promise<string | ArrayBuffer> {
  const deadline = Date.now() + 10_000;
  while (c.messages.length === 0) {
    if (Date.now() > deadline) throw new Error("no message within 10 s");
    await new Promise<void>((r) => {
      c.waiters.push(r);
      setTimeout(r, 50);
    });
  }
  return c.messages.shift()!;
}

const bounded = <T>(p: Promise<T>): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error("timed out")), 10_000)),
  ]);

const out: Record<string, unknown> = { echo: {} };
const echo = out.echo as Record<string, boolean>;
let c = await open();
const checks: Array<[string, string | Uint8Array]> = [
  ["text", "Hello, wörld ✓"],
  ["binary", pattern(256)],
  ["empty_text", ""],
  ["empty_binary", new Uint8Array(0)],
  ["large_text", "a".repeat(LARGE)],
  ["large_binary", pattern(LARGE)],
];
for (const [name, data] of checks) {
  c.ws.send(data as any);
  const m = await next(c);
  echo[name] = typeof data === "string"
    ? m === data
    : m instanceof ArrayBuffer && same(new Uint8Array(m), data);
}
const ws: any = c.ws;
if (typeof ws.ping === "function" && "Bun" in globalThis) {
  const pong = new Promise<boolean>((resolve) => ws.addEventListener("pong", () => resolve(true)));
  ws.ping("bun-ping");
  out.pong = await bounded(pong);
} else {
  out.pong = null;
}
c.ws.send("ping-me");
out.serverPing = (await next(c)) === "pinged";
c.ws.close(1000);
out.cleanClose = await bounded(c.closed);

c = await open();
c.ws.send("close-4000");
out.serverClose = await bounded(c.closed);

c = await open();
c.ws.send(new Uint8Array(3 * LARGE));
out.tooBig = await bounded(c.closed);
console.log(JSON.stringify(out));
(globalThis as any).Deno?.exit(0) ?? (globalThis as any).process.exit(0);
