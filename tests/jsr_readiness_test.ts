// JSR readiness, checked with the Deno that runs the tests: `deno publish --dry-run` (which also
// finds slow types) passes, every exported module has a `@module` doc, `deno doc --lint` finds no
// problem but the adapters' known private type references, and the examples in the docs of
// every published module run under `deno test --doc`. Deno only; skipped on Node and Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const IS_DENO = "Deno" in globalThis;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface DenoApi {
  execPath(): string;
  Command: new (cmd: string, options: Record<string, unknown>) => {
    output(): Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }>;
  };
}

async function deno(args: string[]): Promise<{ code: number; output: string }> {
  const api = (globalThis as unknown as { Deno: DenoApi }).Deno;
  const out = await new api.Command(api.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    signal: AbortSignal.timeout(300_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  // deno-lint-ignore no-control-regex
  return { code: out.code, output: text.replace(/\x1b\[[0-9;]*m/g, "") };
}

function exportFiles(): string[] {
  const config = JSON.parse(readFileSync(`${ROOT}deno.json`, "utf8")) as {
    exports: string | Record<string, string>;
  };
  const exports = typeof config.exports === "string" ? { ".": config.exports } : config.exports;
  return Object.values(exports).map((p) => p.replace(/^\.\//, ""));
}

describe(
  "JSR readiness (runs under Deno only)",
  { skip: IS_DENO ? false : "needs the deno CLI" },
  () => {
    test("deno publish --dry-run passes, with no slow types", { timeout: 300_000 }, async () => {
      const { code, output } = await deno(["publish", "--dry-run", "--allow-dirty"]);
      assert.equal(code, 0, output);
      assert.match(output, /Dry run complete/);
      // It prints "Checking for slow types..." and then any problem as an error[...] block.
      assert.match(output, /Checking for slow types/);
      assert.doesNotMatch(output, /^(error|warning)\[/m);
    });

    test("every exported module opens with a @module doc", () => {
      for (const file of exportFiles()) {
        const text = readFileSync(`${ROOT}${file}`, "utf8");
        assert.match(text, /^\/\*\*[\s\S]*?@module[\s\S]*?\*\//, `${file} has no @module doc`);
      }
    });

    test("deno doc --lint is clean on every export", { timeout: 300_000 }, async () => {
      const all = await deno(["doc", "--lint", ...exportFiles()]);
      assert.equal(all.code, 0, all.output);
    });

    test("the examples in the docs of every published module run (deno test --doc)", {
      timeout: 300_000,
    }, async () => {
      const { code, output } = await deno([
        "test",
        "--doc",
        "-A",
        "--no-prompt",
        "mod.ts",
        "core/",
        "framing/",
        "handshake/",
        "adapters/",
      ]);
      assert.equal(code, 0, output);
      assert.match(output, /ok \| \d+ passed/);
    });
  },
);
