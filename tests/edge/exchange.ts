/**
 * One client/server exchange in memory through the core's public API, written so that it runs in
 * any JavaScript engine: it imports nothing at run time (the API is passed in), uses no runtime
 * globals, and reports what it saw instead of throwing.
 *
 * The same scenario runs on the installed npm package (Node 20, Node 24, Bun, Deno; `import` and
 * `require`), inside workerd, inside Vercel's edge-runtime and in Chromium, so every one of them
 * proves the same things:
 *
 * - an RFC 6455 opening handshake with a subprotocol (default `crypto.getRandomValues` keys and
 *   masks, SHA-1 accept key);
 * - text (non-ASCII) and binary messages both ways, a 70000-byte message (64-bit length), a
 *   fragmented message, a ping answered by an automatic pong;
 * - the closing handshake (1000, reason), clean on both sides;
 * - a peer's violation (an unmasked client frame) as an `error` event with 1002, never a throw;
 * - misuse (send after close) as a thrown `UsageError` with a stable code;
 * - a hixie-76 pair (MD5 challenge, text framing).
 *
 * @module
 */

import type * as Omniws from "../../mod.ts";

/** The part of the public API the scenario uses: `import * as api from "omniws"`. */
export type Api = Pick<typeof Omniws, "ClientConnection" | "ServerConnection" | "UsageError">;

/** What the scenario saw: `failures` is empty when everything behaved. */
export interface ExchangeResult {
  /** The checks that passed, by name. */
  passed: string[];
  /** `name: what happened instead`, one per failed check. */
  failures: string[];
}

type Connection = InstanceType<Api["ClientConnection"]> | InstanceType<Api["ServerConnection"]>;
type Event = NonNullable<ReturnType<Connection["nextEvent"]>>;

function drain(conn: Connection): Event[] {
  const events: Event[] = [];
  for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) events.push(ev);
  return events;
}

function pump(from: Connection, to: Connection): void {
  for (const bytes of from.takeOutput()) to.receive(bytes.slice());
}

function bytesOf(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

function sameBytes(a: unknown, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Runs the exchange with the given API.
 *
 * @param api The module namespace of `omniws` (or of `mod.ts`).
 * @returns The checks that passed and the ones that failed.
 */
export function runExchange(api: Api): ExchangeResult {
  const result: ExchangeResult = { passed: [], failures: [] };
  const check = (name: string, ok: boolean, detail: () => unknown): void => {
    if (ok) result.passed.push(name);
    else result.failures.push(`${name}: ${JSON.stringify(detail())}`);
  };
  const attempt = (name: string, body: () => void): void => {
    try {
      body();
    } catch (error) {
      result.failures.push(
        `${name}: threw ${
          error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        }`,
      );
    }
  };

  attempt("rfc6455", () => {
    const client = new api.ClientConnection({
      host: "example.com",
      path: "/chat?room=1",
      protocols: ["chat"],
    });
    const server = new api.ServerConnection();
    pump(client, server);
    const requests = drain(server);
    const request = requests[0];
    check(
      "server sees the upgrade request",
      request?.type === "request" && request.request.path === "/chat" &&
        request.request.version === 13,
      () => requests,
    );
    server.accept({ protocol: "chat" });
    pump(server, client);
    const opened = drain(client);
    check(
      "client opens with the subprotocol",
      opened[0]?.type === "open" && opened[0].protocol === "chat",
      () => opened,
    );
    const serverOpen = drain(server);
    check(
      "server opens",
      serverOpen.length === 0 || serverOpen[0]?.type === "open",
      () => serverOpen,
    );

    const text = "héllo, wörld ✓";
    const big = bytesOf(70000);
    client.send(text);
    client.send(big);
    client.sendFragment("frag", false);
    client.sendFragment("ment", true);
    client.ping("p");
    pump(client, server);
    const got = drain(server).filter((e) => e.type !== "open");
    check(
      "server receives text, a 70000-byte binary message, a fragmented message and a ping",
      got.length === 4 && got[0]?.type === "message" && got[0].data === text &&
        got[1]?.type === "message" && sameBytes(got[1].data, big) &&
        got[2]?.type === "message" && got[2].data === "fragment" &&
        got[3]?.type === "ping" && got[3].data.length === 1,
      () => got.map((e) => e.type === "message" ? { type: e.type, length: e.data.length } : e.type),
    );
    for (const e of got) if (e.type === "message") server.send(e.data);
    pump(server, client);
    const back = drain(client);
    check(
      "client receives the pong and the echoes",
      back.length === 4 && back[0]?.type === "pong" &&
        back[1]?.type === "message" && back[1].data === text &&
        back[2]?.type === "message" && sameBytes(back[2].data, big) &&
        back[3]?.type === "message" && back[3].data === "fragment",
      () => back.map((e) => e.type),
    );

    client.close(1000, "bye");
    pump(client, server);
    const serverClose = drain(server);
    pump(server, client);
    const clientClose = drain(client);
    const sc = serverClose.at(-1);
    const cc = clientClose.at(-1);
    check(
      "closing handshake is clean on both sides",
      sc?.type === "close" && sc.code === 1000 && sc.reason === "bye" && sc.wasClean &&
        cc?.type === "close" && cc.code === 1000 && cc.wasClean &&
        client.state === "closed" && server.state === "closed",
      () => ({ serverClose, clientClose }),
    );
    let thrown: unknown = null;
    try {
      client.send("late");
    } catch (error) {
      thrown = error;
    }
    check(
      "send after close throws UsageError with a stable code",
      thrown instanceof api.UsageError && typeof thrown.code === "string" &&
        thrown.code.startsWith("ERR_"),
      () => String(thrown),
    );
  });

  attempt("violation", () => {
    const client = new api.ClientConnection({ host: "example.com" });
    const server = new api.ServerConnection();
    pump(client, server);
    drain(server);
    server.accept();
    pump(server, client);
    drain(client);
    drain(server);
    server.receive(new Uint8Array([0x81, 0x01, 0x41])); // an unmasked text frame from a "client"
    const events = drain(server);
    const error = events.find((e) => e.type === "error");
    check(
      "an unmasked client frame is an error event with 1002, then close",
      error?.type === "error" && error.error.closeCode === 1002 && events.at(-1)?.type === "close",
      () => events.map((e) => e.type),
    );
  });

  attempt("hixie-76", () => {
    const client = new api.ClientConnection({
      host: "example.com",
      path: "/old",
      version: "hixie-76",
    });
    const server = new api.ServerConnection();
    pump(client, server);
    const requests = drain(server);
    check(
      "server detects hixie-76",
      requests[0]?.type === "request" && requests[0].request.version === "hixie-76",
      () => requests,
    );
    server.accept();
    pump(server, client);
    pump(client, server);
    pump(server, client);
    const opened = drain(client);
    client.send("old school");
    pump(client, server);
    const got = drain(server).filter((e) => e.type === "message");
    check(
      "hixie-76 handshake (MD5 challenge) and a text message",
      opened[0]?.type === "open" && got[0]?.type === "message" && got[0].data === "old school",
      () => ({ opened, got }),
    );
  });

  return result;
}
