/**
 * Runs the test suite on Deno, Node and Bun, one runtime after another, and sums up.
 *
 * omniws promises to run unchanged on all three runtimes, so every test file
 * (`tests/*_test.ts`, written against `node:test` + `node:assert/strict` only) runs on each:
 *
 * - Deno: `deno test -A --no-prompt FILES`, with the deno binary that runs this script;
 * - Node: `node_modules/.bin/node --test FILES` (the pinned Node 24, which strips types itself);
 * - Bun:  `node_modules/.bin/bun test FILES`.
 *
 * Each runtime's output streams through live. Its pass/fail counts are read from its own closing
 * lines, then one summary line per runtime is printed and, last and alone on its line, the totals
 * as `N passed, M failed, K skipped` (CI tooling reads that exact form; skips count Node's and
 * Bun's todos and Deno's ignored tests and steps too). The counts are each runtime's own and
 * are not meant to agree: Deno counts a `describe` group as a test and its `it`s as steps (both
 * are added up here), Node counts a test that has subtests as well as each subtest, and Bun runs
 * `t.test` subtests but counts only their parent.
 *
 * The exit code is non-zero if any runtime reported a failing test, exited non-zero, printed no
 * closing counts, ran no test or outran the time limit. Such a runtime adds at least one to the
 * failed total, so the totals line never reads "0 failed" on a failing run.
 *
 * Usage: deno run -A scripts/test_all.ts [--only deno,node,bun] [--time-limit MINUTES] [FILE...]
 *
 * `npm install` must have run first (`deno task test` does it): Node and Bun come from
 * node_modules, and Deno's type check needs node_modules/@types/node. The tasks in deno.json start
 * this script with `node_modules/.bin/deno`, not a bare `deno`: inside `deno task`, a bare `deno`
 * resolves to node_modules/.bin/deno, which Deno then tries to run as a JavaScript file and fails.
 *
 * @module
 */

const RUNTIMES = ["deno", "node", "bun"] as const;
type Runtime = typeof RUNTIMES[number];

/** A single test may take this long on Node and Bun (Bun's own default, 5 s, is too short). */
const TEST_TIMEOUT_MS = 120_000;
/** A whole runtime may take this long by default before it is stopped (`--time-limit`). */
const DEFAULT_TIME_LIMIT_MINUTES = 15;
/** How much of each output stream is kept for reading the closing counts. */
const TAIL_CHARS = 256 * 1024;

const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

interface Options {
  runtimes: Runtime[];
  files: string[];
  timeLimitMinutes: number;
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

interface Result {
  runtime: Runtime;
  counts: Counts | null;
  code: number | null;
  problems: string[];
  seconds: number;
}

function usage(): string {
  return [
    "Usage: deno run -A scripts/test_all.ts [--only deno,node,bun] [--time-limit MINUTES] [FILE...]",
    "",
    "Runs tests/*_test.ts (or the FILEs given) on Deno, Node and Bun in turn and sums up.",
    "  --only LIST          comma-separated runtimes to run (default: deno,node,bun)",
    `  --time-limit MIN     stop a runtime that runs longer than this (default: ${DEFAULT_TIME_LIMIT_MINUTES})`,
  ].join("\n");
}

function fail(message: string): never {
  console.error(`test_all: ${message}\n\n${usage()}`);
  Deno.exit(2);
}

function parseArgs(args: string[]): Options {
  let runtimes: Runtime[] = [...RUNTIMES];
  let timeLimitMinutes = DEFAULT_TIME_LIMIT_MINUTES;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    if (flag === "-h" || flag === "--help") {
      console.log(usage());
      Deno.exit(0);
    } else if (flag === "--only") {
      const names = value().split(",").map((s) => s.trim()).filter((s) => s !== "");
      for (const name of names) {
        if (!(RUNTIMES as readonly string[]).includes(name)) fail(`Unknown runtime "${name}"`);
      }
      if (names.length === 0) fail("--only needs at least one runtime");
      runtimes = RUNTIMES.filter((r) => names.includes(r));
    } else if (flag === "--time-limit") {
      timeLimitMinutes = Number(value());
      if (!(timeLimitMinutes > 0)) fail("--time-limit needs a positive number of minutes");
    } else if (arg.startsWith("-")) {
      fail(`Unknown option "${arg}"`);
    } else {
      files.push(arg);
    }
  }
  return { runtimes, files, timeLimitMinutes };
}

/** Test files relative to the repository root: the ones given, or every tests/*_test.ts. */
function testFiles(given: string[]): string[] {
  if (given.length > 0) {
    return given.map((file) => {
      const absolute = file.startsWith("/") ? file : `${Deno.cwd()}/${file}`;
      try {
        if (!Deno.statSync(absolute).isFile) fail(`Not a file: ${file}`);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) fail(`No such file: ${file}`);
        throw error;
      }
      const real = Deno.realPathSync(absolute);
      return real.startsWith(`${root}/`) ? real.slice(root.length + 1) : real;
    });
  }
  const found: string[] = [];
  for (const entry of Deno.readDirSync(`${root}/tests`)) {
    if (entry.isFile && entry.name.endsWith("_test.ts")) found.push(`tests/${entry.name}`);
  }
  return found.sort();
}

function command(runtime: Runtime, files: string[]): string[] {
  switch (runtime) {
    case "deno":
      return [Deno.execPath(), "test", "-A", "--no-prompt", ...files];
    case "node":
      return [
        `${root}/node_modules/.bin/node`,
        "--test",
        "--test-reporter=spec",
        `--test-timeout=${TEST_TIMEOUT_MS}`,
        ...files,
      ];
    case "bun":
      // Bun reads a bare argument as a file-name filter; "./" makes it a path.
      return [
        `${root}/node_modules/.bin/bun`,
        "test",
        `--timeout=${TEST_TIMEOUT_MS}`,
        ...files.map((f) => f.startsWith("/") ? f : `./${f}`),
      ];
  }
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}

/** The number on the last line that matches `pattern` (whose first group is the number). */
function lastNumber(text: string, pattern: RegExp): number | null {
  let found: number | null = null;
  for (const match of text.matchAll(pattern)) found = Number(match[1]);
  return found;
}

/** Reads a runtime's closing counts from its (colourless) output, or null if there are none. */
function parseCounts(runtime: Runtime, output: string): Counts | null {
  if (runtime === "deno") {
    // "ok | 3 passed (4 steps) | 0 failed | 1 ignored (2 steps) (25ms)"
    const line = output.match(/^(?:ok|FAILED) \|.*$/gm)?.at(-1);
    if (line === undefined) return null;
    const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    for (
      const [, n, kind, steps] of line.matchAll(
        /(\d+) (passed|failed|ignored)(?: \((\d+) steps?\))?/g,
      )
    ) {
      const total = Number(n) + Number(steps ?? 0);
      if (kind === "passed") counts.passed += total;
      else if (kind === "failed") counts.failed += total;
      else counts.skipped += total;
    }
    return counts;
  }
  if (runtime === "node") {
    // "ℹ pass 6", "ℹ fail 0", "ℹ cancelled 0", "ℹ skipped 2", "ℹ todo 1"
    const get = (word: string) => lastNumber(output, new RegExp(`^ℹ ${word} (\\d+)$`, "gm"));
    const [pass, fail] = [get("pass"), get("fail")];
    if (pass === null || fail === null) return null;
    return {
      passed: pass,
      failed: fail + (get("cancelled") ?? 0),
      skipped: (get("skipped") ?? 0) + (get("todo") ?? 0),
    };
  }
  // Bun: " 4 pass", " 2 skip", " 1 todo", " 0 fail", " 1 error" (a file that failed to load)
  const get = (word: string) => lastNumber(output, new RegExp(`^ *(\\d+) ${word}$`, "gm"));
  const [pass, fail] = [get("pass"), get("fail")];
  if (pass === null || fail === null) return null;
  return {
    passed: pass,
    failed: fail + (get("error") ?? 0),
    skipped: (get("skip") ?? 0) + (get("todo") ?? 0),
  };
}

/** Copies a child's stream to ours as it arrives, keeping the tail of its text. */
async function pump(
  from: ReadableStream<Uint8Array>,
  to: { write(p: Uint8Array): Promise<number> },
): Promise<string> {
  const decoder = new TextDecoder();
  let tail = "";
  for await (const chunk of from) {
    for (let n = 0; n < chunk.length;) n += await to.write(chunk.subarray(n));
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
  }
  return tail + decoder.decode();
}

const unix = Deno.build.os !== "windows";
let running: Deno.ChildProcess | null = null;

/** Signals the running child and, on Unix, every process it started (e.g. node's per-file runs). */
function signalChild(signal: Deno.Signal): void {
  if (running === null) return;
  try {
    Deno.kill(unix ? -running.pid : running.pid, signal);
  } catch {
    // Already gone.
  }
}

async function run(runtime: Runtime, files: string[], timeLimitMinutes: number): Promise<Result> {
  const [program, ...args] = command(runtime, files);
  console.log(`\n=== ${runtime} ===\n$ ${[program!.replace(`${root}/`, ""), ...args].join(" ")}\n`);
  const started = performance.now();
  const result: Result = { runtime, counts: null, code: null, problems: [], seconds: 0 };
  if (runtime !== "deno") {
    try {
      Deno.statSync(program!);
    } catch {
      result.problems.push(`${program} is missing: run npm install first`);
      return result;
    }
  }

  const env: Record<string, string> = {};
  if (Deno.env.get("NO_COLOR") === undefined && Deno.env.get("FORCE_COLOR") === undefined) {
    if (Deno.stdout.isTerminal()) env.FORCE_COLOR = "1";
    else env.NO_COLOR = "1";
  }
  // A process group of its own (detached), so that a time-out stops the runtime's children too.
  const child = new Deno.Command(program!, {
    args,
    cwd: root,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: unix,
  }).spawn();
  running = child;

  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const limitTimer = setTimeout(() => {
    timedOut = true;
    console.error(`\ntest_all: ${runtime} ran past ${timeLimitMinutes} min; stopping it`);
    signalChild("SIGTERM");
    killTimer = setTimeout(() => signalChild("SIGKILL"), 10_000);
  }, timeLimitMinutes * 60_000);

  const [stdout, stderr, status] = await Promise.all([
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
    child.status,
  ]);
  clearTimeout(limitTimer);
  clearTimeout(killTimer);
  running = null;

  result.seconds = (performance.now() - started) / 1000;
  result.code = status.code;
  result.counts = parseCounts(runtime, stripAnsi(`${stdout}\n${stderr}`));
  if (timedOut) result.problems.push(`stopped after ${timeLimitMinutes} min`);
  else if (status.signal !== null) result.problems.push(`killed by ${status.signal}`);
  else if (status.code !== 0) result.problems.push(`exit code ${status.code}`);
  if (result.counts === null) {
    result.problems.push("no closing counts found (it stopped before the tests ran or finished)");
  } else if (result.counts.passed + result.counts.failed === 0) {
    result.problems.push("ran no test");
  }
  return result;
}

/** The counts in the one form CI reads: `N passed, M failed, K skipped`. */
function totals(passed: number, failed: number, skipped: number): string {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}

function summary(result: Result): string {
  const c = result.counts ?? { passed: 0, failed: 0, skipped: 0 };
  const time = result.seconds > 0 ? ` (${result.seconds.toFixed(1)} s)` : "";
  const problems = result.problems.length > 0 ? ` -- FAILED: ${result.problems.join("; ")}` : "";
  return `${result.runtime}: ${totals(c.passed, c.failed, c.skipped)}${time}${problems}`;
}

async function main(): Promise<number> {
  const options = parseArgs(Deno.args);
  const files = testFiles(options.files);
  if (files.length === 0) {
    console.error("test_all: no test files (tests/*_test.ts) found");
    console.log(totals(0, 1, 0));
    return 1;
  }

  for (const signal of unix ? ["SIGINT", "SIGTERM"] as const : ["SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {
      signalChild("SIGTERM");
      Deno.exit(130);
    });
  }

  const results: Result[] = [];
  for (const runtime of options.runtimes) {
    results.push(await run(runtime, files, options.timeLimitMinutes));
  }

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  console.log(`\n=== summary (${files.length} test file${files.length === 1 ? "" : "s"}) ===`);
  for (const result of results) {
    console.log(summary(result));
    passed += result.counts?.passed ?? 0;
    skipped += result.counts?.skipped ?? 0;
    const reported = result.counts?.failed ?? 0;
    failed += result.problems.length > 0 ? Math.max(reported, 1) : reported;
  }
  console.log(totals(passed, failed, skipped));
  return failed > 0 ? 1 : 0;
}

Deno.exit(await main());
