// The Autobahn-equivalent conformance suite (conformance/) in CI: the fast groups (1-7 and 10,
// 247 cases) against the omniws echo servers on Deno, Node and Bun (fuzzing client, which runs on
// the runtime running this file) and against the omniws client on this runtime (fuzzing server,
// in-process). Every verdict must equal
// the one pinned in conformance/expected.json; the long group 9 runs in `deno task conformance:long`.
// Loopback only; every case is bounded by its own timers and a hard cap.
// Groups 12 and 13 (permessage-deflate) run as a CI subset: every subgroup (5 corpora, 7
// parameter sets) at four of the 18 rows (16 B, 4 KiB, 128 KiB in one frame, 128 KiB in 256-byte
// frames), 3 messages each, against the deflate-enabled omniws servers and the omniws client;
// every verdict must be OK. `deno task conformance:deflate` runs all 216 cases.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runFuzzingClient } from "../conformance/fuzz_client.ts";
import { startFuzzingServer } from "../conformance/fuzz_server.ts";
import type { CaseResult } from "../conformance/model.ts";
import { diffExpected, formatTable, readExpected } from "../conformance/report.ts";
import { EXPECTED_PATH, selectCases } from "../conformance/run.ts";
import { SERVERS, startServerProcess } from "../conformance/targets.ts";
import { runAutobahnClient } from "../conformance/clients/omniws_echo_client.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const cases = selectCases(null, false);
/** Rows 1, 5, 10 and 15 of upstream's MSG_SIZES in every 12.x and 13.x subgroup. */
const deflateCases = selectCases(
  "12.*.1,12.*.5,12.*.10,12.*.15,13.*.1,13.*.5,13.*.10,13.*.15",
  false,
  false,
  true,
);
const DEFLATE_COUNT = 3;
const expected = readExpected(EXPECTED_PATH);
/** Waits are a quarter of Autobahn's (loopback answers in microseconds); 8 cases at a time. */
const TIME_SCALE = 0.25;
const CONCURRENCY = 8;

function check(name: string, results: CaseResult[]): void {
  const target = { name, description: "", results };
  const diffs = diffExpected(expected, target);
  assert.equal(results.length, cases.length);
  assert.deepEqual(
    diffs,
    [],
    `verdicts differ from conformance/expected.json:\n${diffs.join("\n")}\n\n${
      formatTable([target])
    }`,
  );
}

describe("conformance (Autobahn groups 1-7, 10)", () => {
  for (const name of ["omniws-deno", "omniws-node", "omniws-bun"]) {
    const target = SERVERS[name];
    test(`${target.description} matches the pinned verdicts of all ${cases.length} cases`, {
      timeout: 90_000,
    }, async () => {
      const server = await startServerProcess(target.command());
      try {
        const results = await runFuzzingClient({
          url: server.url,
          cases,
          timeScale: TIME_SCALE,
          concurrency: CONCURRENCY,
        });
        check(`server:${name}`, results);
      } finally {
        await server.stop();
      }
    });
  }

  test(`the omniws client on ${runtime} matches the pinned verdicts of all ${cases.length} cases`, {
    timeout: 90_000,
  }, async () => {
    const fuzzer = await startFuzzingServer({ cases, timeScale: TIME_SCALE });
    try {
      const agent = `omniws-${runtime}`;
      await runAutobahnClient(fuzzer.url, agent, CONCURRENCY);
      assert.equal(
        await fuzzer.waitForAgent(agent, 5_000),
        true,
        "the client finished the case loop",
      );
      check(`client:${agent}`, fuzzer.resultsFor(agent));
    } finally {
      await fuzzer.close();
    }
  });
});

function checkAllOk(name: string, results: CaseResult[]): void {
  assert.equal(results.length, deflateCases.length);
  const bad = results.filter((r) => r.verdict !== "OK").map((r) =>
    `${r.id}: ${r.verdict} - ${r.reason}`
  );
  assert.deepEqual(bad, [], `${name}: not OK:\n${bad.join("\n")}`);
}

describe("conformance (Autobahn groups 12, 13: permessage-deflate, CI subset)", () => {
  for (const name of ["omniws-deno-deflate", "omniws-node-deflate", "omniws-bun-deflate"]) {
    const target = SERVERS[name];
    test(`${target.description}: all ${deflateCases.length} cases OK`, {
      timeout: 90_000,
    }, async () => {
      const server = await startServerProcess(target.command());
      try {
        const results = await runFuzzingClient({
          url: server.url,
          cases: deflateCases,
          concurrency: 4,
          deflate: { count: DEFLATE_COUNT },
        });
        checkAllOk(`server:${name}`, results);
      } finally {
        await server.stop();
      }
    });
  }

  test(`the omniws client on ${runtime}, offering per case: all ${deflateCases.length} cases OK`, {
    timeout: 90_000,
  }, async () => {
    const fuzzer = await startFuzzingServer({
      cases: deflateCases,
      deflate: { count: DEFLATE_COUNT },
    });
    try {
      const agent = `omniws-${runtime}`;
      await runAutobahnClient(fuzzer.url, agent, 4, true);
      assert.equal(await fuzzer.waitForAgent(agent, 5_000), true, "the client finished the loop");
      checkAllOk(`client:${agent}`, fuzzer.resultsFor(agent));
    } finally {
      await fuzzer.close();
    }
  });
});
