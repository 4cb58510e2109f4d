/**
 * The adapter of the runtime the tests run on, so one test file checks each runtime's own
 * adapter: adapters/deno.ts under Deno, adapters/node.ts under Node, adapters/bun.ts under Bun.
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  ConnectionHandler,
  ServeOptions as SessionServeOptions,
  WebSocketServer,
} from "../adapters/_session.ts";
import type { WebSocket as WebSocketClass } from "../adapters/_websocket.ts";

/** The runtime executing the tests. */
export const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** Server options every adapter accepts. */
export interface AdapterServeOptions extends SessionServeOptions {
  port?: number;
  hostname?: string;
  tls?: { cert: string; key: string };
}

/** What every runtime adapter exports. */
export interface Adapter {
  serve(options: AdapterServeOptions, handler: ConnectionHandler): WebSocketServer;
  WebSocket: typeof WebSocketClass;
}

/** This runtime's adapter. */
export async function loadAdapter(): Promise<Adapter> {
  return await import(`../adapters/${RUNTIME}.ts`) as Adapter;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl in a temp dir. */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "omniws-tls-"));
  try {
    execFileSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      // An end-entity certificate: rustls (Deno) refuses a CA certificate as a server's.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=serverAuth",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ], { stdio: "ignore", timeout: 30_000 });
    return {
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
      key: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
