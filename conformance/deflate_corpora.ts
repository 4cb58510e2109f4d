/**
 * The payload corpora of Autobahn's groups 12 and 13, generated. Upstream ships five files (a
 * JSON file, a 512x512 grey bitmap, Goethe's Faust I as UTF-8 text, an HTML page and a PDF); they
 * cannot be fetched here, and some are not ours to copy, so each is replaced by a deterministic
 * stand-in of the same kind, the same size in bytes and the same message type (text corpora are
 * ASCII, so every slice of them is valid UTF-8, as upstream's are). What matters to the cases is
 * how the data compresses: redundant markup, smooth image rows, natural-language text with
 * multi-byte characters, and a mix of structure and incompressible streams.
 *
 * @module
 */

/** One corpus: name, upstream description, size and message type. */
export interface Corpus {
  name: string;
  description: string;
  size: number;
  binary: boolean;
}

/** The corpora in Autobahn's 12.x order (12.1 JSON ... 12.5 PDF), sizes as upstream's files. */
export const CORPORA: readonly Corpus[] = [
  { name: "json", description: "Large JSON data file", size: 194056, binary: false },
  { name: "bitmap", description: "Lena Picture, Bitmap 512x512 bw", size: 263222, binary: true },
  {
    name: "faust",
    description: "Human readable text, Goethe's Faust I (German)",
    size: 222218,
    binary: true,
  },
  { name: "html", description: "Large HTML file", size: 263527, binary: false },
  { name: "pdf", description: "A larger PDF", size: 1042328, binary: true },
];

/** xorshift32: the same bytes on every runtime and every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const WORDS = (
  "alpha beta gamma delta omega system value record stream window socket frame message server " +
  "client header payload buffer random token index status result config option update create " +
  "delete select insert network protocol history context compress inflate deflate marker"
).split(" ");

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

function fit(text: string, size: number): Uint8Array {
  const out = new TextEncoder().encode(text);
  if (out.length < size) throw new Error(`Corpus generator produced ${out.length} < ${size}`);
  return out.slice(0, size);
}

function json(size: number): Uint8Array {
  const r = rng(0x12_01);
  const parts: string[] = ["[\n"];
  let n = 0;
  for (let id = 1; n < size + 1000; id++) {
    const name = `${pick(r, WORDS)} ${pick(r, WORDS)}`;
    const tags = Array.from({ length: 1 + Math.floor(r() * 4) }, () => `"${pick(r, WORDS)}"`);
    const rec = `  {\n    "id": ${id},\n    "guid": "${Math.floor(r() * 1e12).toString(16)}-${
      Math.floor(r() * 1e8).toString(16)
    }",\n    "name": "${name}",\n    "active": ${r() < 0.5},\n    "balance": ${
      (r() * 10000).toFixed(2)
    },\n    "tags": [${tags.join(", ")}],\n    "location": { "lat": ${
      (r() * 180 - 90).toFixed(6)
    }, "lon": ${(r() * 360 - 180).toFixed(6)} },\n    "about": "${
      Array.from({ length: 6 + Math.floor(r() * 12) }, () => pick(r, WORDS)).join(" ")
    }."\n  },\n`;
    parts.push(rec);
    n += rec.length;
  }
  parts.push("]\n");
  return fit(parts.join(""), size);
}

function bitmap(size: number): Uint8Array {
  const w = 512;
  const h = 512;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = 0x42; // "BM"
  out[1] = 0x4d;
  dv.setUint32(2, size, true);
  dv.setUint32(10, 54 + 1024, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, h, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, 8, true);
  dv.setUint32(34, w * h, true);
  dv.setUint32(46, 256, true);
  for (let i = 0; i < 256; i++) {
    out[54 + i * 4] = out[55 + i * 4] = out[56 + i * 4] = i;
  }
  const r = rng(0x12_02);
  const base = 54 + 1024;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = 128 + 55 * Math.sin(x / 23) * Math.cos(y / 31) + 35 * Math.sin((x + 2 * y) / 57) +
        (r() - 0.5) * 14;
      out[base + y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

function faust(size: number): Uint8Array {
  const r = rng(0x12_03);
  const syllables = (
    "ich du er sie wir ihr mein dein sein und der die das ein eine nicht noch schon auch wohl " +
    "geist welt herz nacht licht seele teufel himmel erde liebe zeit leben tod traum blut feuer " +
    "für über schön grün hören möchte größe süß heißt weiß müssen fühlen träume könnt bläst"
  ).split(" ");
  const speakers = ["FAUST", "MEPHISTOPHELES", "WAGNER", "GRETCHEN", "MARTHE", "CHOR DER ENGEL"];
  const parts: string[] = ["Faust: Der Tragödie erster Teil\n\n"];
  let n = 0;
  while (n < size * 1.2) {
    const block = [`${pick(r, speakers)}:\n`];
    const lines = 2 + Math.floor(r() * 8);
    for (let l = 0; l < lines; l++) {
      const words = Array.from({ length: 4 + Math.floor(r() * 5) }, () => pick(r, syllables));
      words[0] = words[0][0].toUpperCase() + words[0].slice(1);
      block.push(`${words.join(" ")}${pick(r, [",", ".", "!", "?", ";", ""])}\n`);
    }
    block.push("\n");
    const s = block.join("");
    parts.push(s);
    n += s.length;
  }
  return fit(parts.join(""), size);
}

function html(size: number): Uint8Array {
  const r = rng(0x12_04);
  const parts: string[] = [
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Report</title>\n' +
    '<link rel="stylesheet" href="/static/site.css">\n</head>\n<body>\n',
  ];
  let n = 0;
  for (let i = 0; n < size + 1000; i++) {
    const words = () => Array.from({ length: 8 + Math.floor(r() * 20) }, () => pick(r, WORDS));
    const s = `<div class="section section-${i % 7}" id="s${i}">\n  <h2 class="title">${
      words().slice(0, 4).join(" ")
    }</h2>\n  <p class="text">${words().join(" ")} <a href="/docs/${pick(r, WORDS)}/${
      Math.floor(r() * 1000)
    }.html" title="${pick(r, WORDS)}">${pick(r, WORDS)}</a> ${
      words().join(" ")
    }.</p>\n  <ul class="list">\n${
      Array.from({ length: 1 + Math.floor(r() * 4) }, () => `    <li>${pick(r, WORDS)}</li>\n`)
        .join("")
    }  </ul>\n</div>\n`;
    parts.push(s);
    n += s.length;
  }
  return fit(parts.join(""), size);
}

function pdf(size: number): Uint8Array {
  const r = rng(0x12_05);
  const out = new Uint8Array(size);
  const enc = new TextEncoder();
  let at = 0;
  const put = (b: Uint8Array) => {
    const k = Math.min(b.length, size - at);
    out.set(b.subarray(0, k), at);
    at += k;
  };
  put(enc.encode("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"));
  for (let obj = 1; at < size; obj++) {
    if (r() < 0.4) {
      // A "compressed" stream: incompressible bytes, as deflated page content and images are.
      const len = 500 + Math.floor(r() * 6000);
      put(enc.encode(`${obj} 0 obj\n<< /Length ${len} /Filter /FlateDecode >>\nstream\n`));
      const data = new Uint8Array(len);
      for (let i = 0; i < len; i++) data[i] = Math.floor(r() * 256);
      put(data);
      put(enc.encode("\nendstream\nendobj\n"));
    } else {
      const text = Array.from(
        { length: 10 + Math.floor(r() * 40) },
        () => `(${pick(r, WORDS)}) Tj ${(r() * 600).toFixed(1)} ${(r() * 800).toFixed(1)} Td`,
      ).join("\n");
      put(enc.encode(
        `${obj} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> >>\nBT /F1 ${
          8 + Math.floor(r() * 6)
        } Tf\n${text}\nET\nendobj\n`,
      ));
    }
  }
  return out;
}

const GENERATORS: Record<string, (size: number) => Uint8Array> = {
  json,
  bitmap,
  faust,
  html,
  pdf,
};
const cache = new Map<string, Uint8Array>();

/**
 * A corpus's bytes (generated once per process).
 * @param name One of {@linkcode CORPORA}'s names.
 */
export function corpus(name: string): Uint8Array {
  let data = cache.get(name);
  if (data === undefined) {
    const c = CORPORA.find((x) => x.name === name);
    if (c === undefined) throw new Error(`Unknown corpus ${name}`);
    data = GENERATORS[name](c.size);
    cache.set(name, data);
  }
  return data;
}
