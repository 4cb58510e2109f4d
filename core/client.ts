/**
 * The client role: writes the upgrade request, checks the response strictly, then speaks frames.
 *
 * @module
 */

import { Connection, type ConnectionOptions } from "./connection.ts";
import { ProtocolError } from "./errors.ts";
import type { Extension, ExtensionFactory } from "./extension.ts";
import { type HttpResponseHead, HttpResponseParser, isToken } from "../handshake/http.ts";
import { type HeaderInit, headerEntries } from "../handshake/_head.ts";
import { encodeBase64 } from "../handshake/_base64.ts";
import { buildClientRequest, validateUpgradeResponse } from "../handshake/rfc6455.ts";

/** Options of a {@linkcode ClientConnection}. */
export interface ClientOptions extends ConnectionOptions {
  /** `Host` header: the server's host name, with `:port` when not the scheme's default. */
  host: string;
  /** Request target, path and query. Default `/`. */
  path?: string;
  /** Subprotocols to offer, most preferred first. */
  protocols?: readonly string[];
  /** `Origin` to declare (browsers always do; other clients usually not). */
  origin?: string;
  /** Extra request headers (cookies, authorization). */
  headers?: HeaderInit;
  /** Extensions to offer, in order of preference. */
  extensions?: ExtensionFactory[];
  /** Protocol revision to speak: 13 (RFC 6455, default), 8 or 7. */
  version?: 13 | 8 | 7;
  /** Largest response head in bytes. Default 16384. */
  maxHeadSize?: number;
}

/**
 * A client-side WebSocket connection. The upgrade request is queued as output at once.
 *
 * @example Opening a connection
 * ```ts
 * import { ClientConnection } from "@omniws/omniws";
 * const conn = new ClientConnection({ host: "example.com", path: "/chat", protocols: ["chat"] });
 * const request = new TextDecoder().decode(conn.takeOutput()[0]);
 * console.assert(request.startsWith("GET /chat HTTP/1.1\r\n"));
 * ```
 */
export class ClientConnection extends Connection {
  readonly #key: string;
  readonly #protocols: readonly string[];
  readonly #factories: ExtensionFactory[];
  readonly #requestedVersion: 13 | 8 | 7;
  #head: HttpResponseParser;
  #response: HttpResponseHead | null = null;

  /** @param options Where to connect and what to offer. */
  constructor(options: ClientOptions) {
    super("client", options);
    const host = options.host;
    if (typeof host !== "string" || host === "" || hasSpaceOrControl(host)) {
      throw new TypeError(`Invalid host: ${JSON.stringify(host)}`);
    }
    const path = options.path ?? "/";
    if (typeof path !== "string" || !path.startsWith("/") || hasSpaceOrControl(path)) {
      throw new TypeError(`Invalid path: ${JSON.stringify(path)}; it must start with / and have no spaces`);
    }
    const protocols = options.protocols ?? [];
    const seen = new Set<string>();
    for (const p of protocols) {
      if (typeof p !== "string" || !isToken(p) || seen.has(p)) {
        throw new TypeError(`Invalid or repeated subprotocol: ${JSON.stringify(p)}`);
      }
      seen.add(p);
    }
    const version = options.version ?? 13;
    if (version !== 13 && version !== 8 && version !== 7) {
      throw new RangeError(`Unsupported version ${String(version)}: use 13, 8 or 7`);
    }
    this.#protocols = protocols;
    this.#factories = options.extensions ?? [];
    this.#requestedVersion = version;
    this.#key = encodeBase64(this.random(16));
    this.#head = new HttpResponseParser(options.maxHeadSize === undefined ? {} : { maxHeadSize: options.maxHeadSize });
    this.queueOutput(buildClientRequest({
      host,
      path,
      key: this.#key,
      version,
      protocols,
      origin: options.origin ?? null,
      extensions: this.#factories.map((f) => f.offer()).join(", "),
      headers: headerEntries(options.headers),
    }));
  }

  /** The server's response head once received (also when it refused), else null. */
  get response(): HttpResponseHead | null {
    return this.#response;
  }

  /** @internal */
  protected receiveHandshake(chunk: Uint8Array): void {
    const result = this.#head.push(chunk);
    if (result.kind === "incomplete") return;
    if (result.kind === "error") {
      this.failHandshake(new ProtocolError("HANDSHAKE_BAD_RESPONSE", `Malformed response: ${result.message}`, 0, 0), new Uint8Array(0));
      return;
    }
    this.#response = result.head;
    const checked = validateUpgradeResponse(result.head, this.#key, this.#protocols, this.#factories.map((f) => f.name));
    if (!checked.ok) {
      const r = checked.rejection;
      this.failHandshake(new ProtocolError(r.code, r.message, 0, r.status), new Uint8Array(0));
      return;
    }
    let extension: Extension | null = null;
    for (const offer of checked.value.extensions) {
      const factory = this.#factories.find((f) => f.name === offer.name)!;
      const active = factory.accepted(offer);
      if (typeof active === "string") {
        this.failHandshake(new ProtocolError("HANDSHAKE_BAD_EXTENSION", active, 0, 101), new Uint8Array(0));
        return;
      }
      extension = active;
    }
    this.startFraming(this.#requestedVersion, checked.value.protocol, checked.value.extensionsHeader, extension, result.rest);
  }
}

/** True when `s` has a space or a control character, which would break the request line. */
function hasSpaceOrControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}
