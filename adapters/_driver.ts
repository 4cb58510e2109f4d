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
 * @module
 */

import type { Connection, ConnectionEvent } from "../core/connection.ts";

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

/** Timeouts and keepalive, in milliseconds. */
export interface DriverOptions {
  /** Time allowed for the opening handshake (including the application's decision). Default 10000. */
  handshakeTimeout?: number;
  /** Time allowed for the closing handshake and the transport close. Default 5000. */
  closeTimeout?: number;
  /**
   * Send a ping after this long without traffic, and give up on the peer (close 1006) if
   * nothing arrives for as long again. 0 (default) turns keepalive off. Not for hixie versions,
   * which have no ping.
   */
  pingInterval?: number;
}

/** Receives what the driver learns, for the socket object the application holds. */
export interface DriverHandlers {
  /** Each core event, in order. */
  event(event: ConnectionEvent): void;
  /** A failure that is not a protocol violation: refused, TLS, timeout, dead peer. */
  failure(error: Error): void;
  /** The transport drained below its buffer: writers waiting for room may go on. */
  drained(): void;
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

/** Drives one connection over one transport. */
export class Driver {
  /** The core connection. */
  readonly conn: Connection;
  #transport: Transport = NO_TRANSPORT;
  #attached = false;
  readonly #handlers: DriverHandlers;
  readonly #handshakeTimeout: number;
  readonly #closeTimeout: number;
  readonly #pingInterval: number;
  #pumping = false;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerPhase: string | null = null;
  #keepalive: ReturnType<typeof setInterval> | undefined = undefined;
  #heardFrom = true;
  #pinged = false;
  #writeClosed = false;
  #lingering = false;
  #closed = false;

  /**
   * @param conn The core connection to drive.
   * @param handlers Where events and failures go.
   * @param options Timeouts and keepalive.
   */
  constructor(conn: Connection, handlers: DriverHandlers, options: DriverOptions = {}) {
    this.conn = conn;
    this.#handlers = handlers;
    this.#handshakeTimeout = options.handshakeTimeout ?? 10_000;
    this.#closeTimeout = options.closeTimeout ?? 5_000;
    this.#pingInterval = options.pingInterval ?? 0;
  }

  /** The transport, once connected. Output produced before this waits in the connection. */
  attach(transport: Transport): void {
    this.#transport = transport;
    this.#attached = true;
    this.pump();
  }

  /** Bytes queued for the peer and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.conn.pendingOutputBytes + this.#transport.bufferedAmount;
  }

  /** The transport, for pausing and resuming reads. */
  get transport(): Transport {
    return this.#transport;
  }

  /** Bytes arrived from the peer. */
  receive(chunk: Uint8Array): void {
    this.#heardFrom = true;
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
    this.#updateTimers();
  }

  /** The transport failed (refused, reset, TLS error); reported, then the connection ends. */
  fail(error: Error): void {
    if (this.#closed) return;
    if (this.conn.state !== "closed") this.#report(error);
    this.conn.abort();
    this.pump();
    this.#closeNow();
  }

  /** The transport's buffer drained. */
  drained(): void {
    if (this.#lingering && this.#transport.bufferedAmount === 0) this.#closeNow();
    this.#handlers.drained();
  }

  /**
   * Dispatch pending events, write pending output, apply the core's transport and timer
   * decisions. Re-entrant calls (a handler that sends) fold into the running pump.
   */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const conn = this.conn;
      // Handlers that act (accept, send) queue their events on the queue drained here.
      for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
        try {
          this.#handlers.event(ev);
        } catch (error) {
          // An application bug must not take the server down with it.
          console.error(error);
        }
      }
      if (this.#attached) {
        const out = conn.takeOutput();
        if (out.length > 0 && !this.#writeClosed) this.#transport.write(out);
        if (conn.shouldCloseTransport && !this.#writeClosed) {
          this.#writeClosed = true;
          this.#transport.closeWrite();
        }
      }
      // Before attach too: the handshake timeout covers the TCP and TLS connect.
      this.#updateTimers();
    } finally {
      this.#pumping = false;
    }
  }

  #report(error: Error): void {
    try {
      this.#handlers.failure(error);
    } catch (e) {
      console.error(e);
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
    const wantKeepalive = this.#pingInterval > 0 && this.conn.state === "open" &&
      typeof this.conn.version === "number";
    if (wantKeepalive && this.#keepalive === undefined) {
      this.#keepalive = setInterval(() => this.#tick(), this.#pingInterval);
    } else if (!wantKeepalive && this.#keepalive !== undefined) {
      clearInterval(this.#keepalive);
      this.#keepalive = undefined;
    }
  }

  #timeout(phase: string): void {
    this.#timer = undefined;
    this.#timerPhase = null;
    if (phase === "drain") return this.#closeNow();
    if (phase === "handshake" && this.conn.state === "connecting") {
      this.#report(new Error(`Opening handshake timed out after ${this.#handshakeTimeout} ms`));
    }
    this.conn.abort();
    this.pump();
    this.#closeNow();
  }

  /** Keepalive: ping when quiet; a peer silent for a whole further interval is dead. */
  #tick(): void {
    if (this.#heardFrom) {
      this.#heardFrom = false;
      this.#pinged = false;
      return;
    }
    if (this.#pinged) {
      this.#report(new Error(`Peer did not answer a ping within ${this.#pingInterval} ms`));
      this.conn.abort();
      this.pump();
      this.#closeNow();
      return;
    }
    this.#pinged = true;
    this.conn.ping();
    this.pump();
  }

  #closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#keepalive !== undefined) clearInterval(this.#keepalive);
    this.#timer = undefined;
    this.#keepalive = undefined;
    this.#timerPhase = null;
    this.#transport.close();
  }
}
