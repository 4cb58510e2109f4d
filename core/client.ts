/**
 * The client role: writes the upgrade request, checks the response strictly, then speaks frames.
 *
 * @module
 */

import { checkVersion, Connection, type ConnectionOptions } from "./connection.ts";
import { ProtocolError } from "./errors.ts";
import { type ExtensionFactory, negotiateExtensions } from "./extension.ts";
import { type HttpResponseHead, HttpResponseParser, isToken } from "../handshake/http.ts";
import { headerEntries, type HeaderInit } from "../handshake/_head.ts";
import { encodeBase64 } from "../handshake/_base64.ts";
import { buildClientRequest, validateUpgradeResponse } from "../handshake/rfc6455.ts";
import type { HandshakeRejection, WebSocketVersion } from "../handshake/types.ts";
import { buildHixie76Request, validateHixie76Response } from "../handshake/hixie76.ts";
import {
  buildHixie75Request,
  HIXIE75_RESPONSE_PREFIX,
  hixie75PrefixMatches,
  validateHixie75Response,
} from "../handshake/hixie75.ts";

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
  /** Protocol revision to speak: 13 (RFC 6455, default), 8, 7, `"hixie-76"` or `"hixie-75"`. */
  version?: WebSocketVersion;
  /** Whether the transport is TLS (`wss:`); the hixie drafts check it in the location. */
  secure?: boolean;
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
  readonly #requestedVersion: WebSocketVersion;
  readonly #host: string;
  readonly #path: string;
  readonly #secure: boolean;
  readonly #origin: string | null;
  #head: HttpResponseParser;
  #response: HttpResponseHead | null = null;
  /** hixie-75: the first bytes of the response, compared byte for byte. */
  #prefix: Uint8Array | null = null;
  #prefixLength = 0;
  /** hixie-76: the expected 16-byte answer, and what arrived of it (with any frames after). */
  #expected: Uint8Array | null = null;
  #answer: Uint8Array[] | null = null;
  #answerBytes = 0;
  #protocol = "";

  /**
   * A client connection whose opening request is ready in `takeOutput()`.
   * @param options Where to connect and what to offer.
   */
  constructor(options: ClientOptions) {
    super("client", options);
    const host = options.host;
    if (typeof host !== "string" || host === "" || hasSpaceOrControl(host)) {
      throw new TypeError(`Invalid host: ${JSON.stringify(host)}`);
    }
    const path = options.path ?? "/";
    if (typeof path !== "string" || !path.startsWith("/") || hasSpaceOrControl(path)) {
      throw new TypeError(
        `Invalid path: ${JSON.stringify(path)}; it must start with / and have no spaces`,
      );
    }
    const protocols = options.protocols ?? [];
    const seen = new Set<string>();
    for (const p of protocols) {
      if (typeof p !== "string" || !isToken(p) || seen.has(p)) {
        throw new TypeError(`Invalid or repeated subprotocol: ${JSON.stringify(p)}`);
      }
      seen.add(p);
    }
    const version = checkVersion(options.version);
    this.#protocols = protocols;
    this.#factories = options.extensions ?? [];
    this.#requestedVersion = version;
    this.#host = host;
    this.#path = path;
    this.#secure = options.secure ?? false;
    this.#origin = options.origin ?? null;
    this.#head = new HttpResponseParser(
      options.maxHeadSize === undefined ? {} : { maxHeadSize: options.maxHeadSize },
    );
    if (version === "hixie-76" || version === "hixie-75") {
      if (this.#factories.length > 0) throw new TypeError(`The ${version} draft has no extensions`);
      this.#key = "";
      const o = {
        host,
        path,
        origin: this.#origin,
        protocols,
        headers: headerEntries(options.headers),
      };
      if (version === "hixie-75") {
        this.#prefix = new Uint8Array(HIXIE75_RESPONSE_PREFIX.length);
        this.queueOutput(buildHixie75Request(o));
      } else {
        const r = buildHixie76Request({ ...o, random: (n) => this.random(n).slice() });
        this.#expected = r.expected;
        this.queueOutput(r.head);
        this.queueOutput(r.key3);
      }
      return;
    }
    this.#key = encodeBase64(this.random(16));
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
    if (this.#answer !== null) return this.#receiveAnswer(chunk);
    if (this.#prefix !== null && this.#prefixLength < this.#prefix.length) {
      const take = Math.min(chunk.length, this.#prefix.length - this.#prefixLength);
      this.#prefix.set(chunk.subarray(0, take), this.#prefixLength);
      this.#prefixLength += take;
    }
    const result = this.#head.push(chunk);
    if (result.kind === "incomplete") return;
    if (result.kind === "error") {
      this.failHandshake(
        new ProtocolError("HANDSHAKE_BAD_RESPONSE", `Malformed response: ${result.message}`, 0, 0),
        new Uint8Array(0),
      );
      return;
    }
    this.#response = result.head;
    const version = this.#requestedVersion;
    if (version === "hixie-76" || version === "hixie-75") {
      return this.#hixieResponse(result.head, result.rest);
    }
    const checked = validateUpgradeResponse(result.head, this.#key, this.#protocols);
    if (!checked.ok) return this.#refused(checked.rejection);
    const negotiated = negotiateExtensions("client", this.#factories, checked.value.extensions);
    if (!negotiated.ok) return this.#refused(negotiated.rejection);
    this.startFraming(
      version,
      checked.value.protocol,
      checked.value.extensionsHeader,
      negotiated.value.extension,
      result.rest,
    );
  }

  #refused(r: HandshakeRejection): void {
    this.failHandshake(new ProtocolError(r.code, r.message, 0, r.status), new Uint8Array(0));
  }

  #hixieResponse(head: HttpResponseHead, rest: Uint8Array): void {
    const version = this.#requestedVersion;
    const expectation = {
      host: this.#host,
      path: this.#path,
      secure: this.#secure,
      origin: this.#origin,
      protocols: this.#protocols,
    };
    const checked = version === "hixie-76"
      ? validateHixie76Response(head, expectation)
      : validateHixie75Response(head, expectation);
    if (!checked.ok) return this.#refused(checked.rejection);
    this.#protocol = checked.value.protocol;
    if (version === "hixie-75") {
      // Clients of the draft compare the response's first 85 bytes exactly.
      if (!hixie75PrefixMatches(this.#prefix!)) {
        return this.failHandshake(
          new ProtocolError(
            "HANDSHAKE_BAD_RESPONSE",
            "Response does not start with the hixie-75 status and headers",
            0,
            101,
          ),
          new Uint8Array(0),
        );
      }
      return this.startFraming(version, this.#protocol, "", null, rest);
    }
    this.#answer = [];
    if (rest.length > 0) this.#receiveAnswer(rest);
  }

  /** hixie-76: the 16 bytes after the response head must be the expected MD5 answer. */
  #receiveAnswer(chunk: Uint8Array): void {
    this.#answer!.push(chunk);
    this.#answerBytes += chunk.length;
    if (this.#answerBytes < 16) return;
    const all = new Uint8Array(this.#answerBytes);
    let at = 0;
    for (const c of this.#answer!) {
      all.set(c, at);
      at += c.length;
    }
    this.#answer = null;
    const expected = this.#expected!;
    for (let i = 0; i < 16; i++) {
      if (all[i] !== expected[i]) {
        return this.failHandshake(
          new ProtocolError(
            "HANDSHAKE_BAD_RESPONSE",
            "The hixie-76 challenge answer does not match",
            0,
            101,
          ),
          new Uint8Array(0),
        );
      }
    }
    this.startFraming("hixie-76", this.#protocol, "", null, all.subarray(16));
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
