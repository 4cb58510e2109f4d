/**
 * Reports: the JSON document, the terminal table (case groups x targets, verdict counts), the
 * static HTML page, and the pinned expectations (`conformance/expected.json`) with their diff.
 *
 * @module
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { GROUP_TITLES } from "./cases.ts";
import { type CaseResult, compareIds, groupOf, type Verdict, VERDICTS } from "./model.ts";

/** The results of one target: a server tested by the fuzzing client, or a client tested by the fuzzing server. */
export interface TargetReport {
  /** e.g. "server:omniws-deno", "client:ws". */
  name: string;
  /** Free text: how it was run. */
  description: string;
  results: CaseResult[];
}

/** The whole report. */
export interface Report {
  generated: string;
  timeScale: number;
  targets: TargetReport[];
}

const SHORT: Record<Verdict, string> = {
  "OK": "OK",
  "NON-STRICT": "NS",
  "INFORMATIONAL": "INFO",
  "FAILED": "FAIL",
  "UNIMPLEMENTED": "UNIMPL",
};

/** Counts of each verdict per group for one target. */
export function countByGroup(results: CaseResult[]): Map<string, Map<Verdict, number>> {
  const out = new Map<string, Map<Verdict, number>>();
  for (const r of results) {
    const g = groupOf(r.id);
    let m = out.get(g);
    if (m === undefined) out.set(g, m = new Map());
    m.set(r.verdict, (m.get(r.verdict) ?? 0) + 1);
  }
  return out;
}

function cell(counts: Map<Verdict, number> | undefined): string {
  if (counts === undefined) return "-";
  return VERDICTS.filter((v) => (counts.get(v) ?? 0) > 0).map((v) => `${counts.get(v)} ${SHORT[v]}`)
    .join(" ");
}

/**
 * The terminal table: one row per case group (and a total), one column per target.
 * @param targets The targets to show.
 */
export function formatTable(targets: TargetReport[]): string {
  const groups = [...new Set(targets.flatMap((t) => t.results.map((r) => groupOf(r.id))))].sort((
    a,
    b,
  ) => Number(a) - Number(b));
  const header = ["group", ...targets.map((t) => t.name)];
  const rows: string[][] = [];
  for (const g of groups) {
    rows.push([
      `${g} ${GROUP_TITLES[g] ?? ""}`.trim(),
      ...targets.map((t) => cell(countByGroup(t.results).get(g))),
    ]);
  }
  rows.push([
    "total",
    ...targets.map((t) => {
      const m = new Map<Verdict, number>();
      for (const r of t.results) m.set(r.verdict, (m.get(r.verdict) ?? 0) + 1);
      return cell(m);
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(" | ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("-+-"), ...rows.map(line)].join("\n");
}

/** Every case that is not OK, with its reason, one line each. */
export function formatNotOk(targets: TargetReport[]): string {
  const lines: string[] = [];
  for (const t of targets) {
    for (const r of t.results) {
      if (r.verdict !== "OK") lines.push(`${t.name} ${r.id}: ${r.verdict} - ${r.reason}`);
    }
  }
  return lines.join("\n");
}

/** Write the report as JSON. */
export function writeJson(path: string, report: Report): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 1) + "\n");
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const COLOURS: Record<Verdict, string> = {
  "OK": "#0a0",
  "NON-STRICT": "#9a0",
  "INFORMATIONAL": "#48c",
  "FAILED": "#d00",
  "UNIMPLEMENTED": "#999",
};

/** Write a static HTML page: the summary table, then every case x target with its reason. */
export function writeHtml(path: string, report: Report, descriptions: Map<string, string>): void {
  const targets = report.targets;
  const ids = [...new Set(targets.flatMap((t) => t.results.map((r) => r.id)))].sort(compareIds);
  const byTarget = targets.map((t) => new Map(t.results.map((r) => [r.id, r])));
  const summary = formatTable(targets);
  let rows = "";
  let lastGroup = "";
  for (const id of ids) {
    const g = groupOf(id);
    if (g !== lastGroup) {
      lastGroup = g;
      rows += `<tr class="group"><td colspan="${targets.length + 1}">${esc(g)} ${
        esc(GROUP_TITLES[g] ?? "")
      }</td></tr>\n`;
    }
    rows += `<tr><td class="case" title="${esc(descriptions.get(id) ?? "")}">${esc(id)}</td>`;
    for (const m of byTarget) {
      const r = m.get(id);
      if (r === undefined) {
        rows += `<td class="missing">-</td>`;
        continue;
      }
      const detail =
        `${r.reason}\nclose: ${r.behaviorClose}, peer code ${r.remoteCloseCode ?? "none"}, ` +
        `closedByMe ${r.closedByMe}, clean ${r.wasClean}\n${r.received.join("\n")}`;
      rows +=
        `<td style="background:${COLOURS[r.verdict]}" title="${esc(detail)}">${SHORT[r.verdict]}` +
        `${
          r.verdict === "OK" ? "" : `<div class="why">${esc(r.reason)}</div>`
        }<span class="ms">${r.duration} ms</span></td>`;
    }
    rows += "</tr>\n";
  }
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>omniws conformance report</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; }
pre { background: #f4f4f4; padding: 1em; }
table.cases { border-collapse: collapse; }
table.cases td { border: 1px solid #ccc; padding: 2px 6px; color: #fff; font-weight: 600; vertical-align: top; }
table.cases td.case, table.cases tr.group td { color: #000; background: #eee; font-weight: 400; }
table.cases tr.group td { font-weight: 700; background: #ddd; }
table.cases th { text-align: left; padding: 4px 6px; }
.why { font-weight: 400; font-size: 11px; max-width: 22em; }
.ms { display: block; font-weight: 400; font-size: 10px; opacity: .8; }
</style></head><body>
<h1>omniws conformance report</h1>
<p>Generated ${
    esc(report.generated)
  } by <code>conformance/run.ts</code>, time scale ${report.timeScale}.
Cases reproduce the Autobahn|Testsuite groups 1-7, 9 and 10 with Autobahn's ids, criteria and verdicts:
OK, NON-STRICT (a SHOULD not followed, e.g. not failing fast on invalid UTF-8), INFORMATIONAL (behaviour
the RFC leaves open), FAILED, UNIMPLEMENTED (never ran). Hover a cell for the reason and the events seen.</p>
<pre>${esc(summary)}</pre>
<table class="cases"><tr><th>case</th>${
    targets.map((t) => `<th title="${esc(t.description)}">${esc(t.name)}</th>`).join("")
  }</tr>
${rows}</table>
</body></html>
`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
}

/** Pinned verdicts: per target, the case ids of each verdict other than OK. */
export interface Expected {
  [target: string]: Partial<Record<Verdict, string[]>>;
}

/** Read the pinned expectations (an empty object when the file is missing). */
export function readExpected(path: string): Expected {
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { targets: Expected }).targets;
  } catch {
    return {};
  }
}

/** The expected verdict of a case for a target (OK unless listed). */
export function expectedVerdict(expected: Expected, target: string, id: string): Verdict {
  const pins = expected[target];
  if (pins === undefined) return "OK";
  for (const v of VERDICTS) if (pins[v]?.includes(id)) return v;
  return "OK";
}

/** Lines describing every case whose verdict differs from the pinned one. */
export function diffExpected(expected: Expected, target: TargetReport): string[] {
  const out: string[] = [];
  for (const r of target.results) {
    const want = expectedVerdict(expected, target.name, r.id);
    if (want !== r.verdict) {
      out.push(`${target.name} ${r.id}: pinned ${want}, got ${r.verdict} (${r.reason})`);
    }
  }
  return out;
}

/** Replace the pins of the given targets (cases not run keep their pins) and write the file. */
export function updateExpected(path: string, targets: TargetReport[]): void {
  const expected = readExpected(path);
  for (const t of targets) {
    const pins: Partial<Record<Verdict, string[]>> = {};
    const ran = new Set(t.results.map((r) => r.id));
    for (const v of VERDICTS) {
      if (v === "OK") continue;
      const kept = (expected[t.name]?.[v] ?? []).filter((id) => !ran.has(id));
      const now = t.results.filter((r) => r.verdict === v).map((r) => r.id);
      const all = [...kept, ...now].sort(compareIds);
      if (all.length > 0) pins[v] = all;
    }
    expected[t.name] = pins;
  }
  const doc = {
    about:
      "Pinned conformance verdicts (conformance/run.ts --update-expected). Per target, the cases whose " +
      "verdict is not OK; every other case is expected OK. tests/conformance_test.ts fails when a verdict changes.",
    targets: Object.fromEntries(Object.entries(expected).sort(([a], [b]) => a.localeCompare(b))),
  };
  writeFileSync(path, JSON.stringify(doc, null, 2) + "\n");
}
