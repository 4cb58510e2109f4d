/**
 * The layering rules of this repository, as code: which folder may import which. Run by
 * `deno task ok` (and so by CI); prints each import that breaks a rule and exits 1.
 *
 * The library is a stack, each layer importing only itself and the layers below it:
 *
 * | folder        | may import                                                          |
 * |---------------|---------------------------------------------------------------------|
 * | `framing/`    | `framing/`                                                          |
 * | `handshake/`  | `handshake/`, `framing/`                                            |
 * | `core/`       | `core/`, `handshake/`, `framing/`                                   |
 * | `extensions/` | `extensions/`, `core/`, `handshake/`, `framing/`                    |
 * | `mod.ts`      | `core/`, `handshake/`, `framing/` (never an adapter)                |
 * | `adapters/`   | the library, and `node:*` built-ins in `adapters/node.ts` only      |
 *
 * Library code imports nothing outside the repository but those `node:` built-ins: the package
 * has no runtime dependencies. Programs built on the library — `examples/`, `bench/`,
 * `conformance/` — import it through its public entry points (deno.json's `exports`) only, as
 * a user would; a benchmark that measures an internal piece names it in {@linkcode INTERNALS}
 * with the reason. `tests/` and `scripts/` may import anything.
 *
 * Usage: deno run --allow-read scripts/check_layers.ts
 *
 * @module
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The library's layers and what each may import (folders end with a slash). */
const LAYERS: Record<string, readonly string[]> = {
  "framing/": ["framing/"],
  "handshake/": ["handshake/", "framing/"],
  "core/": ["core/", "handshake/", "framing/"],
  "extensions/": ["extensions/", "core/", "handshake/", "framing/"],
  "mod.ts": ["core/", "handshake/", "framing/"],
  "adapters/": ["adapters/", "extensions/", "core/", "handshake/", "framing/"],
};

/** The one library file that may use Node's built-ins. */
const NODE_BUILTINS_ALLOWED = new Set(["adapters/node.ts"]);

/** Programs that use the library as a user would: public entry points only. */
const PROGRAMS = ["examples/", "bench/", "conformance/"];

/** Program files that measure an internal piece on purpose, and which pieces. */
const INTERNALS: Record<string, { modules: readonly string[]; why: string }> = {
  "bench/deflate_bench.ts": {
    modules: ["extensions/_deflate.ts", "extensions/_inflate.ts"],
    why: "compares the raw DEFLATE codec with node:zlib",
  },
  "bench/conn_memory.ts": {
    modules: ["adapters/_session.ts", "adapters/_driver.ts", "core/server.ts"],
    why: "measures the heap one server session keeps, without a runtime's socket",
  },
  "bench/framing_bench.ts": {
    modules: ["framing/rfc6455.ts", "framing/_utf8.ts"],
    why: "compares the frame parser and writer with ws's Receiver and Sender",
  },
  "bench/bounds_bench.ts": {
    modules: ["handshake/http.ts", "handshake/hixie76.ts"],
    why: "times the handshake parsers on pathological input (bounds kept out of the unit tests)",
  },
  "bench/parser_bench.ts": {
    modules: ["framing/rfc6455.ts"],
    why: "benchmarks the frame parser alone",
  },
};

interface Problem {
  file: string;
  line: number;
  specifier: string;
  why: string;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

function publicEntryPoints(): Set<string> {
  const config = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  return new Set(Object.values(config.exports).map((p) => p.replace(/^\.\//, "")));
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(join(ROOT, d))) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const rel = d === "" ? name : `${d}/${name}`;
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith(".ts")) out.push(rel);
    }
  };
  walk(dir);
  return out;
}

/** The layer a repository path belongs to, or null. */
function layerOf(path: string): string | null {
  if (path === "mod.ts") return "mod.ts";
  for (const layer of Object.keys(LAYERS)) if (path.startsWith(layer)) return layer;
  return null;
}

function importsOf(file: string): Array<{ specifier: string; line: number }> {
  const text = readFileSync(join(ROOT, file), "utf8");
  // Imports inside comments (doc examples) are not imports.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`])\/\/[^\n]*/g, (c, p: string) => p + " ".repeat(c.length - p.length));
  const found: Array<{ specifier: string; line: number }> = [];
  for (const m of code.matchAll(IMPORT)) {
    const specifier = m[1] ?? m[2] ?? m[3];
    const at = m.index + m[0].indexOf(specifier);
    const line = code.slice(0, at).split("\n").length;
    found.push({ specifier, line });
  }
  return found;
}

function check(): Problem[] {
  const problems: Problem[] = [];
  const entries = publicEntryPoints();
  const library = ["mod.ts", ...Object.keys(LAYERS).filter((l) => l.endsWith("/"))];
  const files = [
    ...library.flatMap((l) => (l.endsWith("/") ? tsFiles(l.slice(0, -1)) : [l])),
    ...PROGRAMS.flatMap((p) => tsFiles(p.slice(0, -1))),
  ];
  for (const file of files) {
    const layer = layerOf(file);
    for (const { specifier, line } of importsOf(file)) {
      const report = (why: string) => problems.push({ file, line, specifier, why });
      if (!specifier.startsWith(".")) {
        if (layer === null) continue; // programs may use npm packages and built-ins
        if (specifier.startsWith("node:") && NODE_BUILTINS_ALLOWED.has(file)) continue;
        report("library code imports nothing from outside the repository");
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
      const targetLayer = layerOf(target);
      if (layer !== null) {
        if (targetLayer === null || !LAYERS[layer].includes(targetLayer)) {
          report(`${layer} may import only ${LAYERS[layer].join(", ")}`);
        }
        continue;
      }
      // A program: public entry points, its own folder, tests' helpers for benchmarks.
      if (targetLayer === null) continue;
      if (entries.has(target)) continue;
      if (INTERNALS[file]?.modules.includes(target)) continue;
      report("programs import the library through its public entry points (deno.json exports)");
    }
  }
  return problems;
}

const problems = check();
for (const p of problems) console.error(`${p.file}:${p.line}: "${p.specifier}": ${p.why}`);
if (problems.length > 0) {
  console.error(`check_layers: ${problems.length} import(s) break the layering rules`);
  process.exit(1);
}
console.log("check_layers: every import follows the layering rules");
