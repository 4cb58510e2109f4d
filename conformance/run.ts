/**
 * The conformance runner (`deno task conformance`): runs the Autobahn-equivalent cases against
 * servers (with the fuzzing client) and clients (with the fuzzing server), prints the table of
 * case groups x targets with verdict counts, writes the JSON and HTML reports, and compares the
 * verdicts with the pinned ones in conformance/expected.json.
 *
 * Usage: deno run -A conformance/run.ts [options]
 *   --server NAME|ws://URL   a server to test (repeatable); names: see conformance/targets.ts
 *   --client NAME            a client to test (repeatable)
 *   --calibrate              also test the calibration peers (ws and Deno native servers, ws client)
 *   --cases PATTERNS         e.g. "1.*,5.19,6.4.*" or "7" (default: every fast group); a pattern
 *                            naming groups 12/13 (e.g. "12.*,13.7.*") selects those deflate cases
 *   --long                   include group 9 (limits/performance, up to 16 MiB; minutes)
 *   --only-long              group 9 only
 *   --deflate                include groups 12 and 13 (permessage-deflate, 216 cases)
 *   --only-deflate           groups 12 and 13 only
 *   --deflate-count N        messages per deflate case (default 10; upstream sends 1000)
 *   --deflate-full           upstream's 1000 messages per deflate case
 *   --time-scale F           factor for the cases' waits (default 0.5; 1 = Autobahn's timing)
 *   --concurrency N          cases at once against a server (default 4; group 9 runs one at a time)
 *   --out DIR                where reports go (default conformance/report)
 *   --update-expected        rewrite conformance/expected.json from this run
 *   --no-check               do not compare with conformance/expected.json
 * Without --server/--client: the omniws server and the omniws client on every runtime (for the
 * deflate groups: the omniws servers configured with permessageDeflate, the "-deflate" targets;
 * servers without it get no deflate case, clients offer per case from /getCaseInfo).
 * Exits non-zero when an omniws verdict differs from the pinned one (calibration peers are
 * timing-dependent: their differences are printed, not checked).
 *
 * @module
 */

import process from "node:process";
import { allCases } from "./cases.ts";
import { runFuzzingClient } from "./fuzz_client.ts";
import { startFuzzingServer } from "./fuzz_server.ts";
import { type CaseDef, matchesPatterns } from "./model.ts";
import {
  diffExpected,
  formatNotOk,
  formatTable,
  readExpected,
  type Report,
  type TargetReport,
  updateExpected,
  writeHtml,
  writeJson,
} from "./report.ts";
import { CLIENTS, ROOT, runClientProcess, SERVERS, startServerProcess } from "./targets.ts";

/** Where the pinned verdicts live. */
export const EXPECTED_PATH: string = `${ROOT}conformance/expected.json`;

interface Options {
  servers: string[];
  clients: string[];
  patterns: string | null;
  long: boolean;
  onlyLong: boolean;
  deflate: boolean;
  onlyDeflate: boolean;
  deflateCount: number;
  timeScale: number;
  concurrency: number;
  out: string;
  update: boolean;
  check: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = {
    servers: [],
    clients: [],
    patterns: null,
    long: false,
    onlyLong: false,
    deflate: false,
    onlyDeflate: false,
    deflateCount: 10,
    timeScale: 0.5,
    concurrency: 4,
    out: `${ROOT}conformance/report`,
    update: false,
    check: true,
  };
  let calibrate = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--server") o.servers.push(value());
    else if (a === "--client") o.clients.push(value());
    else if (a === "--calibrate") calibrate = true;
    else if (a === "--cases") o.patterns = value();
    else if (a === "--long") o.long = true;
    else if (a === "--only-long") o.onlyLong = o.long = true;
    else if (a === "--deflate") o.deflate = true;
    else if (a === "--only-deflate") o.onlyDeflate = o.deflate = true;
    else if (a === "--deflate-count") o.deflateCount = Number(value());
    else if (a === "--deflate-full") o.deflateCount = 1000;
    else if (a === "--time-scale") o.timeScale = Number(value());
    else if (a === "--concurrency") o.concurrency = Number(value());
    else if (a === "--out") o.out = value();
    else if (a === "--update-expected") o.update = true;
    else if (a === "--no-check") o.check = false;
    else throw new Error(`Unknown option ${a} (see the header of conformance/run.ts)`);
  }
  if (o.patterns !== null) {
    // A pattern naming deflate cases selects them (alone if it names nothing else).
    const matching = allCases().filter((c) => matchesPatterns(c.id, o.patterns!));
    if (matching.some((c) => c.deflate !== undefined)) o.deflate = true;
    if (matching.length > 0 && matching.every((c) => c.deflate !== undefined)) o.onlyDeflate = true;
  }
  if (o.servers.length === 0 && o.clients.length === 0) {
    o.servers = Object.keys(SERVERS).filter((n) => {
      const t = SERVERS[n];
      if (t.calibration) return false;
      return o.onlyDeflate ? t.deflate === true : !t.deflate || o.deflate;
    });
    o.clients = Object.keys(CLIENTS).filter((n) => !CLIENTS[n].calibration);
  }
  if (calibrate) {
    for (const n of Object.keys(SERVERS)) {
      if (!SERVERS[n].calibration || o.servers.includes(n)) continue;
      // The deflate calibration server only where deflate cases run, the plain ones elsewhere.
      if (o.onlyDeflate ? SERVERS[n].deflate : !SERVERS[n].deflate || o.deflate) o.servers.push(n);
    }
    for (const n of Object.keys(CLIENTS)) {
      if (CLIENTS[n].calibration && !o.clients.includes(n)) o.clients.push(n);
    }
  }
  for (const s of o.servers) {
    if (!s.startsWith("ws://") && SERVERS[s] === undefined) {
      throw new Error(`Unknown server ${s}`);
    }
  }
  for (const c of o.clients) if (CLIENTS[c] === undefined) throw new Error(`Unknown client ${c}`);
  return o;
}

/**
 * The cases selected by patterns and the long and deflate flags: groups 12 and 13 only with
 * `deflate` (or `onlyDeflate`), the others never with `onlyDeflate`.
 */
export function selectCases(
  patterns: string | null,
  long: boolean,
  onlyLong = false,
  deflate = false,
  onlyDeflate = false,
): CaseDef[] {
  return allCases().filter((c) => {
    if (patterns !== null && !matchesPatterns(c.id, patterns)) return false;
    if (c.deflate !== undefined) return deflate || onlyDeflate;
    if (onlyDeflate) return false;
    if (onlyLong) return c.long === true;
    return long || c.long !== true;
  });
}

async function testServer(name: string, all: CaseDef[], o: Options): Promise<TargetReport> {
  // A server not configured with permessage-deflate would only show UNIMPLEMENTED for 12/13.
  const cases = name.startsWith("ws://") || SERVERS[name].deflate
    ? all
    : all.filter((c) => c.deflate === undefined);
  const fast = cases.filter((c) => !c.long);
  const slow = cases.filter((c) => c.long);
  const run = async (url: string) => [
    ...await runFuzzingClient({
      url,
      cases: fast,
      timeScale: o.timeScale,
      concurrency: o.concurrency,
      deflate: { count: o.deflateCount },
    }),
    ...await runFuzzingClient({ url, cases: slow, timeScale: o.timeScale, concurrency: 1 }),
  ];
  if (name.startsWith("ws://")) {
    return { name: `server:${name}`, description: name, results: await run(name) };
  }
  const target = SERVERS[name];
  const server = await startServerProcess(target.command());
  try {
    return {
      name: `server:${name}`,
      description: target.description,
      results: await run(server.url),
    };
  } finally {
    await server.stop();
  }
}

async function testClient(name: string, cases: CaseDef[], o: Options): Promise<TargetReport> {
  const target = CLIENTS[name];
  const fuzzer = await startFuzzingServer({
    cases,
    timeScale: o.timeScale,
    deflate: { count: o.deflateCount },
  });
  try {
    const deflate = cases.some((c) => c.deflate !== undefined);
    const limit = 120_000 + cases.length * 2_000 + (o.long ? 900_000 : 0) +
      (deflate ? o.deflateCount * 2_000 * 20 : 0);
    const r = await runClientProcess(target.command(fuzzer.url, name, deflate), limit);
    const done = await fuzzer.waitForAgent(name, 5_000);
    if (!done) console.error(`client ${name} did not finish (exit ${r.code}):\n${r.output}`);
    return {
      name: `client:${name}`,
      description: target.description,
      results: fuzzer.resultsFor(name),
    };
  } finally {
    await fuzzer.close();
  }
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  const cases = selectCases(o.patterns, o.long, o.onlyLong, o.deflate, o.onlyDeflate);
  console.log(
    `Running ${cases.length} cases against ${
      [
        ...o.servers.map((s) => `server ${s}`),
        ...o.clients.map((c) => `client ${c}`),
      ].join(", ")
    }`,
  );
  const targets: TargetReport[] = [];
  for (const s of o.servers) {
    const started = performance.now();
    targets.push(await testServer(s, cases, o));
    console.log(`  server ${s}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  for (const c of o.clients) {
    const started = performance.now();
    targets.push(await testClient(c, cases, o));
    console.log(`  client ${c}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const report: Report = { generated: new Date().toISOString(), timeScale: o.timeScale, targets };
  console.log(`\n${formatTable(targets)}\n`);
  const notOk = formatNotOk(targets);
  if (notOk !== "") console.log(`Not OK:\n${notOk}\n`);
  writeJson(`${o.out}/index.json`, report);
  writeHtml(
    `${o.out}/index.html`,
    report,
    new Map(allCases().map((c) => [c.id, `${c.description}\n\nExpected: ${c.expectation}`])),
  );
  console.log(`Reports: ${o.out}/index.json, ${o.out}/index.html`);
  if (o.update) {
    updateExpected(EXPECTED_PATH, targets);
    console.log(`Pinned verdicts updated in ${EXPECTED_PATH}`);
    return 0;
  }
  if (!o.check) return 0;
  // Only omniws's verdicts gate: calibration peers and ad-hoc URLs are timing-dependent or unpinned.
  const expected = readExpected(EXPECTED_PATH);
  const gating = (t: TargetReport) => {
    const [role, name] = [
      t.name.slice(0, t.name.indexOf(":")),
      t.name.slice(t.name.indexOf(":") + 1),
    ];
    const registry: Record<string, { calibration?: boolean }> = role === "server"
      ? SERVERS
      : CLIENTS;
    return registry[name] !== undefined && registry[name].calibration !== true;
  };
  const notes = targets.filter((t) => !gating(t)).flatMap((t) => diffExpected(expected, t));
  if (notes.length > 0) {
    console.log(
      `Calibration peers differ from their pins (informational, not checked):\n${notes.join("\n")}`,
    );
  }
  const diffs = targets.filter(gating).flatMap((t) => diffExpected(expected, t));
  if (diffs.length > 0) {
    console.log(`Verdicts differ from conformance/expected.json:\n${diffs.join("\n")}`);
    return 1;
  }
  console.log("omniws verdicts match conformance/expected.json");
  return 0;
}

if (import.meta.main) process.exit(await main());
