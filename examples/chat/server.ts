/**
 * The chat server, the same on every runtime: give {@linkcode startChat} the `serve` of
 * `adapters/deno.ts`, `adapters/node.ts` or `adapters/bun.ts` and it serves the page
 * (`index.html`) and the WebSocket endpoint (`/ws`) on one port. The room itself,
 * {@linkcode ChatRoom}, knows nothing about ports or runtimes: it takes sockets.
 *
 * The protocol is JSON in text messages, described in `protocol.ts`. Every client gets the same
 * room whatever protocol revision it speaks; the server detects it per connection and shows it.
 *
 * Bad input never takes the server down: a frame that is not JSON, an unknown type, a field of the
 * wrong type, a nickname that breaks the rules or a message over the length limit is answered
 * with `{"type":"error"}` and the connection stays open. Each connection has a token bucket
 * (`burst` messages, refilled at `perSecond`); a message over it is dropped with one
 * `RATE_LIMITED` warning, and a client that goes on (more than `maxStrikes` dropped messages,
 * forgiven at one per second) is sent `closing` and closed with 4008 "Too many messages".
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import process from "node:process";
// The three adapters export the same shapes; the runtime-neutral entry point declares them too.
import type {
  ConnectionHandler,
  HttpAnswer,
  ServeOptions,
  WebSocketServer,
} from "../../adapters/web_streams.ts";
import type { HttpRequestHead, UpgradeRequest } from "../../mod.ts";
import {
  type ChatMessage,
  type ErrorCode,
  type Limits,
  type ServerMessage,
  type User,
  type Version,
  versionLabel,
} from "./protocol.ts";

/** What the room needs of a socket: the library's server-side `WebSocket` is one. */
export interface ChatSocket {
  /** The protocol revision of the connection. */
  readonly version: Version | null;
  /** 1 while open. */
  readonly readyState: number;
  /** Send a text message. */
  send(data: string): void;
  /** Close with a code and a reason. */
  close(code?: number, reason?: string): void;
  /** Listen for `message` and `close`. */
  addEventListener(type: "message" | "close", listener: (event: Event) => void): void;
}

/** Options of a {@linkcode ChatRoom}. */
export interface ChatRoomOptions {
  /** The room's name, shown in the page's header. Default `"lobby"`. */
  room?: string;
  /** Longest message text in UTF-16 code units. Default 2000. */
  maxText?: number;
  /** Longest nickname in characters. Default 24. */
  maxNick?: number;
  /** Messages replayed to a newcomer. Default 100. */
  historySize?: number;
  /** Messages a client may send at once. Default 10. */
  burst?: number;
  /** Messages per second a client may keep sending. Default 2. */
  perSecond?: number;
  /** Dropped messages (forgiven at one per second) before the client is closed. Default 10. */
  maxStrikes?: number;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Where to log joins, leaves and kicks. Default `console.log`; pass `() => {}` for silence. */
  log?: (line: string) => void;
}

/** The close code and reason a flooding client gets. */
export const RATE_LIMIT_CLOSE: { code: number; reason: string } = {
  code: 4008,
  reason: "Too many messages",
};
/** The close code and reason every client gets when the server shuts down. */
export const SHUTDOWN_CLOSE: { code: number; reason: string } = {
  code: 1000,
  reason: "Server is shutting down",
};

// Letters and digits of any script, and `_ - .`; no spaces, no punctuation that looks like markup.
const NICK_CHARS = /^[\p{L}\p{N}_.-]+$/u;

interface Member {
  readonly socket: ChatSocket;
  readonly version: Version;
  nick: string | null;
  tokens: number;
  strikes: number;
  last: number;
  warned: boolean;
  gone: boolean;
}

/**
 * One chat room: members, presence, history, and the rules on input.
 *
 * @example A room driven by hand
 * ```ts ignore
 * const room = new ChatRoom({ room: "lobby", log: () => {} });
 * serve({ port: 8080 }, (socket) => room.add(socket));
 * ```
 */
export class ChatRoom {
  /** The room's name. */
  readonly name: string;
  /** Identifies this room's lifetime: message ids restart with a new instance. */
  readonly instance: string;
  /** The limits announced to clients. */
  readonly limits: Limits;
  readonly #historySize: number;
  readonly #maxStrikes: number;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #members = new Set<Member>();
  readonly #history: ChatMessage[] = [];
  #nextId = 1;

  /** @param options Name, limits, clock and log. */
  constructor(options: ChatRoomOptions = {}) {
    this.name = options.room ?? "lobby";
    this.limits = {
      maxText: options.maxText ?? 2000,
      maxNick: options.maxNick ?? 24,
      burst: options.burst ?? 10,
      perSecond: options.perSecond ?? 2,
    };
    this.#historySize = options.historySize ?? 100;
    this.#maxStrikes = options.maxStrikes ?? 10;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? ((line) => console.log(line));
    this.instance = `${this.#now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** The presence list: joined members, sorted by nickname. */
  get users(): User[] {
    const users: User[] = [];
    for (const m of this.#members) {
      if (m.nick !== null) users.push({ nick: m.nick, version: m.version });
    }
    return users.sort((a, b) => a.nick.localeCompare(b.nick));
  }

  /** Open connections, joined or not. */
  get connections(): number {
    return this.#members.size;
  }

  /** The last messages, oldest first (at most `historySize`). */
  get history(): readonly ChatMessage[] {
    return this.#history;
  }

  /**
   * Take an open socket into the room: it gets `hello` now, and may join.
   * @param socket A server-side WebSocket that just opened.
   */
  add(socket: ChatSocket): void {
    const m: Member = {
      socket,
      version: socket.version ?? 13,
      nick: null,
      tokens: this.limits.burst,
      strikes: 0,
      last: this.#now(),
      warned: false,
      gone: false,
    };
    this.#members.add(m);
    socket.addEventListener("message", (e) => this.#receive(m, (e as MessageEvent).data));
    socket.addEventListener("close", () => this.#remove(m));
    this.#send(m, {
      type: "hello",
      room: this.name,
      instance: this.instance,
      version: m.version,
      users: this.users,
      limits: this.limits,
    });
  }

  /**
   * Close every connection (after a `closing` message) and resolve once all are closed, or after
   * `timeout` ms.
   * @param code Close code, 1000 or 3000-4999.
   * @param reason Close reason.
   * @param timeout Longest wait, ms.
   */
  async closeAll(
    code: number = SHUTDOWN_CLOSE.code,
    reason: string = SHUTDOWN_CLOSE.reason,
    timeout = 2000,
  ): Promise<void> {
    const closed: Promise<void>[] = [];
    for (const m of [...this.#members]) {
      closed.push(new Promise((resolve) => m.socket.addEventListener("close", () => resolve())));
      this.#kick(m, code, reason);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout))),
    ]);
    clearTimeout(timer);
  }

  #receive(m: Member, data: unknown): void {
    if (m.gone) return;
    if (!this.#take(m)) return;
    if (typeof data !== "string") {
      return this.#error(m, "BINARY", "Binary messages are not supported: send JSON text");
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return this.#error(m, "BAD_JSON", "Message is not valid JSON");
    }
    if (
      typeof msg !== "object" || msg === null || Array.isArray(msg) ||
      typeof (msg as { type?: unknown }).type !== "string"
    ) {
      return this.#error(m, "BAD_MESSAGE", 'Message must be a JSON object with a "type"');
    }
    const { type } = msg as { type: string };
    if (type === "join") return this.#join(m, (msg as { nick?: unknown }).nick);
    if (type === "message") return this.#say(m, (msg as { text?: unknown }).text);
    this.#error(
      m,
      "UNKNOWN_TYPE",
      `Unknown message type ${JSON.stringify(type.slice(0, 40))}: use "join" or "message"`,
    );
  }

  /** The token bucket: whether this message may go on; warns, then closes, a flooding client. */
  #take(m: Member): boolean {
    const now = this.#now();
    const seconds = Math.max(0, now - m.last) / 1000;
    m.last = now;
    m.tokens = Math.min(this.limits.burst, m.tokens + seconds * this.limits.perSecond);
    m.strikes = Math.max(0, m.strikes - seconds);
    if (m.tokens >= 1) {
      m.tokens -= 1;
      m.warned = false;
      return true;
    }
    m.strikes += 1;
    if (m.strikes > this.#maxStrikes) {
      this.#log(`${this.#who(m)} flooded: closed with ${RATE_LIMIT_CLOSE.code}`);
      this.#kick(m, RATE_LIMIT_CLOSE.code, RATE_LIMIT_CLOSE.reason);
    } else if (!m.warned) {
      m.warned = true;
      this.#error(
        m,
        "RATE_LIMITED",
        `Too many messages: slow down (at most ${this.limits.perSecond} per second); this one was dropped`,
      );
    }
    return false;
  }

  #join(m: Member, raw: unknown): void {
    if (m.nick !== null) return this.#error(m, "ALREADY_JOINED", `You already joined as ${m.nick}`);
    if (typeof raw !== "string") return this.#error(m, "BAD_MESSAGE", '"nick" must be a string');
    const nick = raw.trim().normalize("NFC");
    const length = [...nick].length;
    if (length === 0 || length > this.limits.maxNick) {
      return this.#error(
        m,
        "NICK_INVALID",
        `Nickname must be 1 to ${this.limits.maxNick} characters`,
      );
    }
    if (!NICK_CHARS.test(nick)) {
      return this.#error(
        m,
        "NICK_INVALID",
        'Nickname may only contain letters, digits, "_", "-" and "."',
      );
    }
    const key = nick.toLowerCase();
    for (const other of this.#members) {
      if (other.nick !== null && other.nick.toLowerCase() === key) {
        return this.#error(m, "NICK_TAKEN", `Nickname ${nick} is taken: choose another`);
      }
    }
    m.nick = nick;
    const users = this.users;
    this.#log(`${nick} joined (${versionLabel(m.version)})`);
    this.#send(m, {
      type: "welcome",
      nick,
      room: this.name,
      instance: this.instance,
      version: m.version,
      users,
      history: this.#history,
    });
    this.#broadcast({ type: "join", nick, version: m.version, time: this.#now(), users }, m);
  }

  #say(m: Member, raw: unknown): void {
    if (m.nick === null) return this.#error(m, "NOT_JOINED", "Join with a nickname first");
    if (typeof raw !== "string") return this.#error(m, "BAD_MESSAGE", '"text" must be a string');
    const text = raw.trim();
    if (text === "") return this.#error(m, "EMPTY", "Message is empty");
    if (text.length > this.limits.maxText) {
      return this.#error(
        m,
        "TOO_LONG",
        `Message is too long: ${text.length} characters, at most ${this.limits.maxText}`,
      );
    }
    const message: ChatMessage = {
      type: "message",
      id: this.#nextId++,
      nick: m.nick,
      text,
      time: this.#now(),
      version: m.version,
    };
    this.#history.push(message);
    if (this.#history.length > this.#historySize) this.#history.shift();
    this.#broadcast(message, null);
  }

  #remove(m: Member): void {
    if (!this.#members.delete(m)) return;
    m.gone = true;
    if (m.nick === null) return;
    this.#log(`${m.nick} left`);
    this.#broadcast({ type: "leave", nick: m.nick, time: this.#now(), users: this.users }, null);
  }

  /** Tell the client why, close it, and take it out of the room at once. */
  #kick(m: Member, code: number, reason: string): void {
    this.#send(m, { type: "closing", code, reason });
    try {
      m.socket.close(code, reason);
    } catch (error) {
      this.#log(`Cannot close ${this.#who(m)}: ${(error as Error).message}`);
    }
    this.#remove(m);
  }

  #error(m: Member, code: ErrorCode, message: string): void {
    this.#send(m, { type: "error", code, message });
  }

  #send(m: Member, message: ServerMessage): void {
    if (m.socket.readyState === 1) m.socket.send(JSON.stringify(message));
  }

  /** Send to every joined member except `except`. */
  #broadcast(message: ServerMessage, except: Member | null): void {
    const text = JSON.stringify(message);
    for (const m of this.#members) {
      if (m !== except && m.nick !== null && m.socket.readyState === 1) m.socket.send(text);
    }
  }

  #who(m: Member): string {
    return m.nick ?? `an unnamed ${versionLabel(m.version)} client`;
  }
}

/** The `serve` every adapter exports, as the chat uses it. */
export type Serve = (
  options: ServeOptions & { port?: number; hostname?: string },
  handler: ConnectionHandler,
) => WebSocketServer;

/** Options of {@linkcode startChat}. */
export interface ChatServerOptions extends ChatRoomOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** The WebSocket endpoint's path. Default `/ws`. */
  path?: string;
  /** The page's HTML. Default: `index.html` next to this file, read once. */
  page?: string;
  /** Keepalive ping interval for hybi connections, ms. Default 30000. */
  pingInterval?: number;
}

/** A running chat server. */
export interface ChatServer {
  /** The room. */
  readonly room: ChatRoom;
  /** The address listened on. */
  readonly hostname: string;
  /** The port listened on. */
  readonly port: number;
  /** The page's URL. */
  readonly url: string;
  /** The WebSocket endpoint's URL. */
  readonly wsUrl: string;
  /** Stop listening, then close every connection with 1000 "Server is shutting down". */
  close(): Promise<void>;
}

/**
 * Start the chat on a runtime's `serve`: the page on `/`, the WebSocket endpoint on `/ws`.
 *
 * @example On Deno
 * ```ts ignore
 * import { serve } from "../../adapters/deno.ts";
 * const chat = await startChat(serve, { port: 8080 });
 * console.log(chat.url); // http://127.0.0.1:8080/
 * ```
 *
 * @param serve The adapter's `serve`.
 * @param options Where to listen, the room's limits.
 * @returns The running server, once listening.
 */
export async function startChat(
  serve: Serve,
  options: ChatServerOptions = {},
): Promise<ChatServer> {
  const room = new ChatRoom(options);
  const path = options.path ?? "/ws";
  const page = pageAnswer(
    options.page ?? readFileSync(new URL("./index.html", import.meta.url), "utf8"),
  );
  const server = serve({
    port: options.port ?? 8080,
    hostname: options.hostname ?? "127.0.0.1",
    // The longest text, JSON-escaped, fits with room to spare; a larger frame closes with 1009.
    maxMessageSize: 64 * 1024,
    pingInterval: options.pingInterval ?? 30_000,
    onUpgrade: (request: UpgradeRequest) => (request.path === path ? undefined : { reject: 404 }),
    http: (request: HttpRequestHead) => answerHttp(request, page, path),
  }, (socket) => room.add(socket));
  const { hostname, port } = await server.listening;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  let closing: Promise<void> | null = null;
  return {
    room,
    hostname,
    port,
    url: `http://${host}:${port}/`,
    wsUrl: `ws://${host}:${port}${path}`,
    close: () =>
      closing ??= (async () => {
        // Members first, each told why; then the server closes what is left (connections still
        // in their handshake) with the same code and stops listening.
        await room.closeAll();
        await server.close(SHUTDOWN_CLOSE);
      })(),
  };
}

/** The page with headers that keep it from being framed, sniffed or running injected script. */
function pageAnswer(html: string): HttpAnswer {
  // Inline script and style are allowed by hash: markup injected into the page could not run.
  const hashes = (tag: string): string =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))]
      .map((m) => `'sha256-${createHash("sha256").update(m[1]!).digest("base64")}'`)
      .join(" ");
  const csp =
    `default-src 'none'; script-src ${hashes("script") || "'none'"}; style-src ${
      hashes("style") || "'none'"
    }; ` +
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  return {
    status: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-cache",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
    body: html,
  };
}

function answerHttp(request: HttpRequestHead, page: HttpAnswer, wsPath: string): HttpAnswer {
  const text = (
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): HttpAnswer => ({
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
    body: `${body}\n`,
  });
  if (request.method !== "GET" && request.method !== "HEAD") {
    return text(405, "Method Not Allowed", { allow: "GET, HEAD" });
  }
  const q = request.target.indexOf("?");
  const path = q < 0 ? request.target : request.target.slice(0, q);
  if (path === "/" || path === "/index.html") return page;
  if (path === wsPath) {
    return text(426, "This is the chat's WebSocket endpoint: connect with a WebSocket client", {
      upgrade: "websocket",
    });
  }
  return text(404, "Not Found");
}

/**
 * What the `main_*.ts` entry points run: start the chat on `HOST`:`PORT` (default
 * 127.0.0.1:8080), print the URL, close every connection cleanly on Ctrl-C.
 * @param serve The runtime's `serve`.
 * @param runtime The runtime's name, for the banner.
 */
export async function main(serve: Serve, runtime: string): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const hostname = process.env.HOST ?? "127.0.0.1";
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number (0-65535), got ${JSON.stringify(process.env.PORT)}`);
    process.exit(2);
  }
  let chat: ChatServer;
  try {
    chat = await startChat(serve, {
      port,
      hostname,
      log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`),
    });
  } catch (error) {
    console.error(
      `Cannot start the chat on ${hostname}:${port}: ${
        (error as Error).message
      } (set PORT to use another port)`,
    );
    process.exit(1);
  }
  console.log(`omniws chat on ${runtime}: open ${chat.url} in a browser`);
  console.log(
    `WebSocket endpoint ${chat.wsUrl} (RFC 6455, hybi-07/08, hixie-76 and hixie-75 clients)`,
  );
  const stop = (): void => {
    console.log("Closing every connection…");
    const forced = setTimeout(() => process.exit(0), 3000);
    chat.close().finally(() => {
      clearTimeout(forced);
      process.exit(0);
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
