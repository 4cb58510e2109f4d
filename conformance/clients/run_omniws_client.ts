/**
 * CLI for the omniws echo client under test, run by Deno, Node or Bun:
 * `run_omniws_client.ts ws://127.0.0.1:PORT AGENT [CONCURRENCY]`.
 *
 * @module
 */

import process from "node:process";
import { runAutobahnClient } from "./omniws_echo_client.ts";

const [base, agent, concurrency] = process.argv.slice(2);
if (base === undefined || agent === undefined) {
  console.error("Usage: run_omniws_client.ts ws://127.0.0.1:PORT AGENT [CONCURRENCY]");
  process.exit(2);
}
await runAutobahnClient(base, agent, Number(concurrency ?? 1));
process.exit(0);
