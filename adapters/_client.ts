/**
 * The one way a client starts, shared by `WebSocket`, `WebSocketStream` and any client to come:
 * the URL checked as the WHATWG standard says, the subprotocols checked, the core
 * {@linkcode ClientConnection} and its {@linkcode Driver} built, and the connection opened
 * through the adapter's {@linkcode Connector}.
 *
 * @module
 */

import { ClientConnection } from "../core/client.ts";
import type { ConnectionOptions } from "../core/connection.ts";
import type { ExtensionFactory } from "../core/extension.ts";
import { permessageDeflate } from "../extensions/permessage_deflate.ts";
import type { HeaderInit } from "../handshake/_head.ts";
import type { WebSocketVersion } from "../handshake/rfc6455.ts";
import type { ConnectionEvent } from "../core/connection.ts";
import { Driver, type DriverHandlers, type DriverOptions, type Transport } from "./_driver.ts";
import type { AdapterError } from "./_errors.ts";

/** Where a connection is dialed: the WebSocket server, or a proxy on the way to it. */
export interface DialTarget {
  /** Host name or IP address (IPv6 without brackets). */
  hostname: string;
  /** TCP port. */
  port: number;
}

/** Where a client connects. */
export interface ConnectTarget extends DialTarget {
  /** Whether to speak TLS (`wss:`). */
  tls: boolean;
}

/** What a transport reports to while connected. */
export interface TransportSink {
  /** Bytes arrived. */
  receive(chunk: Uint8Array): void;
  /** The peer closed its side. */
  receiveEnd(): void;
  /** The transport failed. */
  fail(error: Error): void;
  /** The write buffer drained. */
  drained(): void;
}

/** How {@linkcode Connector.startTls} starts TLS: the server it is for, and what to trust. */
export interface TlsStartOptions {
  /**
   * The server's host name or IP address (IPv6 without brackets): sent as SNI when it is a
   * name, checked against the certificate, and named in errors with `port`.
   */
  hostname: string;
  /** The server's port, named in errors (the dialed port may be a proxy's). */
  port: number;
  /** PEM certificates to trust besides the system's. */
  ca?: string | string[];
  /**
   * `false` accepts a certificate that does not verify (tests, self-signed servers). Node and
   * Bun honour it; Deno's own TLS (2.9) has no such option per connection, so there it is
   * ignored and only the process-wide `--unsafely-ignore-certificate-errors` flag helps.
   */
  rejectUnauthorized?: boolean;
}

/**
 * A connection a {@linkcode Connector} opened, no WebSocket driver on it yet: plain after
 * `dial`, encrypted after `startTls`. Its raw `read` and `write` carry an exchange that must
 * come first (a proxy's CONNECT or SOCKS5 handshake); then `startTls` or `transport` takes it
 * over, and it must no longer be read, written or closed through this handle, except that
 * `close()` still aborts a `startTls` in progress. Read only as much as the exchange needs
 * (these protocols have the server wait for the client, so nothing follows the proxy's reply);
 * bytes received and not read go to the transport's sink.
 */
export interface Dialed {
  /** The next bytes received, or `null` once the peer ended its side; rejects if it failed. */
  read(): Promise<Uint8Array | null>;
  /** Write bytes; resolves once the runtime took them all, rejects if the connection failed. */
  write(bytes: Uint8Array): Promise<void>;
  /** Close the connection (and abort a `startTls` in progress on it). */
  close(): void;
}

/**
 * How an adapter opens a client's connection, in the three steps that leave room for a proxy
 * between the TCP connect and TLS: {@linkcode Connector.dial}, optionally
 * {@linkcode Connector.startTls}, then {@linkcode Connector.transport}.
 *
 * Errors are `AdapterError`s naming the address: `ERR_CONNECT`
 * (`Cannot connect to HOST:PORT: <why>`) from `dial`, `ERR_TLS`
 * (`Cannot connect to HOST:PORT: TLS handshake failed: <why>`) from `startTls`.
 */
export interface Connector {
  /** Open a TCP connection; resolves once connected. */
  dial(target: DialTarget): Promise<Dialed>;
  /**
   * Start TLS over a dialed connection, which this takes over; resolves with the encrypted
   * connection once the handshake (certificate check included) succeeded.
   */
  startTls(dialed: Dialed, options: TlsStartOptions): Promise<Dialed>;
  /** Drive the final connection (plain or TLS) as a transport reporting to `sink`. */
  transport(dialed: Dialed, sink: TransportSink): Transport;
}

/** Options of the client `WebSocket` beyond the standard's two arguments. */
export interface WebSocketOptions extends Omit<ConnectionOptions, "streamMessages">, DriverOptions {
  /** Extra request headers (cookies, authorization). */
  headers?: HeaderInit;
  /** `Origin` to declare; none by default (browsers always send one). */
  origin?: string;
  /** Protocol revision to speak. Default 13 (RFC 6455). */
  version?: WebSocketVersion;
  /**
   * Extensions to offer. Default: permessage-deflate with its default parameters, as browsers
   * offer it (none on hixie versions); `[]` offers none.
   */
  extensions?: ExtensionFactory[];
  /** TLS options for `wss:`: `ca`, PEM certificates to trust besides the system's. */
  tls?: { ca?: string | string[]; rejectUnauthorized?: boolean };
}

/** A client's URL, as the standard parses it. */
export interface ClientUrl {
  /** The URL, serialised (`http:` and `https:` turned into `ws:` and `wss:`). */
  href: string;
  /** The URL's origin, for `MessageEvent.origin`. */
  origin: string;
}

/** A client started by {@linkcode startClient}. */
export interface StartedClient extends ClientUrl {
  /** The driver of the connection being opened. */
  driver: Driver;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Each adapter's client classes and how they connect. */
const CONNECTORS = new WeakMap<object, Connector>();

/** @internal Bind `connector` to an adapter's client class (and the classes extending it). */
export function bindConnector(cls: object, connector: Connector): void {
  CONNECTORS.set(cls, connector);
}

/**
 * The connector of a client class being constructed (`new.target`): its own, or that of the
 * adapter's class it extends. Throws where there is none (the shared base class, used directly).
 */
export function connectorOf(target: object | undefined, what: string): Connector {
  for (let c = target; c !== null && c !== undefined; c = Object.getPrototypeOf(c)) {
    const connector = CONNECTORS.get(c);
    if (connector !== undefined) return connector;
  }
  throw new TypeError(`This ${what} class has no connector: import it from an adapter`);
}

/**
 * Parse and check a client's URL and subprotocols as the WHATWG standard's WebSocket
 * constructor does: `SyntaxError` DOMExceptions for a bad URL, scheme, fragment, or an invalid
 * or repeated (ASCII case-insensitively) subprotocol.
 */
export function parseClientUrl(
  url: string | URL,
  protocols: string | readonly string[],
): { url: URL; protocols: string[] } & ClientUrl {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new DOMException(`Invalid URL: ${String(url)}`, "SyntaxError");
  }
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new DOMException(`URL scheme must be ws: or wss:, got ${parsed.protocol}`, "SyntaxError");
  }
  if (parsed.hash !== "" || String(url).includes("#")) {
    throw new DOMException("URL must not contain a fragment", "SyntaxError");
  }
  const list = typeof protocols === "string" ? [protocols] : Array.from(protocols, String);
  const seen = new Set<string>();
  for (const p of list) {
    if (!TOKEN.test(p) || seen.has(p.toLowerCase())) {
      throw new DOMException(
        `Invalid or repeated subprotocol: ${JSON.stringify(p)}`,
        "SyntaxError",
      );
    }
    seen.add(p.toLowerCase());
  }
  return { url: parsed, protocols: list, href: parsed.href, origin: parsed.origin };
}

/**
 * Start a client: check the URL and subprotocols, build the core connection and its driver
 * reporting to `handlers`, and open the connection through `connector` (the driver is the
 * transport's sink). The caller owns the driver from here.
 * @param url `ws:` or `wss:` URL (`http:`/`https:` taken as `ws:`/`wss:`).
 * @param protocols Subprotocols to offer, most preferred first.
 * @param options Headers, origin, version, extensions, limits, timeouts, TLS options.
 * @param handlers Where the driver reports.
 * @param connector How the adapter dials, starts TLS and drives the connection.
 */
export function startClient(
  url: string | URL,
  protocols: string | readonly string[],
  options: WebSocketOptions,
  handlers: DriverHandlers,
  connector: Connector,
): StartedClient {
  const checked = parseClientUrl(url, protocols);
  refuseStreamMessages(options);
  const parsed = checked.url;
  const secure = parsed.protocol === "wss:";
  const conn = new ClientConnection({
    ...options,
    extensions: clientExtensions(options),
    host: parsed.host,
    path: (parsed.pathname || "/") + parsed.search,
    protocols: checked.protocols,
    secure,
  });
  const opening = new Opening(handlers);
  const driver = new Driver(conn, opening, options);
  const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === "" ? (secure ? 443 : 80) : Number(parsed.port);
  const tls = secure ? { hostname, port, ...options.tls } : null;
  open(connector, { hostname, port }, tls, driver, opening).catch(
    (error: unknown) => driver.fail(error instanceof Error ? error : new Error(String(error))),
  );
  driver.pump();
  return { href: checked.href, origin: checked.origin, driver };
}

/**
 * Dial, start TLS for `wss:`, and attach the transport. A connection the driver closed meanwhile
 * (a timeout, `close()`) is closed: at once through `opening` while a step is in progress, else
 * when the step that opened it ends.
 */
async function open(
  connector: Connector,
  target: DialTarget,
  tls: TlsStartOptions | null,
  driver: Driver,
  opening: Opening,
): Promise<void> {
  let dialed = await connector.dial(target);
  if (opening.done) return dialed.close();
  if (tls !== null) {
    opening.pending = dialed;
    dialed = await connector.startTls(dialed, tls);
    opening.pending = null;
    if (opening.done) return dialed.close();
  }
  driver.attach(connector.transport(dialed, driver));
}

/**
 * The client's handlers as the driver reports to them, passed on, with one addition: once the
 * connection closed (a timeout, `close()`, a failure) while TLS is being started, the connection
 * under it is closed at once rather than left to the server.
 */
class Opening implements DriverHandlers {
  readonly #handlers: DriverHandlers;
  /** The connection closed: what opens from now on is closed. */
  done = false;
  /** The dialed connection a `startTls` in progress runs over. */
  pending: Dialed | null = null;

  constructor(handlers: DriverHandlers) {
    this.#handlers = handlers;
  }

  event(event: ConnectionEvent): void {
    if (event.type === "close") this.#abandon();
    this.#handlers.event(event);
  }

  failure(error: AdapterError): void {
    this.#handlers.failure(error);
  }

  drained(): void {
    this.#handlers.drained();
  }

  uncaught(error: unknown): void {
    this.#handlers.uncaught(error);
  }

  closed(): void {
    this.#abandon();
    this.#handlers.closed?.();
  }

  #abandon(): void {
    this.done = true;
    const pending = this.pending;
    this.pending = null;
    pending?.close();
  }
}

/**
 * The browser-style sockets deliver whole messages; fragment events have no place in their API,
 * so the core's `streamMessages` is refused (on servers too) rather than silently dropping
 * every message.
 */
export function refuseStreamMessages(options: object): void {
  if ((options as { streamMessages?: unknown }).streamMessages) {
    throw new TypeError(
      "Option streamMessages is not supported by WebSocket, whose events carry whole " +
        "messages; use the core Connection for fragment events",
    );
  }
}

/** The extensions a client offers: the caller's, else permessage-deflate as browsers do. */
export function clientExtensions(
  options: { version?: WebSocketVersion; extensions?: ExtensionFactory[] },
): ExtensionFactory[] {
  if (options.extensions !== undefined) return options.extensions;
  const legacy = options.version === "hixie-75" || options.version === "hixie-76";
  return legacy ? [] : [permessageDeflate()];
}
