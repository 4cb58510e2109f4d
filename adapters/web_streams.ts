/**
 * Web Streams adapter: WebSockets over any `{ readable, writable }` byte stream pair — a
 * Cloudflare `connect()` socket, a Deno `Conn`, a Node socket through `Duplex.toWeb` — so
 * edge runtimes without a TCP API of their own can use the client, and any runtime can serve
 * over a stream it already has.
 *
 * @example A client over a Cloudflare socket
 * ```ts ignore
 * import { connect as tcp } from "cloudflare:sockets";
 * import { connect } from "@omniws/omniws/web-streams";
 * const ws = connect(tcp("echo.example.com:80"), "ws://echo.example.com/");
 * ws.onmessage = (e) => console.log(e.data);
 * ```
 *
 * @module
 */

import { ReadGate, type Transport } from "./_driver.ts";
import { joinParts } from "../core/connection.ts";
import { type ConnectionHandler, type ServeOptions, startServerSession } from "./_session.ts";
import type { Connector, Dialed, TransportSink } from "./_client.ts";
import { type WebSocket, type WebSocketOptions, withConnector } from "./_websocket.ts";
import {
  streamWithConnector,
  type WebSocketStream,
  type WebSocketStreamOptions,
} from "./_websocket_stream.ts";

export type { ServeOptions } from "./_session.ts";
export type * from "./_types.ts";
export { AdapterError } from "./_errors.ts";

/**
 * A bidirectional byte stream. Chunks read from `readable` must not be reused by its source
 * afterwards (default readers never do; the core keeps views into them).
 */
export interface ByteStreamPair {
  /** Bytes from the peer. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  writable: WritableStream<Uint8Array>;
}

/**
 * Open a WebSocket client over a stream pair (or a promise of one). The URL gives the `Host`
 * header and the path; the stream decides where the bytes go.
 * @param pair The connected byte streams.
 * @param url The `ws:` or `wss:` URL being requested (TLS, if any, is the stream's business).
 * @param protocols Subprotocols to offer.
 * @param options Client options.
 */
export function connect(
  pair: ByteStreamPair | Promise<ByteStreamPair>,
  url: string | URL,
  protocols?: string | string[],
  options?: WebSocketOptions,
): WebSocket {
  const Bound = withConnector(streamConnector(pair));
  return new Bound(url, protocols, options);
}

/**
 * Open a {@linkcode WebSocketStream} client over a stream pair.
 * @param pair The connected byte streams.
 * @param url The URL being requested.
 * @param options Client and stream options.
 */
export function connectStream(
  pair: ByteStreamPair | Promise<ByteStreamPair>,
  url: string | URL,
  options?: WebSocketStreamOptions,
): WebSocketStream {
  const Bound = streamWithConnector(streamConnector(pair));
  return new Bound(url, options);
}

/**
 * Serve one connection that arrived as a stream pair: the handshake, then the socket to
 * `handler`. Plain HTTP requests are answered with `options.http` if given. Calls with the same
 * `options` object and `handler` form one server: they share its `maxIncompleteBytes` budget
 * and its `onError`.
 * @param pair The accepted byte streams.
 * @param options Server options (`secure` says whether the stream is TLS).
 * @param handler Called with the socket once open.
 */
export function accept(
  pair: ByteStreamPair,
  options: ServeOptions,
  handler: ConnectionHandler,
): void {
  const driver = startServerSession(options, options.secure ?? false, handler);
  // The driver has the sink's methods, as on the other adapters.
  driver.attach(new StreamTransport(pair, driver));
}

/** A stream pair as a client's connection, before a transport takes it over. */
class StreamDialed implements Dialed {
  readonly pair: ByteStreamPair;

  constructor(pair: ByteStreamPair) {
    this.pair = pair;
  }

  async read(): Promise<Uint8Array | null> {
    const reader = this.pair.readable.getReader();
    try {
      const { value, done } = await reader.read();
      return done ? null : value ?? new Uint8Array(0);
    } finally {
      reader.releaseLock();
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    const writer = this.pair.writable.getWriter();
    try {
      await writer.write(bytes);
    } finally {
      writer.releaseLock();
    }
  }

  close(): void {
    this.pair.readable.cancel().catch(() => {});
    this.pair.writable.abort().catch(() => {});
  }
}

/**
 * The connector of a client over `pair`: dialing is waiting for the pair, TLS is the stream's
 * business (a `wss:` URL over it is taken as already secure), the transport is the pair's.
 */
function streamConnector(pair: ByteStreamPair | Promise<ByteStreamPair>): Connector {
  return {
    dial: async () => new StreamDialed(await pair),
    startTls: (dialed) => Promise.resolve(dialed),
    transport: (dialed, sink) => new StreamTransport((dialed as StreamDialed).pair, sink),
  };
}

/** A stream pair as a {@linkcode Transport}. */
class StreamTransport implements Transport {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #sink: TransportSink;
  #queued = 0;
  #writes: Promise<void> = Promise.resolve();
  readonly #gate = new ReadGate();
  #closed = false;

  constructor(pair: ByteStreamPair, sink: TransportSink) {
    this.#reader = pair.readable.getReader();
    this.#writer = pair.writable.getWriter();
    this.#sink = sink;
    this.#readLoop();
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  write(chunks: Uint8Array[]): void {
    if (this.#closed) return;
    const data = chunks.length === 1 ? chunks[0] : joinParts(chunks, byteLength(chunks));
    this.#queued += data.length;
    this.#writes = this.#writes.then(() => this.#writer.write(data)).then(
      () => {
        // After every write, as Node's transport reports: writers waiting for room below a
        // threshold (`drained(n)`, the driver's low-water mark) go on without an empty queue.
        this.#queued -= data.length;
        if (!this.#closed) this.#sink.drained();
      },
      (error: unknown) => {
        if (!this.#closed) {
          this.#sink.fail(new Error(`Write failed: ${(error as Error)?.message ?? error}`));
        }
      },
    );
  }

  closeWrite(): void {
    this.#writes = this.#writes.then(() => this.#writer.close()).catch(() => {});
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.resumeReading();
    this.#reader.cancel().catch(() => {});
    this.#writer.abort().catch(() => {});
  }

  pauseReading(): void {
    this.#gate.pause();
  }

  resumeReading(): void {
    this.#gate.resume();
  }

  async #readLoop(): Promise<void> {
    try {
      while (!this.#closed) {
        const wait = this.#gate.open();
        if (wait !== null) await wait;
        if (this.#closed) return;
        const { value, done } = await this.#reader.read();
        if (done) break;
        if (value !== undefined && value.length > 0) this.#sink.receive(value);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#sink.fail(new Error(`Read failed: ${(error as Error)?.message ?? error}`));
      }
      return;
    }
    if (!this.#closed) this.#sink.receiveEnd();
  }
}

function byteLength(chunks: Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}
