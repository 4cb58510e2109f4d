/**
 * The cases of Autobahn|Testsuite groups 1-7, 9 and 10 (the non-compression ones, 301 cases;
 * {@linkcode allCases} adds groups 12 and 13 from deflate_cases.ts),
 * with Autobahn's ids, descriptions, expected events and closing criteria. Written once, run by
 * both harnesses ({@linkcode runFuzzingClient} against servers, the fuzzing server against clients).
 *
 * Conventions, as in Autobahn: `killAfter` ends cases where the peer is expected to fail the
 * connection (if it does not, the fuzzer closing counts as "closed by the wrong endpoint");
 * `closeAfter` ends cases where the fuzzer closes normally; a case with one expected outcome and
 * `closedByMe` closes as soon as the events match.
 *
 * @module
 */

import type { Action, CaseDef, CasePlan, CloseExpectation, Ev, Outcome } from "./model.ts";
import { bytes, OP, repeatTo } from "./wire.ts";
import { KOSME, utf8Groups } from "./utf8_sequences.ts";
import { deflateCases } from "./deflate_cases.ts";

type Data = string | Uint8Array;

// ---- script and event builders --------------------------------------------------------------

interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  chop?: number;
  sync?: boolean;
}

function frame(opcode: number, payload: Data = "", o: FrameOptions = {}): Action {
  return {
    kind: "frame",
    opcode,
    fin: o.fin ?? true,
    rsv: o.rsv ?? 0,
    payload: bytes(payload),
    chop: o.chop ?? 0,
    sync: o.sync ?? false,
  };
}
function message(payload: Data, binary: boolean, fragmentSize = 0): Action {
  return { kind: "message", payload: bytes(payload), binary, fragmentSize };
}
function closeFrame(code: number | null, reason: Data = ""): Action {
  const r = bytes(reason);
  if (code === null) return { kind: "close", payload: r };
  const payload = new Uint8Array(2 + r.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(r, 2);
  return { kind: "close", payload };
}
const wait = (seconds: number, tag: string): Action => ({ kind: "wait", seconds, tag });
const closeAfter = (seconds: number, scaled = true): Action => ({
  kind: "closeAfter",
  seconds,
  scaled,
});
const killAfter = (seconds: number, scaled = true): Action => ({
  kind: "killAfter",
  seconds,
  scaled,
});

const text = (data: Data): Ev => ({ type: "message", data: bytes(data), binary: false });
const binary = (data: Data): Ev => ({ type: "message", data: bytes(data), binary: true });
const pong = (data: Data = ""): Ev => ({ type: "pong", data: bytes(data) });
const timeout = (tag: string): Ev => ({ type: "timeout", tag });

const NORMAL: CloseExpectation = { closedByMe: true, codes: [1000], requireClean: true };
const failedWith = (code: number): CloseExpectation => ({
  closedByMe: false,
  codes: [code],
  requireClean: false,
});

const star = (n: number) => "*".repeat(n);
const fe = (n: number) => new Uint8Array(n).fill(0xfe);
const SMALL_BINARY = new Uint8Array([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
const HELLO = "Hello, world!";

interface Spec {
  id: string;
  description: string;
  expectation: string;
  close: CloseExpectation;
  script: () => Action[];
  ok: () => Ev[];
  nonStrict?: () => Ev[];
  options?: Partial<CaseDef>;
}

function make(s: Spec): CaseDef {
  return {
    id: s.id,
    description: s.description,
    expectation: s.expectation,
    close: s.close,
    plan(): CasePlan {
      const outcomes: Array<[Outcome, Ev[]]> = [["OK", s.ok()]];
      if (s.nonStrict) outcomes.push(["NON-STRICT", s.nonStrict()]);
      return { script: s.script(), outcomes };
    },
    ...s.options,
  };
}

// ---- 1 Framing ------------------------------------------------------------------------------

function group1(): CaseDef[] {
  const out: CaseDef[] = [];
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  for (const [sub, isBinary] of [[1, false], [2, true]] as const) {
    const kind = isBinary ? "binary" : "text";
    const data = (n: number) => isBinary ? fe(n) : star(n);
    const opcode = isBinary ? OP.BINARY : OP.TEXT;
    const ev = (n: number) => isBinary ? binary(fe(n)) : text(star(n));
    sizes.forEach((n, i) =>
      out.push(make({
        id: `1.${sub}.${i + 1}`,
        description: `Send ${kind} message with payload length ${n}.`,
        expectation:
          `Receive echo'ed ${kind} message (with payload as sent). Clean close with normal code.`,
        close: NORMAL,
        script: () => [frame(opcode, data(n)), killAfter(10)],
        ok: () => [ev(n)],
      }))
    );
    out.push(make({
      id: `1.${sub}.8`,
      description:
        `Send ${kind} message with payload length 65536. Sent out data in chops of 997 octets.`,
      expectation:
        `Receive echo'ed ${kind} message (with payload as sent). Clean close with normal code.`,
      close: NORMAL,
      script: () => [frame(opcode, data(65536), { chop: 997 }), killAfter(10)],
      ok: () => [ev(65536)],
    }));
  }
  return out;
}

// ---- 2 Pings/Pongs --------------------------------------------------------------------------

function group2(): CaseDef[] {
  const pongCase = (id: string, description: string, payload: Data, chop = 0, after = 1) =>
    make({
      id,
      description,
      expectation:
        "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
      close: NORMAL,
      script: () => [frame(OP.PING, payload, { chop }), closeAfter(after)],
      ok: () => [pong(payload)],
    });
  const tenPings = (id: string, chop: number) =>
    make({
      id,
      description: `Send 10 Pings with payload.${
        chop ? " Send out octets in octet-wise chops." : ""
      }`,
      expectation:
        "Pongs for our Pings with all the payloads. Note: this is not required by the RFC, but checked anyway. Clean close with normal code.",
      close: NORMAL,
      script: () => [
        ...Array.from({ length: 10 }, (_, i) => frame(OP.PING, `payload-${i}`, { chop })),
        closeAfter(3),
      ],
      ok: () => Array.from({ length: 10 }, (_, i) => pong(`payload-${i}`)),
    });
  return [
    pongCase("2.1", "Send ping without payload.", ""),
    pongCase("2.2", "Send ping with small text payload.", HELLO),
    pongCase("2.3", "Send ping with small binary (non UTF-8) payload.", SMALL_BINARY),
    pongCase("2.4", "Send ping with binary payload of 125 octets.", fe(125)),
    make({
      id: "2.5",
      description: "Send ping with binary payload of 126 octets.",
      expectation:
        "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets.",
      close: failedWith(1002),
      script: () => [frame(OP.PING, fe(126)), killAfter(1)],
      ok: () => [],
    }),
    pongCase(
      "2.6",
      "Send ping with binary payload of 125 octets, send in octet-wise chops.",
      fe(125),
      1,
      2,
    ),
    make({
      id: "2.7",
      description:
        "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.",
      expectation: "Nothing.",
      close: NORMAL,
      script: () => [frame(OP.PONG), closeAfter(1)],
      ok: () => [],
    }),
    make({
      id: "2.8",
      description:
        "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.",
      expectation: "Nothing.",
      close: NORMAL,
      script: () => [frame(OP.PONG, "unsolicited pong payload"), closeAfter(1)],
      ok: () => [],
    }),
    make({
      id: "2.9",
      description:
        "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
      expectation:
        "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
      close: NORMAL,
      script: () => [
        frame(OP.PONG, "unsolicited pong payload"),
        frame(OP.PING, "ping payload"),
        closeAfter(1),
      ],
      ok: () => [pong("ping payload")],
    }),
    tenPings("2.10", 0),
    tenPings("2.11", 1),
  ];
}

// ---- 3 Reserved bits ------------------------------------------------------------------------

function group3(): CaseDef[] {
  const failImmediately =
    "The connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated.";
  const afterEcho =
    "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.";
  const threeFrames = (id: string, rsv: number, o: FrameOptions, how: string) =>
    make({
      id,
      description:
        `Send small text message, then send again with RSV = ${rsv}, then send Ping.${how}`,
      expectation: afterEcho,
      close: failedWith(1002),
      script: () => [
        frame(OP.TEXT, HELLO, o),
        frame(OP.TEXT, HELLO, { ...o, rsv }),
        frame(OP.PING, "", o),
        killAfter(1),
      ],
      ok: () => [text(HELLO)],
      nonStrict: () => [],
    });
  return [
    make({
      id: "3.1",
      description: "Send small text message with RSV = 1.",
      expectation: failImmediately,
      close: failedWith(1002),
      script: () => [frame(OP.TEXT, HELLO, { rsv: 1 }), killAfter(1)],
      ok: () => [],
    }),
    threeFrames("3.2", 2, {}, ""),
    threeFrames("3.3", 3, { sync: true }, " Octets are sent in frame-wise chops."),
    threeFrames("3.4", 4, { chop: 1 }, " Octets are sent in octet-wise chops."),
    make({
      id: "3.5",
      description: "Send small binary message with RSV = 5.",
      expectation: "The connection is failed immediately, since RSV must be 0.",
      close: failedWith(1002),
      script: () => [frame(OP.BINARY, SMALL_BINARY, { rsv: 5 }), killAfter(1)],
      ok: () => [],
    }),
    make({
      id: "3.6",
      description: "Send Ping with RSV = 6.",
      expectation: "The connection is failed immediately, since RSV must be 0.",
      close: failedWith(1002),
      script: () => [frame(OP.PING, HELLO, { rsv: 6 }), killAfter(1)],
      ok: () => [],
    }),
    make({
      id: "3.7",
      description: "Send Close with RSV = 7.",
      expectation: "The connection is failed immediately, since RSV must be 0.",
      close: failedWith(1002),
      script: () => [frame(OP.CLOSE, "", { rsv: 7 }), killAfter(1)],
      ok: () => [],
    }),
  ];
}

// ---- 4 Opcodes ------------------------------------------------------------------------------

function group4(): CaseDef[] {
  const out: CaseDef[] = [];
  for (const [sub, base, kind] of [[1, 3, "non-control"], [2, 11, "control"]] as const) {
    const op = (i: number) => base + i;
    out.push(make({
      id: `4.${sub}.1`,
      description: `Send frame with reserved ${kind} Opcode = ${op(0)}.`,
      expectation: "The connection is failed immediately.",
      close: failedWith(1002),
      script: () => [frame(op(0)), killAfter(1)],
      ok: () => [],
    }));
    out.push(make({
      id: `4.${sub}.2`,
      description: `Send frame with reserved ${kind} Opcode = ${op(1)} and non-empty payload.`,
      expectation: "The connection is failed immediately.",
      close: failedWith(1002),
      script: () => [frame(op(1), "reserved opcode payload"), killAfter(1)],
      ok: () => [],
    }));
    for (const [k, withPayload, chop] of [[2, false, 0], [3, true, 0], [4, true, 1]] as const) {
      out.push(make({
        id: `4.${sub}.${k + 1}`,
        description: `Send small text message, then send frame with reserved ${kind} Opcode = ${
          op(k)
        }${withPayload ? " and non-empty payload" : ""}, then send Ping.${
          chop ? " Octets are sent in octet-wise chops." : ""
        }`,
        expectation:
          "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.",
        close: failedWith(1002),
        script: () => [
          frame(OP.TEXT, HELLO, { chop }),
          frame(op(k), withPayload ? HELLO : "", { chop }),
          frame(OP.PING, "", { chop }),
          killAfter(1),
        ],
        ok: () => [text(HELLO)],
        nonStrict: () => [],
      }));
    }
  }
  return out;
}

// ---- 5 Fragmentation ------------------------------------------------------------------------

function group5(): CaseDef[] {
  const out: CaseDef[] = [];
  const noContinue = "The connection is failed immediately, since there is no message to continue.";
  out.push(make({
    id: "5.1",
    description: "Send Ping fragmented into 2 fragments.",
    expectation: "Connection is failed immediately, since control message MUST NOT be fragmented.",
    close: failedWith(1002),
    script: () => [
      frame(OP.PING, "fragment1", { fin: false }),
      frame(OP.CONT, "fragment2"),
      killAfter(1),
    ],
    ok: () => [],
  }));
  out.push(make({
    id: "5.2",
    description: "Send Pong fragmented into 2 fragments.",
    expectation: "Connection is failed immediately, since control message MUST NOT be fragmented.",
    close: failedWith(1002),
    script: () => [
      frame(OP.PONG, "fragment1", { fin: false }),
      frame(OP.CONT, "fragment2"),
      killAfter(1),
    ],
    ok: () => [],
  }));
  const ways: Array<[FrameOptions, string]> = [
    [{}, ""],
    [{ sync: true }, " Octets are sent in frame-wise chops."],
    [{ chop: 1 }, " Octets are sent in octet-wise chops."],
  ];
  ways.forEach(([o, how], i) =>
    out.push(make({
      id: `5.${3 + i}`,
      description: `Send text Message fragmented into 2 fragments.${how}`,
      expectation: "Message is processed and echo'ed back to us.",
      close: NORMAL,
      script: () => [
        frame(OP.TEXT, "fragment1", { ...o, fin: false }),
        frame(OP.CONT, "fragment2", o),
        closeAfter(1),
      ],
      ok: () => [text("fragment1fragment2")],
    }))
  );
  ways.forEach(([o, how], i) =>
    out.push(make({
      id: `5.${6 + i}`,
      description:
        `Send text Message fragmented into 2 fragments, one ping with payload in-between.${how}`,
      expectation: "A pong is received, then the message is echo'ed back to us.",
      close: NORMAL,
      script: () => [
        frame(OP.TEXT, "fragment1", { ...o, fin: false }),
        frame(OP.PING, "ping payload", o),
        frame(OP.CONT, "fragment2", o),
        closeAfter(1),
      ],
      ok: () => [pong("ping payload"), text("fragment1fragment2")],
    }))
  );
  for (const [first, fin] of [[9, true], [12, false]] as const) {
    ways.forEach(([o, how], i) =>
      out.push(make({
        id: `5.${first + i}`,
        description:
          `Send unfragmented Text Message after Continuation Frame with FIN = ${fin}, where there is nothing to continue, sent in ${
            how === "" ? "one chop" : how.includes("frame") ? "per-frame chops" : "octet-wise chops"
          }.`,
        expectation: noContinue,
        close: failedWith(1002),
        script: () => [
          frame(OP.CONT, "non-continuation payload", { ...o, fin }),
          frame(OP.TEXT, HELLO, o),
          killAfter(1),
        ],
        ok: () => [],
      }))
    );
  }
  out.push(make({
    id: "5.15",
    description:
      "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.",
    expectation: noContinue,
    close: failedWith(1002),
    script: () => [
      frame(OP.TEXT, "fragment1", { fin: false }),
      frame(OP.CONT, "fragment2"),
      frame(OP.CONT, "fragment3", { fin: false }),
      frame(OP.TEXT, "fragment4"),
      killAfter(1),
    ],
    ok: () => [text("fragment1fragment2")],
    nonStrict: () => [],
  }));
  for (const [id, fin] of [["5.16", false], ["5.17", true]] as const) {
    out.push(make({
      id,
      description:
        `Repeated 2x: Continuation Frame with FIN = ${fin} (where there is nothing to continue), then text Message fragmented into 2 fragments.`,
      expectation: noContinue,
      close: failedWith(1002),
      script: () => [
        ...[0, 1].flatMap(
          () => [
            frame(OP.CONT, "fragment1", { fin }),
            frame(OP.TEXT, "fragment2", { fin: false }),
            frame(OP.CONT, "fragment3"),
          ],
        ),
        killAfter(1),
      ],
      ok: () => [],
    }));
  }
  out.push(make({
    id: "5.18",
    description:
      "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.",
    expectation:
      "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.",
    close: failedWith(1002),
    script: () => [
      frame(OP.TEXT, "fragment1", { fin: false }),
      frame(OP.TEXT, "fragment2"),
      killAfter(1),
    ],
    ok: () => [],
  }));
  for (const [id, sync] of [["5.19", false], ["5.20", true]] as const) {
    const o = { sync };
    out.push(make({
      id,
      description:
        `A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.${
          sync ? " All frames are sent with SYNC = True." : ""
        }`,
      expectation:
        "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
      close: NORMAL,
      script: () => [
        frame(OP.TEXT, "fragment1", { ...o, fin: false }),
        frame(OP.CONT, "fragment2", { ...o, fin: false }),
        frame(OP.PING, "pongme 1!", o),
        wait(1, ""),
        frame(OP.CONT, "fragment3", { ...o, fin: false }),
        frame(OP.CONT, "fragment4", { ...o, fin: false }),
        frame(OP.PING, "pongme 2!", o),
        frame(OP.CONT, "fragment5", o),
        closeAfter(1),
      ],
      ok: () => [
        pong("pongme 1!"),
        pong("pongme 2!"),
        text("fragment1fragment2fragment3fragment4fragment5"),
      ],
    }));
  }
  return out;
}

// ---- 6 UTF-8 handling -----------------------------------------------------------------------

function group6(): CaseDef[] {
  const out: CaseDef[] = [];
  const echo = "The message is echo'ed back to us.";
  const failUtf8 = "The connection is failed immediately, since the payload is not valid UTF-8.";
  out.push(make({
    id: "6.1.1",
    description: "Send text message of length 0.",
    expectation: "A message is echo'ed back to us (with empty payload).",
    close: NORMAL,
    script: () => [frame(OP.TEXT, ""), closeAfter(1)],
    ok: () => [text("")],
  }));
  out.push(make({
    id: "6.1.2",
    description: "Send fragmented text message, 3 fragments each of length 0.",
    expectation: "A message is echo'ed back to us (with empty payload).",
    close: NORMAL,
    script: () => [
      frame(OP.TEXT, "", { fin: false }),
      frame(OP.CONT, "", { fin: false }),
      frame(OP.CONT, ""),
      closeAfter(1),
    ],
    ok: () => [text("")],
  }));
  out.push(make({
    id: "6.1.3",
    description:
      "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
    expectation: "A message is echo'ed back to us (with payload = payload of middle fragment).",
    close: NORMAL,
    script: () => [
      frame(OP.TEXT, "", { fin: false }),
      frame(OP.CONT, "middle frame payload", { fin: false }),
      frame(OP.CONT, ""),
      closeAfter(1),
    ],
    ok: () => [text("middle frame payload")],
  }));
  const sample = "Hello-µ@ßöäüàá-UTF-8!!";
  const octetFrames = (data: Uint8Array) =>
    Array.from(
      data,
      (b, i) =>
        frame(i === 0 ? OP.TEXT : OP.CONT, new Uint8Array([b]), { fin: i === data.length - 1 }),
    );
  out.push(make({
    id: "6.2.1",
    description: "Send a valid UTF-8 text message in one fragment.",
    expectation: echo,
    close: NORMAL,
    script: () => [frame(OP.TEXT, sample), closeAfter(1)],
    ok: () => [text(sample)],
  }));
  out.push(make({
    id: "6.2.2",
    description:
      "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.",
    expectation: echo,
    close: NORMAL,
    script: () => [
      frame(OP.TEXT, "Hello-µ@ßöä", { fin: false }),
      frame(OP.CONT, "üàá-UTF-8!!"),
      closeAfter(1),
    ],
    ok: () => [text(sample)],
  }));
  out.push(make({
    id: "6.2.3",
    description:
      "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
    expectation: echo,
    close: NORMAL,
    script: () => [...octetFrames(bytes(sample)), closeAfter(1)],
    ok: () => [text(sample)],
  }));
  out.push(make({
    id: "6.2.4",
    description:
      "Send a valid UTF-8 text message (κόσμε) in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
    expectation: echo,
    close: NORMAL,
    script: () => [...octetFrames(KOSME), closeAfter(1)],
    ok: () => [text(KOSME)],
  }));
  const invalid = new Uint8Array([...KOSME, 0xed, 0xa0, 0x80, ...bytes("edited")]);
  out.push(make({
    id: "6.3.1",
    description: "Send invalid UTF-8 text message unfragmented.",
    expectation: failUtf8,
    close: failedWith(1007),
    script: () => [frame(OP.TEXT, invalid), killAfter(1)],
    ok: () => [],
  }));
  out.push(make({
    id: "6.3.2",
    description:
      "Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
    expectation: failUtf8,
    close: failedWith(1007),
    script: () => [...octetFrames(invalid), killAfter(1)],
    ok: () => [],
  }));
  // 6.4: fail fast. The part that makes the text invalid must fail the connection before the
  // second wait ends; failing only at the end of the message is NON-STRICT.
  const failFast = (id: string, parts: Uint8Array[], chops: boolean) => {
    return make({
      id,
      description: chops
        ? `Send invalid UTF-8 text message as 3 chops of one frame (${
          parts.map((p) => p.length).join(" + ")
        } octets), waiting after the first and the second.`
        : `Send invalid UTF-8 text message in 3 fragments (frames) of ${
          parts.map((p) => p.length).join(" + ")
        } octets, waiting after the first and the second: the second makes the sequence invalid.`,
      expectation:
        "The first part is accepted: we time out on the first wait. The second part must be rejected immediately (fail fast on UTF-8). If we time out again, the connection must be failed at the latest then.",
      close: failedWith(1007),
      script: () => {
        if (!chops) {
          return [
            frame(OP.TEXT, parts[0], { fin: false }),
            wait(1, "A"),
            frame(OP.CONT, parts[1], { fin: false }),
            wait(1, "B"),
            frame(OP.CONT, parts[2]),
            killAfter(1),
          ];
        }
        // One frame whose payload is written in three pieces, with the waits in between.
        const length = parts.reduce((n, p) => n + p.length, 0);
        return [
          { kind: "frameStart", opcode: OP.TEXT, fin: true, length },
          { kind: "frameData", payload: parts[0] },
          wait(1, "A"),
          { kind: "frameData", payload: parts[1] },
          wait(1, "B"),
          { kind: "frameData", payload: parts[2] },
          killAfter(1),
        ];
      },
      ok: () => [timeout("A")],
      nonStrict: () => [timeout("A"), timeout("B")],
    });
  };
  const p1 = KOSME;
  const p2 = new Uint8Array([0xf4, 0x90, 0x80, 0x80]);
  const p3 = bytes("edited");
  const all = new Uint8Array([...p1, ...p2, ...p3]);
  out.push(failFast("6.4.1", [p1, p2, p3], false));
  out.push(failFast("6.4.2", [all.subarray(0, 12), all.subarray(12, 13), all.subarray(13)], false));
  out.push(failFast("6.4.3", [p1, p2, p3], true));
  out.push(failFast("6.4.4", [all.subarray(0, 12), all.subarray(12, 13), all.subarray(13)], true));
  // 6.5 - 6.23
  utf8Groups().forEach((g, gi) =>
    g.sequences.forEach((s, si) =>
      out.push(make({
        id: `6.${5 + gi}.${si + 1}`,
        description: `${g.title}: send a text message with payload which is ${
          s.valid ? "" : "not "
        }valid UTF-8 in one fragment.`,
        expectation: s.valid ? echo : failUtf8,
        close: s.valid ? NORMAL : failedWith(1007),
        script: () => [frame(OP.TEXT, s.bytes), s.valid ? closeAfter(0.5) : killAfter(0.5)],
        ok: () => (s.valid ? [text(s.bytes)] : []),
      }))
    )
  );
  return out;
}

// ---- 7 Close handling -----------------------------------------------------------------------

function group7(): CaseDef[] {
  const out: CaseDef[] = [];
  const fuzzerClose = (
    id: string,
    description: string,
    expectation: string,
    script: () => Action[],
    ok: () => Ev[],
    close: CloseExpectation,
  ) =>
    out.push(make({
      id,
      description,
      expectation,
      close,
      script,
      ok,
      options: { suppressClose: true, wrongCodeFails: true },
    }));
  const hw = "Hello World!";
  fuzzerClose(
    "7.1.1",
    "Send a message followed by a close frame",
    "Echoed message followed by clean close with normal code.",
    () => [
      frame(OP.TEXT, hw),
      closeFrame(1000),
      killAfter(1),
    ],
    () => [text(hw)],
    NORMAL,
  );
  fuzzerClose(
    "7.1.2",
    "Send two close frames",
    "Clean close with normal code. Second close frame ignored.",
    () => [
      closeFrame(1000),
      frame(OP.CLOSE),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  fuzzerClose(
    "7.1.3",
    "Send a ping after close message",
    "Clean close with normal code, no pong.",
    () => [
      closeFrame(1000),
      frame(OP.PING),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  fuzzerClose(
    "7.1.4",
    "Send text message after sending a close frame",
    "Clean close with normal code. Text message ignored.",
    () => [
      closeFrame(1000),
      frame(OP.TEXT, hw),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  fuzzerClose(
    "7.1.5",
    "Send message fragment1 followed by close then fragment",
    "Clean close with normal code.",
    () => [
      frame(OP.TEXT, "fragment1", { fin: false }),
      closeFrame(1000),
      frame(OP.CONT, "fragment2"),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  out.push(make({
    id: "7.1.6",
    description: "Send 256K message followed by close then a ping",
    expectation:
      "Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.",
    close: NORMAL,
    script: () => [
      frame(OP.TEXT, repeatTo(bytes("BAsd7&jh23"), 256 * 1024)),
      frame(OP.TEXT, hw),
      closeFrame(1000),
      frame(OP.PING),
      killAfter(1),
    ],
    ok: () => [text(repeatTo(bytes("BAsd7&jh23"), 256 * 1024)), text(hw)],
    nonStrict: () => [],
    options: { suppressClose: true, informational: true },
  }));
  const protocolError: CloseExpectation = { closedByMe: true, codes: [1002], requireClean: false };
  fuzzerClose(
    "7.3.1",
    "Send a close frame with payload length 0 (no close code, no close reason)",
    "Clean close with normal code.",
    () => [
      closeFrame(null),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  fuzzerClose(
    "7.3.2",
    "Send a close frame with payload length 1",
    "Clean close with protocol error or drop TCP.",
    () => [
      closeFrame(null, "a"),
      killAfter(1),
    ],
    () => [],
    protocolError,
  );
  fuzzerClose(
    "7.3.3",
    "Send a close frame with payload length 2 (regular close with a code)",
    "Clean close with normal code.",
    () => [
      closeFrame(1000),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  fuzzerClose(
    "7.3.4",
    "Send a close frame with close code and close reason",
    "Clean close with normal code.",
    () => [
      closeFrame(1000, hw),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  fuzzerClose(
    "7.3.5",
    "Send a close frame with close code and close reason of maximum length (123)",
    "Clean close with normal code.",
    () => [
      closeFrame(1000, star(123)),
      killAfter(1),
    ],
    () => [],
    NORMAL,
  );
  fuzzerClose(
    "7.3.6",
    "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets",
    "Clean close with protocol error code or dropped TCP connection.",
    () => [
      closeFrame(1000, star(124)),
      killAfter(1),
    ],
    () => [],
    protocolError,
  );
  fuzzerClose(
    "7.5.1",
    "Send a close frame with invalid UTF8 payload",
    "Clean close with protocol error or invalid utf8 code or dropped TCP.",
    () => [
      closeFrame(1000, new Uint8Array([...KOSME, 0xed, 0xa0, 0x80, ...bytes("edited")])),
      killAfter(1),
    ],
    () => [],
    { closedByMe: true, codes: [1007], requireClean: false },
  );
  [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((
    code,
    i,
  ) =>
    fuzzerClose(
      `7.7.${i + 1}`,
      `Send close with valid close code ${code}`,
      "Clean close with normal or echoed code",
      () => [
        closeFrame(code),
        killAfter(1),
      ],
      () => [],
      { closedByMe: true, codes: [1000, code], requireClean: true },
    )
  );
  [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) =>
    fuzzerClose(
      `7.9.${i + 1}`,
      `Send close with invalid close code ${code}`,
      "Clean close with protocol error code or drop TCP",
      () => [
        closeFrame(code),
        killAfter(1),
      ],
      () => [],
      protocolError,
    )
  );
  for (const [i, code] of [[1, 5000], [2, 65535]] as const) {
    out.push(make({
      id: `7.13.${i}`,
      description: `Send close with close code ${code}`,
      expectation: "Actual events are undefined by the spec.",
      close: { closedByMe: true, codes: [1000, code, 1002], requireClean: false },
      script: () => [closeFrame(code), killAfter(1)],
      ok: () => [],
      options: { suppressClose: true, informational: true },
    }));
  }
  return out;
}

// ---- 9 Limits/Performance -------------------------------------------------------------------

function group9(): CaseDef[] {
  const out: CaseDef[] = [];
  const MiB = 2 ** 20;
  const KiB = 2 ** 10;
  const pattern = bytes("BAsd7&jh23");
  const perf = (
    id: string,
    description: string,
    deadline: number,
    script: () => Action[],
    ok: () => Ev[],
  ) =>
    out.push(make({
      id,
      description,
      expectation: "Receive echo'ed message (with payload as sent).",
      close: NORMAL,
      script: () => [...script(), closeAfter(deadline, false)],
      ok,
      options: { long: true, reportTime: true, missingReason: `No echo (deadline ${deadline} s)` },
    }));
  const sizes: Array<[number, string, number]> = [
    [64 * KiB, "64k", 10],
    [256 * KiB, "256k", 10],
    [MiB, "1M", 20],
    [4 * MiB, "4M", 40],
    [8 * MiB, "8M", 80],
    [16 * MiB, "16M", 100],
  ];
  for (const [sub, isBinary] of [[1, false], [2, true]] as const) {
    const kind = isBinary ? "binary" : "text";
    const op = isBinary ? OP.BINARY : OP.TEXT;
    const data = (n: number) => isBinary ? fe(n) : repeatTo(pattern, n);
    const ev = (d: Uint8Array) => isBinary ? binary(d) : text(d);
    sizes.forEach(([n, label, deadline], i) =>
      perf(
        `9.${sub}.${i + 1}`,
        `Send ${kind} message with payload of length ${label}.`,
        deadline,
        () => [frame(op, data(n))],
        () => [ev(data(n))],
      )
    );
  }
  const fragSizes: Array<[number, string]> = [
    [64, "64"],
    [256, "256"],
    [KiB, "1k"],
    [4 * KiB, "4k"],
    [16 * KiB, "16k"],
    [64 * KiB, "64k"],
    [256 * KiB, "256k"],
    [MiB, "1M"],
    [4 * MiB, "4M"],
  ];
  for (const [sub, isBinary] of [[3, false], [4, true]] as const) {
    const kind = isBinary ? "binary" : "text";
    const data = () => isBinary ? fe(4 * MiB) : repeatTo(bytes("*"), 4 * MiB);
    fragSizes.forEach(([size, label], i) =>
      perf(
        `9.${sub}.${i + 1}`,
        `Send fragmented ${kind} message with message payload of length 4M. Sent out in fragments of ${label}.`,
        100,
        () => [message(data(), isBinary, size)],
        () => [isBinary ? binary(data()) : text(data())],
      )
    );
  }
  for (const [sub, isBinary] of [[5, false], [6, true]] as const) {
    const kind = isBinary ? "binary" : "text";
    const op = isBinary ? OP.BINARY : OP.TEXT;
    const data = () => isBinary ? fe(MiB) : repeatTo(pattern, MiB);
    [64, 128, 256, 512, 1024, 2048].forEach((chop, i) =>
      perf(
        `9.${sub}.${i + 1}`,
        `Send ${kind} message with payload of length 1M. Sent out data in chops of ${chop} octets.`,
        100,
        () => [frame(op, data(), { chop })],
        () => [isBinary ? binary(data()) : text(data())],
      )
    );
  }
  const rtt: Array<[number, number]> = [[0, 60], [16, 60], [64, 60], [256, 120], [1024, 240], [
    4096,
    480,
  ]];
  for (const [sub, isBinary] of [[7, false], [8, true]] as const) {
    const kind = isBinary ? "binary" : "text";
    rtt.forEach(([size, deadline], i) => {
      const payload = () => isBinary ? fe(size) : repeatTo(bytes("*"), size);
      perf(
        `9.${sub}.${i + 1}`,
        `Send 1000 ${kind} messages of payload size ${size} to measure implementation/network RTT (round trip time) / latency.`,
        deadline,
        () => [{ kind: "roundTrips", count: 1000, payload: payload(), binary: isBinary }],
        () => Array.from({ length: 1000 }, () => isBinary ? binary(payload()) : text(payload())),
      );
    });
  }
  return out;
}

// ---- 10 Misc --------------------------------------------------------------------------------

function group10(): CaseDef[] {
  return [make({
    id: "10.1.1",
    description:
      "Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.",
    expectation:
      "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
    close: NORMAL,
    script: () => [message(star(65536), false, 1300), killAfter(10)],
    ok: () => [text(star(65536))],
  })];
}

let all: CaseDef[] | null = null;

/** Every case, in Autobahn's order. */
export function allCases(): CaseDef[] {
  all ??= [
    ...group1(),
    ...group2(),
    ...group3(),
    ...group4(),
    ...group5(),
    ...group6(),
    ...group7(),
    ...group9(),
    ...group10(),
    ...deflateCases(),
  ];
  return all;
}

/** Group titles as Autobahn names them. */
export const GROUP_TITLES: Record<string, string> = {
  "1": "Framing",
  "2": "Pings/Pongs",
  "3": "Reserved Bits",
  "4": "Opcodes",
  "5": "Fragmentation",
  "6": "UTF-8 Handling",
  "7": "Close Handling",
  "9": "Limits/Performance",
  "10": "Auto-Fragmentation",
  "12": "WebSocket Compression (different payloads)",
  "13": "WebSocket Compression (different parameters)",
};
