/**
 * CLI for the omniws echo client under test, run by Deno, Node or Bun:
 * `run_omniws_client.ts ws://127.0.0.1:PORT AGENT [CONCURRENCY] [deflate]`; with `deflate`, each
 * case's permessage-deflate offer comes from the fuzzing server's `/getCaseInfo`.
 *
 * @module
 */

import process from "node:process";
import { runAutobahnClient } from "./omniws_echo_client.ts";

const [base, agent, concurrency, mode] = process.argv.slice(2);
if (base === undefined || agent === undefined) {
  console.error("Usage: run_omniws_client.ts ws://127.0.0.1:PORT AGENT [CONCURRENCY] [deflate]");
  process.exit(2);
}
await runAutobahnClient(base, agent, Number(concurrency ?? 1), mode === "deflate");
process.exit(0);
