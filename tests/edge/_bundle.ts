/**
 * Bundles the core (`mod.ts`, no adapter) with the exchange scenario of `exchange.ts` into one
 * script for a runtime that cannot load the sources itself (workerd, edge-runtime, a browser
 * page), with esbuild for the `neutral` platform: a Node built-in or a package import anywhere in
 * the core would fail the bundle.
 * @module
 */

import { build } from "esbuild";
import { fileURLToPath } from "node:url";

/** The repository root, ending with `/`. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The prelude every bundle starts with: `omniws` (the namespace of mod.ts) and `report()`, which
 * runs the exchange and adds what the runtime looks like (its user agent and which runtime globals
 * exist), so a test can assert it really ran in a runtime without Node's or Deno's globals.
 */
const PRELUDE = `
import * as omniws from ${JSON.stringify(`${ROOT}mod.ts`)};
import { runExchange } from ${JSON.stringify(`${ROOT}tests/edge/exchange.ts`)};
function report() {
  const result = runExchange(omniws);
  return {
    ...result,
    userAgent: typeof navigator === "object" && navigator !== null ? String(navigator.userAgent) : "",
    // Read off globalThis: a bare \`typeof require\` would see esbuild's shim.
    globals: Object.fromEntries(
      ["process", "Buffer", "require", "Deno", "Bun"].map((name) => [name, typeof globalThis[name]]),
    ),
  };
}
`;

/** What {@linkcode bundleCore} accepts. */
export interface BundleOptions {
  /** Code after the prelude; it may use `omniws`, `report()` and its own imports. */
  code: string;
  /** `esm` for module workers, `iife` for plain scripts. */
  format: "esm" | "iife";
  /** For `iife`: the global that receives the code's exports. */
  globalName?: string;
  /** Imports left to the runtime, e.g. `cloudflare:sockets`. */
  external?: string[];
}

/** The summary `report()` returns. */
export interface EdgeReport {
  passed: string[];
  failures: string[];
  userAgent: string;
  globals: Record<string, string>;
}

/**
 * Bundle the prelude and `code` into one script.
 * @param options The code, the output format and what to leave external.
 * @returns The bundled JavaScript.
 */
export async function bundleCore(options: BundleOptions): Promise<string> {
  const result = await build({
    stdin: {
      contents: PRELUDE + options.code,
      resolveDir: ROOT,
      loader: "ts",
      sourcefile: "edge_entry.ts",
    },
    bundle: true,
    write: false,
    format: options.format,
    platform: "neutral",
    target: "es2022",
    logLevel: "silent",
    ...(options.globalName === undefined ? {} : { globalName: options.globalName }),
    external: options.external ?? [],
  });
  return result.outputFiles[0]!.text;
}

/** Which runtime runs this test file. */
export const HOST: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";
