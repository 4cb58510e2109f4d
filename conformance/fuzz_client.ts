/**
 * The fuzzing client: runs cases against any echo server at a `ws://` URL, one TCP connection
 * per case, over raw node:net sockets (the same code on Deno, Node and Bun).
 *
 * @module
 */

import net from "node:net";
import type { CaseDef, CaseResult } from "./model.ts";
import { type DeflateRunOptions, runDeflateCaseAsClient } from "./deflate_session.ts";
import { runCase } from "./session.ts";
import { acceptFor, clientRequest, concat, newKey, parseHead } from "./wire.ts";

/** Options of {@linkcode runFuzzingClient}. */
export interface FuzzingClientOptions {
  /** The echo server, `ws://host:port/path`. */
  url: string;
  /** The cases to run, in order. */
  cases: CaseDef[];
  /** Factor for the cases' waits (1 = Autobahn's timing). Default 1. */
  timeScale?: number;
  /** Cases run at once (each on its own connection). Default 1. */
  concurrency?: number;
  /** Called as each case ends. */
  onResult?: (result: CaseResult) => void;
  /** For the permessage-deflate cases (groups 12, 13): messages per case, test hooks. */
  deflate?: DeflateRunOptions;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Run every case against the server and return the results in case order.
 * @param options Server URL, cases, timing and concurrency.
 * @returns One result per case.
 */
export async function runFuzzingClient(options: FuzzingClientOptions): Promise<CaseResult[]> {
  const target = new URL(options.url);
  if (target.protocol !== "ws:") {
    throw new TypeError(`Only ws:// URLs are supported, got ${options.url}`);
  }
  const host = target.hostname.replace(/^\[|\]$/g, "");
  const port = Number(target.port || 80);
  const path = `${target.pathname || "/"}${target.search}`;
  const results: CaseResult[] = new Array(options.cases.length);
  let next = 0;
  const worker = async () => {
    while (next < options.cases.length) {
      const i = next++;
      const def = options.cases[i];
      const result = def.deflate !== undefined
        ? await runDeflateCaseAsClient(host, port, target.host, path, def, options.deflate ?? {})
        : await runOne(host, port, target.host, path, def, options.timeScale ?? 1);
      results[i] = result;
      options.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  return results;
}

async function runOne(
  host: string,
  port: number,
  hostHeader: string,
  path: string,
  def: CaseDef,
  timeScale: number,
): Promise<CaseResult> {
  const started = performance.now();
  let opened: { socket: net.Socket; rest: Uint8Array };
  try {
    opened = await openingHandshake(host, port, hostHeader, path);
  } catch (e) {
    return {
      id: def.id,
      verdict: "FAILED",
      reason: `Opening handshake failed: ${(e as Error).message}`,
      duration: Math.round(performance.now() - started),
      behavior: "FAILED",
      behaviorClose: "FAILED",
      remoteCloseCode: null,
      closedByMe: false,
      wasClean: false,
      droppedByMe: true,
      received: [],
    };
  }
  return runCase(opened.socket, opened.rest, def, { role: "client", timeScale });
}

/**
 * Connect and perform the client opening handshake (no extension offered).
 * @returns The socket and the bytes that followed the 101 response.
 */
export function openingHandshake(
  host: string,
  port: number,
  hostHeader: string,
  path: string,
): Promise<{ socket: net.Socket; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const key = newKey();
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    let buf: Uint8Array = new Uint8Array(0);
    const fail = (message: string) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.destroy();
      reject(new Error(message));
    };
    const timer = setTimeout(() => fail("no 101 response within 10 s"), HANDSHAKE_TIMEOUT_MS);
    socket.on("error", (e) => fail(e.message));
    socket.on("close", () => fail("connection closed during the handshake"));
    socket.on("data", (d: Uint8Array) => {
      buf = concat([buf, new Uint8Array(d)]);
      if (buf.length > 16384) return fail("response head too large");
      const head = parseHead(buf);
      if (head === null) return;
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.removeAllListeners("close");
      socket.removeAllListeners("error");
      if (!/^HTTP\/1\.1 101\b/.test(head.start)) return fail(`unexpected response: ${head.start}`);
      if (head.headers.get("sec-websocket-accept") !== acceptFor(key)) {
        return fail("wrong Sec-WebSocket-Accept");
      }
      if ((head.headers.get("sec-websocket-extensions") ?? "") !== "") {
        return fail("server answered with extensions nobody offered");
      }
      resolve({ socket, rest: head.rest });
    });
    socket.write(clientRequest(hostHeader, path, key));
  });
}
