/**
 * The WebSocket connection state machine shared by both roles: bytes in, events out; actions in,
 * bytes out. No I/O, no timers, no promises.
 *
 * Invariants:
 * - `receive(bytes)` never throws. A peer's violation becomes an `error` event, the close frame
 *   with the right code is queued, and the connection is closed.
 * - Input is parsed lazily: `nextEvent()` parses just far enough to produce the next event, so
 *   when the application handles an event, the connection has consumed the peer's bytes exactly
 *   up to it. A reply to a message is sent even if the peer's close frame followed it in the
 *   same chunk. Drain `nextEvent()` until null before `takeOutput()`.
 * - The last event of every connection is exactly one `close` event, whatever happened.
 * - States only move forward: connecting -> open -> closing -> closed (any may jump to closed).
 * - After a close frame is sent no data frame is sent; after one is received nothing more is read.
 *   Messages that complete while closing are not delivered.
 * - Chunks passed to `receive` belong to the connection: payloads are unmasked in place and
 *   delivered as views into them when a message fits in one chunk.
 * - Output accumulates until the adapter calls `takeOutput()`, so all frames produced while
 *   handling one read batch leave in one (vectored) write.
 *
 * Timers live in adapters, driven by state: a handshake timer while `state === "connecting"`, a
 * close timer while `"closing"` (or closed without `shouldCloseTransport`), then `abort()`.
 *
 * @module
 */

import {
  FrameParser,
  type FrameSink,
  isValidCloseCode,
  MAX_CONTROL_PAYLOAD,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from "../framing/rfc6455.ts";
import { FrameOutput } from "../framing/_output.ts";
import { decodeUtf8 } from "../framing/_utf8.ts";
import { HIXIE_CLOSE, HixieParser, writeHixieText } from "../framing/hixie.ts";
import type { UpgradeRequest, WebSocketVersion } from "../handshake/types.ts";
import type { HttpRequestHead } from "../handshake/http.ts";
import { ProtocolError, type ProtocolErrorCode, UsageError } from "./errors.ts";
import type { Extension } from "./extension.ts";

/** Which end of the connection this is. */
export type Role = "server" | "client";

/** Lifecycle state; only moves forward. */
export type ReadyState = "connecting" | "open" | "closing" | "closed";

/** Everything a connection reports, discriminated by `type`. */
export type ConnectionEvent =
  | {
    /** Server only: a valid upgrade request; answer with `accept()` or `reject()`. */
    type: "request";
    request: UpgradeRequest;
  }
  | {
    /**
     * Server with `plainHttp: true` only: a request that asks for no upgrade (a page, a health
     * check); answer with `respond()`.
     */
    type: "http";
    request: HttpRequestHead;
  }
  | {
    /** The handshake completed; messages may flow. */
    type: "open";
    /** The negotiated subprotocol, or an empty string. */
    protocol: string;
    /** The negotiated `Sec-WebSocket-Extensions` value, or an empty string. */
    extensions: string;
  }
  | {
    /** A whole message: a string for text, bytes for binary. */
    type: "message";
    data: string | Uint8Array;
  }
  | {
    /** With `streamMessages`: a piece of a message as it arrives. */
    type: "fragment";
    data: string | Uint8Array;
    /** Whether the message is binary. */
    binary: boolean;
    /** First piece of its message. */
    first: boolean;
    /** Last piece of its message. */
    last: boolean;
  }
  | {
    /** A ping arrived (already answered unless `autoPong` is false). */
    type: "ping";
    data: Uint8Array;
  }
  | {
    /** A pong arrived. */
    type: "pong";
    data: Uint8Array;
  }
  | {
    /** The peer broke the protocol; a `close` event follows. */
    type: "error";
    error: ProtocolError;
  }
  | {
    /** The connection is closed; always the last event. */
    type: "close";
    /** The peer's close code; 1005 if its close frame had none, 1006 if none arrived. */
    code: number;
    /** The peer's close reason. */
    reason: string;
    /** Whether the closing handshake completed. */
    wasClean: boolean;
  };

/** Options both roles share. */
export interface ConnectionOptions {
  /**
   * Largest message accepted, in bytes: its payload plus {@linkcode FRAGMENT_OVERHEAD} bytes for
   * every fragment after the first, so a single-frame message may be exactly this size and a
   * flood of tiny fragments is bounded. Larger messages fail with 1009. Default 64 MiB.
   */
  maxMessageSize?: number;
  /** Most frames one message may have, empty ones included; more fail with 1009. Default 131072. */
  maxFragments?: number;
  /** Answer pings with pongs automatically. Default true. */
  autoPong?: boolean;
  /** Deliver messages as `fragment` events as their bytes arrive, not as whole `message` events. */
  streamMessages?: boolean;
  /** Split outgoing messages into frames of at most this many payload bytes; 0 (default) never. */
  fragmentSize?: number;
  /** Source of randomness for client masks and keys. Default `crypto.getRandomValues`. */
  randomBytes?: (buffer: Uint8Array) => void;
}

/** Bytes each fragment after a message's first is charged on top of its payload. */
export const FRAGMENT_OVERHEAD = 32;
const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;
const DEFAULT_MAX_FRAGMENTS = 131072;
const EMPTY = new Uint8Array(0);
const STREAM: TextDecodeOptions = { stream: true };
const encoder = new TextEncoder();

function defaultRandom(buffer: Uint8Array): void {
  crypto.getRandomValues(buffer as Uint8Array<ArrayBuffer>);
}

/**
 * The engine common to {@linkcode ServerConnection}, {@linkcode ClientConnection} and
 * {@linkcode NegotiatedConnection} (a connection past a handshake made elsewhere). Not
 * constructed directly.
 */
export abstract class Connection implements FrameSink {
  /** Which end this is. */
  readonly role: Role;

  #state: ReadyState = "connecting";
  #events: ConnectionEvent[] = [];
  #eventHead = 0;
  #output: FrameOutput = new FrameOutput();
  #parser: FrameParser | HixieParser | null = null;
  /** 0 for the hybi family (RFC 6455, hybi-07/08), else 75 or 76. */
  #hixie: 0 | 75 | 76 = 0;
  #input: Uint8Array[] = [];
  #eofPending = false;
  #version: WebSocketVersion | null = null;
  #protocol = "";
  #extensionsHeader = "";
  #extension: Extension | null = null;
  #shouldCloseTransport = false;
  #closeSent = false;
  #closeEmitted = false;
  /** The adapter's write buffer is over its high-water mark: automatic pongs wait here. */
  #outputBlocked = false;
  /** The payload of the most recent ping not yet answered while output was blocked. */
  #pendingPong: Uint8Array | null = null;

  readonly #maxMessageSize: number;
  readonly #maxFragments: number;
  readonly #autoPong: boolean;
  readonly #stream: boolean;
  readonly #fragmentSize: number;
  /** @internal Randomness source, for subclasses building keys. */
  protected readonly randomBytes: (buffer: Uint8Array) => void;

  // Incoming message assembly.
  #msgOpcode = 0;
  #msgRsv = 0;
  #msgBytes = 0;
  #msgFragments = 0;
  #msgParts: Uint8Array[] = [];
  #msgText = "";
  #decoder: TextDecoder | null = null;
  /** The streaming decoder holds this message's state (flushed at its end). */
  #decoding = false;
  #heldFirst = true;
  #held: string | Uint8Array | null = null;
  // Current frame.
  #frameOpcode = 0;
  #frameFin = false;
  #frameLength = 0;
  #ctrl: Uint8Array | null = null;
  #ctrlLength = 0;
  // Outgoing fragmented message: 0 when none, else its opcode.
  #sending = 0;
  // Client mask randomness, drawn from a pool to avoid one getRandomValues call per frame.
  #pool: Uint8Array | null = null;
  #poolPos = 0;

  /**
   * A connection for one end; the subclasses add the handshake.
   * @param role Which end this is.
   * @param options Limits and behaviour.
   */
  constructor(role: Role, options: ConnectionOptions = {}) {
    this.role = role;
    this.#maxMessageSize = positive(options.maxMessageSize, DEFAULT_MAX_MESSAGE, "maxMessageSize");
    this.#maxFragments = positive(options.maxFragments, DEFAULT_MAX_FRAGMENTS, "maxFragments");
    this.#autoPong = options.autoPong ?? true;
    this.#stream = options.streamMessages ?? false;
    this.#fragmentSize = options.fragmentSize === undefined || options.fragmentSize === 0
      ? 0
      : positive(options.fragmentSize, 0, "fragmentSize");
    this.randomBytes = options.randomBytes ?? defaultRandom;
  }

  /** The lifecycle state. */
  get state(): ReadyState {
    return this.#state;
  }

  /** The protocol revision in use, or null before the handshake decided it. */
  get version(): WebSocketVersion | null {
    return this.#version;
  }

  /** The negotiated subprotocol, or an empty string. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The negotiated `Sec-WebSocket-Extensions` value, or an empty string. */
  get extensions(): string {
    return this.#extensionsHeader;
  }

  /**
   * True when the adapter should close the transport once it has written the pending output.
   * A client that completed the closing handshake leaves this false: RFC 6455 §7.1.1 has the
   * server close TCP first, so the adapter waits for end of input (with a timeout, then `abort()`).
   */
  get shouldCloseTransport(): boolean {
    return this.#shouldCloseTransport;
  }

  /**
   * Which timer an adapter should have running, derived from the state: `"handshake"` while
   * connecting, `"closing"` while waiting for the peer's close frame or (client) for the server
   * to close the transport, null otherwise. When it fires, the adapter calls `abort()`.
   */
  get timerPhase(): "handshake" | "closing" | null {
    if (this.#state === "connecting") return "handshake";
    if (this.#state === "closing") return "closing";
    if (this.#state === "closed" && !this.#shouldCloseTransport) return "closing";
    return null;
  }

  /** Bytes produced and not yet taken with {@linkcode Connection.takeOutput}. */
  get pendingOutputBytes(): number {
    return this.#output.bytes;
  }

  /**
   * Payload bytes received so far of a message that has not completed (0 between messages).
   * They are held in memory until the message ends, so servers budget them across connections.
   */
  get incompleteMessageBytes(): number {
    return this.#msgOpcode === 0 ? 0 : this.#msgBytes;
  }

  /**
   * Whether the adapter's write buffer is backed up (over its high-water mark). While it is,
   * automatic pongs are coalesced: only the most recent ping is answered (RFC 6455 §5.5.3
   * allows it), once this is set back to false, so a peer that pings and never reads cannot
   * grow the output without bound.
   */
  get outputBlocked(): boolean {
    return this.#outputBlocked;
  }

  set outputBlocked(blocked: boolean) {
    this.#outputBlocked = blocked;
    if (!blocked) this.#flushPong();
  }

  /**
   * Feed bytes received from the peer. Never throws; results appear through `nextEvent()` and
   * `takeOutput()`. The chunk belongs to the connection afterwards (it may be unmasked in place
   * and delivered as a view), so do not reuse its memory.
   * @param chunk Bytes from the transport.
   */
  receive(chunk: Uint8Array): void {
    if (this.#state === "closed" || chunk.length === 0) return;
    if (this.#parser === null) {
      this.receiveHandshake(chunk);
    } else {
      this.#input.push(chunk);
    }
  }

  /**
   * The transport reached end of input (or failed). Ends the connection; a `close` event with
   * 1006 follows unless the closing handshake had completed.
   */
  receiveEnd(): void {
    if (
      this.#state !== "closed" && this.#parser !== null &&
      (this.#input.length > 0 || this.#parser.paused)
    ) {
      this.#eofPending = true; // after the queued bytes have been parsed
      return;
    }
    this.#endOfInput();
  }

  #endOfInput(): void {
    this.#shouldCloseTransport = true;
    if (this.#state === "closed") return;
    // In hixie-75 the transport closing is the only close there is, so it is a clean one.
    if (this.#hixie === 75 && this.#state === "open") return this.#finish(1005, "", true);
    if (this.#state === "connecting" && this.role === "client") {
      this.#emitError(
        new ProtocolError(
          "HANDSHAKE_BAD_RESPONSE",
          "Connection closed before the handshake completed",
          0,
          0,
        ),
      );
    }
    this.#finish(1006, "", false);
  }

  /**
   * Give up on the connection at once (a timeout fired, the transport failed). Emits `close`
   * with 1006 unless already closed; the transport should then be closed.
   */
  abort(): void {
    this.#shouldCloseTransport = true;
    if (this.#state !== "closed") this.#finish(1006, "", false);
  }

  /**
   * Fail the connection from this side (RFC 6455 §7.1.7) for a reason of the adapter's or the
   * application's — a timeout, a limit, a slow consumer: send a close frame with `code` and
   * `reason` (where the revision has one), stop reading, and close without waiting for the
   * peer's close frame. Emits `close` with 1006 (not clean) unless already closed; the adapter
   * closes the transport once the output is written. Before the handshake completed it aborts.
   * @param code 1000-1003, 1007-1014 or 3000-4999 (1001 going away, 1008 policy, 1013 try later).
   * @param reason Up to 123 bytes of UTF-8.
   */
  fail(code: number, reason = ""): void {
    const reasonBytes = closeReason(code, reason);
    if (this.#state === "connecting") return this.abort();
    if (this.#state === "closed") return;
    this.#parser?.stop();
    if (!this.#closeSent) this.#sendClose(code, reasonBytes);
    this.#shouldCloseTransport = true;
    this.#finish(1006, "", false);
  }

  /** The next event, or null when there is none. Parses queued input as needed. */
  nextEvent(): ConnectionEvent | null {
    if (this.#events.length === 0) this.#parseMore();
    if (this.#eventHead === this.#events.length) return null;
    const ev = this.#events[this.#eventHead++];
    if (this.#eventHead === this.#events.length) {
      this.#events.length = 0;
      this.#eventHead = 0;
    }
    return ev;
  }

  /**
   * Take every chunk produced so far, to be written to the transport in order (vectored
   * writes welcome). Returns an empty array when there is nothing to write.
   */
  takeOutput(): Uint8Array[] {
    return this.#output.take();
  }

  /**
   * Send a whole message: a string as text, bytes as binary. The bytes are not copied by a
   * server connection: do not modify them until they have been written.
   * @param data The message.
   */
  send(data: string | Uint8Array): void {
    const opcode = this.#checkData(data, "send");
    if (this.#sending !== 0) {
      throw new UsageError(
        "ERR_MESSAGE_IN_PROGRESS",
        "Cannot send: a fragmented message is in progress",
      );
    }
    const size = this.#fragmentSize;
    if (
      typeof data === "string" && this.#extension === null && this.#hixie === 0 &&
      (size === 0 || 3 * data.length <= size)
    ) {
      // The common case: one text frame, encoded straight into the output.
      this.#output.text(0x80 | OP_TEXT, data, this.role === "client" ? this.random(4) : null);
      return;
    }
    let payload = typeof data === "string" ? encoder.encode(data) : data;
    let rsv = 0;
    if (this.#extension !== null) {
      const t = this.#extension.encode(payload, opcode === OP_BINARY);
      payload = t.payload;
      rsv = t.rsv;
    }
    if (size === 0 || payload.length <= size || this.#hixie !== 0) {
      this.#queueFrame(opcode, true, rsv, payload);
      return;
    }
    for (let i = 0; i < payload.length; i += size) {
      const end = Math.min(i + size, payload.length);
      this.#queueFrame(
        i === 0 ? opcode : OP_CONTINUATION,
        end === payload.length,
        i === 0 ? rsv : 0,
        payload.subarray(i, end),
      );
    }
  }

  /**
   * Send frames built elsewhere, as they are: for a server that frames a message once and hands
   * the same bytes to many connections (a publish to a topic). They must be whole frames for
   * this connection's revision and negotiated extensions (unmasked RFC 6455 frames, as
   * `writeFrame` makes them; hixie text frames); they are neither checked nor copied, so do not
   * change them. Servers only: every client frame needs a mask of its own.
   * @param frames One or more whole frames.
   */
  sendFrames(frames: Uint8Array): void {
    if (!(frames instanceof Uint8Array)) {
      throw new TypeError("Cannot send frames: they must be a Uint8Array");
    }
    if (this.role !== "server") {
      throw new UsageError(
        "ERR_WRONG_ROLE",
        "Cannot send pre-built frames from a client: every client frame needs a mask of its own",
      );
    }
    this.#checkOpen("send");
    if (this.#sending !== 0) {
      throw new UsageError(
        "ERR_MESSAGE_IN_PROGRESS",
        "Cannot send: a fragmented message is in progress",
      );
    }
    this.queueOutput(frames);
  }

  /**
   * Send one piece of a message whose size is not known in advance. The first piece decides
   * the type (string: text, bytes: binary); every piece must be of that type. Pings and close
   * may be sent between pieces; other messages may not. Pieces are sent untransformed by
   * extensions.
   * @param data The piece.
   * @param last Whether this piece ends the message.
   */
  sendFragment(data: string | Uint8Array, last: boolean): void {
    const opcode = this.#checkData(data, "send");
    if (this.#hixie !== 0) this.#unsupported("send a fragmented message");
    if (this.#sending !== 0 && this.#sending !== opcode) {
      throw new TypeError("Fragments of one message must all be strings or all be bytes");
    }
    const payload = typeof data === "string" ? encoder.encode(data) : data;
    this.#queueFrame(this.#sending === 0 ? opcode : OP_CONTINUATION, last, 0, payload);
    this.#sending = last ? 0 : opcode;
  }

  /**
   * Send a ping.
   * @param data Up to 125 bytes of payload (a string is sent as UTF-8).
   */
  ping(data: string | Uint8Array = EMPTY): void {
    this.#sendControl(OP_PING, data, "ping");
  }

  /**
   * Send an unsolicited pong (a heartbeat) or, with `autoPong: false`, answer a ping.
   * @param data Up to 125 bytes of payload.
   */
  pong(data: string | Uint8Array = EMPTY): void {
    this.#sendControl(OP_PONG, data, "pong");
  }

  /**
   * Start the closing handshake. Without a code the close frame is empty (the peer sees 1005).
   * Before the handshake completed this aborts the connection; once closing, it does nothing.
   * @param code 1000-1003, 1007-1014 or 3000-4999.
   * @param reason Up to 123 bytes of UTF-8; needs a code.
   */
  close(code?: number, reason = ""): void {
    const reasonBytes = closeReason(code, reason);
    if (this.#state === "connecting") return this.abort();
    if (this.#state !== "open") return;
    if (this.#hixie === 75) {
      // hixie-75 has no closing handshake: closing the transport is the clean close.
      this.#shouldCloseTransport = true;
      return this.#finish(1005, "", true);
    }
    this.#sendClose(code ?? 1005, reasonBytes);
    this.#state = "closing";
  }

  // ---- for the role subclasses ------------------------------------------------------------

  /** @internal Consume handshake bytes; the subclass calls `startFraming` when done. */
  protected abstract receiveHandshake(chunk: Uint8Array): void;

  /** @internal Queue raw bytes for the transport. */
  protected queueOutput(bytes: Uint8Array): void {
    this.#output.raw(bytes);
  }

  /** @internal Queue an event. */
  protected emit(event: ConnectionEvent): void {
    this.#events.push(event);
  }

  /**
   * @internal The handshake completed: emit `open` and parse `rest` as frames.
   */
  protected startFraming(
    version: WebSocketVersion,
    protocol: string,
    extensionsHeader: string,
    extension: Extension | null,
    rest: Uint8Array,
  ): void {
    this.#version = version;
    this.#protocol = protocol;
    this.#extensionsHeader = extensionsHeader;
    this.#extension = extension;
    this.#state = "open";
    this.#hixie = version === "hixie-76" ? 76 : version === "hixie-75" ? 75 : 0;
    this.#parser = this.#hixie !== 0
      ? new HixieParser(this, {
        maxMessageSize: this.#maxMessageSize,
        closeFrame: this.#hixie === 76,
      })
      : new FrameParser(this, {
        expectMasked: this.role === "server",
        // Control frames (up to 125 bytes) are not messages; data frames above the message
        // limit still fail at their header, in frameStart.
        maxPayload: Math.max(this.#maxMessageSize, MAX_CONTROL_PAYLOAD),
        allowedRsv: extension === null ? 0 : extension.rsvBits,
      });
    this.emit({ type: "open", protocol, extensions: extensionsHeader });
    if (rest.length > 0) this.#input.push(rest);
  }

  /**
   * @internal The handshake failed: report it (unless `error` is null), queue `response`
   * (may be empty) and close.
   */
  protected failHandshake(error: ProtocolError | null, response: Uint8Array): void {
    if (error !== null) this.#emitError(error);
    if (response.length > 0) this.queueOutput(response);
    this.#shouldCloseTransport = true;
    this.#finish(1006, "", false);
  }

  /** @internal Draw `n` random bytes from the pool. */
  protected random(n: number): Uint8Array {
    if (this.#pool === null || this.#poolPos + n > this.#pool.length) {
      this.#pool ??= new Uint8Array(1024);
      this.randomBytes(this.#pool);
      this.#poolPos = 0;
    }
    const r = this.#pool.subarray(this.#poolPos, this.#poolPos + n);
    this.#poolPos += n;
    return r;
  }

  // ---- FrameSink: what the parser reports ---------------------------------------------------

  /** @internal */
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): boolean {
    this.#frameOpcode = opcode;
    this.#frameFin = fin;
    this.#frameLength = length;
    if (opcode >= OP_CLOSE) {
      if (rsv !== 0) return this.#fail(1002, "FRAME_RSV", "Control frame has reserved bits set");
      this.#ctrlLength = 0;
      return true;
    }
    if (opcode === OP_CONTINUATION) {
      if (this.#msgOpcode === 0) {
        return this.#fail(
          1002,
          "FRAME_CONTINUATION",
          "Continuation frame without a message in progress",
        );
      }
      if (rsv !== 0) {
        return this.#fail(1002, "FRAME_RSV", "Continuation frame has reserved bits set");
      }
    } else {
      if (this.#msgOpcode !== 0) {
        return this.#fail(
          1002,
          "FRAME_CONTINUATION",
          "New message started before the previous one ended",
        );
      }
      this.#msgOpcode = opcode;
      this.#msgRsv = rsv;
      this.#msgBytes = 0;
      this.#msgFragments = 0;
      this.#heldFirst = true;
    }
    if (++this.#msgFragments > this.#maxFragments) {
      return this.#fail(
        1009,
        "MESSAGE_TOO_MANY_FRAGMENTS",
        `Message has more than ${this.#maxFragments} fragments`,
      );
    }
    if (
      this.#msgBytes + length + FRAGMENT_OVERHEAD * (this.#msgFragments - 1) > this.#maxMessageSize
    ) {
      return this.#fail(
        1009,
        "MESSAGE_TOO_BIG",
        `Message exceeds the limit of ${this.#maxMessageSize} bytes`,
      );
    }
    return true;
  }

  /** @internal */
  framePayload(data: Uint8Array): boolean {
    const n = data.length;
    if (this.#frameOpcode >= OP_CLOSE) {
      this.#ctrl ??= new Uint8Array(MAX_CONTROL_PAYLOAD);
      this.#ctrl.set(data, this.#ctrlLength);
      this.#ctrlLength += n;
      return true;
    }
    this.#msgBytes += n;
    if (
      this.#frameLength < 0 &&
      this.#msgBytes + FRAGMENT_OVERHEAD * (this.#msgFragments - 1) > this.#maxMessageSize
    ) {
      // Frames of unknown length (hixie) are checked as their bytes arrive.
      return this.#fail(
        1009,
        "MESSAGE_TOO_BIG",
        `Message exceeds the limit of ${this.#maxMessageSize} bytes`,
      );
    }
    if (this.#msgRsv !== 0) {
      // Transformed by an extension: collect, decode at the end.
      this.#msgParts.push(data);
      return true;
    }
    if (this.#msgOpcode === OP_TEXT) {
      if (n === this.#frameLength && this.#frameFin && this.#msgFragments === 1 && !this.#stream) {
        // The whole message in one view, the common case: one decode, no streaming state.
        const whole = decodeUtf8(data);
        if (whole === null) return this.#failUtf8();
        this.#msgText = whole;
        return this.#events.length === 0;
      }
      this.#decoding = true;
      this.#decoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      let text: string;
      try {
        text = this.#decoder.decode(data, STREAM);
      } catch {
        return this.#failUtf8();
      }
      if (this.#stream) {
        if (text.length > 0) this.#hold(text);
      } else {
        this.#msgText += text;
      }
    } else if (this.#stream) {
      this.#hold(data);
    } else {
      this.#msgParts.push(data);
    }
    return this.#events.length === 0;
  }

  /** @internal */
  frameEnd(): boolean {
    const opcode = this.#frameOpcode;
    if (opcode >= OP_CLOSE) {
      const payload = this.#ctrlLength === 0
        ? new Uint8Array(0)
        : this.#ctrl!.slice(0, this.#ctrlLength);
      if (opcode === OP_CLOSE) return this.#receiveClose(payload);
      if (this.#state !== "open") return true;
      if (opcode === OP_PING) {
        if (this.#autoPong) {
          this.#pendingPong = payload;
          if (!this.#outputBlocked) this.#flushPong();
        }
        this.emit({ type: "ping", data: payload });
      } else if (opcode === OP_PONG) {
        this.emit({ type: "pong", data: payload });
      }
      return false; // pause: let the application see this event first
    }
    if (!this.#frameFin) return true;
    return this.#finishMessage();
  }

  /** @internal */
  frameError(closeCode: number, code: ProtocolErrorCode, message: string): void {
    this.#fail(closeCode, code, message);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Streaming mode keeps one piece back so the last piece can be flagged `last`. */
  #hold(piece: string | Uint8Array): void {
    if (this.#held !== null) this.#emitFragment(this.#held, false);
    this.#held = piece;
  }

  #emitFragment(data: string | Uint8Array, last: boolean): void {
    const first = this.#heldFirst;
    this.#heldFirst = false;
    if (this.#state !== "open") return;
    this.emit({ type: "fragment", data, binary: this.#msgOpcode === OP_BINARY, first, last });
  }

  #finishMessage(): boolean {
    const opcode = this.#msgOpcode;
    let data: string | Uint8Array;
    if (this.#msgRsv !== 0) {
      const decoded = this.#extension!.decode(
        joinParts(this.#msgParts, this.#msgBytes),
        this.#msgRsv,
        this.#maxMessageSize,
      );
      this.#msgParts.length = 0;
      if (decoded instanceof ProtocolError) {
        return this.#fail(decoded.closeCode, decoded.code, decoded.message);
      }
      if (opcode === OP_TEXT) {
        const text = decodeUtf8(decoded);
        if (text === null) return this.#failUtf8();
        data = text;
      } else {
        data = decoded;
      }
      this.#msgOpcode = 0;
      if (this.#stream) {
        this.#heldFirst = true;
        this.#emitFragment(data, true);
      } else if (this.#state === "open") {
        this.emit({ type: "message", data });
      }
      return this.#events.length === 0;
    }
    if (opcode === OP_TEXT) {
      let tail: string;
      try {
        // Nothing to flush when the message was decoded whole or every frame was empty.
        tail = this.#decoding ? this.#decoder!.decode() : "";
      } catch {
        return this.#failUtf8();
      }
      this.#decoding = false;
      if (this.#stream) {
        if (tail.length > 0) this.#hold(tail);
        data = this.#held ?? "";
      } else {
        data = tail.length === 0 ? this.#msgText : this.#msgText + tail;
        this.#msgText = "";
      }
    } else if (this.#stream) {
      data = this.#held ?? EMPTY;
    } else {
      data = joinParts(this.#msgParts, this.#msgBytes);
      this.#msgParts.length = 0;
    }
    if (this.#stream) {
      this.#held = null;
      this.#emitFragment(data, true);
    } else if (this.#state === "open") {
      this.emit({ type: "message", data });
    }
    this.#msgOpcode = 0;
    return this.#events.length === 0;
  }

  #receiveClose(payload: Uint8Array): boolean {
    let code = 1005;
    let reason = "";
    if (payload.length === 1) {
      return this.#fail(1002, "FRAME_CLOSE_PAYLOAD", "Close frame payload is 1 byte long");
    }
    if (payload.length >= 2) {
      code = (payload[0] << 8) | payload[1];
      if (!isValidCloseCode(code)) {
        return this.#fail(1002, "FRAME_CLOSE_CODE", `Invalid close code ${code}`);
      }
      const text = decodeUtf8(payload.subarray(2));
      if (text === null) {
        return this.#fail(1007, "TEXT_INVALID_UTF8", "Close reason is not valid UTF-8");
      }
      reason = text;
    }
    this.#parser!.stop();
    if (!this.#closeSent) this.#sendClose(code, EMPTY);
    if (this.role === "server") this.#shouldCloseTransport = true;
    this.#finish(code, reason, true);
    return false;
  }

  #failUtf8(): boolean {
    return this.#fail(1007, "TEXT_INVALID_UTF8", "Text message is not valid UTF-8");
  }

  /** Fail the connection (RFC 6455 §7.1.7): report, send the close code, close. */
  #fail(closeCode: number, code: ProtocolErrorCode, message: string): false {
    this.#parser?.stop();
    if (this.#state === "closed") return false;
    this.#emitError(new ProtocolError(code, message, closeCode, 0));
    if (!this.#closeSent) this.#sendClose(closeCode, encoder.encode(message.slice(0, 100)));
    this.#shouldCloseTransport = true;
    this.#finish(1006, "", false);
    return false;
  }

  #emitError(error: ProtocolError): void {
    this.emit({ type: "error", error });
  }

  /** Feed queued input to the parser until an event appears or the input runs out. */
  #parseMore(): void {
    const parser = this.#parser;
    if (parser === null) return;
    while (this.#events.length === 0) {
      if (parser.stopped || (!parser.paused && this.#input.length === 0)) {
        this.#input.length = 0;
        if (this.#eofPending) {
          this.#eofPending = false;
          this.#endOfInput();
        }
        return;
      }
      if (parser.paused) parser.resume();
      else parser.push(this.#input.shift()!);
    }
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    this.#state = "closed";
    this.#input.length = 0;
    this.#parser?.stop();
    // A message that can no longer complete holds nothing: its parts go now, not with the object.
    this.#msgOpcode = 0;
    this.#msgParts.length = 0;
    this.#msgText = "";
    this.#held = null;
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.emit({ type: "close", code, reason, wasClean });
  }

  /** Answer the most recent unanswered ping, if any. */
  #flushPong(): void {
    const payload = this.#pendingPong;
    if (payload === null) return;
    this.#pendingPong = null;
    if (!this.#closeSent) this.#queueFrame(OP_PONG, true, 0, payload);
  }

  #sendClose(code: number, reason: Uint8Array): void {
    // A ping answered before our close frame, never after it.
    this.#flushPong();
    let payload = EMPTY;
    if (code !== 1005) {
      payload = new Uint8Array(2 + reason.length);
      payload[0] = code >>> 8;
      payload[1] = code & 0xff;
      payload.set(reason, 2);
    }
    this.#queueFrame(OP_CLOSE, true, 0, payload);
    this.#closeSent = true;
  }

  #queueFrame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array): void {
    if (this.#hixie !== 0) {
      // The drafts carry text and (76 only) FF 00; #checkData and #sendControl refused the rest.
      if (opcode === OP_TEXT) {
        const chunks: Uint8Array[] = [];
        writeHixieText(chunks, payload);
        for (const c of chunks) this.#output.raw(c);
      } else if (opcode === OP_CLOSE && this.#hixie === 76) {
        this.#output.raw(HIXIE_CLOSE);
      }
      return;
    }
    const mask = this.role === "client" ? this.random(4) : null;
    this.#output.frame((fin ? 0x80 : 0) | rsv | opcode, payload, mask);
  }

  #checkData(data: string | Uint8Array, action: string): number {
    const opcode = typeof data === "string" ? OP_TEXT : data instanceof Uint8Array ? OP_BINARY : -1;
    if (opcode < 0) throw new TypeError(`Cannot ${action}: data must be a string or a Uint8Array`);
    this.#checkOpen(action);
    if (opcode === OP_BINARY && this.#hixie !== 0) this.#unsupported("send binary data");
    return opcode;
  }

  #checkOpen(action: string): void {
    if (this.#state === "open") return;
    if (this.#state === "connecting") {
      throw new UsageError("ERR_NOT_OPEN", `Cannot ${action}: the handshake has not completed`);
    }
    throw new UsageError("ERR_CLOSED", `Cannot ${action}: connection is ${this.#state}`);
  }

  #sendControl(opcode: number, data: string | Uint8Array, action: string): void {
    const payload = typeof data === "string" ? encoder.encode(data) : data;
    if (!(payload instanceof Uint8Array)) {
      throw new TypeError(`Cannot ${action}: data must be a string or a Uint8Array`);
    }
    if (payload.length > MAX_CONTROL_PAYLOAD) {
      throw new RangeError(`Cannot ${action}: payload is longer than 125 bytes`);
    }
    this.#checkOpen(action);
    if (this.#hixie !== 0) this.#unsupported(action);
    this.#queueFrame(opcode, true, 0, payload);
  }

  #unsupported(action: string): never {
    throw new UsageError(
      "ERR_UNSUPPORTED_BY_VERSION",
      `Cannot ${action} on a hixie-${this.#hixie} connection: the draft has only unfragmented text messages`,
    );
  }
}

/** One view when there is one part (no copy), else a single copy of all of them. */
export function joinParts(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * @internal A protocol revision from an option, defaulting to 13; throws a RangeError for any
 * other value.
 */
export function checkVersion(version: WebSocketVersion | undefined): WebSocketVersion {
  const v = version ?? 13;
  if (v !== 13 && v !== 8 && v !== 7 && v !== "hixie-76" && v !== "hixie-75") {
    throw new RangeError(
      `Unsupported version ${String(v)}: use 13, 8, 7, "hixie-76" or "hixie-75"`,
    );
  }
  return v;
}

/** Check a close code and reason as an endpoint may send them; the reason's UTF-8 bytes. */
function closeReason(code: number | undefined, reason: string): Uint8Array {
  if (code !== undefined && (!Number.isInteger(code) || !isValidCloseCode(code))) {
    throw new RangeError(`Invalid close code ${code}: use 1000-1003, 1007-1014 or 3000-4999`);
  }
  const reasonBytes = encoder.encode(reason);
  if (reasonBytes.length > MAX_CONTROL_PAYLOAD - 2) {
    throw new RangeError("Close reason is longer than 123 bytes in UTF-8");
  }
  if (code === undefined && reasonBytes.length > 0) {
    throw new TypeError("A close reason needs a close code");
  }
  return reasonBytes;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Option ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
