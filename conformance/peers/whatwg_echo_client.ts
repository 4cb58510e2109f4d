/**
 * A runtime's native WHATWG `WebSocket` (Deno, Node 24, Bun) as an echo client for the fuzzing
 * server: `whatwg_echo_client.ts ws://127.0.0.1:PORT AGENT`, under any of the three. Runs
 * /getCaseCount, every /runCase, then /updateReports, one case at a time.
 *
 * @module
 */

// deno-lint-ignore-file no-explicit-any
const args: string[] = (globalThis as any).Deno?.args ?? (globalThis as any).process.argv.slice(2);
const [base, agent] = args;

function session(url: string, echo: boolean): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    const limit = setTimeout(() => ws.close(), 120_000);
    ws.onmessage = (e) => {
      if (typeof e.data === "string") got.push(e.data);
      if (echo) ws.send(e.data);
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      clearTimeout(limit);
      resolve(got);
    };
  });
}

const count = Number((await session(`${base}/getCaseCount`, false))[0]);
for (let n = 1; n <= count; n++) {
  await session(`${base}/runCase?case=${n}&agent=${encodeURIComponent(agent)}`, true);
}
await session(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, false);
(globalThis as any).Deno?.exit(0) ?? (globalThis as any).process.exit(0);
