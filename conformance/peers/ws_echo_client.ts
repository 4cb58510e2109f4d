/**
 * Calibration peer: the `ws` (npm) client as an echo client for the fuzzing server, run by Node:
 * `ws_echo_client.ts ws://127.0.0.1:PORT AGENT`. Runs /getCaseCount, every /runCase, then
 * /updateReports, one case at a time, as Autobahn's client drivers do. DEFLATE=1 turns ws's
 * perMessageDeflate on (its own default offer, threshold 0) for groups 12 and 13.
 *
 * @module
 */

import process from "node:process";
import WebSocket from "ws";

const [base, agent] = process.argv.slice(2);
if (base === undefined || agent === undefined) {
  console.error("Usage: ws_echo_client.ts ws://127.0.0.1:PORT AGENT");
  process.exit(2);
}

function session(url: string, echo: boolean): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const ws = new WebSocket(url, {
      maxPayload: 64 * 1024 * 1024,
      perMessageDeflate: process.env.DEFLATE === "1" ? { threshold: 0 } : false,
    });
    const limit = setTimeout(() => ws.terminate(), 120_000);
    ws.on("error", () => {});
    ws.on("message", (data: Uint8Array, isBinary: boolean) => {
      if (!isBinary) got.push(new TextDecoder().decode(data));
      if (echo) ws.send(data, { binary: isBinary });
    });
    ws.on("close", () => {
      clearTimeout(limit);
      resolve(got);
    });
  });
}

const count = Number((await session(`${base}/getCaseCount`, false))[0]);
for (let n = 1; n <= count; n++) {
  await session(`${base}/runCase?case=${n}&agent=${encodeURIComponent(agent)}`, true);
}
await session(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, false);
process.exit(0);
