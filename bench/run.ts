/**
 * `deno task bench`: the whole benchmark in one run, written to `bench/results.md` (tables,
 * ratios against each target, machine and versions), `bench/results.svg` (chart) and
 * `bench/results.json` (every measurement).
 *
 * 1. Echo: `bench/loadgen.c` (built here with gcc) drives each server in `bench/servers/` and
 *    the C ceiling `bench/c_echo_server.c`: 32 B, 1 KiB and 64 KiB messages, text and binary,
 *    many connections with many messages in flight, every echo checked byte for byte. It
 *    reports messages/s, MB/s, p50/p99 latency and the server's CPU per message (utime + stime
 *    of `/proc/<pid>/stat` over the measured window, divided by the messages echoed in it).
 * 2. Idle memory: RSS of each server before and after the load generator opens N idle
 *    connections (completed handshakes; 10,000 by default), after a forced garbage collection
 *    (SIGUSR2), divided by N; then one message is echoed on every connection to show they are
 *    alive.
 * 3. In-process framing: `bench/framing_bench.ts` on Node 24 (omniws `FrameParser` and
 *    `writeFrame` against ws's `Receiver` and `Sender`).
 *
 * Each part runs `--runs` times (default 3), interleaved over the servers, and medians are
 * reported; omniws is quoted as ratios to its peer measured in the same run (Node: ws with
 * bufferutil, Deno: `Deno.serve` + `Deno.upgradeWebSocket`, Bun: `Bun.serve`). With two or more
 * CPUs and `taskset`, servers run on CPU 0 and the load generator on CPU 1. Benchmarks are not
 * tests: a missed target is reported, never a failure; failed connections or echoes are
 * reported next to the numbers they invalidate.
 *
 * Options: `--quick` (one short run, 2,000 idle connections), `--only echo,idle,parser`,
 * `--servers id,...`, `--runs N`, `--duration S`, `--warmup S`, `--idle-conns N`,
 * `--parser-runtimes node,deno,bun`, `--no-pin`, `--out DIR`, `--help`.
 *
 * @module
 */

import { renderSvg, type SvgSection } from "./_chart.ts";

const BENCH = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const BIN = `${ROOT}node_modules/.bin/`;
const BUILD = `${BENCH}.build/`;

// ---- options -----------------------------------------------------------------------------------

interface Options {
  runs: number;
  duration: number;
  warmup: number;
  idleConns: number;
  budget: number;
  only: Set<string>;
  servers: Set<string> | null;
  parserRuntimes: string[];
  pin: boolean;
  out: string;
  quick: boolean;
}

const HELP = `deno task bench [options]
  --quick                one short run (1 s windows, 2,000 idle connections)
  --only LIST            parts to run: echo,idle,parser (default all)
  --servers LIST         server ids (default all): ${
  ["c", "omniws-node", "ws-node", "omniws-deno", "deno-native", "omniws-bun", "bun-native"].join(
    ",",
  )
}
  --runs N               repetitions, medians reported (default 3)
  --duration S           measured seconds per echo workload (default 1.5)
  --warmup S             unmeasured seconds before each (default 0.5; +1 s for a server's first)
  --idle-conns N         idle connections (default 10000)
  --parser-runtimes LIST runtimes for the framing benchmark (default node)
  --no-pin               do not pin servers and load generator to separate CPUs
  --out DIR              where results.md/.svg/.json go (default bench/)`;

function parseOptions(args: string[]): Options {
  const o: Options = {
    runs: 3,
    duration: 1.5,
    warmup: 0.5,
    idleConns: 10_000,
    budget: 150,
    only: new Set(["echo", "idle", "parser"]),
    servers: null,
    parserRuntimes: ["node"],
    pin: true,
    out: BENCH,
    quick: false,
  };
  const list = (v: string | undefined) => (v ?? "").split(",").filter((s) => s !== "");
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      Deno.exit(0);
    } else if (a === "--quick") {
      Object.assign(o, { quick: true, runs: 1, duration: 1, warmup: 0.3, idleConns: 2000 });
      o.budget = 50;
    } else if (a === "--only") (o.only = new Set(list(v)), i++);
    else if (a === "--servers") (o.servers = new Set(list(v)), i++);
    else if (a === "--runs") (o.runs = Math.max(1, Number(v)), i++);
    else if (a === "--duration") (o.duration = Number(v), i++);
    else if (a === "--warmup") (o.warmup = Number(v), i++);
    else if (a === "--idle-conns") (o.idleConns = Number(v), i++);
    else if (a === "--parser-runtimes") (o.parserRuntimes = list(v), i++);
    else if (a === "--no-pin") o.pin = false;
    else if (a === "--out") (o.out = v.endsWith("/") ? v : `${v}/`, i++);
    else throw new Error(`Unknown option ${a}\n${HELP}`);
  }
  return o;
}

// ---- servers and workloads ---------------------------------------------------------------------

interface ServerSpec {
  id: string;
  label: string;
  color: string;
  cmd: string[];
  /** For omniws servers: the peer its ratios are quoted against. */
  peer?: string;
}

const DENO_RUN = [`${BIN}deno`, "run", "-A", "--no-prompt", "--v8-flags=--expose-gc"];
const SERVERS: ServerSpec[] = [
  {
    id: "c",
    label: "C echo (ceiling)",
    color: "#9e9e9e",
    cmd: [`${BUILD}c_echo_server`, "--port", "0"],
  },
  {
    id: "omniws-node",
    label: "omniws, Node",
    color: "#1565c0",
    peer: "ws-node",
    cmd: [`${BIN}node`, "--expose-gc", `${BENCH}servers/omniws_node.ts`],
  },
  {
    id: "ws-node",
    label: "ws+bufferutil, Node",
    color: "#90caf9",
    cmd: [`${BIN}node`, "--expose-gc", `${BENCH}servers/ws_node.ts`],
  },
  {
    id: "omniws-deno",
    label: "omniws, Deno",
    color: "#2e7d32",
    peer: "deno-native",
    cmd: [...DENO_RUN, `${BENCH}servers/omniws_deno.ts`],
  },
  {
    id: "deno-native",
    label: "Deno native",
    color: "#a5d6a7",
    cmd: [...DENO_RUN, `${BENCH}servers/deno_native.ts`],
  },
  {
    id: "omniws-bun",
    label: "omniws, Bun",
    color: "#e65100",
    peer: "bun-native",
    cmd: [`${BIN}bun`, `${BENCH}servers/omniws_bun.ts`],
  },
  {
    id: "bun-native",
    label: "Bun native",
    color: "#ffcc80",
    cmd: [`${BIN}bun`, `${BENCH}servers/bun_native.ts`],
  },
];

interface Workload {
  id: string;
  size: number;
  opcode: "text" | "binary";
  conns: number;
  inflight: number;
}

const WORKLOADS: Workload[] = [];
for (const [size, conns, inflight] of [[32, 64, 32], [1024, 64, 32], [65536, 32, 4]]) {
  for (const opcode of ["text", "binary"] as const) {
    WORKLOADS.push({ id: `${sizeLabel(size)} ${opcode}`, size, opcode, conns, inflight });
  }
}

function sizeLabel(size: number): string {
  return size >= 1 << 20 ? `${size >> 20} MiB` : size >= 1024 ? `${size >> 10} KiB` : `${size} B`;
}

// ---- processes ---------------------------------------------------------------------------------

/** Lines of a child's output stream, read as they come. */
class Lines {
  #lines: string[] = [];
  #waiters: Array<() => void> = [];
  #ended = false;
  /** Every line so far (kept for logs). */
  readonly all: string[] = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let buf = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        buf += text;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (this.all.length < 200) this.all.push(line);
          this.#lines.push(line);
        }
        this.#wake();
      }
    } catch {
      // the child was killed
    }
    if (buf !== "") this.#lines.push(buf);
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The next line matching `test`, or null at the end of the stream or after `ms`. */
  async next(test: (line: string) => boolean, ms: number): Promise<string | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.#lines.length > 0) {
        const line = this.#lines.shift()!;
        if (test(line)) return line;
      }
      if (this.#ended || Date.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pinning = false;
function pinned(cpu: number, cmd: string[]): string[] {
  return pinning ? ["taskset", "-c", String(cpu), ...cmd] : cmd;
}

/** A running server process, started through `sh` to raise `ulimit -n`, then exec'd. */
class Server {
  readonly spec: ServerSpec;
  readonly child: Deno.ChildProcess;
  readonly out: Lines;
  readonly err: Lines;
  port = 0;
  info: string[] = [];

  constructor(spec: ServerSpec) {
    this.spec = spec;
    const cmd = pinned(0, spec.cmd);
    this.child = new Deno.Command("sh", {
      args: ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", ...cmd],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.out = new Lines(this.child.stdout);
    this.err = new Lines(this.child.stderr);
  }

  get pid(): number {
    return this.child.pid;
  }

  async start(): Promise<void> {
    const line = await this.out.next((l) => {
      if (l.startsWith("INFO ")) this.info.push(l.slice(5));
      return l.startsWith("PORT ");
    }, 60_000);
    if (line === null) {
      await this.stop();
      throw new Error(
        `${this.spec.id} did not start: ${this.err.all.slice(0, 10).join("\n") || "no output"}`,
      );
    }
    this.port = Number(line.slice(5));
    const comm = (await Deno.readTextFile(`/proc/${this.pid}/comm`)).trim();
    if (comm === "sh" || comm === "taskset") {
      throw new Error(`${this.spec.id}: pid ${this.pid} is ${comm}, not the server itself`);
    }
  }

  /** Resident set size in bytes. */
  async rss(): Promise<number> {
    const status = await Deno.readTextFile(`/proc/${this.pid}/status`);
    const m = status.match(/VmRSS:\s+(\d+) kB/);
    return m === null ? NaN : Number(m[1]) * 1024;
  }

  gc(): void {
    try {
      Deno.kill(this.pid, "SIGUSR2");
    } catch {
      // gone
    }
  }

  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // exited meanwhile
      }
    }, 3000);
    await this.child.status;
    clearTimeout(timer);
    await Promise.all([this.out.done, this.err.done]);
  }
}

/** What the load generator reports (echo mode); see bench/loadgen.c. */
interface EchoResult {
  conns: number;
  open: number;
  open_at_end: number;
  messages: number;
  msgs_per_s: number;
  mb_per_s: number;
  p50_us: number;
  p99_us: number;
  server_cpu_s: number;
  server_cpu_us_per_msg: number;
  server_cpu_util: number;
  loadgen_cpu_util: number;
  server_run_wait: number;
  loadgen_run_wait: number;
  control_frames: number;
  connect_errors: number;
  handshake_errors: number;
  conn_errors: number;
  verify_errors: number;
  first_error: string;
}

function errorCount(r: ErrorCounts): number {
  return r.connect_errors + r.handshake_errors + r.conn_errors + r.verify_errors;
}

function loadgen(args: string[], stdin: "piped" | "null"): Deno.ChildProcess {
  return new Deno.Command(pinned(1, [`${BUILD}loadgen`])[0], {
    args: [...pinned(1, [`${BUILD}loadgen`]).slice(1), ...args],
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function echoOnce(server: Server, w: Workload, warmup: number, o: Options) {
  const child = loadgen([
    "--port",
    String(server.port),
    "--conns",
    String(w.conns),
    "--inflight",
    String(w.inflight),
    "--size",
    String(w.size),
    "--opcode",
    w.opcode,
    "--warmup",
    String(warmup),
    "--duration",
    String(o.duration),
    "--max-time",
    String(warmup + o.duration + 40),
    "--server-pid",
    String(server.pid),
  ], "null");
  const killer = setTimeout(() => child.kill("SIGKILL"), (warmup + o.duration + 60) * 1000);
  const out = await child.output();
  clearTimeout(killer);
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(text) as EchoResult;
  } catch {
    throw new Error(
      `loadgen failed against ${server.spec.id} (${w.id}): ${text} ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

/** What the idle measurement found. */
interface IdleResult {
  open: number;
  rssBefore: number;
  rssAfter: number;
  perConn: number;
  connectMs: number;
  echoed: number;
  connect_errors: number;
  handshake_errors: number;
  conn_errors: number;
  verify_errors: number;
  first_error: string;
}

/** Opens `conns` idle connections; calls `measure` once they are open, then verifies them. */
async function idleConnections(
  server: Server,
  conns: number,
  measure: () => Promise<void>,
): Promise<{ ready: Record<string, number>; final: Record<string, number | string> }> {
  const child = loadgen([
    "--mode",
    "idle",
    "--port",
    String(server.port),
    "--conns",
    String(conns),
    "--parallel",
    "256",
    "--max-time",
    "170",
  ], "piped");
  const killer = setTimeout(() => child.kill("SIGKILL"), 180_000);
  const out = new Lines(child.stdout);
  const err = new Lines(child.stderr);
  const writer = child.stdin.getWriter();
  try {
    const readyLine = await out.next((l) => l.startsWith("{"), 150_000);
    if (readyLine === null) throw new Error(`loadgen (idle) gave no answer: ${err.all.join(" ")}`);
    const ready = JSON.parse(readyLine);
    await measure();
    await writer.write(new TextEncoder().encode("verify\n"));
    const finalLine = await out.next((l) => l.startsWith("{"), 30_000);
    if (finalLine === null) throw new Error("loadgen (idle) did not verify");
    return { ready, final: JSON.parse(finalLine) };
  } finally {
    await writer.close().catch(() => {});
    await child.status;
    clearTimeout(killer);
    await Promise.all([out.done, err.done]);
  }
}

async function idleOnce(spec: ServerSpec, o: Options): Promise<IdleResult> {
  const server = new Server(spec);
  try {
    await server.start();
    // Warm-up: a few hundred connections exercise the code paths once, so the baseline
    // includes loaded code rather than charging it to the idle connections.
    await idleConnections(server, 200, async () => {});
    await sleep(300);
    server.gc();
    await sleep(700);
    const rssBefore = await server.rss();
    let rssAfter = NaN;
    const { ready, final } = await idleConnections(server, o.idleConns, async () => {
      await sleep(500);
      server.gc();
      await sleep(1500);
      rssAfter = await server.rss();
    });
    const open = Number(ready.open);
    return {
      open,
      rssBefore,
      rssAfter,
      perConn: (rssAfter - rssBefore) / open,
      connectMs: Number(ready.connect_ms),
      echoed: Number(final.echoed),
      connect_errors: Number(ready.connect_errors),
      handshake_errors: Number(ready.handshake_errors),
      conn_errors: Number(final.conn_errors),
      verify_errors: Number(final.verify_errors) + (open - Number(final.echoed)),
      first_error: String(final.first_error || ready.first_error || ""),
    };
  } finally {
    await server.stop();
  }
}

// ---- statistics --------------------------------------------------------------------------------

/** A measurement and the run (1-based) it came from. */
export type Measured<T> = T & { run: number };

interface ErrorCounts {
  connect_errors: number;
  handshake_errors: number;
  conn_errors: number;
  verify_errors: number;
}

/** The runs that count: those without errors (an errored run feeds no median and no ratio). */
export function cleanRuns<T extends ErrorCounts>(runs: readonly T[] | undefined): T[] {
  return (runs ?? []).filter((r) => errorCount(r) === 0);
}

/**
 * Median over runs of `f(a) / f(b)`, pairing each run of `a` with the run of `b` that has the
 * same run index (a failed run leaves a gap, so array positions do not line up); runs with
 * errors on either side are left out.
 */
export function pairedRatio<T extends ErrorCounts & { run: number }>(
  a: readonly T[] | undefined,
  b: readonly T[] | undefined,
  f: (r: T) => number,
): number {
  const peers = new Map(cleanRuns(b).map((r) => [r.run, r]));
  const xs: number[] = [];
  for (const r of cleanRuns(a)) {
    const peer = peers.get(r.run);
    if (peer !== undefined) xs.push(f(r) / f(peer));
  }
  return median(xs);
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return "–";
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(0)} k`;
  if (Math.abs(x) >= 100) return x.toFixed(0);
  return x.toFixed(digits);
}

function ratioText(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : "–";
}

// ---- main --------------------------------------------------------------------------------------

async function run(cmd: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "piped" }).output();
    return new TextDecoder().decode(out.code === 0 ? out.stdout : out.stderr).trim();
  } catch (e) {
    return `unavailable (${(e as Error).message})`;
  }
}

async function build(): Promise<void> {
  await Deno.mkdir(BUILD, { recursive: true });
  for (const name of ["loadgen", "c_echo_server"]) {
    const out = await new Deno.Command("gcc", {
      args: ["-O2", "-Wall", "-o", `${BUILD}${name}`, `${BENCH}${name}.c`],
      stderr: "piped",
    }).output().catch((e) => {
      throw new Error(`gcc is needed to build bench/${name}.c: ${e.message}`);
    });
    if (out.code !== 0) {
      throw new Error(`gcc failed on bench/${name}.c:\n${new TextDecoder().decode(out.stderr)}`);
    }
  }
}

async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const pkg = async (name: string) => {
    try {
      return JSON.parse(await Deno.readTextFile(`${ROOT}node_modules/${name}/package.json`))
        .version as string;
    } catch {
      return "not installed";
    }
  };
  return {
    cpu: cpuinfo.match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown",
    cpus: String(navigator.hardwareConcurrency),
    memory: `${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    node: (await run([`${BIN}node`, "--version"])).replace(/^v/, ""),
    bun: await run([`${BIN}bun`, "--version"]),
    gcc: (await run(["gcc", "--version"])).split("\n")[0],
    ws: await pkg("ws"),
    bufferutil: await pkg("bufferutil"),
    ulimit: await run(["sh", "-c", "ulimit -Hn"]),
  };
}

interface Results {
  started: string;
  seconds: number;
  command: string;
  options: Omit<Options, "only" | "servers"> & { only: string[]; servers: string[] };
  machine: Record<string, string>;
  loadavg: { start: number[]; end: number[] };
  wsMask: string;
  echo: Record<string, Record<string, Measured<EchoResult>[]>>;
  idle: Record<string, Measured<IdleResult>[]>;
  parser: Record<string, FramingRun[]>;
  problems: string[];
}

interface FramingCase {
  kind: "parser" | "writer";
  size: number;
  masked: boolean;
  op: "text" | "binary";
  omniws: { framesPerS: number; mbPerS: number };
  ws: { framesPerS: number; mbPerS: number };
}
interface FramingRun {
  runtime: string;
  ws: string;
  results: FramingCase[];
}

async function framingOnce(runtime: string, o: Options): Promise<FramingRun> {
  const script = `${BENCH}framing_bench.ts`;
  const args = ["--json", "--budget", String(o.budget)];
  const cmd = runtime === "deno"
    ? [`${BIN}deno`, "run", "-A", "--no-prompt", script, ...args]
    : runtime === "bun"
    ? [`${BIN}bun`, script, ...args]
    : [`${BIN}node`, script, ...args];
  const full = pinned(0, cmd);
  const out = await new Deno.Command(full[0], {
    args: full.slice(1),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`framing_bench on ${runtime} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.split("\n").pop()!) as FramingRun;
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const t0 = performance.now();
  const started = new Date().toISOString();
  const loadStart = Deno.loadavg();
  pinning = o.pin && navigator.hardwareConcurrency >= 2 &&
    (await run(["taskset", "-c", "0", "true"])) === "";
  await build();
  const servers = SERVERS.filter((s) => o.servers === null || o.servers.has(s.id));
  const results: Results = {
    started,
    seconds: 0,
    command: `deno task bench${Deno.args.length > 0 ? " " + Deno.args.join(" ") : ""}`,
    options: { ...o, only: [...o.only], servers: servers.map((s) => s.id) },
    machine: await machine(),
    loadavg: { start: loadStart, end: [] },
    wsMask: "not measured",
    echo: {},
    idle: {},
    parser: {},
    problems: [],
  };
  const log = (s: string) =>
    console.log(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}`);
  log(
    `${servers.length} servers, ${o.runs} run(s); ${
      pinning ? "servers on CPU 0, load generator on CPU 1" : "no CPU pinning"
    }`,
  );

  for (let r = 0; r < o.runs; r++) {
    if (o.only.has("echo")) {
      for (const spec of servers) {
        const server = new Server(spec);
        try {
          await server.start();
          if (spec.id === "ws-node") results.wsMask = server.info.join("; ") || "unknown";
          let first = true;
          for (const w of WORKLOADS) {
            const res = await echoOnce(server, w, o.warmup + (first ? 1 : 0), o);
            first = false;
            ((results.echo[spec.id] ??= {})[w.id] ??= []).push({ ...res, run: r + 1 });
            const errs = errorCount(res);
            log(
              `run ${r + 1} echo ${spec.id.padEnd(11)} ${w.id.padEnd(13)} ${
                fmt(res.msgs_per_s).padStart(7)
              } msg/s ${fmt(res.mb_per_s).padStart(6)} MB/s cpu ${
                res.server_cpu_us_per_msg.toFixed(2)
              } us/msg p99 ${fmt(res.p99_us / 1000)} ms${
                errs > 0 ? `  ERRORS ${errs}: ${res.first_error}` : ""
              }`,
            );
            if (errs > 0) {
              results.problems.push(
                `run ${r + 1}, ${spec.id}, ${w.id}: ${errs} errors (${res.first_error})`,
              );
            }
          }
        } catch (e) {
          results.problems.push(`run ${r + 1}, ${spec.id}, echo: ${(e as Error).message}`);
          log(`run ${r + 1} echo ${spec.id}: ${(e as Error).message}`);
        } finally {
          await server.stop();
          const errLines = server.err.all.filter((l) => l.trim() !== "");
          if (errLines.length > 0) {
            results.problems.push(
              `run ${
                r + 1
              }, ${spec.id}, echo: server wrote ${errLines.length} line(s) to stderr, first: ${
                errLines[0].slice(0, 200)
              }`,
            );
          }
        }
      }
    }
    if (o.only.has("idle")) {
      for (const spec of servers) {
        try {
          const res = await idleOnce(spec, o);
          (results.idle[spec.id] ??= []).push({ ...res, run: r + 1 });
          const errs = errorCount(res);
          log(
            `run ${r + 1} idle ${spec.id.padEnd(11)} ${res.open} open in ${
              res.connectMs.toFixed(0)
            } ms, RSS ${(res.rssBefore / 2 ** 20).toFixed(1)} -> ${
              (res.rssAfter / 2 ** 20).toFixed(1)
            } MiB, ${(res.perConn / 1024).toFixed(2)} KiB/conn, ${res.echoed} echoed${
              errs > 0 ? `  ERRORS ${errs}: ${res.first_error}` : ""
            }`,
          );
          if (errs > 0) {
            results.problems.push(
              `run ${r + 1}, ${spec.id}, idle: ${errs} errors (${res.first_error})`,
            );
          }
        } catch (e) {
          results.problems.push(`run ${r + 1}, ${spec.id}, idle: ${(e as Error).message}`);
          log(`run ${r + 1} idle ${spec.id}: ${(e as Error).message}`);
        }
      }
    }
    if (o.only.has("parser")) {
      for (const rt of o.parserRuntimes) {
        try {
          const res = await framingOnce(rt, o);
          (results.parser[rt] ??= []).push(res);
          log(`run ${r + 1} framing on ${res.runtime}: ${res.results.length} cases`);
        } catch (e) {
          results.problems.push(`run ${r + 1}, framing on ${rt}: ${(e as Error).message}`);
          log(`run ${r + 1} framing on ${rt}: ${(e as Error).message}`);
        }
      }
    }
  }
  results.loadavg.end = Deno.loadavg();
  results.seconds = (performance.now() - t0) / 1000;
  await Deno.mkdir(o.out, { recursive: true });
  await Deno.writeTextFile(`${o.out}results.json`, JSON.stringify(results, null, 1) + "\n");
  const { markdown, svg } = report(results);
  await Deno.writeTextFile(`${o.out}results.md`, markdown);
  await Deno.writeTextFile(`${o.out}results.svg`, svg);
  // In the house format, so `deno fmt --check` stays clean with the results committed.
  await run([`${BIN}deno`, "fmt", "--quiet", `${o.out}results.md`, `${o.out}results.svg`]);
  console.log(markdown);
  log(`wrote ${o.out}results.md, results.svg, results.json`);
}

// ---- report ------------------------------------------------------------------------------------

interface Target {
  runtime: string;
  what: string;
  /** Measured value: a ratio to the peer, or an absolute number. */
  value: number;
  shown: string;
  goal: string;
  pass: boolean;
}

function report(res: Results): { markdown: string; svg: string } {
  /** Median over the runs without errors. */
  const echoMed = (id: string, w: string, f: (r: EchoResult) => number) =>
    median(cleanRuns(res.echo[id]?.[w]).map(f));
  /** Median over runs of omniws / peer, each pair from the same run, errored runs left out. */
  const echoRatio = (id: string, peer: string, w: string, f: (r: EchoResult) => number) =>
    pairedRatio(res.echo[id]?.[w], res.echo[peer]?.[w], f);
  const idleRatio = (id: string, peer: string) =>
    pairedRatio(res.idle[id], res.idle[peer], (r) => r.perConn);
  /** Runs left out of the medians and ratios because they had errors. */
  const excluded: string[] = [];
  for (const [id, byWorkload] of Object.entries(res.echo)) {
    for (const [w, runs] of Object.entries(byWorkload)) {
      for (const r of runs) {
        if (errorCount(r) > 0) {
          excluded.push(`run ${r.run} echo ${id} ${w} (${errorCount(r)} errors)`);
        }
      }
    }
  }
  for (const [id, runs] of Object.entries(res.idle)) {
    for (const r of runs) {
      if (errorCount(r) > 0) excluded.push(`run ${r.run} idle ${id} (${errorCount(r)} errors)`);
    }
  }
  const cpu = (r: EchoResult) => r.server_cpu_us_per_msg;
  const mbps = (r: EchoResult) => r.mb_per_s;
  const servers = SERVERS.filter((s) => res.options.servers.includes(s.id));
  const L: string[] = [];
  const m = res.machine;
  L.push("# omniws benchmark results", "");
  L.push(
    `Generated by \`${res.command}\` (bench/run.ts) on ${res.started}, in ${
      (res.seconds / 60).toFixed(1)
    } minutes: ${res.options.runs} run(s), medians reported, omniws quoted as ratios to its ` +
      "peer measured in the same run (paired by run index). Benchmarks are not tests: a missed " +
      "target is a finding.",
    "",
    excluded.length === 0
      ? "Every run finished without errors."
      : `Runs with errors are left out of every median and ratio (their error counts stay in ` +
        `the tables): ${excluded.join("; ")}.`,
    "",
  );
  L.push("## Machine and versions", "");
  L.push("| | |", "|---|---|");
  L.push(`| CPU | ${m.cpu}, ${m.cpus} logical CPUs, ${m.memory} |`);
  L.push(`| OS | ${m.kernel}; open files (hard limit) ${m.ulimit} |`);
  L.push(
    `| load average | ${res.loadavg.start.map((x) => x.toFixed(2)).join(" ")} at start, ${
      res.loadavg.end.map((x) => x.toFixed(2)).join(" ")
    } at end (shared machine: numbers are noisy) |`,
  );
  L.push(`| Deno | ${m.deno} (V8 ${m.v8}) |`, `| Node | ${m.node} |`, `| Bun | ${m.bun} |`);
  L.push(
    `| ws | ${m.ws}, bufferutil ${m.bufferutil}; the ws server reported: ${res.wsMask} |`,
  );
  L.push(`| load generator | bench/loadgen.c, ${m.gcc}, -O2 |`);
  L.push(
    `| CPU pinning | ${
      res.options.pin ? "servers on CPU 0, load generator on CPU 1 (taskset)" : "none"
    } |`,
  );
  L.push("");

  // targets
  const targets: Target[] = [];
  const ratioTarget = (
    runtime: string,
    what: string,
    value: number,
    limit: number,
    le: boolean,
    goal: string,
  ) =>
    targets.push({
      runtime,
      what,
      value,
      shown: ratioText(value),
      goal,
      pass: Number.isFinite(value) && (le ? value <= limit : value >= limit),
    });
  for (const op of ["text", "binary"]) {
    ratioTarget(
      "Node",
      `CPU per message, 32 B ${op} × 32 in flight, omniws / ws`,
      echoRatio("omniws-node", "ws-node", `32 B ${op}`, cpu),
      0.2,
      true,
      "≤ 0.20×",
    );
  }
  for (const op of ["text", "binary"]) {
    ratioTarget(
      "Node",
      `64 KiB ${op} echo MB/s, omniws (no addon) / ws + bufferutil`,
      echoRatio("omniws-node", "ws-node", `64 KiB ${op}`, mbps),
      1,
      false,
      "≥ 1.00×",
    );
  }
  ratioTarget(
    "Node",
    "idle connection RSS, omniws / ws",
    idleRatio("omniws-node", "ws-node"),
    0.8,
    true,
    "≤ 0.80×",
  );
  for (const op of ["text", "binary"]) {
    ratioTarget(
      "Deno",
      `CPU per message, 32 B ${op} × 32 in flight, omniws / Deno native`,
      echoRatio("omniws-deno", "deno-native", `32 B ${op}`, cpu),
      0.25,
      true,
      "≤ 0.25×",
    );
  }
  ratioTarget(
    "Deno",
    "idle connection RSS, omniws / Deno native",
    idleRatio("omniws-deno", "deno-native"),
    0.5,
    true,
    "≤ 0.50×",
  );
  for (const op of ["text", "binary"]) {
    ratioTarget(
      "Bun",
      `CPU per message, 32 B ${op} × 32 in flight, omniws / Bun native`,
      echoRatio("omniws-bun", "bun-native", `32 B ${op}`, cpu),
      2,
      true,
      "≤ 2.00×",
    );
  }
  {
    const v = median(cleanRuns(res.idle["omniws-bun"]).map((r) => r.perConn / 1024));
    targets.push({
      runtime: "Bun",
      what: "idle connection RSS, omniws",
      value: v,
      shown: Number.isFinite(v) ? `${v.toFixed(2)} KiB` : "–",
      goal: "≤ 3 KiB",
      pass: Number.isFinite(v) && v <= 3,
    });
  }
  const framing = res.parser.node ?? [];
  const framingCase = (run: FramingRun, kind: string, size: number, masked: boolean, op: string) =>
    run.results.find((c) =>
      c.kind === kind && c.size === size && c.masked === masked && c.op === op
    );
  for (const op of ["binary", "text"]) {
    const xs = framing.map((run) => {
      const c = framingCase(run, "parser", 16, true, op);
      return c === undefined ? NaN : c.omniws.framesPerS / c.ws.framesPerS;
    });
    ratioTarget(
      "Parser (Node)",
      `frames/s, 16 B masked ${op}, omniws FrameParser / ws Receiver`,
      median(xs),
      1,
      false,
      "≥ 1.00×",
    );
  }
  {
    const v = median(
      framing.map((run) =>
        framingCase(run, "parser", 1 << 20, true, "binary")?.omniws.mbPerS ?? NaN
      ),
    );
    targets.push({
      runtime: "Parser (Node)",
      what: "1 MiB masked binary frames, omniws FrameParser (pure TS)",
      value: v,
      shown: Number.isFinite(v) ? `${(v / 1000).toFixed(2)} GB/s` : "–",
      goal: "≥ 3 GB/s",
      pass: Number.isFinite(v) && v >= 3000,
    });
  }
  L.push("## Targets", "");
  L.push(
    "Ratios are omniws / peer, each from one run, median over runs. CPU per message is the " +
      "server process's utime + stime over the measured window divided by the messages echoed.",
    "",
  );
  L.push("| runtime | target | measured | goal | |", "|---|---|--:|--:|---|");
  for (const t of targets) {
    L.push(
      `| ${t.runtime} | ${t.what} | ${t.shown} | ${t.goal} | ${
        Number.isFinite(t.value) ? (t.pass ? "pass" : "**miss**") : "not measured"
      } |`,
    );
  }
  L.push("");

  // echo table
  if (Object.keys(res.echo).length > 0) {
    L.push("## Echo", "");
    L.push(
      "bench/loadgen.c against each server: 32 B and 1 KiB messages on 64 connections × 32 in " +
        "flight, 64 KiB on 32 connections × 4 in flight; " +
        `${res.options.warmup} s warm-up (1 s more for a server's first workload), ` +
        `${res.options.duration} s measured. MB/s counts payload bytes echoed (one direction, ` +
        "10^6 B). Latency is from writing a message to reading its whole echo. *vs peer*: " +
        "omniws / peer for CPU per message (lower is better) and MB/s (higher is better). " +
        "*srv CPU* is the server's CPU use over the window (1.00 = one core), *gen CPU* the load " +
        "generator's; *waited* is the share of the window the server's main thread was runnable " +
        "but waiting for a CPU (/proc/<pid>/schedstat): high values mean other processes " +
        "interfered and that row's throughput is unreliable (its CPU per message less so).",
      "",
    );
    L.push(
      "| workload | server | msg/s | MB/s | p50 ms | p99 ms | CPU µs/msg | CPU vs peer | MB/s vs peer | srv CPU | gen CPU | waited | errors |",
      "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    );
    for (const w of WORKLOADS) {
      for (const s of servers) {
        const runs = res.echo[s.id]?.[w.id];
        if (runs === undefined) continue;
        const errs = runs.reduce((n, r) => n + errorCount(r), 0);
        const cpuR = s.peer ? ratioText(echoRatio(s.id, s.peer, w.id, cpu)) : "";
        const mbR = s.peer ? ratioText(echoRatio(s.id, s.peer, w.id, mbps)) : "";
        L.push(
          `| ${w.id} | ${s.label} | ${fmt(echoMed(s.id, w.id, (r) => r.msgs_per_s))} | ${
            fmt(echoMed(s.id, w.id, mbps), 1)
          } | ${fmt(echoMed(s.id, w.id, (r) => r.p50_us / 1000))} | ${
            fmt(echoMed(s.id, w.id, (r) => r.p99_us / 1000))
          } | ${fmt(echoMed(s.id, w.id, cpu))} | ${cpuR} | ${mbR} | ${
            echoMed(s.id, w.id, (r) => r.server_cpu_util).toFixed(2)
          } | ${echoMed(s.id, w.id, (r) => r.loadgen_cpu_util).toFixed(2)} | ${
            (echoMed(s.id, w.id, (r) => r.server_run_wait) * 100).toFixed(0)
          }% | ${errs === 0 ? "0" : `**${errs}**`} |`,
        );
      }
    }
    L.push("");
    // Is the generator the bottleneck?
    const js = servers.filter((s) => s.id !== "c");
    const genMax = Math.max(
      ...js.flatMap((s) => WORKLOADS.map((w) => echoMed(s.id, w.id, (r) => r.loadgen_cpu_util))),
    );
    const ceil = WORKLOADS.map((w) => {
      const c = echoMed("c", w.id, (r) => r.msgs_per_s);
      const best = Math.max(...js.map((s) => echoMed(s.id, w.id, (r) => r.msgs_per_s)));
      return `${w.id} ${(c / best).toFixed(1)}×`;
    });
    L.push(
      `Load generator check: against the JavaScript servers it used at most ${
        (genMax * 100).toFixed(0)
      }% of its CPU (median per workload), and it drove the C echo server at these multiples ` +
        `of the fastest JavaScript server's messages/s: ${ceil.join(", ")}.`,
      "",
    );
  }

  // idle table
  if (Object.keys(res.idle).length > 0) {
    L.push("## Idle connections", "");
    L.push(
      `RSS of the server process (VmRSS) before and after ${res.options.idleConns} idle ` +
        "connections with completed handshakes, each read after a forced garbage collection " +
        "(a 200-connection warm-up first loads the code paths); per connection = (after − " +
        "before) / open connections. Then one message is echoed on every connection.",
      "",
    );
    L.push(
      "| server | open | RSS before MiB | RSS after MiB | KiB per connection | vs peer | echoed | errors |",
      "|---|--:|--:|--:|--:|--:|--:|--:|",
    );
    for (const s of servers) {
      const all = res.idle[s.id];
      if (all === undefined) continue;
      const errs = all.reduce((n, r) => n + errorCount(r), 0);
      const runs = cleanRuns(all);
      L.push(
        `| ${s.label} | ${median(runs.map((r) => r.open))} | ${
          (median(runs.map((r) => r.rssBefore)) / 2 ** 20).toFixed(1)
        } | ${(median(runs.map((r) => r.rssAfter)) / 2 ** 20).toFixed(1)} | ${
          (median(runs.map((r) => r.perConn)) / 1024).toFixed(2)
        } | ${s.peer ? ratioText(idleRatio(s.id, s.peer)) : ""} | ${
          median(runs.map((r) => r.echoed))
        } | ${errs === 0 ? "0" : `**${errs}**`} |`,
      );
    }
    L.push("");
  }

  // framing table
  for (const [rt, runs] of Object.entries(res.parser)) {
    if (runs.length === 0) continue;
    L.push(`## In-process framing on ${runs[0].runtime}`, "");
    L.push(
      "bench/framing_bench.ts: omniws FrameParser / writeFrame against ws " +
        `${runs[0].ws} Receiver / Sender.frame, same bytes, same process; frames/s at 16 B, ` +
        "payload MB/s above. Parser input arrives in 64 KiB chunks. Text parsing includes UTF-8 " +
        "validation (omniws: a fatal streaming TextDecoder, decoding to a string as its " +
        "connection does; ws: isUtf8 on the assembled message). Unmasked binary parsing and " +
        "large unmasked writes touch only headers in omniws (payloads are handed on as views), " +
        "hence the very large numbers.",
      "",
    );
    L.push("| part | case | omniws | ws | omniws / ws |", "|---|---|--:|--:|--:|");
    const first = runs[0].results;
    for (const c of first) {
      const same = runs.map((r) =>
        r.results.find((x) =>
          x.kind === c.kind && x.size === c.size && x.masked === c.masked && x.op === c.op
        )!
      ).filter((x) => x !== undefined);
      const small = c.size <= 16;
      const val = (x: { framesPerS: number; mbPerS: number }) => small ? x.framesPerS : x.mbPerS;
      const o = median(same.map((x) => val(x.omniws)));
      const w = median(same.map((x) => val(x.ws)));
      const ratio = median(same.map((x) => val(x.omniws) / val(x.ws)));
      const unit = small ? "frames/s" : "MB/s";
      L.push(
        `| ${c.kind} | ${sizeLabel(c.size)} ${c.masked ? "masked" : "unmasked"} ${c.op} | ${
          fmt(o)
        } ${unit} | ${fmt(w)} ${unit} | ${ratioText(ratio)} |`,
      );
    }
    L.push("");
    void rt;
  }

  L.push("## Problems", "");
  if (res.problems.length === 0) L.push("None: every connection opened and every echo matched.");
  for (const p of res.problems) L.push(`- ${p}`);
  L.push("");
  L.push("## Method", "");
  L.push(
    "- Servers (bench/servers/) echo every message, text as text and binary as binary, and do " +
      "nothing else; each is a fresh process per run, started through `sh` to raise " +
      "`ulimit -n` to the hard limit and then exec'd, so the measured PID is the server itself.",
    "- bench/loadgen.c: one thread, epoll, RFC 6455 client handshake with Sec-WebSocket-Accept " +
      "checked, masked frames (random keys, built once per payload variant), each echo checked " +
      "byte for byte with its opcode and order; connections are reset at the end (no TIME_WAIT).",
    "- CPU per message and RSS come from /proc/<pid>/stat and /proc/<pid>/status of the server " +
      "process (all its threads).",
    "- The C echo server (bench/c_echo_server.c) is the ceiling: it shows what the load " +
      "generator can drive on this machine.",
  );
  L.push("");
  const svg = chart(res, servers, echoMed);
  return { markdown: L.join("\n"), svg };
}

function chart(
  res: Results,
  servers: ServerSpec[],
  echoMed: (id: string, w: string, f: (r: EchoResult) => number) => number,
): string {
  const sections: SvgSection[] = [];
  if (Object.keys(res.echo).length > 0) {
    sections.push({
      title: "Echo: server CPU per message (µs, lower is better)",
      groups: WORKLOADS.map((w) => ({
        label: w.id,
        bars: servers.map((s) => {
          const v = echoMed(s.id, w.id, (r) => r.server_cpu_us_per_msg);
          return { name: s.label, color: s.color, value: v, text: `${fmt(v)} µs` };
        }),
      })),
    });
    sections.push({
      title: "Echo: messages per second (higher is better)",
      groups: WORKLOADS.map((w) => ({
        label: w.id,
        bars: servers.map((s) => {
          const v = echoMed(s.id, w.id, (r) => r.msgs_per_s);
          return { name: s.label, color: s.color, value: v, text: `${fmt(v)}/s` };
        }),
      })),
    });
  }
  if (Object.keys(res.idle).length > 0) {
    sections.push({
      title:
        `Idle: RSS per connection, ${res.options.idleConns} connections (KiB, lower is better)`,
      groups: [{
        label: "idle",
        bars: servers.filter((s) => res.idle[s.id] !== undefined).map((s) => {
          const v = median(cleanRuns(res.idle[s.id]).map((r) => r.perConn / 1024));
          return { name: s.label, color: s.color, value: v, text: `${v.toFixed(2)} KiB` };
        }),
      }],
    });
  }
  const framing = res.parser.node;
  if (framing !== undefined && framing.length > 0) {
    const groups = framing[0].results.filter((c) => !(c.masked === false && c.op === "text")).map(
      (c) => {
        const same = framing.map((r) =>
          r.results.find((x) =>
            x.kind === c.kind && x.size === c.size && x.masked === c.masked && x.op === c.op
          )!
        );
        const small = c.size <= 16;
        const val = (x: { framesPerS: number; mbPerS: number }) =>
          small ? x.framesPerS / 1e6 : x.mbPerS;
        const unit = small ? "M frames/s" : "MB/s";
        const o = median(same.map((x) => val(x.omniws)));
        const w = median(same.map((x) => val(x.ws)));
        return {
          label: `${c.kind} ${sizeLabel(c.size)} ${c.masked ? "masked" : "unmasked"} ${c.op}`,
          bars: [
            { name: "omniws", color: "#1565c0", value: o, text: `${fmt(o)} ${unit}` },
            { name: "ws", color: "#90caf9", value: w, text: `${fmt(w)} ${unit}` },
          ],
        };
      },
    );
    sections.push({
      title: `In-process framing on ${framing[0].runtime} (higher is better)`,
      groups,
    });
  }
  return renderSvg(
    `omniws benchmark, ${res.started.slice(0, 10)} (${res.machine.cpus} CPUs, ${res.machine.cpu})`,
    sections,
  );
}

if (import.meta.main) await main();
