/**
 * A command-line chat client that speaks the protocol revision you choose, for trying the
 * legacy path by hand: a hixie-75 client in the same room as today's browsers.
 *
 * ```sh
 * deno task chat:client --version hixie-76 --nick grace
 * deno task chat:client --version 8 --url ws://127.0.0.1:8080/ws
 * ```
 *
 * Reads lines from stdin and sends each as a message; prints what the room says. `/who` lists
 * who is online, `/quit` (or end of input) leaves. Runs on Deno, Node and Bun: it picks the
 * runtime's adapter.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import type { WebSocketBase as WebSocketClass } from "../../adapters/web_streams.ts";
import type { ServerMessage, User, Version } from "./protocol.ts";
import { versionLabel } from "./protocol.ts";

const VERSIONS: Record<string, Version> = {
  "13": 13,
  "8": 8,
  "7": 7,
  "hixie-76": "hixie-76",
  "hixie-75": "hixie-75",
};

/** Parsed command-line options. */
export interface CliOptions {
  /** The WebSocket endpoint. */
  url: string;
  /** Nickname to join with. */
  nick: string;
  /** Protocol revision to speak. */
  version: Version;
}

const USAGE =
  `Usage: cli.ts [--url ws://127.0.0.1:8080/ws] [--nick NAME] [--version 13|8|7|hixie-76|hixie-75]

Joins the omniws chat speaking the chosen WebSocket protocol revision (default 13, RFC 6455).
Type a line to send it; /who lists who is online; /quit or Ctrl-D leaves.`;

/**
 * Parse the command line.
 * @param args Arguments after the script name.
 * @returns The options, or a usage error message.
 */
export function parseArgs(args: string[]): CliOptions | { error: string } {
  const options: CliOptions = { url: "ws://127.0.0.1:8080/ws", nick: "", version: 13 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const value = ():
      | string
      | undefined => (arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : args[++i]);
    if (flag === "-h" || flag === "--help") return { error: "" };
    if (flag === "--url") options.url = value() ?? "";
    else if (flag === "--nick") options.nick = value() ?? "";
    else if (flag === "--version") {
      const v = value() ?? "";
      if (!(v in VERSIONS)) {
        return {
          error: `Unknown version ${JSON.stringify(v)}: use 13, 8, 7, hixie-76 or hixie-75`,
        };
      }
      options.version = VERSIONS[v]!;
    } else return { error: `Unknown argument ${JSON.stringify(arg)}` };
  }
  if (options.nick === "") {
    const tag = options.version === 13 ? "rfc" : String(options.version).replace("hixie-", "hixie");
    options.nick = `${tag}-${Math.floor(Math.random() * 1000)}`;
  }
  return options;
}

async function loadWebSocket(): Promise<typeof WebSocketClass> {
  // Static strings, so bundlers and `deno compile` see every adapter.
  if ("Deno" in globalThis) return (await import("../../adapters/deno.ts")).WebSocket;
  if ("Bun" in globalThis) return (await import("../../adapters/bun.ts")).WebSocket;
  return (await import("../../adapters/node.ts")).WebSocket;
}

const clock = (time: number): string => new Date(time).toTimeString().slice(0, 5);
const who = (users: User[]): string =>
  users.map((u) => `${u.nick} (${versionLabel(u.version)})`).join(", ");

async function run(options: CliOptions): Promise<number> {
  const WebSocket = await loadWebSocket();
  const ws = new WebSocket(options.url, [], { version: options.version });
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const lines = createInterface({ input: process.stdin, terminal: false });
  let users: User[] = [];
  let nick: string | null = null;
  let closing: { code: number; reason: string } | null = null;

  // Lines typed (or piped) before the join completes wait for it. End of input leaves once every
  // message sent has come back from the room (a hixie-75 close drops whatever is still in flight),
  // or after two seconds.
  const pending: string[] = [];
  let inputEnded = false;
  let unconfirmed = 0;
  const submit = (text: string): void => {
    if (nick === null) return void pending.push(text);
    if (text === "/quit") return ws.close();
    if (text === "/who") return out(`* online: ${who(users)}`);
    if (ws.readyState !== 1) return out("* not connected");
    ws.send(JSON.stringify({ type: "message", text }));
    unconfirmed++;
  };
  const flush = (): void => {
    for (const text of pending.splice(0)) submit(text);
    if (inputEnded && unconfirmed === 0 && ws.readyState === 1) ws.close();
  };
  const confirm = (): void => {
    if (unconfirmed > 0) unconfirmed--;
    flush();
  };
  lines.on("line", (line) => {
    const text = line.trim();
    if (text !== "") submit(text);
  });
  lines.on("close", () => {
    inputEnded = true;
    if (nick !== null) flush();
    setTimeout(() => ws.close(), 2000).unref?.();
  });

  ws.onopen = () => {
    out(`* connected to ${options.url} speaking ${versionLabel(ws.version)}`);
    ws.send(JSON.stringify({ type: "join", nick: options.nick }));
  };
  ws.onmessage = (e) => {
    let m: ServerMessage;
    try {
      m = JSON.parse(String(e.data)) as ServerMessage;
    } catch {
      return out(`* unreadable message from the server: ${String(e.data).slice(0, 80)}`);
    }
    switch (m.type) {
      case "hello":
        break;
      case "welcome":
        nick = m.nick;
        users = m.users;
        for (const h of m.history) out(`[${clock(h.time)}] ${h.nick}: ${h.text}`);
        out(`* joined #${m.room} as ${m.nick}; online: ${who(users)}`);
        flush();
        break;
      case "message":
        out(`[${clock(m.time)}] ${m.nick}: ${m.text}`);
        if (m.nick === nick) confirm();
        break;
      case "join":
        users = m.users;
        out(`* ${m.nick} joined (${versionLabel(m.version)})`);
        break;
      case "leave":
        users = m.users;
        out(`* ${m.nick} left`);
        break;
      case "error":
        out(`* ${m.message}`);
        if (nick === null && (m.code === "NICK_INVALID" || m.code === "NICK_TAKEN")) ws.close();
        else if (nick !== null) confirm();
        break;
      case "closing":
        closing = { code: m.code, reason: m.reason };
        break;
    }
  };
  ws.onerror = (e) =>
    out(`* error: ${(e as Event & { message?: string }).message ?? "connection failed"}`);
  return await new Promise<number>((resolve) => {
    ws.onclose = (e) => {
      const code = closing?.code ?? e.code;
      const reason = closing?.reason || e.reason;
      out(`* disconnected (${code}${reason ? ` ${reason}` : ""})`);
      lines.close();
      resolve(nick !== null && (code === 1000 || code === 1005) ? 0 : 1);
    };
  });
}

if (import.meta.main ?? process.argv[1] === new URL(import.meta.url).pathname) {
  const parsed = parseArgs(process.argv.slice(2));
  if ("error" in parsed) {
    if (parsed.error !== "") console.error(parsed.error);
    console.error(USAGE);
    process.exit(parsed.error === "" ? 0 : 2);
  }
  process.exit(await run(parsed));
}
