/**
 * The fuzzing client: runs cases against any echo server at a `ws://` URL, one TCP connection
 * per case, over raw node:net sockets (the same code on Deno, Node and Bun).
 *
 * @module
 */

import type net from "node:net";
import type { CaseDef, CaseResult } from "./model.ts";
import { type DeflateRunOptions, runDeflateCaseAsClient } from "./deflate_session.ts";
import { runCase } from "./session.ts";
import { clientHandshake, type Head } from "./wire.ts";

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
  let opened: { socket: net.Socket; head: Head };
  try {
    opened = await clientHandshake(host, port, hostHeader, path);
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
  return runCase(opened.socket, opened.head.rest, def, { role: "client", timeScale });
}
