/**
 * A hand-driven RFC 6455 client on a loopback TCP socket, for tests that need a peer which
 * misbehaves on purpose: stops reading, stalls mid-message, never answers. Frames are written
 * with the test helpers, independently of the code under test.
 * @module
 */

import net from "node:net";
import { Buffer } from "node:buffer";
import { type ParsedFrame, parseFrames, requestText } from "./_helpers.ts";
import { until } from "./_wait.ts";

/** A raw client after its opening handshake. */
export class RawPeer {
  readonly socket: net.Socket;
  // Chunks as they came, joined on demand: megabytes arrive in many small reads.
  #chunks: Buffer[] = [];
  #bytes = 0;
  #head = -1;
  #ended = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.#chunks.push(d);
      this.#bytes += d.length;
    });
    socket.on("close", () => (this.#ended = true));
    socket.on("error", () => {});
  }

  /** Connect and complete the handshake (the 101 read); rejects after `ms`. */
  static async open(port: number, ms = 5000): Promise<RawPeer> {
    const peer = new RawPeer(net.connect({ port, host: "127.0.0.1" }));
    peer.socket.write(requestText({ headers: { Host: `127.0.0.1:${port}` } }));
    await until(() => peer.#headEnd() >= 0 || peer.#ended, "the 101 response", ms);
    const first = peer.#all().toString("latin1").split("\r\n")[0];
    if (!first.startsWith("HTTP/1.1 101")) throw new Error(`Handshake refused: ${first}`);
    return peer;
  }

  #all(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#bytes)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #headEnd(): number {
    if (this.#head < 0) {
      const i = this.#all().indexOf("\r\n\r\n");
      if (i >= 0) this.#head = i + 4;
    }
    return this.#head;
  }

  /** Bytes received after the 101 so far. */
  get frameBytes(): number {
    return this.#head < 0 ? 0 : this.#bytes - this.#head;
  }

  /** Whether the server closed the TCP connection. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Frames received after the 101 (whole frames only). */
  frames(): ParsedFrame[] {
    const bytes = this.#all().subarray(this.#headEnd());
    return parseFrames(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** Write raw bytes. */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Resolves once the server closed the connection; rejects after `ms`. */
  closed(ms = 5000): Promise<void> {
    return until(() => this.#ended, "the server to close the connection", ms);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
