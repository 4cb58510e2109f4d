/**
 * What every runtime adapter shares: driving a core {@linkcode Connection} over a byte transport.
 *
 * A runtime adapter only maps its socket onto {@linkcode Transport} (write chunks, half-close,
 * close) and calls {@linkcode Driver.receive} / {@linkcode Driver.receiveEnd}. The driver
 * dispatches events, writes everything produced while handling one read in one `write` call,
 * runs the timer the core's `timerPhase` asks for, and closes the transport gracefully (half-close
 * first, so the peer reads our close frame instead of a reset).
 *
 * @module
 */

import type { Connection, ConnectionEvent } from "../core/connection.ts";

/** The few things a driver needs from a runtime's socket. */
export interface Transport {
  /** Queue chunks for writing, in order. */
  write(chunks: Uint8Array[]): void;
  /** Stop writing once queued chunks are flushed (TCP FIN), keep reading. */
  closeWrite(): void;
  /** Close both directions now. */
  close(): void;
}

/** Timeouts, in milliseconds. */
export interface DriverTimeouts {
  /** Time allowed for the opening handshake (including the application's decision). Default 10000. */
  handshakeTimeout?: number;
  /** Time allowed for the closing handshake and the transport close. Default 5000. */
  closeTimeout?: number;
}

/** Drives one connection over one transport. */
export class Driver {
  readonly conn: Connection;
  readonly #transport: Transport;
  readonly #onEvent: (event: ConnectionEvent) => void;
  readonly #handshakeTimeout: number;
  readonly #closeTimeout: number;
  #pumping = false;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerPhase: string | null = null;
  #writeClosed = false;
  #closed = false;

  constructor(
    conn: Connection,
    transport: Transport,
    onEvent: (event: ConnectionEvent) => void,
    timeouts: DriverTimeouts = {},
  ) {
    this.conn = conn;
    this.#transport = transport;
    this.#onEvent = onEvent;
    this.#handshakeTimeout = timeouts.handshakeTimeout ?? 10_000;
    this.#closeTimeout = timeouts.closeTimeout ?? 5_000;
  }

  /** Bytes arrived from the peer. */
  receive(chunk: Uint8Array): void {
    this.conn.receive(chunk);
    this.pump();
  }

  /** The peer closed its side, or the transport failed. */
  receiveEnd(): void {
    this.conn.receiveEnd();
    this.pump();
    this.#closeNow();
  }

  /**
   * Dispatch pending events, write pending output, apply the core's transport and timer
   * decisions. Re-entrant calls (an event handler that sends) fold into the running pump.
   */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const conn = this.conn;
      // Handlers that act (accept, send) queue their events on the queue being drained here.
      for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
        try {
          this.#onEvent(ev);
        } catch (error) {
          // An application bug must not take the server down with it.
          console.error(error);
        }
      }
      const out = conn.takeOutput();
      if (out.length > 0 && !this.#writeClosed) this.#transport.write(out);
      if (conn.shouldCloseTransport && !this.#writeClosed) {
        this.#writeClosed = true;
        this.#transport.closeWrite();
      }
      this.#updateTimer();
    } finally {
      this.#pumping = false;
    }
  }

  #updateTimer(): void {
    const phase = this.#closed ? null : this.conn.timerPhase ?? (this.#writeClosed ? "drain" : null);
    if (phase === this.#timerPhase) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerPhase = phase;
    if (phase === null) return;
    const ms = phase === "handshake" ? this.#handshakeTimeout : this.#closeTimeout;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (phase === "drain") return this.#closeNow();
      this.conn.abort();
      this.pump();
      this.#closeNow();
    }, ms);
  }

  #closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerPhase = null;
    this.#transport.close();
  }
}
