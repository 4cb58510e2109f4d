/**
 * `WebSocketStream`: the stream-shaped WebSocket API (WHATWG proposal, shipped in Chromium),
 * with real backpressure in both directions, written once for every runtime.
 *
 * - Reading: messages go into a `ReadableStream` (string for text, `Uint8Array` for binary).
 *   When its queue is full the transport stops reading from the socket, so a slow reader holds
 *   at most its queue plus one read chunk in memory, and TCP flow control slows the peer.
 * - Writing: `write()` on the `WritableStream` resolves once the socket's buffer is below the
 *   high-water mark, so a fast writer waits instead of filling memory.
 *
 * @module
 */

import type { ConnectionEvent } from "../core/connection.ts";
import type { Driver, DriverHandlers } from "./_driver.ts";
import {
  bindConnector,
  type Connector,
  connectorOf,
  startClient,
  type WebSocketOptions,
} from "./_client.ts";

/** What `opened` resolves with. */
export interface WebSocketStreamConnection {
  /** Incoming messages: strings for text, `Uint8Array` for binary. */
  readable: ReadableStream<string | Uint8Array>;
  /** Outgoing messages: strings as text, bytes as binary. */
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  /** The negotiated subprotocol, or an empty string. */
  protocol: string;
  /** The negotiated extensions, or an empty string. */
  extensions: string;
}

/** What `closed` resolves with. */
export interface WebSocketCloseInfo {
  /** The close code (1005 if the peer gave none). */
  closeCode: number;
  /** The close reason. */
  reason: string;
}

/** Options of {@linkcode WebSocketStream}. */
export interface WebSocketStreamOptions extends WebSocketOptions {
  /** Subprotocols to offer. */
  protocols?: string[];
  /** Aborts the opening handshake. */
  signal?: AbortSignal;
  /** Messages the readable side buffers before reading from the socket pauses. Default 16. */
  readableHighWaterMark?: number;
  /** Bytes buffered for the socket before `write()` waits. Default 1 MiB. */
  writableHighWaterMark?: number;
}

/** An error closing a stream: the close code and reason, when the close was not clean. */
export class WebSocketError extends Error {
  /** The close code (1006 when the connection failed). */
  readonly closeCode: number;
  /** The close reason. */
  readonly reason: string;

  /**
   * An error carrying the close code and reason of the failed connection.
   * @param message What went wrong.
   * @param closeCode The close code.
   * @param reason The close reason.
   */
  constructor(message: string, closeCode = 1006, reason = "") {
    super(message);
    this.name = "WebSocketError";
    this.closeCode = closeCode;
    this.reason = reason;
  }
}

/**
 * A WebSocket client as a pair of streams with backpressure.
 *
 * @example Reading messages with backpressure
 * ```ts ignore
 * import { WebSocketStream } from "@omniws/omniws/node";
 * const wss = new WebSocketStream("ws://127.0.0.1:9001/");
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write("hello");
 * for await (const message of readable) console.log(message);
 * ```
 */
export class WebSocketStream {
  /** The URL connected to. */
  readonly url: string;
  /** Resolves once open; rejects if the connection cannot be established. */
  readonly opened: Promise<WebSocketStreamConnection>;
  /** Resolves on a clean close; rejects with a {@linkcode WebSocketError} otherwise. */
  readonly closed: Promise<WebSocketCloseInfo>;
  readonly #driver: Driver;

  /**
   * Open a connection; `opened` tells how it went.
   * @param url `ws:` or `wss:` URL.
   * @param options Subprotocols, abort signal, buffer sizes, and the client options.
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    const connector = connectorOf(new.target, "WebSocketStream");
    const readHigh = options.readableHighWaterMark ?? 16;
    const writeHigh = options.writableHighWaterMark ?? 1 << 20;

    let openResolve!: (c: WebSocketStreamConnection) => void;
    let openReject!: (e: Error) => void;
    let closedResolve!: (c: WebSocketCloseInfo) => void;
    let closedReject!: (e: Error) => void;
    this.opened = new Promise((res, rej) => ((openResolve = res), (openReject = rej)));
    this.closed = new Promise((res, rej) => ((closedResolve = res), (closedReject = rej)));
    // Callers that never look at one of them must not get an unhandled rejection.
    this.opened.catch(() => {});
    this.closed.catch(() => {});

    let readController!: ReadableStreamDefaultController<string | Uint8Array>;
    let failure: Error | null = null;
    const drainWaiters: Array<() => void> = [];
    const wakeWriters = () => {
      for (const w of drainWaiters.splice(0)) w();
    };

    // Events arrive once startClient below has returned and `#driver` is set.
    const handlers: DriverHandlers = {
      event: (ev: ConnectionEvent) => {
        switch (ev.type) {
          case "open":
            openResolve({ readable, writable, protocol: ev.protocol, extensions: ev.extensions });
            break;
          case "message":
            readController.enqueue(ev.data);
            if ((readController.desiredSize ?? 1) <= 0) this.#driver.pause();
            break;
          case "error":
            failure ??= ev.error;
            break;
          case "close": {
            wakeWriters();
            if (ev.wasClean) {
              try {
                readController.close();
              } catch { /* already closed or cancelled */ }
              closedResolve({ closeCode: ev.code, reason: ev.reason });
            } else {
              const error = new WebSocketError(
                failure?.message ?? "The connection was closed abnormally",
                ev.code,
                ev.reason,
              );
              try {
                readController.error(error);
              } catch { /* already closed */ }
              openReject(error);
              closedReject(error);
            }
            break;
          }
          default:
            break;
        }
      },
      failure: (error) => {
        failure ??= error;
      },
      drained: wakeWriters,
      // deno-lint-ignore no-console
      uncaught: (error) => console.error(error),
    };
    const started = startClient(url, options.protocols ?? [], options, handlers, connector);
    const driver = started.driver;
    this.#driver = driver;
    this.url = started.href;
    const conn = driver.conn;

    const readable = new ReadableStream<string | Uint8Array>({
      start: (c) => {
        readController = c;
      },
      pull: () => driver.resume(),
      cancel: () => {
        if (conn.state === "open") conn.close(1000);
        driver.pump();
      },
    }, { highWaterMark: readHigh });

    const writable = new WritableStream<string | ArrayBuffer | ArrayBufferView>({
      write: async (chunk) => {
        if (conn.state !== "open") {
          throw new WebSocketError("Cannot write: the connection is not open");
        }
        const data = typeof chunk === "string"
          ? chunk
          : chunk instanceof ArrayBuffer
          ? new Uint8Array(chunk.slice(0))
          : new Uint8Array(
            chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength),
          );
        conn.send(data);
        driver.pump();
        // conn.state changes while we wait; read it through a call, not a narrowed property.
        while (driver.bufferedAmount > writeHigh && stateOf(conn) !== "closed") {
          await new Promise<void>((resolve) => drainWaiters.push(resolve));
        }
      },
      close: () => {
        if (conn.state === "open") conn.close(1000);
        driver.pump();
      },
      abort: () => {
        conn.abort();
        driver.pump();
      },
    });

    options.signal?.addEventListener("abort", () => {
      if (conn.state === "connecting") {
        failure ??= new Error("The opening handshake was aborted");
        driver.fail(failure);
      }
    }, { once: true });
  }

  /** Start the closing handshake. */
  close(info: { closeCode?: number; reason?: string } = {}): void {
    const conn = this.#driver.conn;
    if (conn.state === "connecting") conn.abort();
    else if (info.closeCode === undefined) conn.close();
    else conn.close(info.closeCode, info.reason ?? "");
    this.#driver.pump();
  }
}

/** @internal A `WebSocketStream` class bound to one runtime's connector. */
export function streamWithConnector(connector: Connector): typeof WebSocketStream {
  const Bound = class WebSocketStream extends WebSocketStreamBase {};
  bindConnector(Bound, connector);
  return Bound;
}

function stateOf(conn: Driver["conn"]): string {
  return conn.state;
}

/** The base class, under a name the adapters' subclasses can extend. */
const WebSocketStreamBase = WebSocketStream;
