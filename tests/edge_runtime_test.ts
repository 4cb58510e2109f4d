// The core inside Vercel's edge-runtime (npm `edge-runtime`, the Edge Functions sandbox): the
// bundle of mod.ts is the runtime's initial code, a fetch listener runs a whole client/server
// exchange in memory and answers with the result, served by edge-runtime's own server on a
// loopback port. The sandbox has the web platform's globals and none of Node's. The test runs on
// the Node host only (edge-runtime is a Node library built on node:vm).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bundleCore, type EdgeReport, HOST } from "./edge/_bundle.ts";

const FUNCTION = `
addEventListener("fetch", (event) => {
  event.respondWith(new Response(JSON.stringify(report()), { headers: { "content-type": "application/json" } }));
});
`;

describe("the core in Vercel's edge-runtime (runs on the Node host only)", {
  skip: HOST !== "node" ? "driven from the Node host only" : false,
}, () => {
  test(
    "an edge function runs a client/server exchange in memory (RFC 6455 and hixie-76) and answers on fetch",
    {
      timeout: 60_000,
    },
    async () => {
      const { EdgeRuntime, runServer } = await import("edge-runtime");
      const code = await bundleCore({ code: FUNCTION, format: "iife" });
      const runtime = new EdgeRuntime({ initialCode: code });
      const server = await runServer({ runtime, port: 0, host: "127.0.0.1" });
      try {
        const response = await fetch(server.url, { signal: AbortSignal.timeout(30_000) });
        assert.equal(response.status, 200);
        const report = await response.json() as EdgeReport;
        assert.deepEqual(report.failures, []);
        assert.equal(report.passed.length, 10);
        assert.equal(report.globals.process, "undefined", "no Node globals in the sandbox");
        assert.equal(report.globals.require, "undefined");
        assert.equal(report.globals.Buffer, "undefined");
      } finally {
        await server.close();
      }
    },
  );
});
