/**
 * What a conformance case is: a script of what the fuzzer sends, the events it expects back
 * (one list per acceptable outcome, in Autobahn's order OK, NON-STRICT, INFORMATIONAL), and how
 * the connection must end. The same data drives the fuzzing client (testing servers) and the
 * fuzzing server (testing clients); only masking and who closes TCP differ by role.
 *
 * @module
 */

/** Autobahn's verdicts. UNIMPLEMENTED: the case could not be run against that peer. */
export type Verdict = "OK" | "NON-STRICT" | "INFORMATIONAL" | "FAILED" | "UNIMPLEMENTED";

/** Every verdict, in report order. */
export const VERDICTS: readonly Verdict[] = [
  "OK",
  "NON-STRICT",
  "INFORMATIONAL",
  "FAILED",
  "UNIMPLEMENTED",
];

/** An acceptable outcome's name. */
export type Outcome = "OK" | "NON-STRICT" | "INFORMATIONAL";

/**
 * Autobahn's closing-behaviour verdicts: OK; FAILED (closed by the wrong endpoint); UNCLEAN (a
 * clean close was required); WRONG CODE (a close code outside the expected set); FAILED BY CLIENT
 * (the fuzzing client had to drop TCP: the server should close it); INFORMATIONAL.
 */
export type CloseVerdict =
  | "OK"
  | "FAILED"
  | "UNCLEAN"
  | "WRONG CODE"
  | "FAILED BY CLIENT"
  | "INFORMATIONAL";

/** Something the fuzzer observed, compared with the expected lists. */
export type Ev =
  | { type: "message"; data: Uint8Array; binary: boolean }
  | { type: "pong"; data: Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "timeout"; tag: string };

/** A step of a case's script. Seconds are Autobahn's; the harness may scale them. */
export type Action =
  | {
    /** Write one frame exactly as given (invalid ones included); does not count as a close. */
    kind: "frame";
    opcode: number;
    fin: boolean;
    /** 4 = RSV1, 2 = RSV2, 1 = RSV3. */
    rsv: number;
    payload: Uint8Array;
    /** Write the frame's bytes in pieces of this size, each flushed on its own; 0 = whole. */
    chop: number;
    /** Flush the frame on its own before the next write. */
    sync: boolean;
  }
  | {
    /** Write only a frame header announcing `length` payload bytes (Autobahn's beginMessageFrame). */
    kind: "frameStart";
    opcode: number;
    fin: boolean;
    length: number;
  }
  | {
    /** Write more payload of the frame started by `frameStart`, flushed on its own. */
    kind: "frameData";
    payload: Uint8Array;
  }
  | {
    /** Send a data message, split into frames of `fragmentSize` bytes (0 = one frame). */
    kind: "message";
    payload: Uint8Array;
    binary: boolean;
    fragmentSize: number;
  }
  | {
    /** Start the closing handshake with this raw close payload (may be malformed on purpose). */
    kind: "close";
    payload: Uint8Array;
  }
  | {
    /**
     * Wait; then, if the connection is still open, record `timeout(tag)` (unless the tag is
     * empty) and go on, else stop the script.
     */
    kind: "wait";
    seconds: number;
    tag: string;
  }
  | {
    /** After this long, start a normal close (1000) unless closing already. Ends the script. */
    kind: "closeAfter";
    seconds: number;
    /** Whether the harness's time scale applies (false for the 9.x deadlines). */
    scaled: boolean;
  }
  | {
    /** After this long, fail the connection from the fuzzer's side. Ends the script. */
    kind: "killAfter";
    seconds: number;
    scaled: boolean;
  }
  | {
    /** Send `count` messages one at a time, each after the previous one's echo (9.7, 9.8). */
    kind: "roundTrips";
    count: number;
    payload: Uint8Array;
    binary: boolean;
  };

/** How the connection must end. */
export interface CloseExpectation {
  /** Whether the fuzzer is the one to start the closing handshake. */
  closedByMe: boolean;
  /** Close codes accepted from the peer (a close frame without a code, or none, is accepted too). */
  codes: number[];
  /** Whether the closing handshake must complete and the server close TCP. */
  requireClean: boolean;
}

/** A case's script and expectations, built when the case runs (9.x payloads are big). */
export interface CasePlan {
  script: Action[];
  outcomes: Array<[Outcome, Ev[]]>;
}

/**
 * One permessage-deflate offer element as Autobahn's `PerMessageDeflateOffer` writes it:
 * `client_no_context_takeover` and `client_max_window_bits` (no value) always, then
 * `server_no_context_takeover` and `server_max_window_bits=N` when requested.
 */
export interface DeflateOffer {
  /** Ask the server not to take over its context (`server_no_context_takeover`). */
  serverNoContextTakeover: boolean;
  /** Ask the server for this window (`server_max_window_bits=N`); 0: not asked. */
  serverMaxWindowBits: number;
}

/** What a permessage-deflate case (groups 12 and 13) sends, and how each side negotiates. */
export interface DeflateSpec {
  /** Corpus name (see conformance/deflate_corpora.ts). */
  corpus: string;
  /** Sent as binary messages (else text). */
  binary: boolean;
  /** Payload length of every message. */
  size: number;
  /** Messages per case upstream (1000); the harness may run fewer. */
  count: number;
  /** Upstream's case deadline in seconds. */
  waitSeconds: number;
  /** Frame size the fuzzer splits its compressed messages into; 0 = one frame. */
  fragmentSize: number;
  /** The offer list a client makes (the fuzzing client sends it; a client under test is told). */
  offers: DeflateOffer[];
  /**
   * How the fuzzing server accepts, Autobahn's accept functions: each (client_no_context_takeover,
   * client_max_window_bits) request tried in order against the offers; the first offer that allows
   * it is accepted with it (a window request needs `client_max_window_bits` in the offer).
   */
  accept: Array<[boolean, number]>;
}

/** One conformance case, with Autobahn's id. */
export interface CaseDef {
  /** Autobahn's case id, e.g. "5.19". */
  id: string;
  description: string;
  expectation: string;
  close: CloseExpectation;
  plan(): CasePlan;
  /** Do not close when the events match (the case sends its own close). */
  suppressClose?: boolean;
  /** The behaviour is undefined by the RFC: always INFORMATIONAL (7.1.6, 7.13.x). */
  informational?: boolean;
  /** A close code outside the set fails the case (Autobahn's 7.x), else it is NON-STRICT. */
  wrongCodeFails?: boolean;
  /** Part of the long 9.x set. */
  long?: boolean;
  /** Report the case duration (9.x). */
  reportTime?: boolean;
  /** Reason given when no event arrived at all (9.x: no echo within the deadline). */
  missingReason?: string;
  /** A permessage-deflate case (groups 12, 13): run by conformance/deflate_session.ts. */
  deflate?: DeflateSpec;
}

/** The result of one case against one peer. */
export interface CaseResult {
  id: string;
  verdict: Verdict;
  /** Why, in a sentence. */
  reason: string;
  /** Milliseconds from open to the end of the case. */
  duration: number;
  behavior: Verdict;
  behaviorClose: CloseVerdict;
  /** The peer's close code (null: no close frame, or one without a code). */
  remoteCloseCode: number | null;
  closedByMe: boolean;
  wasClean: boolean;
  droppedByMe: boolean;
  /** The events observed, abbreviated. */
  received: string[];
}

/** The group of a case id: "6.4.1" -> "6". */
export function groupOf(id: string): string {
  return id.slice(0, id.indexOf("."));
}

/** Compare case ids numerically part by part. */
export function compareIds(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Whether a case id matches a pattern list like `"1.*,5.19,6.4.*"` (`*` matches anything; a
 * plain group such as `"7"` matches the whole group).
 */
export function matchesPatterns(id: string, patterns: string): boolean {
  for (const raw of patterns.split(",")) {
    const p = raw.trim();
    if (p === "") continue;
    if (
      !p.includes(".") && !p.includes("*")
        ? groupOf(id) === p
        : new RegExp(`^${p.replace(/\./g, "\\.").replace(/\*/g, ".*")}$`).test(id)
    ) {
      return true;
    }
  }
  return false;
}
