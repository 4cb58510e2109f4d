// The npm package as a user gets it, checked by scripts/verify_npm.ts: built from deno.json's
// exports by npm_build.ts, packed, installed from the tarball into a scratch project, then run on
// the machine's Node (20), the pinned Node 24, Bun and Deno, and type-checked as a consumer. The
// whole check runs once, under Deno (it starts the other runtimes itself); on Node and Bun the
// suite is skipped. About a minute.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";

const IS_DENO = "Deno" in globalThis;

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

interface Report {
  tarball: { name: string; size: number; unpackedSize: number; files: string[] };
  checks: Check[];
}

describe(
  "npm package, built, packed and installed (runs under Deno only; starts Node 20, Node 24, Bun)",
  {
    skip: IS_DENO ? false : "runs once, under Deno",
  },
  () => {
    let report: Report;
    const matching = (pattern: RegExp): Check[] =>
      report.checks.filter((c) => pattern.test(c.name));
    const assertAll = (checks: Check[], expected: number) => {
      const failed = checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      assert.deepEqual(failed, []);
      assert.ok(
        checks.length >= expected,
        `expected ${expected} checks, got ${checks.map((c) => c.name).join("; ")}`,
      );
    };

    before(async () => {
      const { verifyNpm } = await import("../scripts/verify_npm.ts");
      report = await verifyNpm({ log: (line) => console.log(line) });
    });

    test("the build succeeds and its package.json exports exactly deno.json's exports", () => {
      assertAll(matching(/^build /), 1);
    });

    test("the tarball holds only compiled modules, declarations, package.json, README and LICENSE (under 200 KB)", () => {
      assertAll(matching(/^npm pack/), 1);
      assert.ok(report.tarball.size < 200_000, `the tarball is ${report.tarball.size} bytes`);
      assert.ok(
        report.tarball.files.includes("package.json") && report.tarball.files.includes("mod.js"),
      );
      assert.ok(
        report.tarball.files.includes("mod.d.ts") && report.tarball.files.includes("cjs/mod.js"),
      );
    });

    test("installing the tarball brings no other package", () => {
      assertAll(matching(/^npm install/), 1);
    });

    test("import and require() of every export load and run the in-memory exchange on Node 20, Node 24, Bun and Deno", () => {
      const runs = matching(/every export, in-memory exchange/);
      assertAll(runs, 8);
      // The machine's Node is 20 on this kind of machine; the pinned one from npm is 24.
      for (
        const runtime of [
          /^machine's node \(node 20\./,
          /^node \(npm\) \(node 24\./,
          /^bun /,
          /^deno /,
        ]
      ) {
        assert.equal(
          runs.filter((c) => runtime.test(c.name)).length,
          2,
          `import and require on ${runtime}`,
        );
      }
    });

    test("the core test suite passes against the installed package on Node 20, Node 24 and Bun", () => {
      assertAll(matching(/core suite/), 3);
    });

    test("a strict TypeScript consumer type-checks against the shipped declarations (nodenext ESM + CJS, bundler + DOM, ES2022 only)", () => {
      assertAll(matching(/^tsc /), 3);
    });
  },
);
