/**
 * What the stress servers read from their environment, in one place: the server options
 * (`HANDSHAKE_TIMEOUT_MS`, `CLOSE_TIMEOUT_MS`, `PING_INTERVAL_MS`, `MAX_MESSAGE_SIZE`, then
 * `OMNIWS_SERVE_OPTIONS`, a JSON object merged last) and the TLS files (`TLS_CERT_FILE`,
 * `TLS_KEY_FILE`).
 * @module
 */

import process from "node:process";
import { readFileSync } from "node:fs";

const NUMERIC: ReadonlyArray<[string, string]> = [
  ["HANDSHAKE_TIMEOUT_MS", "handshakeTimeout"],
  ["CLOSE_TIMEOUT_MS", "closeTimeout"],
  ["PING_INTERVAL_MS", "pingInterval"],
  ["MAX_MESSAGE_SIZE", "maxMessageSize"],
];

/** The server options the environment sets, on top of `base`. */
export function serveOptionsFromEnv(base: Record<string, unknown> = {}): Record<string, unknown> {
  const env = process.env;
  const options: Record<string, unknown> = { ...base };
  for (const [name, option] of NUMERIC) {
    if (env[name]) options[option] = Number(env[name]);
  }
  if (env.OMNIWS_SERVE_OPTIONS) Object.assign(options, JSON.parse(env.OMNIWS_SERVE_OPTIONS));
  return options;
}

/** The PEM certificate and key named by `TLS_CERT_FILE` and `TLS_KEY_FILE`, or null. */
export function tlsFromEnv(): { cert: string; key: string } | null {
  const env = process.env;
  if (!env.TLS_CERT_FILE || !env.TLS_KEY_FILE) return null;
  return {
    cert: readFileSync(env.TLS_CERT_FILE, "utf8"),
    key: readFileSync(env.TLS_KEY_FILE, "utf8"),
  };
}
