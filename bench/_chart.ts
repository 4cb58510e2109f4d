/**
 * A dependency-free SVG bar chart for `bench/run.ts`: sections of groups of horizontal bars,
 * each bar named and labelled with its value. Bars are scaled per group (the longest bar of a
 * group spans the width), so groups with different magnitudes stay readable; compare bars
 * within a group, and read the labels across groups.
 *
 * @module
 */

/** One bar. */
export interface SvgBar {
  /** Shown left of the bar. */
  name: string;
  /** Fill colour. */
  color: string;
  /** Length, relative to the group's largest value; NaN draws no bar. */
  value: number;
  /** Shown right of the bar. */
  text: string;
}

/** A titled list of groups. */
export interface SvgSection {
  /** Heading of the section. */
  title: string;
  /** The groups, each with its own scale. */
  groups: { label: string; bars: SvgBar[] }[];
}

const WIDTH = 900;
const NAME_W = 190;
const BAR_W = 560;
const ROW = 14;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Renders the chart.
 * @param title The chart's heading.
 * @param sections The sections, top to bottom.
 * @returns A standalone SVG document.
 */
export function renderSvg(title: string, sections: SvgSection[]): string {
  const out: string[] = [];
  let y = 30;
  out.push(
    `<text x="10" y="${y}" font-size="17" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="${y + 18}" font-size="11" fill="#555">Bars are scaled within each group;` +
      " compare within a group, read the values across groups.</text>",
  );
  y += 30;
  for (const section of sections) {
    y += 26;
    out.push(
      `<text x="10" y="${y}" font-size="15" font-weight="bold">${esc(section.title)}</text>`,
    );
    y += 6;
    for (const group of section.groups) {
      y += 18;
      out.push(
        `<text x="10" y="${y}" font-size="12" font-weight="bold">${esc(group.label)}</text>`,
      );
      y += 4;
      const max = Math.max(...group.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
      for (const bar of group.bars) {
        const w = Number.isFinite(bar.value) && max > 0
          ? Math.max(1, (bar.value / max) * BAR_W)
          : 0;
        out.push(
          `<text x="${NAME_W - 6}" y="${y + 10}" font-size="11" text-anchor="end">${
            esc(bar.name)
          }</text>`,
          `<rect x="${NAME_W}" y="${y + 1}" width="${w.toFixed(1)}" height="${
            ROW - 3
          }" fill="${bar.color}"/>`,
          `<text x="${NAME_W + w + 5}" y="${y + 10}" font-size="11">${
            esc(Number.isFinite(bar.value) ? bar.text : "not measured")
          }</text>`,
        );
        y += ROW;
      }
    }
  }
  y += 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" ` +
    `viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">\n` +
    `<rect width="${WIDTH}" height="${y}" fill="white"/>\n${out.join("\n")}\n</svg>\n`;
}
