/**
 * The UTF-8 sequences of Autobahn's cases 6.5-6.23, in its order, taken from Markus Kuhn's
 * UTF-8 decoder stress test: each a subcategory title and a list of (valid?, bytes). Valid means
 * well-formed by RFC 3629 (non-characters such as U+FFFE included); invalid sequences must fail
 * the connection with 1007 (RFC 6455 §8.1).
 *
 * @module
 */

/** One subcategory: title and its sequences. */
export interface Utf8Group {
  title: string;
  sequences: Array<{ valid: boolean; bytes: Uint8Array }>;
}

function h(hexString: string): Uint8Array {
  const clean = hexString.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const ascii = (s: string): string =>
  Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

/** Whether `b` is well-formed UTF-8 that ends on a code point boundary (an independent check). */
export function isWellFormedUtf8(b: Uint8Array): boolean {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c === 0xe0) [n, lo] = [2, 0xa0];
    else if (c >= 0xe1 && c <= 0xec) n = 2;
    else if (c === 0xed) [n, hi] = [2, 0x9f];
    else if (c >= 0xee && c <= 0xef) n = 2;
    else if (c === 0xf0) [n, lo] = [3, 0x90];
    else if (c >= 0xf1 && c <= 0xf3) n = 3;
    else if (c === 0xf4) [n, hi] = [3, 0x8f];
    else return false;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined) return false;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return false;
    }
    i += n + 1;
  }
  return true;
}

/** "κόσμε" in UTF-8, the multi-byte sample used throughout group 6. */
export const KOSME: Uint8Array = h("cebae1bdb9cf83cebcceb5");

/** The subcategories 6.5 to 6.23, in order. */
export function utf8Groups(): Utf8Group[] {
  const groups: Utf8Group[] = [];
  const add = (title: string, list: Array<[boolean, string]>) =>
    groups.push({ title, sequences: list.map(([valid, hx]) => ({ valid, bytes: h(hx) })) });

  // 6.5
  add("Some valid UTF-8 sequences", [
    [true, ascii("hello") + "24" + ascii("world")],
    [true, ascii("hello") + "c2a2" + ascii("world")],
    [true, ascii("hello") + "e282ac" + ascii("world")],
    [true, ascii("hello") + "f0a4ada2" + ascii("world")],
    [true, "cebae1bdb9cf83cebcceb5"],
  ]);
  // 6.6: every prefix of κόσμε; valid exactly when it ends on a code point boundary
  const prefixes: Array<[boolean, string]> = [];
  for (let i = 1; i <= KOSME.length; i++) {
    const p = KOSME.subarray(0, i);
    prefixes.push([
      isWellFormedUtf8(p),
      Array.from(p, (b) => b.toString(16).padStart(2, "0")).join(""),
    ]);
  }
  add("All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes);
  // 6.7 - 6.11
  add("First possible sequence of a certain length", [[true, "00"], [true, "c280"], [
    true,
    "e0a080",
  ], [true, "f0908080"]]);
  add("First possible sequence length 5/6 (invalid codepoints)", [[false, "f888808080"], [
    false,
    "fc8480808080",
  ]]);
  add("Last possible sequence of a certain length", [
    [true, "7f"],
    [true, "dfbf"],
    [true, "efbfbf"],
    [true, "f48fbfbf"],
  ]);
  add("Last possible sequence length 4/5/6 (invalid codepoints)", [[false, "f7bfbfbf"], [
    false,
    "fbbfbfbfbf",
  ], [false, "fdbfbfbfbfbf"]]);
  add("Other boundary conditions", [
    [true, "ed9fbf"],
    [true, "ee8080"],
    [true, "efbfbd"],
    [true, "f48fbfbf"],
    [false, "f4908080"],
  ]);
  // 6.12
  let continuation = "";
  for (let b = 0x80; b < 0xbf; b++) continuation += b.toString(16);
  add("Unexpected continuation bytes", [
    [false, "80"],
    [false, "bf"],
    [false, "80bf"],
    [false, "80bf80"],
    [false, "80bf80bf"],
    [false, "80bf80bf80"],
    [false, "80bf80bf80bf"],
    [false, continuation],
  ]);
  // 6.13: each lead byte of a range followed by a space (range ends exclusive, as upstream)
  const lonely: Array<[boolean, string]> = [];
  for (const [from, to] of [[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]]) {
    let s = "";
    for (let b = from; b < to; b++) s += b.toString(16) + "20";
    lonely.push([false, s]);
  }
  add("Lonely start characters", lonely);
  // 6.14, 6.15
  const missing = [
    "c0",
    "e080",
    "f08080",
    "f8808080",
    "fc80808080",
    "df",
    "efbf",
    "f7bfbf",
    "fbbfbfbf",
    "fdbfbfbfbf",
  ];
  add("Sequences with last continuation byte missing", missing.map((m) => [false, m]));
  add("Concatenation of incomplete sequences", [[false, missing.join("")]]);
  // 6.16 - 6.19
  add("Impossible bytes", [[false, "fe"], [false, "ff"], [false, "fefeffff"]]);
  add("Examples of an overlong ASCII character", [
    [false, "c0af"],
    [false, "e080af"],
    [false, "f08080af"],
    [false, "f8808080af"],
    [false, "fc80808080af"],
  ]);
  add("Maximum overlong sequences", [
    [false, "c1bf"],
    [false, "e09fbf"],
    [false, "f08fbfbf"],
    [false, "f887bfbfbf"],
    [false, "fc83bfbfbfbf"],
  ]);
  add("Overlong representation of the NUL character", [
    [false, "c080"],
    [false, "e08080"],
    [false, "f0808080"],
    [false, "f880808080"],
    [false, "fc8080808080"],
  ]);
  // 6.20, 6.21
  add(
    "Single UTF-16 surrogates",
    ["eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"].map((s) => [false, s]),
  );
  add(
    "Paired UTF-16 surrogates",
    [
      "eda080edb080",
      "eda080edbfbf",
      "edadbfedb080",
      "edadbfedbfbf",
      "edae80edb080",
      "edae80edbfbf",
      "edafbfedb080",
      "edafbfedbfbf",
    ].map((s) => [false, s]),
  );
  // 6.22: non-characters are valid UTF-8 (RFC 3629)
  const nonChars: Array<[boolean, string]> = [[true, "efbfbe"], [true, "efbfbf"]];
  for (const z1 of ["f0", "f1", "f2", "f3", "f4"]) {
    for (const z2 of ["8f", "9f", "af", "bf"]) {
      if (z1 === "f4" && z2 !== "8f") continue; // above U+10FFFF
      for (const z3 of ["be", "bf"]) {
        const zz = z1 + z2 + "bf" + z3;
        if (zz === "f08fbfbe" || zz === "f08fbfbf") continue; // overlong
        nonChars.push([true, zz]);
      }
    }
  }
  add("Non-character code points (valid UTF-8)", nonChars);
  // 6.23
  add(
    "Unicode specials (i.e. replacement char)",
    ["efbfb9", "efbfba", "efbfbb", "efbfbc", "efbfbd", "efbfbe", "efbfbf"].map((s) => [true, s]),
  );
  return groups;
}
