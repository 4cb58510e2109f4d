/**
 * Verifies the npm package as a user gets it: builds it (npm_build.ts) into a temporary folder,
 * packs it with `npm pack`, installs the tarball into a scratch project and runs, against the
 * INSTALLED package:
 *
 * - a smoke test through the public exports, once with `import` (`smoke.mjs`) and once with
 *   `require()` (`smoke.cjs`): every `deno.json` export loads, and the in-memory client/server
 *   exchange of tests/edge/exchange.ts passes — on the machine's Node (20), the pinned Node 24,
 *   Bun and Deno;
 * - the core test suite: every tests/*_test.ts that needs nothing but the core (no sockets, no
 *   child processes), transpiled with its `../x.ts` imports pointed at the installed package's
 *   `x.js` files — on Node 20, Node 24 and Bun;
 * - a TypeScript consumer type-checked with `tsc --noEmit --strict` against the shipped `.d.ts`:
 *   as a Node user (`nodenext`, ESM and CommonJS files, `@types/node`), as a bundler/browser user
 *   (`bundler`, DOM lib), and the core export alone with nothing but the ES2022 lib.
 *
 * It also fails when the tarball holds anything but the compiled modules, their declarations,
 * package.json, README.md and LICENSE, or when installing it brings any other package.
 *
 * Usage: deno run -A scripts/verify_npm.ts [--keep] [--no-suite]
 *
 * @module
 */

import ts from "typescript";
import {
  analyzeSources,
  buildNpm,
  denoExports,
  type DenoJson,
  specifierTransformer,
} from "../npm_build.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

/** Test files' imports allowed in the core suite run against the package, besides `../x.ts`. */
const SUITE_IMPORTS = new Set([
  "node:test",
  "node:assert",
  "node:assert/strict",
  "node:crypto",
  "fast-check",
  "./_helpers.ts",
]);

/** Every external command gets at most this long. */
const COMMAND_TIMEOUT_MS = 180_000;

/** Options of {@linkcode verifyNpm}. */
export interface VerifyOptions {
  /** Keep the temporary folder (its path is printed). */
  keep?: boolean;
  /** Also run the core test suite against the installed package. Default true. */
  suite?: boolean;
  /** Progress output. Default `console.log`. */
  log?: (line: string) => void;
}

/** The outcome of one check. */
export interface CheckResult {
  /** What was checked, e.g. `node 20.20.2: import`. */
  name: string;
  ok: boolean;
  /** Failure details or counts. */
  detail: string;
  seconds: number;
}

/** What {@linkcode verifyNpm} found. */
export interface VerifyReport {
  /** The tarball's file name, packed size and unpacked size in bytes, and its files. */
  tarball: { name: string; size: number; unpackedSize: number; files: string[] };
  checks: CheckResult[];
  /** Whether every check passed. */
  ok: boolean;
  /** The temporary folder (removed unless `keep`). */
  dir: string;
}

interface Output {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<Output> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    timedOut,
  };
}

function describe(out: Output): string {
  const text = `${out.stdout}\n${out.stderr}`.trim();
  const tail = text.length > 4000 ? `...${text.slice(-4000)}` : text;
  return `${out.timedOut ? "timed out; " : ""}exit ${out.code}: ${tail}`;
}

/** The first `node` on PATH outside any node_modules/.bin: the machine's own Node. */
export function systemNode(): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "" || dir.includes("node_modules")) continue;
    try {
      const path = `${dir}/node`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not here.
    }
  }
  return null;
}

function transpile(
  source: string,
  fileName: string,
  module: ts.ModuleKind,
  rewrite: (s: string) => string,
): string {
  const result = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module,
      esModuleInterop: true,
      verbatimModuleSyntax: module !== ts.ModuleKind.CommonJS,
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
    },
    transformers: {
      before: [
        (context) => (sf) => {
          const f = context.factory;
          const visit = (node: ts.Node): ts.Node => {
            if (
              (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
              node.moduleSpecifier &&
              ts.isStringLiteral(node.moduleSpecifier)
            ) {
              const next = rewrite(node.moduleSpecifier.text);
              if (next !== node.moduleSpecifier.text) {
                return ts.isImportDeclaration(node)
                  ? f.updateImportDeclaration(
                    node,
                    node.modifiers,
                    node.importClause,
                    f.createStringLiteral(next),
                    node.attributes,
                  )
                  : f.updateExportDeclaration(
                    node,
                    node.modifiers,
                    node.isTypeOnly,
                    node.exportClause,
                    f.createStringLiteral(next),
                    node.attributes,
                  );
              }
            }
            return node;
          };
          return ts.visitEachChild(sf, visit, context);
        },
        specifierTransformer as ts.TransformerFactory<ts.SourceFile>,
      ],
    },
  });
  return result.outputText;
}

/** Source that reports which runtime runs it. */
const RUNTIME_NAME = `const runtime = typeof Bun !== "undefined" ? "bun " + Bun.version
  : typeof Deno !== "undefined" ? "deno " + Deno.version.deno : "node " + process.versions.node;`;

function smokeSource(format: "import" | "require", subpaths: string[]): string {
  const load = format === "import"
    ? (s: string) => `await import(${JSON.stringify(s)})`
    : (s: string) => `require(${JSON.stringify(s)})`;
  const lines = [
    format === "import"
      ? `import * as omniws from "omniws";\nimport { runExchange } from "./exchange.mjs";`
      : `const omniws = require("omniws");\nconst { runExchange } = require("./exchange.cjs");`,
    RUNTIME_NAME,
    `const failures = [];`,
    `const result = runExchange(omniws);`,
    `failures.push(...result.failures);`,
    `if (typeof omniws.ClientConnection !== "function") failures.push("no ClientConnection export");`,
    `const loaded = {};`,
  ];
  for (const sub of subpaths) {
    const spec = sub === "." ? "omniws" : `omniws/${sub.slice(2)}`;
    lines.push(
      `try { loaded[${JSON.stringify(spec)}] = Object.keys(${
        load(spec)
      }).length; } catch (e) { failures.push(${JSON.stringify(spec)} + ": " + e); }`,
    );
  }
  lines.push(
    `console.log(JSON.stringify({ runtime, format: ${
      JSON.stringify(format)
    }, passed: result.passed.length, loaded, failures }));`,
    `if (failures.length > 0) process.exitCode = 1;`,
  );
  return lines.join("\n") + "\n";
}

function consumerSource(subpaths: string[], cjs: boolean): string {
  const lines = [
    cjs ? `import omniws = require("omniws");` : `import * as omniws from "omniws";`,
    `import type { ClientOptions, ConnectionEvent, ServerOptions, UsageErrorCode } from "omniws";`,
    `const options: ClientOptions = { host: "example.com", path: "/chat", protocols: ["chat"] };`,
    `const serverOptions: ServerOptions = { maxMessageSize: 1024, versions: [13, "hixie-76"] };`,
    `const client = new omniws.ClientConnection(options);`,
    `const server = new omniws.ServerConnection(serverOptions);`,
    `for (const bytes of client.takeOutput()) server.receive(bytes);`,
    `const event: ConnectionEvent | null = server.nextEvent();`,
    `if (event !== null && event.type === "request") server.accept({ protocol: event.request.protocols[0] ?? "" });`,
    `if (event !== null && event.type === "message") {`,
    `  const data: string | Uint8Array = event.data;`,
    `  void data;`,
    `}`,
    `const state: "connecting" | "open" | "closing" | "closed" = client.state;`,
    `const code: UsageErrorCode | null = null;`,
    `const frames: Uint8Array[] = server.takeOutput();`,
    `void state, code, frames;`,
    `// @ts-expect-error: host is required`,
    `new omniws.ClientConnection({});`,
    `// @ts-expect-error: a string is no close code`,
    `client.close("1000");`,
  ];
  for (const [i, sub] of subpaths.entries()) {
    if (sub === ".") continue;
    const spec = `omniws/${sub.slice(2)}`;
    lines.push(
      cjs
        ? `import sub${i} = require(${JSON.stringify(spec)});`
        : `import * as sub${i} from ${JSON.stringify(spec)};`,
      `void sub${i};`,
    );
  }
  return lines.join("\n") + "\n";
}

const TSCONFIGS: Record<string, { files: string[]; compilerOptions: Record<string, unknown> }> = {
  // A Node user: nodenext resolution, an ES module and a CommonJS file, @types/node.
  "node (nodenext, ESM + CommonJS, @types/node)": {
    files: ["consumer.mts", "consumer.cts"],
    compilerOptions: {
      module: "nodenext",
      moduleResolution: "nodenext",
      lib: ["es2022"],
      types: ["node"],
    },
  },
  // A browser or bundler user: bundler resolution, the DOM lib, no Node types.
  "bundler (DOM lib, no @types/node; exports that import no node: built-ins)": {
    files: ["consumer_web.mts"],
    compilerOptions: {
      module: "esnext",
      moduleResolution: "bundler",
      lib: ["es2022", "dom"],
      types: [],
    },
  },
  // The core export alone needs nothing but the ES2022 lib (no DOM, no Node types).
  "core only (ES2022 lib, no other types)": {
    files: ["core_only.mts"],
    compilerOptions: {
      module: "nodenext",
      moduleResolution: "nodenext",
      lib: ["es2022"],
      types: [],
    },
  },
};

function parseSuiteCounts(output: string): { passed: number; failed: number } | null {
  // Node's TAP reporter: "# pass 12", "# fail 0"; Bun: " 12 pass", " 0 fail".
  const last = (re: RegExp) => {
    let n: number | null = null;
    for (const m of output.matchAll(re)) n = Number(m[1]);
    return n;
  };
  const tapPass = last(/^# pass (\d+)$/gm);
  const tapFail = last(/^# fail (\d+)$/gm);
  if (tapPass !== null && tapFail !== null) {
    return { passed: tapPass, failed: tapFail + (last(/^# cancelled (\d+)$/gm) ?? 0) };
  }
  const bunPass = last(/^ *(\d+) pass$/gm);
  const bunFail = last(/^ *(\d+) fail$/gm);
  if (bunPass !== null && bunFail !== null) {
    return { passed: bunPass, failed: bunFail + (last(/^ *(\d+) error$/gm) ?? 0) };
  }
  return null;
}

/**
 * Builds, packs, installs and checks the npm package.
 *
 * @param options What to keep and run.
 * @returns The tarball's size and files and the result of every check.
 */
export async function verifyNpm(options: VerifyOptions = {}): Promise<VerifyReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = Deno.makeTempDirSync({ prefix: "omniws-npm-" });
  const checks: CheckResult[] = [];
  const record = (name: string, ok: boolean, detail: string, started: number) => {
    const check = { name, ok, detail, seconds: (performance.now() - started) / 1000 };
    checks.push(check);
    log(
      `verify:npm: ${ok ? "ok  " : "FAIL"} ${name} (${check.seconds.toFixed(1)} s)${
        detail ? ` -- ${detail}` : ""
      }`,
    );
  };
  const report: VerifyReport = {
    tarball: { name: "", size: 0, unpackedSize: 0, files: [] },
    checks,
    ok: false,
    dir,
  };
  try {
    // 1. Build and pack.
    let started = performance.now();
    const pkgDir = `${dir}/package`;
    buildNpm({ root, out: pkgDir, verbose: false });
    record("build (npm_build.ts, export maps agree)", true, "", started);
    const deno = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)) as DenoJson;
    const subpaths = Object.keys(denoExports(deno));

    started = performance.now();
    const pack = await run(
      "npm",
      ["pack", "--json", "--pack-destination", dir, "--loglevel=error"],
      pkgDir,
    );
    if (pack.code !== 0) {
      record("npm pack", false, describe(pack), started);
      return report;
    }
    const info = JSON.parse(pack.stdout)[0] as {
      filename: string;
      size: number;
      unpackedSize: number;
      files: { path: string }[];
    };
    report.tarball = {
      name: info.filename,
      size: info.size,
      unpackedSize: info.unpackedSize,
      files: info.files.map((f) => f.path).sort(),
    };
    const unexpected = report.tarball.files.filter((f) =>
      !/^(package\.json|README\.md|LICENSE|cjs\/package\.json)$/.test(f) &&
        !/\.(js|d\.ts)$/.test(f) ||
      /(^|\/)(tests?|bench|examples|scripts|conformance)\//.test(f) || /_test\.|_bench\./.test(f)
    );
    record(
      `npm pack: ${info.filename}, ${info.size} bytes packed, ${info.unpackedSize} unpacked, ${info.files.length} files`,
      unexpected.length === 0,
      unexpected.length === 0 ? "" : `unexpected files: ${unexpected.join(", ")}`,
      started,
    );

    // 2. Install the tarball into a scratch project; nothing else may come with it.
    started = performance.now();
    const app = `${dir}/consumer`;
    Deno.mkdirSync(app);
    Deno.writeTextFileSync(
      `${app}/package.json`,
      JSON.stringify({ name: "omniws-consumer", version: "0.0.0", private: true }, null, 2),
    );
    const install = await run(
      "npm",
      [
        "install",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        `${dir}/${info.filename}`,
      ],
      app,
    );
    if (install.code !== 0) {
      record("npm install of the tarball", false, describe(install), started);
      return report;
    }
    const lock = JSON.parse(Deno.readTextFileSync(`${app}/package-lock.json`)) as {
      packages: Record<string, unknown>;
    };
    const installed = Object.keys(lock.packages).filter((k) => k !== "");
    record(
      "npm install of the tarball brings no dependencies",
      installed.length === 1 && installed[0] === "node_modules/omniws",
      `installed: ${installed.join(", ")}`,
      started,
    );

    // 3. The smoke test, as ES module and as CommonJS, on every runtime.
    const scenario = Deno.readTextFileSync(`${root}/tests/edge/exchange.ts`);
    Deno.writeTextFileSync(
      `${app}/exchange.mjs`,
      transpile(scenario, "exchange.ts", ts.ModuleKind.ESNext, (s) => s),
    );
    Deno.writeTextFileSync(
      `${app}/exchange.cjs`,
      transpile(scenario, "exchange.ts", ts.ModuleKind.CommonJS, (s) => s),
    );
    // Exports whose modules wait at the top level have no `require` condition (npm_build.ts).
    const installedPkg = JSON.parse(
      Deno.readTextFileSync(`${app}/node_modules/omniws/package.json`),
    ) as {
      exports: Record<string, { require?: unknown }>;
    };
    const requirable = subpaths.filter((sub) => installedPkg.exports[sub]?.require !== undefined);
    const esmOnly = subpaths.filter((sub) => !requirable.includes(sub));
    if (esmOnly.length > 0) {
      log(`verify:npm: ES module only (top-level await): ${esmOnly.join(", ")}`);
    }
    Deno.writeTextFileSync(`${app}/smoke.mjs`, smokeSource("import", subpaths));
    Deno.writeTextFileSync(`${app}/smoke.cjs`, smokeSource("require", requirable));

    const node20 = systemNode();
    const runtimes: { name: string; cmd: string; args: string[]; suite: boolean }[] = [];
    if (node20 !== null) {
      runtimes.push({ name: "machine's node", cmd: node20, args: [], suite: true });
    } else {record(
        "machine's node",
        false,
        "no node on PATH outside node_modules",
        performance.now(),
      );}
    runtimes.push(
      { name: "node (npm)", cmd: `${root}/node_modules/.bin/node`, args: [], suite: true },
      { name: "bun", cmd: `${root}/node_modules/.bin/bun`, args: [], suite: true },
      { name: "deno", cmd: Deno.execPath(), args: ["run", "-A", "--quiet"], suite: false },
    );
    for (const runtime of runtimes) {
      for (const file of ["smoke.mjs", "smoke.cjs"]) {
        started = performance.now();
        const out = await run(runtime.cmd, [...runtime.args, file], app);
        let line: {
          runtime?: string;
          passed?: number;
          loaded?: Record<string, number>;
          failures?: string[];
        } = {};
        try {
          line = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "{}");
        } catch {
          line = {};
        }
        const ok = out.code === 0 && (line.failures?.length ?? 1) === 0 && (line.passed ?? 0) > 0;
        record(
          `${runtime.name} (${line.runtime ?? "?"}): ${
            file === "smoke.mjs" ? "import" : "require()"
          } every export, in-memory exchange`,
          ok,
          ok ? `${line.passed} checks, exports ${JSON.stringify(line.loaded)}` : describe(out),
          started,
        );
      }
    }

    // 4. The core suite against the installed package.
    if (options.suite !== false) {
      const suiteDir = `${app}/suite`;
      Deno.mkdirSync(suiteDir);
      Deno.symlinkSync(`${root}/node_modules/fast-check`, `${app}/node_modules/fast-check`);
      const inPackage = (spec: string) => {
        const target = spec.replace(/^\.\.\//, "").replace(/\.ts$/, ".js");
        try {
          return Deno.statSync(`${app}/node_modules/omniws/${target}`).isFile;
        } catch {
          return false;
        }
      };
      const rewrite = (spec: string) => {
        if (spec.startsWith("../")) {
          return `../node_modules/omniws/${spec.slice(3).replace(/\.ts$/, ".js")}`;
        }
        if (spec.startsWith("./")) return spec.replace(/\.ts$/, ".mjs");
        return spec;
      };
      const chosen: string[] = [];
      const skipped: string[] = [];
      const files = [...Deno.readDirSync(`${root}/tests`)].map((e) => e.name).filter((n) =>
        n.endsWith("_test.ts")
      ).sort();
      for (const name of ["_helpers.ts", ...files]) {
        const text = Deno.readTextFileSync(`${root}/tests/${name}`);
        const imports = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
        const fits = imports.every((s) =>
          SUITE_IMPORTS.has(s) || (s.startsWith("../") && inPackage(s))
        );
        if (!fits) {
          skipped.push(name);
          continue;
        }
        Deno.writeTextFileSync(
          `${suiteDir}/${name.replace(/\.ts$/, ".mjs")}`,
          transpile(text, name, ts.ModuleKind.ESNext, rewrite),
        );
        if (name !== "_helpers.ts") chosen.push(`suite/${name.replace(/\.ts$/, ".mjs")}`);
      }
      log(
        `verify:npm: core suite against the package: ${chosen.length} files (skipped, they need more than the core: ${
          skipped.join(", ")
        })`,
      );
      for (const runtime of runtimes.filter((r) => r.suite)) {
        started = performance.now();
        const bun = runtime.name === "bun";
        const args = bun
          ? ["test", "--timeout=120000", ...chosen.map((f) => `./${f}`)]
          : ["--test", "--test-reporter=tap", "--test-timeout=120000", ...chosen];
        const out = await run(runtime.cmd, args, app, {}, 600_000);
        const counts = parseSuiteCounts(`${out.stdout}\n${out.stderr}`);
        const version = (await run(runtime.cmd, ["--version"], app)).stdout.trim();
        const ok = out.code === 0 && counts !== null && counts.failed === 0 && counts.passed > 0;
        const failing = `${out.stdout}\n${out.stderr}`.split("\n")
          .filter((l) => /^\s*not ok \d+|^\(fail\)|^error:/.test(l)).slice(0, 20).join("\n");
        record(
          `${runtime.name} ${version}: core suite (${chosen.length} files) against the installed package`,
          ok,
          ok
            ? `${counts!.passed} passed, 0 failed`
            : `${counts ? `${counts.passed} passed, ${counts.failed} failed; ` : ""}${
              failing || describe(out)
            }`,
          started,
        );
      }
    }

    // 5. A TypeScript consumer against the shipped declarations.
    Deno.writeTextFileSync(`${app}/consumer.mts`, consumerSource(subpaths, false));
    Deno.writeTextFileSync(`${app}/consumer.cts`, consumerSource(requirable, true));
    // A browser or bundler user has no @types/node: only exports that import no built-ins.
    const analysis = analyzeSources(root, deno);
    const usesBuiltins = (file: string, seen = new Set<string>()): boolean => {
      if (seen.has(file)) return false;
      seen.add(file);
      return (analysis.builtins[file] ?? []).length > 0 ||
        (analysis.imports[file] ?? []).some((f) => usesBuiltins(f, seen));
    };
    const webSubpaths = subpaths.filter((sub) =>
      !usesBuiltins(denoExports(deno)[sub]!.replace(/^\.\//, ""))
    );
    Deno.writeTextFileSync(`${app}/consumer_web.mts`, consumerSource(webSubpaths, false));
    Deno.writeTextFileSync(`${app}/core_only.mts`, consumerSource(["."], false));
    for (const [i, [name, config]] of Object.entries(TSCONFIGS).entries()) {
      started = performance.now();
      const file = `tsconfig.${i}.json`;
      const tsconfig = {
        files: config.files,
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "es2022",
          exactOptionalPropertyTypes: true,
          skipLibCheck: false,
          typeRoots: [`${root}/node_modules/@types`],
          ...config.compilerOptions,
        },
      };
      Deno.writeTextFileSync(`${app}/${file}`, JSON.stringify(tsconfig, null, 2));
      const out = await run(`${root}/node_modules/.bin/node`, [
        `${root}/node_modules/typescript/bin/tsc`,
        "-p",
        file,
      ], app);
      record(
        `tsc --noEmit --strict consumer: ${name}`,
        out.code === 0,
        out.code === 0 ? "" : describe(out),
        started,
      );
    }
    report.ok = checks.every((c) => c.ok);
    return report;
  } catch (error) {
    record(
      "verify",
      false,
      error instanceof Error ? error.message : String(error),
      performance.now(),
    );
    return report;
  } finally {
    if (options.keep) log(`verify:npm: kept ${dir}`);
    else Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const keep = Deno.args.includes("--keep");
  const suite = !Deno.args.includes("--no-suite");
  const unknown = Deno.args.filter((a) => a !== "--keep" && a !== "--no-suite");
  if (unknown.length > 0) {
    console.error(
      `Usage: deno run -A scripts/verify_npm.ts [--keep] [--no-suite]\nUnknown: ${
        unknown.join(" ")
      }`,
    );
    Deno.exit(2);
  }
  const report = await verifyNpm({ keep, suite });
  const failed = report.checks.filter((c) => !c.ok).length;
  console.log(`${report.checks.length - failed} passed, ${failed} failed`);
  Deno.exit(report.ok ? 0 : 1);
}
