// The core in Chromium: mod.ts bundled (esbuild, neutral platform) into a classic script inlined
// in a page served on loopback; the page runs a whole client/server exchange in memory and the
// test reads the result. Debian's Chromium, driven by playwright-core (tests/_browser.ts). The
// test runs on the Node host only: what it proves is about the browser.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hasChromium, launchChromium, servePage } from "./_browser.ts";
import { bundleCore, type EdgeReport, HOST } from "./edge/_bundle.ts";

const REQUIRE_PEERS = process.env.CI === "true" || process.env.OMNIWS_REQUIRE_PEERS === "1";

const skip = HOST !== "node"
  ? "driven from the Node host only"
  : !hasChromium() && !REQUIRE_PEERS
  ? "chromium is not installed"
  : false;

describe("the core in Chromium from a bundle (runs on the Node host only)", { skip }, () => {
  test(
    "a page runs a client/server exchange in memory (RFC 6455 and hixie-76) from the bundled core",
    {
      timeout: 120_000,
    },
    async () => {
      const code = await bundleCore({
        code: "export { report };",
        format: "iife",
        globalName: "omniwsEdge",
      });
      assert.ok(!code.includes("</script"), "the bundle can be inlined in a script element");
      const page = await servePage(
        `<!doctype html><meta charset="utf-8"><title>omniws bundle</title><script>${code}</script>`,
      );
      const browser = await launchChromium();
      try {
        const tab = await browser.browser.newPage();
        await tab.goto(page.url);
        const report = await tab.evaluate("omniwsEdge.report()") as EdgeReport;
        assert.deepEqual(report.failures, []);
        assert.equal(report.passed.length, 10);
        assert.match(report.userAgent, /Chrome\//);
        assert.equal(report.globals.process, "undefined");
        assert.equal(report.globals.require, "undefined");
      } finally {
        await browser.close();
        await page.close();
      }
    },
  );
});
