/**
 * `deno task stress`: the attacks of `bench/stress/_attacks.ts` at scale against the omniws echo
 * servers on Deno, Node and Bun, then a soak. Not part of CI (the CI-sized versions are
 * `tests/hardening_test.ts`); a stress run is reported, never failed.
 *
 * For each attack and runtime a fresh server is started (the example echo server; the TLS and
 * stalled-message attacks use `bench/stress/echo_server.ts`, which takes TLS and options from the
 * environment), attacked while a {@linkcode Monitor} samples its RSS, open fds and the echo round
 * trip of an ordinary client, then given 2 s to settle. Each row says whether the server
 * survived (alive, and an ordinary client echoes within 5 s), its peak RSS growth, its fds before
 * and after, how long the server took to close stalling connections, and the probe latency
 * during the attack. The table is printed and written as markdown to `bench/stress/report.md`.
 *
 * Attacks: `resets` (RST at every stage of a connection's life), `fds` (more connections than
 * a `prlimit --nofile` allows), `tls` (silent and half-ClientHello clients on a TLS port),
 * `pings` (masked ping flood, never read), `never-read` (1 MiB messages, never read), `stalled`
 * (10 x 64 MiB messages three quarters sent, then stalled), `slowloris` (request heads at one
 * byte per second), `soak` (mixed echo traffic with connection churn and periodic reset storms
 * for `--soak` minutes, sampled over time).
 *
 * Options: `--quick` (small counts, short windows), `--only deno,node,bun`, `--attack NAME,...`,
 * `--soak MINUTES` (default 30; 0.5 with `--quick`), `--out FILE`, `--help`.
 * `OMNIWS_SERVER_ROOT=DIR` runs the servers from another checkout (e.g. `git archive` of an older
 * commit) to compare before and after a fix; `OMNIWS_SERVE_OPTIONS='{"...": ...}'` passes
 * extra serve options to `bench/stress/echo_server.ts` (TLS and stalled attacks).
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import {
  alive,
  churn,
  fdCount,
  holdConnections,
  mib,
  Monitor,
  type MonitorSummary,
  neverReader,
  pingFlood,
  probeUntil,
  resetStorm,
  rssBytes,
  silentTls,
  slowloris,
  stalledLarge,
} from "./_attacks.ts";
import {
  type CertFiles,
  ROOT,
  type Runtime,
  RUNTIMES,
  selfSignedCertFiles,
  SERVER_ROOT,
  type ServerProcess,
  type StartOptions,
  startServer,
} from "./_server.ts";

const MiB = 1024 * 1024;
const ATTACKS = [
  "resets",
  "fds",
  "tls",
  "pings",
  "never-read",
  "stalled",
  "slowloris",
  "soak",
] as const;
type Attack = typeof ATTACKS[number];

const HELP = `deno task stress [options]
  --quick              small counts and short windows (minutes, not an hour)
  --only LIST          server runtimes: deno,node,bun (default all)
  --attack LIST        attacks (default all): ${ATTACKS.join(",")}
  --soak MINUTES       length of the soak (default 30; 0.5 with --quick)
  --out FILE           markdown report (default bench/stress/report.md)`;

interface Options {
  quick: boolean;
  runtimes: Runtime[];
  attacks: Attack[];
  soakMinutes: number;
  out: string;
}

function parseOptions(args: string[]): Options {
  const o: Options = {
    quick: false,
    runtimes: [...RUNTIMES],
    attacks: [...ATTACKS],
    soakMinutes: NaN,
    out: `${ROOT}bench/stress/report.md`,
  };
  const list = (v: string | undefined) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      Deno.exit(0);
    } else if (a === "--quick") o.quick = true;
    else if (a === "--only") {
      o.runtimes = list(v).filter((r): r is Runtime => (RUNTIMES as readonly string[]).includes(r));
      i++;
    } else if (a === "--attack") {
      const names = list(v);
      for (const n of names) {
        if (!(ATTACKS as readonly string[]).includes(n)) {
          throw new Error(`Unknown attack ${n}\n${HELP}`);
        }
      }
      o.attacks = ATTACKS.filter((x) => names.includes(x));
      i++;
    } else if (a === "--soak") (o.soakMinutes = Number(v), i++);
    else if (a === "--out") (o.out = v!, i++);
    else throw new Error(`Unknown option ${a}\n${HELP}`);
  }
  if (Number.isNaN(o.soakMinutes)) o.soakMinutes = o.quick ? 0.5 : 30;
  if (o.runtimes.length === 0 || o.attacks.length === 0) throw new Error(`Nothing to run\n${HELP}`);
  return o;
}

// ---- one row per attack and runtime ------------------------------------------------------------

interface Row {
  attack: Attack;
  runtime: Runtime;
  survived: boolean;
  rssGrowth: number;
  fdsBase: number;
  fdsAfter: number;
  /** Stalling connections: when the last one was closed by the server (ms), or how many stay. */
  timeToClose: string;
  probe: string;
  notes: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function ms(v: number): string {
  return Number.isFinite(v)
    ? `${v >= 1000 ? (v / 1000).toFixed(1) + " s" : Math.round(v) + " ms"}`
    : "-";
}

function probeText(m: MonitorSummary): string {
  if (m.probes === 0) return "-";
  const failed = m.failedProbes > 0 ? `, ${m.failedProbes}/${m.probes} failed` : "";
  return `${ms(m.probeP50)} / ${ms(m.probeMax)}${failed}`;
}

function closeText(opened: number, times: number[]): string {
  const open = opened - times.length;
  if (opened === 0) return "-";
  if (open > 0) return `${open}/${opened} still open`;
  return `all by ${ms(times.at(-1) ?? NaN)}`;
}

/** Close codes counted, as `5 x 1013, 5 x 1008` (or `none`). */
function codeCounts(codes: number[]): string {
  const counts = new Map<number, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  if (counts.size === 0) return "none";
  return [...counts].map(([code, n]) => `${n} x ${code}`).join(", ");
}

/** Start a server, attack it under a monitor, let it settle, and sum up one row. */
async function measure(
  attack: Attack,
  runtime: Runtime,
  start: StartOptions,
  body: (server: ServerProcess, stopWhen: () => boolean) => Promise<Partial<Row>>,
  options: { probeEveryMs: number; secure?: boolean; rssCap: number },
): Promise<Row> {
  const row: Row = {
    attack,
    runtime,
    survived: false,
    rssGrowth: NaN,
    fdsBase: NaN,
    fdsAfter: NaN,
    timeToClose: "-",
    probe: "-",
    notes: "",
  };
  let server: ServerProcess;
  try {
    server = await startServer(runtime, start);
  } catch (error) {
    row.notes = `did not start: ${(error as Error).message.slice(0, 200)}`;
    return row;
  }
  try {
    await probeUntil(server.port, 5000, options.secure);
    await sleep(300);
    row.fdsBase = fdCount(server.pid);
    const base = rssBytes(server.pid);
    const monitor = new Monitor(server.pid, server.port, {
      everyMs: options.probeEveryMs,
      probe: true,
    });
    // The monitor probes over plain TCP; for a TLS server the probe row is the wss probe after.
    let peak = 0;
    const stopWhen = () => {
      peak = Math.max(peak, rssBytes(server.pid) - base);
      return peak > options.rssCap;
    };
    let result: Partial<Row> = {};
    try {
      result = await body(server, stopWhen);
    } catch (error) {
      result.notes = `attack threw: ${(error as Error).message.slice(0, 200)}`;
    }
    const m = await monitor.stop();
    Object.assign(row, result);
    row.rssGrowth = Math.max(peak, m.peakRss - base);
    if (!options.secure) row.probe = probeText(m);
    if (peak > options.rssCap) row.notes += ` stopped early at ${mib(options.rssCap)} growth;`;
    await sleep(2000);
    row.fdsAfter = fdCount(server.pid);
    const after = alive(server.pid) ? await probeUntil(server.port, 5000, options.secure) : null;
    row.survived = server.alive() && after !== null;
    if (!server.alive()) {
      const code = server.child.exitCode ?? server.child.signalCode;
      const last = server.output().trim().split("\n").filter((l) => !/listening on/.test(l));
      row.notes += ` exited (${code})${
        last.length > 0 ? `: ${last.slice(-2).join(" ").slice(0, 160)}` : ""
      };`;
    } else if (after === null) row.notes += " alive but no echo within 5 s;";
    else if (options.secure) row.probe = `wss after: ${ms(after)}`;
  } finally {
    await server.stop();
  }
  row.notes = row.notes.trim();
  return row;
}

// ---- the attacks at scale ----------------------------------------------------------------------

async function runAttack(
  attack: Attack,
  runtime: Runtime,
  o: Options,
  cert: () => CertFiles,
): Promise<Row> {
  const q = o.quick;
  const rssCap = q ? 256 * MiB : 1024 * MiB;
  const probeEveryMs = q ? 500 : 1000;
  const common = { probeEveryMs, rssCap };
  switch (attack) {
    case "resets":
      return await measure(attack, runtime, {}, async (s) => {
        const r = await resetStorm(s.port, {
          count: q ? 1000 : 10_000,
          concurrency: 64,
          durationMs: q ? 15_000 : 120_000,
        });
        return {
          notes: `${r.attempted} resets in ${ms(r.ms)}, ${r.failed} did not reach their stage;`,
        };
      }, common);
    case "fds": {
      const nofile = q ? 64 : 1024;
      return await measure(attack, runtime, { nofile }, async (s) => {
        const r = await holdConnections(s.port, { count: q ? 200 : 4000, holdMs: 2000 });
        return {
          notes: `nofile ${nofile}: ${r.connected} held 2 s, ${r.closedByServer} closed by server;`,
        };
      }, common);
    }
    case "tls": {
      const c = cert();
      const timeout = q ? 2000 : 5000;
      const env = {
        TLS_CERT_FILE: c.certFile,
        TLS_KEY_FILE: c.keyFile,
        HANDSHAKE_TIMEOUT_MS: String(timeout),
      };
      return await measure(
        attack,
        runtime,
        { script: "bench/stress/echo_server.ts", env },
        async (s) => {
          const count = q ? 50 : 1000;
          const waitMs = timeout + (q ? 3000 : 10_000);
          const [silent, half] = await Promise.all([
            silentTls(s.port, { count, mode: "silent", waitMs }),
            silentTls(s.port, { count, mode: "half-hello", waitMs }),
          ]);
          return {
            timeToClose: `silent: ${closeText(silent.opened, silent.closeTimesMs)}; half hello: ${
              closeText(half.opened, half.closeTimesMs)
            }`,
            notes: `handshakeTimeout ${ms(timeout)};`,
          };
        },
        { ...common, secure: true },
      );
    }
    case "pings":
    case "never-read":
      return await measure(attack, runtime, {}, async (s, stopWhen) => {
        const f = attack === "pings" ? pingFlood : neverReader;
        const r = await f(s.port, {
          connections: q ? 1 : 4,
          durationMs: q ? 5000 : 30_000,
          stopWhen,
        });
        return {
          notes: `${r.connections} conns wrote ${mib(r.bytesWritten)} in ${
            ms(r.ms)
          }, ${r.closedByServer} closed by server;`,
        };
      }, common);
    case "stalled":
      return await measure(
        attack,
        runtime,
        { script: "bench/stress/echo_server.ts" },
        async (s) => {
          const r = await stalledLarge(s.port, { count: 10, holdMs: q ? 10_000 : 60_000 });
          const held = rssBytes(s.pid);
          return {
            timeToClose: closeText(r.connections, r.closeTimesMs),
            notes: `${r.connections} x 64 MiB declared, ${mib(r.bytesSent)} sent; closed with ${
              codeCounts(r.ends.filter((e) => e.closed).map((e) => e.code))
            }; RSS ${mib(held)} at the end of the stall;`,
          };
        },
        common,
      );
    case "slowloris":
      return await measure(attack, runtime, {}, async (s) => {
        const r = await slowloris(s.port, {
          count: q ? 500 : 10_000,
          durationMs: q ? 13_000 : 30_000,
        });
        return {
          timeToClose: closeText(r.opened, r.closeTimesMs),
          notes: `${r.opened} connections at 1 byte/s;`,
        };
      }, common);
    case "soak":
      return await soak(runtime, o);
  }
}

/** Mixed traffic, churn and a reset storm every minute; samples over time in the notes. */
async function soak(runtime: Runtime, o: Options): Promise<Row> {
  const durationMs = o.soakMinutes * 60_000;
  const everyMs = Math.max(1000, Math.min(10_000, durationMs / 60));
  const stormEveryMs = o.quick ? 10_000 : 60_000;
  return await measure("soak", runtime, {}, async (s) => {
    const series: string[] = [];
    const started = Date.now();
    let storms = 0;
    const stormLoop = (async () => {
      while (Date.now() - started + stormEveryMs < durationMs) {
        await sleep(stormEveryMs);
        await resetStorm(s.port, { count: 300, concurrency: 16, durationMs: 5000 });
        storms++;
      }
    })();
    const sampler = (async () => {
      const step = Math.max(everyMs, durationMs / 10);
      while (Date.now() - started < durationMs) {
        await sleep(Math.min(step, Math.max(0, durationMs - (Date.now() - started))));
        series.push(
          `${Math.round((Date.now() - started) / 1000)}s ${mib(rssBytes(s.pid))}/${
            fdCount(s.pid)
          }fd`,
        );
      }
    })();
    const r = await churn(s.port, { workers: o.quick ? 8 : 32, durationMs });
    await Promise.all([stormLoop, sampler]);
    return {
      notes:
        `${r.echoes} echoes (${r.echoFailures} failed), ${r.connectionsOpened} connections (${r.resets} reset), ${storms} storms of 300 resets; RSS/fds over time: ${
          series.join(", ")
        };`,
    };
  }, { probeEveryMs: everyMs, rssCap: Infinity });
}

// ---- report ------------------------------------------------------------------------------------

function table(rows: Row[]): string {
  const head = [
    "attack",
    "runtime",
    "survived",
    "RSS growth",
    "fds before -> after",
    "time to close",
    "probe p50 / max",
    "notes",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    lines.push(
      `| ${
        [
          r.attack,
          r.runtime,
          r.survived ? "yes" : "**no**",
          mib(r.rssGrowth),
          `${r.fdsBase} -> ${r.fdsAfter}`,
          r.timeToClose,
          r.probe,
          r.notes.replaceAll("|", "/"),
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const started = new Date();
  const made: CertFiles[] = [];
  const cert = (): CertFiles => made[0] ?? made[made.push(selfSignedCertFiles()) - 1]!;
  const rows: Row[] = [];
  try {
    for (const attack of o.attacks) {
      for (const runtime of o.runtimes) {
        console.error(`stress: ${attack} on ${runtime} ...`);
        const row = await runAttack(attack, runtime, o, cert);
        rows.push(row);
        console.error(
          `  survived ${row.survived}, RSS +${
            mib(row.rssGrowth)
          }, fds ${row.fdsBase} -> ${row.fdsAfter}, close ${row.timeToClose}, probe ${row.probe}; ${row.notes}`,
        );
      }
    }
  } finally {
    for (const c of made) c.remove();
  }
  const text = table(rows);
  console.log(`\n${text}\n`);
  const servers = SERVER_ROOT === ROOT ? "this checkout" : `\`${SERVER_ROOT}\``;
  const report = [
    "# omniws stress report",
    "",
    `${started.toISOString()}, ${o.quick ? "quick" : "full"} run of \`bench/stress/run.ts\` ` +
    `(${o.attacks.join(", ")}) against the echo servers of ${servers}; soak ${o.soakMinutes} min.`,
    "",
    "Survived: the process is alive after the attack and an ordinary client echoes within 5 s. " +
    "RSS growth: peak over the RSS before the attack. fds: open descriptors before the attack " +
    "and 2 s after it. Probe: echo round trip (connect, upgrade, one message) of an ordinary " +
    "client sampled during the attack.",
    "",
    text,
    "",
  ].join("\n");
  writeFileSync(o.out, report);
  console.error(`stress: wrote ${o.out}`);
}

await main();
