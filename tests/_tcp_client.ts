// An omniws ClientConnection driven over a node:net socket by hand, for interop tests that want
// the core's events themselves (the adapters are tested separately).
import net from "node:net";
import { ClientConnection, type ClientOptions, type ConnectionEvent } from "../mod.ts";

/** A core client on a loopback TCP socket, recording every event. */
export class TcpClient {
  readonly conn: ClientConnection;
  readonly events: ConnectionEvent[] = [];
  readonly socket: net.Socket;
  #waiters: Array<() => void> = [];

  constructor(port: number, options: Omit<ClientOptions, "host"> = {}) {
    this.conn = new ClientConnection({ host: `127.0.0.1:${port}`, ...options });
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (d: Uint8Array) => {
      this.conn.receive(new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.length)));
      this.#pump();
    });
    this.socket.on("end", () => {
      this.conn.receiveEnd();
      this.#pump();
    });
    this.socket.on("error", () => {});
    this.#pump();
  }

  #pump(): void {
    for (let ev = this.conn.nextEvent(); ev !== null; ev = this.conn.nextEvent()) {
      this.events.push(ev);
    }
    for (const chunk of this.conn.takeOutput()) this.socket.write(chunk);
    if (this.conn.shouldCloseTransport) this.socket.end();
    for (const w of this.#waiters.splice(0)) w();
  }

  send(data: string | Uint8Array): void {
    this.conn.send(data);
    this.#pump();
  }

  close(): void {
    this.conn.close(1000);
    this.#pump();
  }

  /** Resolves when `pred` holds for the events so far; rejects after `ms`. */
  async waitFor(
    pred: (events: ConnectionEvent[]) => boolean,
    what: string,
    ms = 5000,
  ): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.events)) {
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${what}; events: ${JSON.stringify(this.events.slice(-3))}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The data of every message received, in order. */
  messages(): unknown[] {
    return this.events.filter((e) => e.type === "message").map((e) =>
      e.type === "message" && e.data
    );
  }
}
