/**
 * What every runtime adapter shares: driving a core {@linkcode Connection} over a byte transport.
 *
 * A runtime adapter maps its socket onto {@linkcode Transport} and reports what happens to it
 * through {@linkcode Driver.receive}, {@linkcode Driver.receiveEnd}, {@linkcode Driver.fail} and
 * {@linkcode Driver.drained}. The driver dispatches the core's events, writes everything
 * produced while handling one read in one `write` call, runs the timer the core's `timerPhase`
 * asks for, sends keepalive pings and detects dead peers, and closes the transport gracefully
 * (half-close first, so the peer reads our close frame rather than a reset).
 *
 * It also keeps a connection from holding unbounded memory or an fd forever, whatever the peer
 * does: reading pauses while unsent output is over a high-water mark (a peer that sends and
 * never reads stalls itself, not the server), automatic pongs are coalesced meanwhile, and one
 * shared timer for all connections closes the idle ones, fails messages that stopped making
 * progress and sends keepalive pings. A server's connections share a budget for the bytes held
 * in incomplete messages.
 *
 * @module
 */

import type { Connection, ReadyState } from "../core/connection.ts";
import type { WebSocketVersion } from "../handshake/rfc6455.ts";
import type { SocketBackend, SocketEvents } from "./_backend.ts";
import { AdapterError, type AdapterErrorCode } from "./_errors.ts";

/** The few things a driver needs from a runtime's socket. */
export interface Transport {
  /** Queue chunks for writing, in order. */
  write(chunks: Uint8Array[]): void;
  /** Bytes accepted by `write` and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Stop writing once queued chunks are flushed (TCP FIN), keep reading. */
  closeWrite(): void;
  /** Close both directions now. */
  close(): void;
  /** Stop delivering received bytes until `resumeReading` (backpressure). */
  pauseReading(): void;
  /** Deliver received bytes again. */
  resumeReading(): void;
}

/** Timeouts, keepalive and flow control; times in milliseconds, sizes in bytes. */
export interface DriverOptions {
  /** Time allowed for the opening handshake (including the application's decision). Default 10000. */
  handshakeTimeout?: number;
  /** Time allowed for the closing handshake and the transport close. Default 5000. */
  closeTimeout?: number;
  /**
   * Send a ping after this long without traffic from the peer, and give up on it (close 1006)
   * if nothing arrives for as long again: a dead peer goes after about two intervals. 0
   * (default) turns keepalive off. Not for hixie versions, which have no ping.
   */
  pingInterval?: number;
  /**
   * Close the connection (1001) when nothing arrived from the peer, and nothing we sent was
   * taken by it, for this long. Default 120000 for server sockets (as Bun), 0 (off) for clients.
   */
  idleTimeout?: number;
  /**
   * Fail a message (1008) when it is incomplete and none of its bytes arrived for this long, so
   * a peer that stops in the middle of a large message does not hold it forever. Default 60000
   * for server sockets, 0 (off) for clients.
   */
  messageTimeout?: number;
  /**
   * Unsent output above which the peer counts as not reading: reading from it pauses (or the
   * connection closes, with `backpressure: "close"`), and automatic pongs are coalesced.
   * Default 1 MiB.
   */
  highWaterMark?: number;
  /** Unsent output at or below which paused reading resumes. Default a quarter of `highWaterMark`. */
  lowWaterMark?: number;
  /**
   * What happens when unsent output passes `highWaterMark`: `"pause"` stops reading from the
   * peer until it drains to `lowWaterMark` (default for server sockets), `"close"` closes the
   * connection with 1008 (for servers that drop slow consumers), `"none"` does neither (default
   * for clients: a client that stops reading while the server does the same could deadlock).
   */
  backpressure?: "pause" | "close" | "none";
}

/** Receives what the driver learns: the socket's events, and what the server (or client) reports. */
export interface DriverHandlers extends SocketEvents {
  /** An application handler threw while handling an event. */
  uncaught(error: unknown): void;
  /** The transport is closed: the driver is done. */
  closed?(): void;
}

/**
 * Bytes held in incomplete messages by all the connections of one server, and the most they may
 * hold together. Over it, the connection whose message grew is closed with 1013.
 */
export class MemoryBudget {
  /** The most bytes all connections may hold in incomplete messages. */
  readonly limit: number;
  /** Bytes held now. */
  used = 0;
  /** @param limit The most bytes; `Infinity` for no limit. */
  constructor(limit: number) {
    this.limit = limit;
  }
}

/** @internal A transport that drops what it is given: the driver's until one is attached. */
export const NO_TRANSPORT: Transport = {
  write() {},
  bufferedAmount: 0,
  closeWrite() {},
  close() {},
  pauseReading() {},
  resumeReading() {},
};

const DEFAULT_HIGH_WATER = 1024 * 1024;
const SERVER_IDLE_TIMEOUT = 120_000;
const SERVER_MESSAGE_TIMEOUT = 60_000;

/** Drives one connection over one transport; the {@linkcode SocketBackend} of sockets on it. */
export class Driver implements SocketBackend {
  /** The core connection. */
  readonly conn: Connection;
  #transport: Transport = NO_TRANSPORT;
  #attached = false;
  readonly #handlers: DriverHandlers;
  readonly #handshakeTimeout: number;
  readonly #closeTimeout: number;
  readonly #pingInterval: number;
  readonly #idleTimeout: number;
  readonly #messageTimeout: number;
  readonly #highWater: number;
  readonly #lowWater: number;
  readonly #backpressure: "pause" | "close" | "none";
  readonly #budget: MemoryBudget | null;
  #pumping = false;
  /** A pump was asked for while one ran (a handler sent, a limit failed the connection). */
  #again = false;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerPhase: string | null = null;
  /** Registered with the shared sweeper (idle, message and keepalive checks). */
  #watched = false;
  /** Sweeper time bytes last arrived from the peer. */
  #heardAt = 0;
  /** Sweeper time output last drained (the peer reads, or the kernel took it). */
  #drainedAt = 0;
  /** Sweeper time the keepalive ping went out, or -1. */
  #pingedAt = -1;
  /** Incomplete-message bytes at the last check, and when they last grew. */
  #msgBytesSeen = 0;
  #msgProgressAt = 0;
  /** Incomplete-message bytes counted in the budget. */
  #budgeted = 0;
  #pausedByApp = false;
  #pausedByOutput = false;
  /** Bytes that arrived while reading was paused by backpressure. */
  #readWhilePaused = 0;
  #writeClosed = false;
  #lingering = false;
  #closed = false;

  /**
   * @param conn The core connection to drive.
   * @param handlers Where events and failures go.
   * @param options Timeouts, keepalive and flow control.
   * @param budget The server's budget for bytes in incomplete messages, if any.
   */
  constructor(
    conn: Connection,
    handlers: DriverHandlers,
    options: DriverOptions = {},
    budget: MemoryBudget | null = null,
  ) {
    const server = conn.role === "server";
    this.conn = conn;
    this.#handlers = handlers;
    this.#handshakeTimeout = ms(options.handshakeTimeout, 10_000, "handshakeTimeout");
    this.#closeTimeout = ms(options.closeTimeout, 5_000, "closeTimeout");
    this.#pingInterval = ms(options.pingInterval, 0, "pingInterval");
    this.#idleTimeout = ms(options.idleTimeout, server ? SERVER_IDLE_TIMEOUT : 0, "idleTimeout");
    this.#messageTimeout = ms(
      options.messageTimeout,
      server ? SERVER_MESSAGE_TIMEOUT : 0,
      "messageTimeout",
    );
    this.#highWater = ms(options.highWaterMark, DEFAULT_HIGH_WATER, "highWaterMark");
    this.#lowWater = ms(options.lowWaterMark, Math.floor(this.#highWater / 4), "lowWaterMark");
    if (this.#lowWater > this.#highWater) {
      throw new RangeError(
        `Option lowWaterMark (${this.#lowWater}) must not exceed highWaterMark (${this.#highWater})`,
      );
    }
    const backpressure = options.backpressure ?? (server ? "pause" : "none");
    if (backpressure !== "pause" && backpressure !== "close" && backpressure !== "none") {
      throw new TypeError(
        `Option backpressure must be "pause", "close" or "none", got ${String(backpressure)}`,
      );
    }
    this.#backpressure = backpressure;
    this.#budget = budget;
  }

  /** The transport, once connected. Output produced before this waits in the connection. */
  attach(transport: Transport): void {
    this.#transport = transport;
    this.#attached = true;
    this.pump();
  }

  /** The connection's lifecycle state. */
  get state(): ReadyState {
    return this.conn.state;
  }

  /** The negotiated subprotocol, or an empty string. */
  get protocol(): string {
    return this.conn.protocol;
  }

  /** The negotiated `Sec-WebSocket-Extensions` value, or an empty string. */
  get extensions(): string {
    return this.conn.extensions;
  }

  /** The protocol revision in use, or null before the handshake decided it. */
  get version(): WebSocketVersion | null {
    return this.conn.version;
  }

  /** Send a whole message, then write it out. */
  send(data: string | Uint8Array): void {
    this.conn.send(data);
    this.pump();
  }

  /** Send frames built elsewhere, then write them out. */
  sendFrames(frames: Uint8Array): void {
    this.conn.sendFrames(frames);
    this.pump();
  }

  /** Send a ping, then write it out. */
  ping(data?: string | Uint8Array): void {
    this.conn.ping(data);
    this.pump();
  }

  /** Start the closing handshake. */
  close(code?: number, reason?: string): void {
    this.conn.close(code, reason);
    this.pump();
  }

  /** Give up on the connection at once (close 1006). */
  abort(): void {
    this.conn.abort();
    this.pump();
  }

  /** Bytes queued for the peer and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.conn.pendingOutputBytes + this.#transport.bufferedAmount;
  }

  /** Whether reading from the peer is paused, by the application or by backpressure. */
  get paused(): boolean {
    return this.#pausedByApp || this.#pausedByOutput;
  }

  /** Application flow control: stop reading from the peer until {@linkcode Driver.resume}. */
  pause(): void {
    if (this.#pausedByApp) return;
    this.#pausedByApp = true;
    if (!this.#pausedByOutput) this.#transport.pauseReading();
  }

  /** Application flow control: read again (unless backpressure still holds reading). */
  resume(): void {
    if (!this.#pausedByApp) return;
    this.#pausedByApp = false;
    this.#heardAt = SWEEPER.now;
    if (!this.#pausedByOutput && !this.#closed) this.#transport.resumeReading();
  }

  /** Bytes arrived from the peer. */
  receive(chunk: Uint8Array): void {
    this.#heardAt = SWEEPER.now;
    if (this.#pausedByOutput) {
      // A read already under way may still land; more than a high-water mark's worth means
      // the transport cannot pause (Deno's node:tls server sockets), and the peer is dropped
      // rather than echoed into memory without bound.
      this.#readWhilePaused += chunk.length;
      if (this.#readWhilePaused > this.#highWater && this.conn.state === "open") {
        this.#failFromHere(
          "ERR_SLOW_CONSUMER",
          1008,
          "Peer is not reading, and this transport cannot stop reading from it",
        );
        // The peer reads nothing, so no closing handshake: drop it before its flood piles up
        // in the runtime's buffers.
        return this.#closeNow();
      }
    }
    this.conn.receive(chunk);
    this.pump();
  }

  /**
   * The peer closed its side. It may still be reading: what is queued (our close frame last) is
   * flushed before the transport closes, for at most `closeTimeout` ms, instead of cut off.
   */
  receiveEnd(): void {
    this.conn.receiveEnd();
    this.pump();
    if (this.#closed) return;
    if (!this.#attached || this.#transport.bufferedAmount === 0) return this.#closeNow();
    this.#lingering = true;
    if (!this.#writeClosed) {
      this.#writeClosed = true;
      this.#transport.closeWrite();
    }
    // Reading is over: paused reading must not keep the linger from seeing the end.
    this.#pausedByOutput = false;
    this.#updateTimers();
  }

  /** The transport failed (refused, reset, TLS error); reported, then the connection ends. */
  fail(error: Error): void {
    if (this.#closed) return;
    if (this.conn.state !== "closed") {
      this.#report(
        error instanceof AdapterError
          ? error
          : new AdapterError("ERR_CONNECTION", error.message, { cause: error }),
      );
    }
    this.conn.abort();
    this.pump();
    this.#closeNow();
  }

  /** The transport's buffer drained (some or all of it). */
  drained(): void {
    if (this.#lingering && this.#transport.bufferedAmount === 0) return this.#closeNow();
    // Output moves: not idle, even while reading is paused.
    this.#drainedAt = SWEEPER.now;
    if (this.conn.outputBlocked && this.bufferedAmount <= this.#lowWater) {
      this.conn.outputBlocked = false; // may queue a coalesced pong
      if (this.#pausedByOutput) {
        this.#pausedByOutput = false;
        if (!this.#pausedByApp && !this.#closed) this.#transport.resumeReading();
      }
      this.pump();
    }
    this.#handlers.drained();
  }

  /** An application handler threw: route it to the application's error report. */
  reportUncaught(error: unknown): void {
    try {
      this.#handlers.uncaught(error);
    } catch {
      // The reporter itself failed; nowhere left to report to.
    }
  }

  /**
   * Dispatch pending events, write pending output, apply the core's transport and timer
   * decisions. Re-entrant calls (a handler that sends) fold into the running pump.
   */
  pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        this.#pumpOnce();
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpOnce(): void {
    const conn = this.conn;
    // Handlers that act (accept, send) queue their events on the queue drained here.
    for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
      try {
        this.#handlers.event(ev);
      } catch (error) {
        // An application bug must not take the server down with it.
        this.reportUncaught(error);
      }
    }
    if (this.#budget !== null) this.#account(this.#budget);
    if (this.#attached) {
      const out = conn.takeOutput();
      if (out.length > 0 && !this.#writeClosed) {
        this.#transport.write(out);
        if (this.#transport.bufferedAmount > this.#highWater) this.#overHighWater();
      }
      if (conn.shouldCloseTransport && !this.#writeClosed) {
        this.#writeClosed = true;
        this.#transport.closeWrite();
      }
    }
    // Before attach too: the handshake timeout covers the TCP and TLS connect.
    this.#updateTimers();
  }

  /** Unsent output passed the high-water mark: the peer is not reading (fast enough). */
  #overHighWater(): void {
    this.conn.outputBlocked = true;
    if (this.#backpressure === "pause") {
      if (!this.#pausedByOutput) {
        this.#pausedByOutput = true;
        this.#readWhilePaused = 0;
        if (!this.#pausedByApp) this.#transport.pauseReading();
      }
    } else if (this.#backpressure === "close" && this.conn.state === "open") {
      this.#failFromHere(
        "ERR_SLOW_CONSUMER",
        1008,
        `Peer is not reading: over ${this.#highWater} bytes of output unsent`,
      );
    }
  }

  /** Count this connection's incomplete-message bytes in the server's budget. */
  #account(budget: MemoryBudget): void {
    const held = this.conn.incompleteMessageBytes;
    if (held === this.#budgeted) return;
    budget.used += held - this.#budgeted;
    this.#budgeted = held;
    if (held > 0 && budget.used > budget.limit && this.conn.state === "open") {
      this.#failFromHere(
        "ERR_MEMORY_BUDGET",
        1013,
        "Server is holding too many incomplete messages, try again later",
      );
      budget.used -= this.#budgeted;
      this.#budgeted = 0;
    }
  }

  /** Fail the connection from this side with a close code, and report why. */
  #failFromHere(code: AdapterErrorCode, closeCode: number, message: string): void {
    this.#report(new AdapterError(code, message));
    this.conn.fail(closeCode, message.length > 100 ? message.slice(0, 100) : message);
    this.pump();
  }

  #report(error: AdapterError): void {
    try {
      this.#handlers.failure(error);
    } catch (e) {
      this.reportUncaught(e);
    }
  }

  #updateTimers(): void {
    const phase = this.#closed
      ? null
      : this.conn.timerPhase ?? (this.#writeClosed ? "drain" : null);
    if (phase !== this.#timerPhase) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerPhase = phase;
      if (phase !== null) {
        const ms = phase === "handshake" ? this.#handshakeTimeout : this.#closeTimeout;
        this.#timer = setTimeout(() => this.#timeout(phase), ms);
      }
    }
    const watch = this.conn.state === "open" && !this.#closed &&
      (this.#idleTimeout > 0 || this.#messageTimeout > 0 ||
        (this.#pingInterval > 0 && typeof this.conn.version === "number"));
    if (watch !== this.#watched) {
      this.#watched = watch;
      if (watch) {
        SWEEPER.add(
          this,
          Math.min(...[
            this.#idleTimeout,
            this.#messageTimeout,
            this.#pingInterval,
          ].filter((t) => t > 0)),
        );
        this.#heardAt = SWEEPER.now;
        this.#msgProgressAt = SWEEPER.now;
      } else {
        SWEEPER.delete(this);
      }
    }
  }

  #timeout(phase: string): void {
    this.#timer = undefined;
    this.#timerPhase = null;
    if (phase === "drain") return this.#closeNow();
    if (phase === "handshake" && this.conn.state === "connecting") {
      this.#report(
        new AdapterError(
          "ERR_HANDSHAKE_TIMEOUT",
          `Opening handshake timed out after ${this.#handshakeTimeout} ms`,
        ),
      );
    }
    this.conn.abort();
    this.pump();
    this.#closeNow();
  }

  /** @internal The shared sweeper's check of this open connection at time `now`. */
  sweep(now: number): void {
    if (this.conn.state !== "open") return;
    // Paused by the application, the peer cannot be expected to make progress.
    if (this.#pausedByApp) {
      this.#heardAt = now;
      this.#msgProgressAt = now;
      return;
    }
    const silent = now - this.#heardAt;
    if (
      this.#idleTimeout > 0 && now - Math.max(this.#heardAt, this.#drainedAt) >= this.#idleTimeout
    ) {
      return this.#failFromHere(
        "ERR_IDLE_TIMEOUT",
        1001,
        `Nothing received for ${this.#idleTimeout} ms`,
      );
    }
    if (this.#messageTimeout > 0) {
      const held = this.conn.incompleteMessageBytes;
      if (held !== this.#msgBytesSeen || held === 0 || this.#pausedByOutput) {
        this.#msgBytesSeen = held;
        this.#msgProgressAt = now;
      } else if (now - this.#msgProgressAt >= this.#messageTimeout) {
        return this.#failFromHere(
          "ERR_MESSAGE_TIMEOUT",
          1008,
          `Message stalled: no bytes of it for ${this.#messageTimeout} ms`,
        );
      }
    }
    if (this.#pingInterval > 0 && typeof this.conn.version === "number") {
      if (this.#pingedAt >= 0 && this.#heardAt >= this.#pingedAt) this.#pingedAt = -1;
      if (this.#pingedAt < 0) {
        if (silent >= this.#pingInterval) {
          this.#pingedAt = now;
          this.conn.ping();
          this.pump();
        }
      } else if (now - this.#pingedAt >= this.#pingInterval) {
        this.#report(
          new AdapterError(
            "ERR_DEAD_PEER",
            `Peer did not answer a ping within ${this.#pingInterval} ms`,
          ),
        );
        this.conn.abort();
        this.pump();
        this.#closeNow();
      }
    }
  }

  #closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerPhase = null;
    if (this.#watched) {
      this.#watched = false;
      SWEEPER.delete(this);
    }
    if (this.#budget !== null && this.#budgeted > 0) {
      this.#budget.used -= this.#budgeted;
      this.#budgeted = 0;
    }
    this.#transport.close();
    try {
      this.#handlers.closed?.();
    } catch (error) {
      this.reportUncaught(error);
    }
  }
}

/**
 * One timer for every open connection's time-based checks (idle, stalled message, keepalive),
 * instead of a timer per connection: it ticks at a quarter of the shortest timeout in use
 * (between 10 ms and 1 s) and only while some connection needs it. Its `now` is the time of the
 * last tick, so a read stamps the time without a clock call.
 */
class Sweeper {
  readonly #drivers = new Set<Driver>();
  #timer: ReturnType<typeof setInterval> | undefined = undefined;
  #period = 0;
  now = 0;

  add(driver: Driver, shortest: number): void {
    this.#drivers.add(driver);
    const period = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    if (this.#timer === undefined || period < this.#period) {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#period = period;
      this.now = Date.now();
      this.#timer = setInterval(() => this.#tick(), period);
    }
  }

  delete(driver: Driver): void {
    this.#drivers.delete(driver);
    if (this.#drivers.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#period = 0;
    }
  }

  #tick(): void {
    const now = this.now = Date.now();
    for (const driver of this.#drivers) driver.sweep(now);
  }
}

const SWEEPER = new Sweeper();

/** A non-negative whole number of milliseconds (or bytes) from an option, else `fallback`. */
function ms(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Option ${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/**
 * The pause switch of a transport whose reads are a loop of awaited calls (Deno's sockets, Web
 * Streams): `pauseReading`/`resumeReading` flip it, and the loop awaits {@linkcode ReadGate.open}
 * before each read.
 */
export class ReadGate {
  #paused = false;
  #wake: (() => void) | null = null;

  /** Hold the loop before its next read. */
  pause(): void {
    this.#paused = true;
  }

  /** Let the loop read again. */
  resume(): void {
    this.#paused = false;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Null when the loop may read now, else a promise that resolves once it may. */
  open(): Promise<void> | null {
    return this.#paused ? new Promise<void>((resolve) => (this.#wake = resolve)) : null;
  }
}
