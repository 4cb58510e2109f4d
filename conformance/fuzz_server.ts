/**
 * The fuzzing server: tests WebSocket clients the way Autobahn's fuzzingserver does. A client
 * under test is an echo client driven by a loop of connections:
 *
 * - `ws://HOST:PORT/getCaseCount` -> one text message with the number of cases, then a close;
 * - `ws://HOST:PORT/runCase?case=N&agent=NAME` (N from 1) or `?casetuple=5.19&agent=NAME` -> the
 *   server runs that case against the client, which must echo every message and answer closes;
 * - `ws://HOST:PORT/updateReports?agent=NAME` -> marks the agent done, then a close.
 *
 * Results are kept per agent; {@linkcode FuzzingServer.waitForAgent} resolves when an agent's
 * client has asked for its reports (or after a timeout).
 *
 * @module
 */

import net from "node:net";
import type { AddressInfo } from "node:net";
import type { CaseDef, CaseResult } from "./model.ts";
import { type DeflateRunOptions, runDeflateCaseAsServer } from "./deflate_session.ts";
import { runCase } from "./session.ts";
import {
  bytes,
  concat,
  encodeFrame,
  FrameReader,
  httpError,
  OP,
  parseHead,
  serverResponse,
} from "./wire.ts";

/** Options of {@linkcode startFuzzingServer}. */
export interface FuzzingServerOptions {
  /** The cases offered, in order (case N is `cases[N - 1]`). */
  cases: CaseDef[];
  /** Factor for the cases' waits (1 = Autobahn's timing). Default 1. */
  timeScale?: number;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Address. Default 127.0.0.1. */
  hostname?: string;
  /** Called as each case ends. */
  onResult?: (agent: string, result: CaseResult) => void;
  /** For the permessage-deflate cases (groups 12, 13): messages per case, test hooks. */
  deflate?: DeflateRunOptions;
}

/** A running fuzzing server. */
export interface FuzzingServer {
  /** Base URL, `ws://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Results per agent, per case id. */
  readonly results: Map<string, Map<string, CaseResult>>;
  /** Resolves when the agent requested `/updateReports`, or after `timeoutMs`; true if it did. */
  waitForAgent(agent: string, timeoutMs: number): Promise<boolean>;
  /** The agent's results in case order (cases it never ran are UNIMPLEMENTED). */
  resultsFor(agent: string): CaseResult[];
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/**
 * Start a fuzzing server.
 * @param options Cases, timing and address.
 * @returns The running server.
 */
export async function startFuzzingServer(options: FuzzingServerOptions): Promise<FuzzingServer> {
  const results = new Map<string, Map<string, CaseResult>>();
  const finished = new Set<string>();
  const waiters = new Map<string, Array<() => void>>();
  const sockets = new Set<net.Socket>();
  const byId = new Map(options.cases.map((c) => [c.id, c]));

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setNoDelay(true);
    let buf: Uint8Array = new Uint8Array(0);
    const timer = setTimeout(() => socket.destroy(), 10_000);
    const onData = (d: Uint8Array) => {
      buf = concat([buf, new Uint8Array(d)]);
      if (buf.length > 16384) return socket.destroy();
      const head = parseHead(buf);
      if (head === null) return;
      clearTimeout(timer);
      socket.off("data", onData);
      const [method, target] = head.start.split(" ");
      const key = head.headers.get("sec-websocket-key");
      if (
        method !== "GET" || key === undefined ||
        !/websocket/i.test(head.headers.get("upgrade") ?? "")
      ) {
        socket.end(httpError(400, "Not a WebSocket upgrade request"));
        return;
      }
      const url = new URL(target ?? "/", "http://fuzzer");
      const agent = url.searchParams.get("agent") ?? "";
      if (url.pathname === "/getCaseCount") {
        socket.write(serverResponse(key));
        return talkAndClose(socket, String(options.cases.length));
      }
      if (url.pathname === "/getCaseInfo") {
        // Autobahn's endpoint ({"id", "description"}), plus what a permessage-deflate case wants
        // the client to offer, so a client under test can configure its offer per case.
        const def = options.cases[Number(url.searchParams.get("case")) - 1];
        socket.write(serverResponse(key));
        const info = def === undefined ? null : {
          id: def.id,
          description: def.description,
          deflateOffers: def.deflate?.offers ?? null,
        };
        return talkAndClose(socket, JSON.stringify(info));
      }
      if (url.pathname === "/updateReports") {
        socket.write(serverResponse(key));
        finished.add(agent);
        for (const w of waiters.get(agent) ?? []) w();
        waiters.delete(agent);
        return talkAndClose(socket, null);
      }
      if (url.pathname === "/runCase") {
        const n = url.searchParams.get("case");
        const tuple = url.searchParams.get("casetuple");
        const def = tuple !== null
          ? byId.get(tuple)
          : n !== null
          ? options.cases[Number(n) - 1]
          : undefined;
        if (def === undefined || agent === "") {
          socket.end(httpError(404, "Unknown case or missing agent"));
          return;
        }
        const running = def.deflate !== undefined
          ? runDeflateCaseAsServer(socket, head, key, def, options.deflate ?? {})
          : (socket.write(serverResponse(key)),
            runCase(socket, head.rest, def, { role: "server", timeScale: options.timeScale ?? 1 }));
        void running
          .then((result) => {
            let m = results.get(agent);
            if (m === undefined) results.set(agent, m = new Map());
            m.set(def.id, result);
            options.onResult?.(agent, result);
          });
        return;
      }
      socket.end(httpError(404, "Unknown path: use /getCaseCount, /runCase or /updateReports"));
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.hostname ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://${options.hostname ?? "127.0.0.1"}:${port}`,
    port,
    results,
    waitForAgent(agent: string, timeoutMs: number): Promise<boolean> {
      if (finished.has(agent)) return Promise.resolve(true);
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), timeoutMs);
        const list = waiters.get(agent) ?? [];
        list.push(() => {
          clearTimeout(t);
          resolve(true);
        });
        waiters.set(agent, list);
      });
    },
    resultsFor(agent: string): CaseResult[] {
      const m = results.get(agent) ?? new Map<string, CaseResult>();
      return options.cases.map((c) =>
        m.get(c.id) ?? {
          id: c.id,
          verdict: "UNIMPLEMENTED",
          reason: "The client never ran this case",
          duration: 0,
          behavior: "UNIMPLEMENTED",
          behaviorClose: "FAILED",
          remoteCloseCode: null,
          closedByMe: false,
          wasClean: false,
          droppedByMe: false,
          received: [],
        }
      );
    },
    close(): Promise<void> {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Send an optional text message and a close 1000, wait briefly for the reply, close TCP. */
function talkAndClose(socket: net.Socket, message: string | null): void {
  if (message !== null) {
    socket.write(
      encodeFrame({ opcode: OP.TEXT, fin: true, rsv: 0, payload: bytes(message), mask: null }),
    );
  }
  socket.write(
    encodeFrame({
      opcode: OP.CLOSE,
      fin: true,
      rsv: 0,
      payload: new Uint8Array([0x03, 0xe8]),
      mask: null,
    }),
  );
  const reader = new FrameReader();
  const done = () => {
    clearTimeout(timer);
    socket.end();
    setTimeout(() => socket.destroy(), 100);
  };
  const timer = setTimeout(done, 2000);
  socket.on("data", (d: Uint8Array) => {
    reader.push(new Uint8Array(d));
    try {
      for (let f = reader.next(); f !== null; f = reader.next()) {
        if (f.opcode === OP.CLOSE) return done();
      }
    } catch {
      done();
    }
  });
  socket.on("end", done);
}
