/**
 * Autobahn|Testsuite groups 12 and 13 (permessage-deflate, 216 cases), as upstream defines them
 * in `case/case12_x_x.py`:
 *
 * - 18 message-size rows per subgroup: sizes 16 B to 128 KiB in one frame, then 8-128 KiB split
 *   into 256-byte frames, and 128 KiB into 1 KiB, 4 KiB and 32 KiB frames (the fuzzer's frames
 *   of the compressed payload), 1000 messages each, one at a time, each after the previous echo;
 * - 12.1-12.5: the five corpora with the default offer, the server accepting as offered;
 * - 13.1-13.7: the JSON corpus with seven (offer, accept) parameter sets: context takeover on or
 *   off, server window 9 or 15, client window requested 9 or 15, and a three-element offer list.
 *
 * A case is OK when every message comes back byte for byte, with its type, and the fuzzer's
 * close is answered cleanly (upstream's closing criteria); UNIMPLEMENTED when the peer did not
 * negotiate permessage-deflate.
 *
 * @module
 */

import { CORPORA } from "./deflate_corpora.ts";
import type { CaseDef, DeflateOffer, DeflateSpec } from "./model.ts";

/** (payload length, messages, upstream deadline in s, fragment size) — upstream's MSG_SIZES. */
export const MSG_SIZES: ReadonlyArray<readonly [number, number, number, number]> = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],
  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

const offer = (serverNoContextTakeover: boolean, serverMaxWindowBits: number): DeflateOffer => ({
  serverNoContextTakeover,
  serverMaxWindowBits,
});

/** 13.1-13.7: (client offers, server accepts), each as (no context takeover, max window bits). */
export const DEFLATE_PARAMS: ReadonlyArray<[DeflateOffer[], Array<[boolean, number]>]> = [
  [[offer(false, 0)], [[false, 0]]],
  [[offer(true, 0)], [[true, 0]]],
  [[offer(false, 9)], [[false, 9]]],
  [[offer(false, 15)], [[false, 15]]],
  [[offer(true, 9)], [[true, 9]]],
  [[offer(true, 15)], [[true, 15]]],
  [[offer(true, 9), offer(true, 0), offer(false, 0)], [[true, 9], [true, 0], [false, 0]]],
];

/**
 * The `Sec-WebSocket-Extensions` element a client sends for an offer, as Autobahn writes it.
 * @param o The offer.
 */
export function offerString(o: DeflateOffer): string {
  let s = "permessage-deflate; client_no_context_takeover; client_max_window_bits";
  if (o.serverNoContextTakeover) s += "; server_no_context_takeover";
  if (o.serverMaxWindowBits !== 0) s += `; server_max_window_bits=${o.serverMaxWindowBits}`;
  return s;
}

const pairs = (list: Array<[boolean, number]> | DeflateOffer[]) =>
  `[${
    list.map((x) =>
      Array.isArray(x)
        ? `(${x[0] ? "True" : "False"}, ${x[1]})`
        : `(${x.serverNoContextTakeover ? "True" : "False"}, ${x.serverMaxWindowBits})`
    ).join(", ")
  }]`;

/** Subgroup titles (upstream's, with the generated corpora's sizes). */
export const DEFLATE_SUBGROUPS: Record<string, string> = {};

function build(): CaseDef[] {
  const out: CaseDef[] = [];
  const add = (
    id: string,
    corpusIndex: number,
    row: readonly [number, number, number, number],
    offers: DeflateOffer[],
    accept: Array<[boolean, number]>,
    desc: string,
  ) => {
    const c = CORPORA[corpusIndex];
    const [size, count, waitSeconds, fragmentSize] = row;
    const spec: DeflateSpec = {
      corpus: c.name,
      binary: c.binary,
      size,
      count,
      waitSeconds,
      fragmentSize,
      offers,
      accept,
    };
    out.push({
      id,
      description:
        `Send ${count} compressed messages each of payload size ${size}, auto-fragment to ${fragmentSize} octets. Use ${desc}`,
      expectation:
        `Receive echo'ed messages (with payload as sent). Timeout case after ${waitSeconds} secs.`,
      close: { closedByMe: true, codes: [1000], requireClean: true },
      plan: () => ({ script: [], outcomes: [] }),
      reportTime: true,
      deflate: spec,
    });
  };
  CORPORA.forEach((c, j) => {
    DEFLATE_SUBGROUPS[`12.${j + 1}`] = `${c.description} (${
      c.binary ? "binary" : "utf8"
    }, ${c.size} bytes)`;
    MSG_SIZES.forEach((row, i) => {
      add(
        `12.${j + 1}.${i + 1}`,
        j,
        row,
        [offer(false, 0)],
        [[false, 0]],
        "default permessage-deflate offer.",
      );
    });
  });
  DEFLATE_PARAMS.forEach(([offers, accept], j) => {
    const params = `client offers (requestNoContextTakeover, requestMaxWindowBits): ${
      pairs(offers)
    } / server accept (requestNoContextTakeover, requestMaxWindowBits): ${pairs(accept)}`;
    DEFLATE_SUBGROUPS[`13.${j + 1}`] = `${CORPORA[0].description} (utf8, ${
      CORPORA[0].size
    } bytes) - ${params}`;
    MSG_SIZES.forEach((row, i) => {
      add(`13.${j + 1}.${i + 1}`, 0, row, offers, accept, `permessage-deflate ${params}`);
    });
  });
  return out;
}

let all: CaseDef[] | null = null;

/** The 216 cases of groups 12 and 13, in Autobahn's order. */
export function deflateCases(): CaseDef[] {
  all ??= build();
  return all;
}
