/**
 * Builds the npm package `omniws` from `deno.json`, doing what dnt would (dnt and `@std` live on
 * JSR, which the build machines cannot reach) with the pinned TypeScript compiler from npm.
 *
 * Usage: `deno task build:npm` or `deno run -A npm_build.ts [--out DIR]` (default `npm/`).
 *
 * What it writes into the output folder:
 *
 * - ES modules and `.d.ts` files for every source file reachable from `deno.json`'s `exports`
 *   (`mod.ts` -> `mod.js` + `mod.d.ts`, `core/client.ts` -> `core/client.js` + ...), type-checked
 *   with the strict options of `deno.json`; relative `.ts` import specifiers become `.js`.
 * - The same modules as CommonJS under `cjs/` (with their own copy of the `.d.ts` files, so that
 *   TypeScript sees CommonJS declarations for `require`) and a `cjs/package.json` saying
 *   `{"type": "commonjs"}`.
 * - `package.json`: `name` is `omniws`; `version` and `license` come from `deno.json`; every
 *   `deno.json` export `"./x": "./path.ts"` becomes `"./x": { import: { types, default },
 *   require: { types, default } }` pointing at `./path.d.ts`/`./path.js` and
 *   `./cjs/path.d.ts`/`./cjs/path.js`; `main`, `module` and `types` point at the `"."` export;
 *   the npm-only fields (`description`, `keywords`, `engines`) are {@linkcode NPM_FIELDS} below;
 *   `sideEffects` lists the compiled modules whose top level does more than declare. The package
 *   has no dependencies of any kind.
 * - `README.md` and `LICENSE`, copied.
 *
 * Then {@linkcode checkPackage} fails the build when the two export maps drift apart (a `deno.json`
 * export missing from `package.json` or the other way round, or pointing elsewhere), when an
 * export's file is missing, when a compiled module imports a `.ts` file, a file that is not in the
 * package or a bare package name (only `node:` and `cloudflare:` built-ins are allowed: the package
 * has no dependencies), or when a compiled source is not published to JSR by `deno.json`'s
 * `publish` settings (so both registries ship the same modules).
 *
 * @module
 */

import ts from "typescript";

/** Fields of `package.json` that have no counterpart in `deno.json`. */
export const NPM_FIELDS = {
  description:
    "One sans-I/O WebSocket protocol core (RFC 6455, hybi-07/08, hixie-75/76) for Deno, Node, Bun, edge runtimes and browsers",
  keywords: [
    "websocket",
    "websockets",
    "ws",
    "rfc6455",
    "hixie-76",
    "sans-io",
    "protocol",
    "deno",
    "bun",
    "edge",
    "cloudflare-workers",
    "browser",
  ],
  engines: { node: ">=20" },
} as const;

/** The npm package's name (the JSR name is `deno.json`'s `name`). */
export const NPM_NAME = "omniws";

/**
 * Where an export's files live, relative to the package root, each starting with `./`. An export
 * whose modules use top-level `await` has no `require` (CommonJS cannot wait for a module).
 */
export interface ExportTarget {
  import: { types: string; default: string };
  require?: { types: string; default: string };
}

/** What {@linkcode analyzeSources} learns from the sources reachable from the exports. */
export interface SourceAnalysis {
  /** Every source reachable from the exports through relative imports, relative to the root. */
  files: string[];
  /** Sources that use top-level `await` themselves or import (transitively) one that does. */
  topLevelAwait: Set<string>;
  /**
   * Sources with top-level statements other than imports, exports and declarations (a loop that
   * fills a module's own table counts too: the list errs on the safe side).
   */
  sideEffects: string[];
  /** Each source's relative imports, as sources. */
  imports: Record<string, string[]>;
  /** Each source's non-relative imports (`node:net`, ...). */
  builtins: Record<string, string[]>;
}

/** The parts of `deno.json` the build reads. */
export interface DenoJson {
  name: string;
  version: string;
  license?: string;
  exports: string | Record<string, string>;
  compilerOptions?: Record<string, unknown>;
  publish?: { include?: string[]; exclude?: string[] };
}

/** Options of {@linkcode buildNpm}. */
export interface BuildOptions {
  /** The repository root (holds `deno.json`). */
  root: string;
  /** Output folder; emptied first. */
  out: string;
  /** Print progress. Default true. */
  verbose?: boolean;
}

/** What {@linkcode buildNpm} produced. */
export interface BuildResult {
  /** The `package.json` written. */
  packageJson: Record<string, unknown>;
  /** Source files compiled, relative to the root. */
  sources: string[];
  /** Non-relative specifiers imported by the compiled code (built-ins such as `node:net`), by file. */
  builtins: Record<string, string[]>;
}

const TARGET = ts.ScriptTarget.ES2022;

/** The `deno.json` exports as a map, `"."` for a string. */
export function denoExports(deno: DenoJson): Record<string, string> {
  return typeof deno.exports === "string" ? { ".": deno.exports } : { ...deno.exports };
}

/** `./core/client.ts` -> `core/client` (no leading `./`, no extension). */
function stem(path: string): string {
  return path.replace(/^\.\//, "").replace(/\.ts$/, "");
}

/** The npm files for a `deno.json` export target such as `./adapters/deno.ts`. */
export function exportTarget(source: string, commonjs = true): ExportTarget {
  const s = stem(source);
  const target: ExportTarget = { import: { types: `./${s}.d.ts`, default: `./${s}.js` } };
  if (commonjs) target.require = { types: `./cjs/${s}.d.ts`, default: `./cjs/${s}.js` };
  return target;
}

/** Whether a statement list has an `await` outside any function (top-level await). */
function hasTopLevelAwait(node: ts.Node): boolean {
  if (ts.isFunctionLike(node) || ts.isClassLike(node)) return false;
  if (
    ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier !== undefined)
  ) return true;
  return ts.forEachChild(node, hasTopLevelAwait) === true;
}

/** Whether a top-level statement only declares or imports/exports (assuming pure initialisers). */
function declaresOnly(statement: ts.Statement): boolean {
  return ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement) ||
    ts.isImportEqualsDeclaration(statement) || ts.isFunctionDeclaration(statement) ||
    ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) ||
    ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement) ||
    ts.isModuleDeclaration(statement) || ts.isVariableStatement(statement) ||
    ts.isEmptyStatement(statement);
}

/**
 * Walks the relative imports from the `deno.json` exports and finds which sources use top-level
 * `await` (directly or through an import) and which have side effects when loaded.
 *
 * @param root The repository root.
 * @param deno The parsed `deno.json`.
 * @returns The reachable sources and what they need.
 */
export function analyzeSources(root: string, deno: DenoJson): SourceAnalysis {
  const imports = new Map<string, string[]>();
  const builtins: Record<string, string[]> = {};
  const awaits = new Set<string>();
  const sideEffects: string[] = [];
  const queue = Object.values(denoExports(deno)).map((p) => p.replace(/^\.\//, ""));
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (imports.has(file)) continue;
    const text = Deno.readTextFileSync(`${root}/${file}`);
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    const specifiers = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    builtins[file] = specifiers.filter((spec) => !spec.startsWith("./") && !spec.startsWith("../"));
    const deps = specifiers
      .filter((spec) => spec.startsWith("./") || spec.startsWith("../"))
      .map((spec) => new URL(spec, `file:///r/${dir}/`).pathname.slice("/r/".length));
    imports.set(file, deps);
    queue.push(...deps);
    if (sf.statements.some(hasTopLevelAwait)) awaits.add(file);
    if (!sf.statements.every(declaresOnly)) sideEffects.push(file);
  }
  // A module that imports a module with top-level await waits too.
  const topLevelAwait = new Set<string>();
  const waits = (file: string, seen: Set<string>): boolean => {
    if (awaits.has(file)) return true;
    if (seen.has(file)) return false;
    seen.add(file);
    return (imports.get(file) ?? []).some((dep) => waits(dep, seen));
  };
  for (const file of imports.keys()) if (waits(file, new Set())) topLevelAwait.add(file);
  return {
    files: [...imports.keys()].sort(),
    topLevelAwait,
    sideEffects: sideEffects.sort(),
    imports: Object.fromEntries(imports),
    builtins,
  };
}

/** The `package.json` for a `deno.json` and the analysis of its sources. */
export function packageJsonFor(deno: DenoJson, analysis: SourceAnalysis): Record<string, unknown> {
  const exports = denoExports(deno);
  const main = exports["."];
  const commonjs = (source: string) => !analysis.topLevelAwait.has(source.replace(/^\.\//, ""));
  const npmExports: Record<string, ExportTarget> = {};
  for (const [key, source] of Object.entries(exports)) {
    npmExports[key] = exportTarget(source, commonjs(source));
  }
  const pkg: Record<string, unknown> = {
    name: NPM_NAME,
    version: deno.version,
    description: NPM_FIELDS.description,
    keywords: [...NPM_FIELDS.keywords],
    license: deno.license ?? "MIT",
    type: "module",
  };
  if (main !== undefined) {
    const t = exportTarget(main, commonjs(main));
    pkg.main = t.require?.default ?? t.import.default;
    pkg.module = t.import.default;
    pkg.types = t.import.types;
  }
  pkg.exports = npmExports;
  // Bundlers may drop any module whose exports go unused, except these (e.g. a polyfill).
  pkg.sideEffects = analysis.sideEffects.length === 0
    ? false
    : analysis.sideEffects.flatMap((file) =>
      analysis.topLevelAwait.has(file)
        ? [`./${stem(file)}.js`]
        : [`./${stem(file)}.js`, `./cjs/${stem(file)}.js`]
    );
  pkg.engines = { ...NPM_FIELDS.engines };
  return pkg;
}

/** Rewrites `./x.ts` to `./x.js` (and `.mts` to `.mjs`) in relative specifiers. */
export function rewriteSpecifier(specifier: string): string {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return specifier;
  if (specifier.endsWith(".d.ts")) return specifier;
  if (specifier.endsWith(".ts")) return specifier.slice(0, -3) + ".js";
  if (specifier.endsWith(".mts")) return specifier.slice(0, -4) + ".mjs";
  return specifier;
}

/**
 * A transformer that rewrites the specifiers of imports, re-exports, `import()` calls and
 * `import("...")` types; it runs on both the JavaScript and the declaration output.
 */
export function specifierTransformer(
  context: ts.TransformationContext,
): (node: ts.SourceFile | ts.Bundle) => ts.SourceFile | ts.Bundle {
  const f = context.factory;
  const literal = (node: ts.Expression): ts.StringLiteral | null => {
    if (!ts.isStringLiteral(node)) return null;
    const next = rewriteSpecifier(node.text);
    return next === node.text ? null : f.createStringLiteral(next);
  };
  const visit = (node: ts.Node): ts.Node => {
    if (ts.isImportDeclaration(node)) {
      const s = literal(node.moduleSpecifier);
      if (s) {
        return f.updateImportDeclaration(
          node,
          node.modifiers,
          node.importClause,
          s,
          node.attributes,
        );
      }
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const s = literal(node.moduleSpecifier);
      if (s) {
        return f.updateExportDeclaration(
          node,
          node.modifiers,
          node.isTypeOnly,
          node.exportClause,
          s,
          node.attributes,
        );
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const s = literal(node.argument.literal as ts.Expression);
      if (s) {
        return f.updateImportTypeNode(
          node,
          f.updateLiteralTypeNode(node.argument, s),
          node.attributes,
          node.qualifier,
          node.typeArguments,
          node.isTypeOf,
        );
      }
    } else if (
      ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0
    ) {
      const s = literal(node.arguments[0]!);
      if (s) {
        return f.updateCallExpression(node, node.expression, node.typeArguments, [
          s,
          ...node.arguments.slice(1),
        ]);
      }
    }
    return ts.visitEachChild(node, visit, context);
  };
  return (node) => {
    if (ts.isBundle(node)) return node;
    return ts.visitEachChild(node, visit, context);
  };
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], root: string): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
  });
}

/** Compiler options from `deno.json` that also mean something to tsc. */
function strictOptions(deno: DenoJson): ts.CompilerOptions {
  const known = [
    "strict",
    "exactOptionalPropertyTypes",
    "noImplicitOverride",
    "noImplicitReturns",
    "noFallthroughCasesInSwitch",
    "noUncheckedIndexedAccess",
    "noImplicitAny",
    "noUnusedLocals",
    "noUnusedParameters",
    "noPropertyAccessFromIndexSignature",
    "useUnknownInCatchVariables",
  ];
  const out: ts.CompilerOptions = {};
  for (const key of known) {
    const value = deno.compilerOptions?.[key];
    if (typeof value === "boolean") out[key] = value;
  }
  return out;
}

/** Whether a repository path is published to JSR by `deno.json`'s `publish` settings. */
export function publishedToJsr(deno: DenoJson, path: string): boolean {
  const matches = (entry: string) => {
    const e = entry.replace(/^\.\//, "");
    return e.endsWith("/") ? path.startsWith(e) : path === e || path.startsWith(`${e}/`);
  };
  const include = deno.publish?.include;
  if (include !== undefined && !include.some(matches)) return false;
  return !(deno.publish?.exclude ?? []).some(matches);
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(path));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every file under `dir`, relative to it, sorted. */
export function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(`${dir}/${prefix}`)) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Empties `out`, refusing to touch a folder that is neither empty nor an earlier build. */
function prepareOut(out: string): void {
  if (exists(out)) {
    const entries = [...Deno.readDirSync(out)];
    if (entries.length > 0) {
      let ours = false;
      try {
        ours = readJson(`${out}/package.json`).name === NPM_NAME;
      } catch {
        ours = false;
      }
      if (!ours) {
        throw new Error(`Refusing to empty ${out}: it is not an earlier build of ${NPM_NAME}`);
      }
    }
    Deno.removeSync(out, { recursive: true });
  }
  Deno.mkdirSync(out, { recursive: true });
}

function write(path: string, text: string): void {
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

/**
 * Compiles the package into `options.out` and checks it with {@linkcode checkPackage}.
 *
 * @param options Where the repository is and where to write.
 * @returns The package.json written, the sources compiled and the built-ins they import.
 * @throws {Error} When type checking fails, a source is not published to JSR, or the check fails.
 */
export function buildNpm(options: BuildOptions): BuildResult {
  const { root, out } = options;
  const log = options.verbose === false ? () => {} : (s: string) => console.log(`build:npm: ${s}`);
  const deno = readJson(`${root}/deno.json`) as unknown as DenoJson;
  const exports = denoExports(deno);
  const entries = Object.values(exports).map((p) => `${root}/${p.replace(/^\.\//, "")}`);
  for (const [key, file] of Object.entries(exports)) {
    if (!file.endsWith(".ts")) {
      throw new Error(`Export "${key}" is ${file}: only .ts files can be compiled`);
    }
    if (!exists(`${root}/${file.replace(/^\.\//, "")}`)) {
      throw new Error(`Export "${key}" points at a missing file: ${file}`);
    }
  }

  // 1. Type-check everything reachable from the exports and emit the declarations (with their docs).
  const compilerOptions: ts.CompilerOptions = {
    ...strictOptions(deno),
    target: TARGET,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // Deno type-checks with the web platform's types (TextDecoder, EventTarget, ...): so does this.
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: ["node"],
    typeRoots: [`${root}/node_modules/@types`],
    allowImportingTsExtensions: true,
    // Both make each file compilable alone, which step 2 relies on.
    verbatimModuleSyntax: true,
    isolatedModules: true,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: root,
    outDir: out,
    newLine: ts.NewLineKind.LineFeed,
    skipLibCheck: true,
    noEmitOnError: true,
  };
  const program = ts.createProgram({ rootNames: entries, options: compilerOptions });
  const sources = program.getSourceFiles()
    .filter((sf) =>
      !sf.isDeclarationFile && sf.fileName.startsWith(`${root}/`) &&
      !sf.fileName.includes("/node_modules/")
    )
    .map((sf) => sf.fileName.slice(root.length + 1))
    .sort();
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.some((d) => d.category === ts.DiagnosticCategory.Error)) {
    throw new Error(`Type checking failed:\n${formatDiagnostics(diagnostics, root)}`);
  }
  const analysis = analyzeSources(root, deno);
  if (JSON.stringify(analysis.files) !== JSON.stringify(sources)) {
    throw new Error(
      `The import walk and the compiler disagree on the sources: ${analysis.files.join(", ")} / ${
        sources.join(", ")
      }`,
    );
  }
  const notOnJsr = sources.filter((s) => !publishedToJsr(deno, s));
  if (notOnJsr.length > 0) {
    throw new Error(
      `Reachable from the exports but not published to JSR (deno.json "publish"): ${
        notOnJsr.join(", ")
      }`,
    );
  }

  prepareOut(out);
  const emitted = program.emit(undefined, undefined, undefined, true, {
    afterDeclarations: [specifierTransformer],
  });
  if (emitted.emitSkipped || emitted.diagnostics.length > 0) {
    throw new Error(`Emit failed:\n${formatDiagnostics(emitted.diagnostics, root)}`);
  }

  // 2. JavaScript, as ES modules and as CommonJS, each file transpiled alone (checked above),
  // without comments: the docs ship in the declarations. Modules that wait at the top level
  // (directly or through an import) get no CommonJS version: CommonJS cannot wait.
  const formats = [
    { dir: out, module: ts.ModuleKind.ESNext },
    { dir: `${out}/cjs`, module: ts.ModuleKind.CommonJS },
  ];
  for (const source of sources) {
    const text = Deno.readTextFileSync(`${root}/${source}`);
    const s = stem(source);
    const commonjs = !analysis.topLevelAwait.has(source);
    for (const format of commonjs ? formats : formats.slice(0, 1)) {
      const result = ts.transpileModule(text, {
        fileName: source,
        reportDiagnostics: true,
        compilerOptions: {
          target: TARGET,
          module: format.module,
          esModuleInterop: true,
          verbatimModuleSyntax: format.module !== ts.ModuleKind.CommonJS,
          allowImportingTsExtensions: true,
          rewriteRelativeImportExtensions: true,
          removeComments: true,
          newLine: ts.NewLineKind.LineFeed,
        },
        transformers: { before: [specifierTransformer as ts.TransformerFactory<ts.SourceFile>] },
      });
      if ((result.diagnostics ?? []).length > 0) {
        throw new Error(
          `Transpiling ${source} failed:\n${formatDiagnostics(result.diagnostics!, root)}`,
        );
      }
      write(`${format.dir}/${s}.js`, result.outputText);
    }
    if (commonjs) Deno.copyFileSync(`${out}/${s}.d.ts`, `${out}/cjs/${s}.d.ts`);
  }
  write(`${out}/cjs/package.json`, `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);
  const esmOnly = [...analysis.topLevelAwait];
  log(
    `compiled ${sources.length} modules: ES modules, CommonJS (cjs/) and declarations` +
      (esmOnly.length > 0 ? ` (ES module only, for top-level await: ${esmOnly.join(", ")})` : ""),
  );
  if (analysis.sideEffects.length > 0) {
    log(`modules with side effects: ${analysis.sideEffects.join(", ")}`);
  }

  // 3. package.json, README, LICENSE.
  const packageJson = packageJsonFor(deno, analysis);
  write(`${out}/package.json`, `${JSON.stringify(packageJson, null, 2)}\n`);
  for (const file of ["README.md", "LICENSE"]) {
    if (exists(`${root}/${file}`)) Deno.copyFileSync(`${root}/${file}`, `${out}/${file}`);
  }

  const builtins = checkPackage(root, out);
  log(`package.json exports ${Object.keys(exports).join(", ")}; the check of ${out} passed`);
  return { packageJson, sources, builtins };
}

/** Every import specifier of a compiled module (static, re-export, dynamic, `import()` type). */
function specifiersOf(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  const found = info.importedFiles.map((f) => f.fileName);
  // preProcessFile does not see `require("x")` in CommonJS output.
  for (const m of text.matchAll(/\brequire\("([^"]+)"\)/g)) found.push(m[1]!);
  return found;
}

/**
 * Checks a built package against `deno.json`: the written `package.json` has exactly the exports of
 * `deno.json`, each pointing at the files compiled from that export's source, all present; the
 * identity fields match and no dependencies are declared; every compiled module imports only files
 * of the package (never a `.ts` file) or `node:`/`cloudflare:` built-ins.
 *
 * @param root The repository root (holds `deno.json`).
 * @param out The built package folder.
 * @returns The built-in modules imported, by compiled file.
 * @throws {Error} Listing every problem found.
 */
export function checkPackage(root: string, out: string): Record<string, string[]> {
  const deno = readJson(`${root}/deno.json`) as unknown as DenoJson;
  const pkg = readJson(`${out}/package.json`);
  const problems: string[] = [];
  const jsr = denoExports(deno);
  const npmExports = (pkg.exports ?? {}) as Record<string, unknown>;
  const analysis = analyzeSources(root, deno);

  for (const key of Object.keys(jsr)) {
    if (!(key in npmExports)) {
      problems.push(`deno.json export "${key}" is missing from package.json`);
    }
  }
  for (const key of Object.keys(npmExports)) {
    if (!(key in jsr)) problems.push(`package.json export "${key}" is not a deno.json export`);
  }
  for (const [key, source] of Object.entries(jsr)) {
    const actual = npmExports[key];
    if (actual === undefined) continue;
    const expected = exportTarget(source, !analysis.topLevelAwait.has(source.replace(/^\.\//, "")));
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      problems.push(
        `package.json export "${key}" is ${JSON.stringify(actual)}, expected ${
          JSON.stringify(expected)
        }`,
      );
    }
    const files = [expected.import.types, expected.import.default];
    if (expected.require) files.push(expected.require.types, expected.require.default);
    for (const file of files) {
      if (!exists(`${out}/${file}`)) problems.push(`export "${key}": ${file} does not exist`);
    }
  }
  if (pkg.name !== NPM_NAME) problems.push(`name is ${pkg.name}, expected ${NPM_NAME}`);
  if (pkg.version !== deno.version) {
    problems.push(`version is ${pkg.version}, deno.json has ${deno.version}`);
  }
  if (deno.license !== undefined && pkg.license !== deno.license) {
    problems.push(`license is ${pkg.license}, deno.json has ${deno.license}`);
  }
  const expectedPkg = packageJsonFor(deno, analysis);
  if (JSON.stringify(pkg.sideEffects) !== JSON.stringify(expectedPkg.sideEffects)) {
    problems.push(
      `sideEffects is ${JSON.stringify(pkg.sideEffects)}, expected ${
        JSON.stringify(expectedPkg.sideEffects)
      }`,
    );
  }
  for (
    const field of [
      "dependencies",
      "peerDependencies",
      "optionalDependencies",
      "bundleDependencies",
    ]
  ) {
    if (field in pkg) problems.push(`package.json declares ${field}; the package must have none`);
  }
  if (readJson(`${out}/cjs/package.json`).type !== "commonjs") {
    problems.push("cjs/package.json is not type commonjs");
  }

  const builtins: Record<string, string[]> = {};
  for (const file of listFiles(out)) {
    if (file.endsWith(".ts") && !file.endsWith(".d.ts")) {
      problems.push(`${file}: a TypeScript source in the package`);
    }
    if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    for (const spec of specifiersOf(Deno.readTextFileSync(`${out}/${file}`))) {
      if (spec.startsWith("./") || spec.startsWith("../")) {
        if (/\.m?ts$/.test(spec) && !spec.endsWith(".d.ts")) {
          problems.push(`${file} imports a TypeScript file: ${spec}`);
        }
        const target = new URL(spec, `file:///pkg/${dir}/`).pathname.slice("/pkg/".length);
        const candidates = file.endsWith(".d.ts")
          ? [target, target.replace(/\.js$/, ".d.ts")]
          : [target];
        if (!candidates.some((c) => exists(`${out}/${c}`))) {
          problems.push(`${file} imports ${spec}, which is not in the package`);
        }
      } else if (/^(node|cloudflare):/.test(spec)) {
        (builtins[file] ??= []).push(spec);
      } else {
        problems.push(`${file} imports "${spec}": the package has no dependencies`);
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(`The npm package does not match deno.json:\n- ${problems.join("\n- ")}`);
  }
  return builtins;
}

if (import.meta.main) {
  const root = decodeURIComponent(new URL(".", import.meta.url).pathname).replace(/\/$/, "");
  const args = [...Deno.args];
  let out = `${root}/npm`;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out" && args[i + 1] !== undefined) {
      const dir = args[++i]!;
      out = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
    } else if (args[i]!.startsWith("--out=")) {
      const dir = args[i]!.slice("--out=".length);
      out = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
    } else {
      console.error(`Usage: deno run -A npm_build.ts [--out DIR]\nUnknown argument: ${args[i]}`);
      Deno.exit(2);
    }
  }
  try {
    const result = buildNpm({ root, out: out.replace(/\/$/, "") });
    const used = [...new Set(Object.values(result.builtins).flat())].sort();
    if (used.length > 0) console.log(`build:npm: built-in modules imported: ${used.join(", ")}`);
  } catch (error) {
    console.error(`build:npm: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
