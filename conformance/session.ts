/**
 * Runs one case on a connection past its opening handshake, in either role, and judges it.
 *
 * The fuzzer is a full, strict WebSocket endpoint of its own: it answers pings, echoes a close,
 * closes TCP when a server should (role "server") or waits for the server to do so (role
 * "client"), and treats any protocol violation by the peer as a failure of the case. Every wait
 * is bounded: the case's own timers, the closing handshake timeout, and a hard cap per case.
 *
 * Judging follows Autobahn: the events received must equal one expected outcome (OK, NON-STRICT,
 * INFORMATIONAL, tried in that order), then the closing behaviour is checked in Autobahn's order
 * (who started closing, clean when required, close code in the expected set, who dropped TCP).
 * The single verdict combines both, strictly: closed by the wrong endpoint or unclean when a
 * clean close was required is FAILED; a wrong close code is NON-STRICT (FAILED in group 7, as
 * upstream); a fuzzing client having to drop TCP itself is NON-STRICT; and, stricter than
 * upstream, a peer that fails the connection by dropping TCP without sending a close frame is
 * NON-STRICT (RFC 6455 §7.1.7 says it SHOULD send one).
 *
 * @module
 */

import type { Socket } from "node:net";
import { setImmediate } from "node:timers";
import type { Action, CaseDef, CaseResult, CloseVerdict, Ev, Outcome, Verdict } from "./model.ts";
import {
  encodeFrame,
  equalBytes,
  type Frame,
  FrameReader,
  hex,
  isValidCloseCode,
  newMask,
  OP,
} from "./wire.ts";

/** How a session runs. */
export interface SessionOptions {
  /** The fuzzer's role: "client" tests a server, "server" tests a client. */
  role: "client" | "server";
  /** Factor applied to the case's scaled waits (1 = Autobahn's timing). */
  timeScale: number;
}

const decoderFatal = () => new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether two event lists are equal. */
export function equalEvents(a: Ev[], b: Ev[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.type !== y.type) return false;
    if (x.type === "timeout") {
      if (x.tag !== (y as { tag: string }).tag) return false;
    } else if (x.type === "message") {
      const m = y as { data: Uint8Array; binary: boolean };
      if (x.binary !== m.binary || !equalBytes(x.data, m.data)) return false;
    } else if (!equalBytes(x.data, (y as { data: Uint8Array }).data)) {
      return false;
    }
  }
  return true;
}

/** A short description of an event for reports. */
export function describeEvent(e: Ev): string {
  if (e.type === "timeout") return `timeout ${e.tag}`;
  if (e.type === "message") {
    const preview = e.binary || e.data.length > 40
      ? hex(e.data, 16)
      : JSON.stringify(new TextDecoder().decode(e.data));
    return `${e.binary ? "binary" : "text"} message, ${e.data.length} B: ${preview}`;
  }
  return `${e.type}, ${e.data.length} B: ${hex(e.data, 16)}`;
}

/**
 * Run `def` on `socket` (already upgraded; `early` holds bytes that came with the handshake).
 * @param socket The connected socket.
 * @param early Bytes received after the handshake head.
 * @param def The case.
 * @param options Role and time scale.
 * @returns The judged result. Never rejects.
 */
export function runCase(
  socket: Socket,
  early: Uint8Array,
  def: CaseDef,
  options: SessionOptions,
): Promise<CaseResult> {
  return new Session(socket, def, options).run(early);
}

class Session {
  readonly #socket: Socket;
  readonly #def: CaseDef;
  readonly #role: "client" | "server";
  readonly #scale: number;
  readonly #reader = new FrameReader();
  readonly #received: Ev[] = [];
  #outcomes: Array<[Outcome, Ev[]]> = [];
  #started = 0;
  #ended = 0;
  // message assembly
  #msgOpcode = 0;
  #msgParts: Uint8Array[] = [];
  // closing
  #closeSent = false;
  #closedByMe = false;
  #closeReceived = false;
  #remoteCode: number | null = null;
  #tcpClosed = false;
  #droppedByMe = false;
  #wasClean = false;
  #violation: string | null = null;
  #timedOut = false;
  // frameStart/frameData
  #partMask: Uint8Array | null = null;
  #partOffset = 0;
  // round trips (9.7, 9.8)
  #rtt: { remaining: number; payload: Uint8Array; binary: boolean } | null = null;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #finish: () => void = () => {};

  constructor(socket: Socket, def: CaseDef, options: SessionOptions) {
    this.#socket = socket;
    this.#def = def;
    this.#role = options.role;
    this.#scale = options.timeScale;
  }

  run(early: Uint8Array): Promise<CaseResult> {
    const done = new Promise<void>((resolve) => (this.#finish = resolve));
    const plan = this.#def.plan();
    this.#outcomes = plan.outcomes;
    this.#started = performance.now();
    const s = this.#socket;
    s.setNoDelay(true);
    s.on("data", (d: Uint8Array) => this.#onData(new Uint8Array(d)));
    s.on("end", () => this.#onPeerEnd());
    s.on("close", () => this.#onClosed());
    s.on("error", () => {});
    // Hard cap: the script's own scaled time plus generous slack; unscaled deadlines count fully.
    this.#timer(this.#capMs(plan.script), () => {
      this.#timedOut = true;
      this.#drop();
    });
    if (early.length > 0) this.#onData(early);
    void this.#runScript(plan.script);
    return done.then(() => this.#judge());
  }

  #capMs(script: Action[]): number {
    let ms = 0;
    for (const a of script) {
      if (a.kind === "wait") ms += a.seconds * 1000 * this.#scale;
      if (a.kind === "closeAfter" || a.kind === "killAfter") {
        ms += a.seconds * 1000 * (a.scaled ? this.#scale : 1);
      }
    }
    return ms + 15_000 + (this.#def.long ? 60_000 : 0);
  }

  #timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#tcpClosed) fn();
    }, ms);
    this.#timers.add(t);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  get #open(): boolean {
    return !this.#closeSent && !this.#closeReceived && !this.#tcpClosed;
  }

  // ---- writing --------------------------------------------------------------------------------

  #mask(): Uint8Array | null {
    return this.#role === "client" ? newMask() : null;
  }

  #write(data: Uint8Array): Promise<void> {
    if (this.#tcpClosed || this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        this.#socket.write(data, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  async #writeFrame(
    opcode: number,
    fin: boolean,
    rsv: number,
    payload: Uint8Array,
    chop: number,
    sync: boolean,
  ): Promise<void> {
    const bytes = encodeFrame({ opcode, fin, rsv, payload, mask: this.#mask() });
    if (chop > 0) {
      for (let at = 0; at < bytes.length && !this.#tcpClosed; at += chop) {
        await this.#write(bytes.subarray(at, at + chop));
        await yieldNow();
      }
    } else if (sync) {
      await this.#write(bytes);
      await yieldNow();
    } else {
      void this.#write(bytes);
    }
  }

  #sendClose(payload: Uint8Array): void {
    if (this.#closeSent || this.#tcpClosed) return;
    this.#closeSent = true;
    if (!this.#closeReceived) this.#closedByMe = true;
    void this.#write(
      encodeFrame({ opcode: OP.CLOSE, fin: true, rsv: 0, payload, mask: this.#mask() }),
    );
    if (!this.#closeReceived) {
      // Closing handshake timeout: the peer must answer our close.
      this.#timer(Math.max(300, 1000 * this.#scale) + 200, () => this.#drop());
    }
  }

  #sendNormalClose(code: number): void {
    this.#sendClose(new Uint8Array([code >> 8, code & 0xff]));
  }

  /** Close TCP from our side. */
  #drop(): void {
    if (this.#tcpClosed) return;
    this.#droppedByMe = true;
    const s = this.#socket;
    try {
      s.end();
    } catch {
      // already gone
    }
    const t = setTimeout(() => s.destroy(), 100);
    this.#timers.add(t);
  }

  // ---- the script -------------------------------------------------------------------------------

  async #runScript(script: Action[]): Promise<void> {
    for (const a of script) {
      if (this.#tcpClosed) return;
      switch (a.kind) {
        case "frame":
          await this.#writeFrame(a.opcode, a.fin, a.rsv, a.payload, a.chop, a.sync);
          break;
        case "frameStart": {
          // Only the header goes out now; its length field announces the whole payload.
          const mask = this.#mask();
          const full = encodeFrame({
            opcode: a.opcode,
            fin: a.fin,
            rsv: 0,
            payload: new Uint8Array(a.length),
            mask,
          });
          this.#partMask = mask;
          this.#partOffset = 0;
          await this.#write(full.subarray(0, full.length - a.length));
          await yieldNow();
          break;
        }
        case "frameData": {
          const data = a.payload.slice();
          const k = this.#partMask;
          if (k !== null) {
            for (let i = 0; i < data.length; i++) data[i] ^= k[(this.#partOffset + i) & 3];
          }
          this.#partOffset += data.length;
          await this.#write(data);
          await yieldNow();
          break;
        }
        case "message": {
          const opcode = a.binary ? OP.BINARY : OP.TEXT;
          const size = a.fragmentSize > 0 ? a.fragmentSize : Math.max(1, a.payload.length);
          const n = Math.max(1, Math.ceil(a.payload.length / size));
          for (let i = 0; i < n; i++) {
            const piece = a.payload.subarray(i * size, (i + 1) * size);
            await this.#writeFrame(i === 0 ? opcode : OP.CONT, i === n - 1, 0, piece, 0, false);
          }
          break;
        }
        case "close":
          this.#sendClose(a.payload);
          break;
        case "wait":
          await this.#sleep(a.seconds * 1000 * this.#scale);
          if (!this.#open) return;
          if (a.tag !== "") this.#received.push({ type: "timeout", tag: a.tag });
          break;
        case "closeAfter":
          this.#timer(a.seconds * 1000 * (a.scaled ? this.#scale : 1), () => {
            if (!this.#closeSent && !this.#closeReceived) this.#sendNormalClose(1000);
          });
          return;
        case "killAfter":
          this.#timer(a.seconds * 1000 * (a.scaled ? this.#scale : 1), () => this.#kill());
          return;
        case "roundTrips":
          this.#rtt = { remaining: a.count, payload: a.payload, binary: a.binary };
          this.#sendRoundTrip();
          break;
      }
    }
  }

  #sendRoundTrip(): void {
    const r = this.#rtt!;
    r.remaining--;
    void this.#writeFrame(r.binary ? OP.BINARY : OP.TEXT, true, 0, r.payload, 0, false);
  }

  /** Fail the connection from our side (Autobahn's killAfter, failByDrop off). */
  #kill(): void {
    if (!this.#closeSent && !this.#closeReceived) {
      this.#sendNormalClose(1001);
    } else {
      this.#drop();
    }
  }

  // ---- reading ----------------------------------------------------------------------------------

  #onData(chunk: Uint8Array): void {
    if (this.#closeReceived || this.#violation !== null) return;
    this.#reader.push(chunk);
    for (;;) {
      let f: Frame | null;
      try {
        f = this.#reader.next();
      } catch (e) {
        return this.#peerViolation((e as Error).message);
      }
      if (f === null) return;
      this.#onFrame(f);
      if (this.#closeReceived || this.#violation !== null) return;
    }
  }

  #peerViolation(what: string): void {
    if (this.#violation !== null) return;
    this.#violation = what;
    if (!this.#closeSent && !this.#closeReceived) this.#sendNormalClose(1002);
    this.#drop();
  }

  #onFrame(f: Frame): void {
    const expectMasked = this.#role === "server";
    if (f.masked !== expectMasked) {
      return this.#peerViolation(
        expectMasked ? "the client sent an unmasked frame" : "the server sent a masked frame",
      );
    }
    if (f.rsv !== 0) {
      return this.#peerViolation(`the peer set RSV bits ${f.rsv} without an extension`);
    }
    switch (f.opcode) {
      case OP.CONT:
        if (this.#msgOpcode === 0) {
          return this.#peerViolation("the peer sent a continuation frame with no message open");
        }
        this.#msgParts.push(f.payload);
        if (f.fin) this.#endMessage();
        return;
      case OP.TEXT:
      case OP.BINARY:
        if (this.#msgOpcode !== 0) {
          return this.#peerViolation("the peer started a message inside a fragmented one");
        }
        this.#msgOpcode = f.opcode;
        this.#msgParts = [f.payload];
        if (f.fin) this.#endMessage();
        return;
      case OP.CLOSE:
      case OP.PING:
      case OP.PONG:
        if (!f.fin) return this.#peerViolation("the peer sent a fragmented control frame");
        if (f.payload.length > 125) {
          return this.#peerViolation("the peer sent a control frame longer than 125 bytes");
        }
        if (f.opcode === OP.CLOSE) return this.#onClose(f.payload);
        if (f.opcode === OP.PING) {
          if (!this.#closeSent) void this.#writeFrame(OP.PONG, true, 0, f.payload, 0, false);
          this.#record({ type: "ping", data: f.payload });
        } else {
          this.#record({ type: "pong", data: f.payload });
        }
        return;
      default:
        return this.#peerViolation(`the peer sent reserved opcode ${f.opcode}`);
    }
  }

  #endMessage(): void {
    let size = 0;
    for (const p of this.#msgParts) size += p.length;
    const data = new Uint8Array(size);
    let at = 0;
    for (const p of this.#msgParts) {
      data.set(p, at);
      at += p.length;
    }
    const binary = this.#msgOpcode === OP.BINARY;
    this.#msgOpcode = 0;
    this.#msgParts = [];
    this.#record({ type: "message", data, binary });
    if (!binary) {
      try {
        decoderFatal().decode(data);
      } catch {
        return this.#peerViolation("the peer sent a text message that is not valid UTF-8");
      }
    }
    const r = this.#rtt;
    if (r !== null && r.remaining > 0 && !this.#closeSent) this.#sendRoundTrip();
  }

  #record(e: Ev): void {
    this.#received.push(e);
    // Autobahn's finishWhenDone: with a single expected outcome, close once it is reached.
    const outcomes = this.#outcomes;
    if (
      outcomes.length === 1 && this.#def.close.closedByMe && !this.#def.suppressClose &&
      this.#received.length === outcomes[0][1].length && equalEvents(this.#received, outcomes[0][1])
    ) {
      if (!this.#closeSent && !this.#closeReceived) this.#sendNormalClose(1000);
    }
  }

  #onClose(payload: Uint8Array): void {
    if (payload.length === 1) {
      return this.#peerViolation("the peer sent a close frame with a 1-byte payload");
    }
    let code: number | null = null;
    if (payload.length >= 2) {
      code = (payload[0] << 8) | payload[1];
      if (!isValidCloseCode(code)) {
        return this.#peerViolation(`the peer sent invalid close code ${code}`);
      }
      try {
        decoderFatal().decode(payload.subarray(2));
      } catch {
        return this.#peerViolation("the peer sent a close reason that is not valid UTF-8");
      }
    }
    this.#closeReceived = true;
    this.#remoteCode = code;
    // Echo the peer's close (its code, no reason) unless we started closing.
    if (!this.#closeSent) {
      this.#closeSent = true;
      const reply = code === null ? new Uint8Array(0) : new Uint8Array([code >> 8, code & 0xff]);
      void this.#write(
        encodeFrame({ opcode: OP.CLOSE, fin: true, rsv: 0, payload: reply, mask: this.#mask() }),
      );
    }
    if (this.#role === "server") {
      // The closing handshake is complete: a server closes TCP.
      this.#wasClean = true;
      this.#drop();
    } else {
      // A client waits for the server to close TCP, then gives up.
      this.#timer(Math.max(300, 1000 * this.#scale) + 200, () => this.#drop());
    }
  }

  #onPeerEnd(): void {
    if (this.#tcpClosed) return;
    if (this.#role === "client" && this.#closeSent && this.#closeReceived && !this.#droppedByMe) {
      this.#wasClean = true;
    }
    // The peer closed its side: close ours (not a drop by us).
    const s = this.#socket;
    try {
      s.end();
    } catch {
      // already gone
    }
    const t = setTimeout(() => s.destroy(), 100);
    this.#timers.add(t);
  }

  #onClosed(): void {
    if (this.#tcpClosed) return;
    if (this.#role === "client" && this.#closeSent && this.#closeReceived && !this.#droppedByMe) {
      this.#wasClean = true;
    }
    this.#tcpClosed = true;
    this.#ended = performance.now();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#finish();
  }

  // ---- judging ----------------------------------------------------------------------------------

  #judge(): CaseResult {
    const def = this.#def;
    const received = this.#received;
    let behavior: Verdict = "FAILED";
    let reason = received.length === 0 && def.missingReason !== undefined
      ? `${def.missingReason}${
        this.#remoteCode !== null ? `: the peer closed with ${this.#remoteCode}` : ""
      }`
      : "Actual events differ from any expected";
    for (const [name, events] of this.#outcomes) {
      if (equalEvents(received, events)) {
        behavior = name;
        reason = name === "OK"
          ? "Actual events match the expected ones"
          : `Actual events match the ${name} outcome`;
        break;
      }
    }
    const expected = def.close;
    let behaviorClose: CloseVerdict;
    let reasonClose: string;
    if (expected.closedByMe !== this.#closedByMe) {
      behaviorClose = "FAILED";
      reasonClose = expected.closedByMe
        ? "The peer started closing (or failed the connection) where the fuzzer was to close"
        : "The peer did not fail the connection: the fuzzer had to close it";
    } else if (expected.requireClean && !this.#wasClean) {
      behaviorClose = "UNCLEAN";
      reasonClose = this.#closeReceived
        ? "The closing handshake completed but the server did not close TCP in time"
        : "The connection ended without a complete closing handshake";
    } else if (this.#remoteCode !== null && !expected.codes.includes(this.#remoteCode)) {
      behaviorClose = "WRONG CODE";
      reasonClose = `The close code should have been ${
        expected.codes.join(", ")
      } or empty, got ${this.#remoteCode}`;
    } else if (this.#role === "client" && this.#droppedByMe) {
      behaviorClose = "FAILED BY CLIENT";
      reasonClose = "It is preferred that the server close the TCP connection";
    } else {
      behaviorClose = "OK";
      reasonClose = "Connection was properly closed";
    }
    if (def.informational) {
      behavior = "INFORMATIONAL";
      behaviorClose = "INFORMATIONAL";
    }
    if (def.wrongCodeFails && behaviorClose === "WRONG CODE") behavior = "FAILED";

    let verdict: Verdict;
    let why: string;
    if (this.#violation !== null) {
      verdict = "FAILED";
      why = `Protocol violation: ${this.#violation}`;
    } else if (this.#timedOut) {
      verdict = "FAILED";
      why = "The case did not finish within its time limit";
    } else if (behavior === "FAILED") {
      verdict = "FAILED";
      why = behaviorClose === "WRONG CODE" ? reasonClose : reason;
    } else if (behavior === "INFORMATIONAL") {
      verdict = "INFORMATIONAL";
      const seen = received.length === 0 ? "no events" : `${received.length} event(s)`;
      why = `Observed: ${seen}, peer close code ${this.#remoteCode ?? "none"}, ${
        this.#wasClean ? "clean" : "unclean"
      } close`;
    } else if (behaviorClose === "FAILED" || behaviorClose === "UNCLEAN") {
      verdict = "FAILED";
      why = reasonClose;
    } else if (behaviorClose === "WRONG CODE" || behaviorClose === "FAILED BY CLIENT") {
      verdict = "NON-STRICT";
      why = reasonClose;
    } else if (!expected.closedByMe && !this.#closedByMe && !this.#closeReceived) {
      // RFC 6455 §7.1.7: an endpoint failing an established connection SHOULD send a Close frame
      // first. Autobahn accepts a bare drop; not following a SHOULD is its NON-STRICT.
      verdict = "NON-STRICT";
      why =
        "The peer failed the connection by dropping TCP without a close frame (RFC 6455 §7.1.7: it SHOULD send one)";
    } else {
      verdict = behavior;
      why = behavior === "OK" ? "OK" : reason;
    }
    return {
      id: def.id,
      verdict,
      reason: why,
      duration: Math.round((this.#ended || performance.now()) - this.#started),
      behavior,
      behaviorClose,
      remoteCloseCode: this.#remoteCode,
      closedByMe: this.#closedByMe,
      wasClean: this.#wasClean,
      droppedByMe: this.#droppedByMe,
      received: received.slice(0, 12).map(describeEvent).concat(
        received.length > 12 ? [`... ${received.length} events`] : [],
      ),
    };
  }
}
