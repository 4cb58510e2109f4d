/**
 * The one error class of the runtime adapters, and where their reports go.
 *
 * The core keeps two kinds of error apart: misuse by the caller (`UsageError`, thrown) and a
 * peer's protocol violation (`ProtocolError`, an event). What happens around a connection — a
 * listener that cannot bind, a reset, a timeout, a handshake that TLS refused, an application
 * handler that threw — is an {@linkcode AdapterError} with a stable `code`, so applications
 * and their loggers can branch on it without parsing messages.
 *
 * @module
 */

/** Stable codes of {@linkcode AdapterError}. */
export type AdapterErrorCode =
  /** The server could not listen (address in use, permission, bad address). */
  | "ERR_LISTEN"
  /** Accepting a connection failed (a reset before accept, out of file descriptors). */
  | "ERR_ACCEPT"
  /** The client could not open its TCP connection. */
  | "ERR_CONNECT"
  /** A TLS handshake failed (one that is too slow is an `ERR_HANDSHAKE_TIMEOUT`). */
  | "ERR_TLS"
  /** The opening handshake, TLS included, did not complete within `handshakeTimeout`. */
  | "ERR_HANDSHAKE_TIMEOUT"
  /** Nothing arrived from the peer for `idleTimeout`. */
  | "ERR_IDLE_TIMEOUT"
  /** A message in progress received nothing for `messageTimeout`. */
  | "ERR_MESSAGE_TIMEOUT"
  /** The peer did not answer a keepalive ping within `pingInterval`. */
  | "ERR_DEAD_PEER"
  /** The peer did not read: unsent output passed the high-water mark (`slowConsumer: "close"`). */
  | "ERR_SLOW_CONSUMER"
  /** The server's budget for bytes held in incomplete messages was exhausted. */
  | "ERR_MEMORY_BUDGET"
  /** The connection failed: reset, broken pipe, closed by someone else. */
  | "ERR_CONNECTION"
  /** An application handler or hook threw (or its promise rejected). */
  | "ERR_HANDLER";

/**
 * What went wrong around a connection or a listener, with a stable `code`.
 *
 * @example Branching on the code
 * ```ts
 * import { AdapterError } from "@omniws/omniws/node";
 * const e = new AdapterError("ERR_LISTEN", "Cannot listen on 127.0.0.1:80: permission denied", {
 *   hostname: "127.0.0.1",
 *   port: 80,
 * });
 * console.assert(e.code === "ERR_LISTEN" && e.port === 80);
 * ```
 */
export class AdapterError extends Error {
  /** What kind of failure this is. */
  readonly code: AdapterErrorCode;
  /** The address concerned, where there is one (listen and connect failures). */
  readonly hostname: string | undefined;
  /** The port concerned, where there is one. */
  readonly port: number | undefined;

  /**
   * An error of kind `code`.
   * @param code What kind of failure this is.
   * @param message What happened, in sentence case.
   * @param options The underlying error (`cause`) and the address concerned.
   */
  constructor(
    code: AdapterErrorCode,
    message: string,
    options: { cause?: unknown; hostname?: string; port?: number } = {},
  ) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "AdapterError";
    this.code = code;
    this.hostname = options.hostname;
    this.port = options.port;
  }
}

/** Wrap anything thrown into an {@linkcode AdapterError} with `code`, keeping it as the cause. */
export function adapterError(
  code: AdapterErrorCode,
  message: string,
  cause: unknown,
): AdapterError {
  if (cause instanceof AdapterError) return cause;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new AdapterError(code, `${message}: ${why}`, { cause });
}

/**
 * The error of a listener that could not be bound, the same on every runtime: the runtime's
 * message, with its error code (EADDRINUSE, EACCES) where the message lacks it.
 */
export function listenError(hostname: string, port: number, cause: unknown): AdapterError {
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  const why = typeof code === "string" && !message.includes(code)
    ? `${message} (${code})`
    : message;
  return new AdapterError("ERR_LISTEN", `Cannot listen on ${hostname}:${port}: ${why}`, {
    cause,
    hostname,
    port,
  });
}
