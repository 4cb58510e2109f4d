/**
 * The omniws client under test: a {@linkcode ClientConnection} over a node:net socket (the same
 * code on Deno, Node and Bun) that echoes every message, answers pings and closes (the core does
 * both), and runs the fuzzing server's case loop: `/getCaseCount`, `/runCase?case=N&agent=A`
 * for each case, `/updateReports?agent=A`.
 *
 * It plays the part an adapter will: feed bytes, drain `nextEvent()` until null, write
 * `takeOutput()`, half-close when `shouldCloseTransport`, and run the close timer while
 * `timerPhase` says so.
 *
 * CLI: `conformance/clients/omniws_echo_client.ts ws://127.0.0.1:PORT AGENT [CONCURRENCY]`
 *
 * @module
 */

import net from "node:net";
import { ClientConnection, type ExtensionFactory } from "../../mod.ts";
import { permessageDeflate } from "../../extensions/permessage_deflate.ts";

/** What an echo session saw. */
export interface SessionSummary {
  /** Messages received. */
  messages: Array<string | Uint8Array>;
  /** The close event's code, or null if the session ended without one. */
  code: number | null;
  reason: string;
  wasClean: boolean;
  /** Protocol errors the core reported. */
  errors: string[];
}

/** Options of {@linkcode echoSession}. */
export interface EchoSessionOptions {
  /** Echo messages back (default true). */
  echo?: boolean;
  /** Give up after this many milliseconds. Default 120000. */
  limitMs?: number;
  /** Largest message accepted. Default the core's 64 MiB. */
  maxMessageSize?: number;
  /** Extensions to offer (permessage-deflate cases). */
  extensions?: ExtensionFactory[];
}

/**
 * Connect to `url`, echo until the connection ends, and report what happened. Never rejects.
 * @param url `ws://host:port/path?query`.
 * @param options Echo or not, time limit.
 */
export function echoSession(
  url: string,
  options: EchoSessionOptions = {},
): Promise<SessionSummary> {
  const target = new URL(url);
  const port = Number(target.port || 80);
  const summary: SessionSummary = {
    messages: [],
    code: null,
    reason: "",
    wasClean: false,
    errors: [],
  };
  return new Promise((resolve) => {
    const conn = new ClientConnection({
      host: target.host,
      path: `${target.pathname}${target.search}`,
      ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
      ...(options.extensions === undefined ? {} : { extensions: options.extensions }),
    });
    const socket = net.connect({ host: target.hostname, port });
    socket.setNoDelay(true);
    let closeTimer: ReturnType<typeof setTimeout> | undefined;
    let ended = false;
    const limit = setTimeout(() => finish(), options.limitMs ?? 120_000);
    const finish = () => {
      if (ended) return;
      ended = true;
      clearTimeout(limit);
      clearTimeout(closeTimer);
      socket.destroy();
      resolve(summary);
    };
    const pump = () => {
      for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
        if (ev.type === "message") {
          summary.messages.push(ev.data);
          if (options.echo !== false && conn.state === "open") conn.send(ev.data);
        } else if (ev.type === "error") {
          summary.errors.push(`${ev.error.code} (${ev.error.closeCode})`);
        } else if (ev.type === "close") {
          summary.code = ev.code;
          summary.reason = ev.reason;
          summary.wasClean = ev.wasClean;
        }
      }
      const out = conn.takeOutput();
      for (const chunk of out) socket.write(chunk);
      if (conn.shouldCloseTransport) {
        socket.end();
        clearTimeout(closeTimer);
        closeTimer = setTimeout(finish, 1000);
      } else if (conn.timerPhase === "closing" && closeTimer === undefined) {
        // Waiting for the peer's close frame, or (closed) for the server to close TCP.
        closeTimer = setTimeout(() => {
          conn.abort();
          pump();
          finish();
        }, 5000);
      }
    };
    socket.on("data", (d: Uint8Array) => {
      // The core keeps views into what it is given: hand it a copy nobody reuses.
      conn.receive(new Uint8Array(d));
      pump();
    });
    socket.on("end", () => {
      conn.receiveEnd();
      pump();
      finish();
    });
    socket.on("close", () => {
      conn.receiveEnd();
      pump();
      finish();
    });
    socket.on("error", () => {});
    pump();
  });
}

/** One offer element as the fuzzing server's `/getCaseInfo` describes it. */
interface OfferInfo {
  serverNoContextTakeover: boolean;
  serverMaxWindowBits: number;
}

/**
 * The omniws client configured with a case's offer list: each element is a
 * {@linkcode permessageDeflate} configured as Autobahn's offer (`client_no_context_takeover`,
 * `client_max_window_bits`, and the server parameters asked for), offered in order; the response
 * goes to the first one that accepts it.
 */
export function deflateOffers(offers: OfferInfo[]): ExtensionFactory {
  const factories = offers.map((o) =>
    permessageDeflate({
      clientNoContextTakeover: true,
      serverNoContextTakeover: o.serverNoContextTakeover,
      ...(o.serverMaxWindowBits === 0 ? {} : { serverMaxWindowBits: o.serverMaxWindowBits }),
    })
  );
  if (factories.length === 1) return factories[0];
  return {
    name: factories[0].name,
    offer: () => factories.map((f) => f.offer()).join(", "),
    accept: (received) => factories[0].accept(received),
    accepted(response) {
      let first = "";
      for (const f of factories) {
        const r = f.accepted(response);
        if (typeof r !== "string") return r;
        first ||= r;
      }
      return first;
    },
  };
}

/**
 * Run the fuzzing server's whole case loop as agent `agent`.
 * @param base The fuzzing server, `ws://host:port`.
 * @param agent The name results are filed under.
 * @param concurrency Cases run at once. Default 1.
 * @param perCaseOffers Ask `/getCaseInfo` before each case and offer what it says (groups 12, 13).
 */
export async function runAutobahnClient(
  base: string,
  agent: string,
  concurrency = 1,
  perCaseOffers = false,
): Promise<void> {
  const first = await echoSession(`${base}/getCaseCount`, { echo: false, limitMs: 10_000 });
  const count = Number(first.messages[0]);
  if (!Number.isInteger(count)) throw new Error(`No case count from ${base}`);
  let next = 1;
  const worker = async () => {
    while (next <= count) {
      const n = next++;
      let extensions: ExtensionFactory[] | undefined;
      if (perCaseOffers) {
        // The case says what to offer (permessage-deflate cases); others offer nothing.
        const info = await echoSession(`${base}/getCaseInfo?case=${n}`, {
          echo: false,
          limitMs: 10_000,
        });
        const parsed = JSON.parse(String(info.messages[0] ?? "null")) as
          | { deflateOffers: OfferInfo[] | null }
          | null;
        if (parsed?.deflateOffers) extensions = [deflateOffers(parsed.deflateOffers)];
      }
      await echoSession(
        `${base}/runCase?case=${n}&agent=${encodeURIComponent(agent)}`,
        extensions === undefined ? {} : { extensions },
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  await echoSession(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, {
    echo: false,
    limitMs: 10_000,
  });
}
