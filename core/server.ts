/**
 * The server role: reads the upgrade request, lets the application decide, then speaks frames.
 *
 * It detects which protocol revision the client speaks from the request head alone:
 * `Sec-WebSocket-Version` or `Sec-WebSocket-Key` present: the hybi family, dispatched on the
 * version (13, 8, 7; others get 426 listing the enabled ones); else `Sec-WebSocket-Key1` or
 * `Key2` present: hixie-76; else `Upgrade: WebSocket`: hixie-75; else 400.
 *
 * The application sees a `request` event carrying the parsed {@linkcode UpgradeRequest} before
 * anything is sent, and answers with {@linkcode ServerConnection.accept} or
 * {@linkcode ServerConnection.reject}, at once or later (after an asynchronous check). Bytes that
 * arrive meanwhile are kept, up to a bound, and parsed as frames once accepted. A request from an
 * origin the `origins` option does not allow never reaches the application: it is answered 403.
 *
 * @module
 */

import { Connection, type ConnectionOptions, joinParts } from "./connection.ts";
import { ProtocolError, UsageError } from "./errors.ts";
import {
  type ExtensionFactory,
  type NegotiatedExtension,
  negotiateExtensions,
} from "./extension.ts";
import { equalsIgnoringAsciiCase, HttpRequestParser } from "../handshake/http.ts";
import { buildHttpResponse, headerEntries, type HeaderInit, REASONS } from "../handshake/_head.ts";
import {
  buildAcceptResponse,
  hasToken,
  HYBI_VERSIONS,
  validateUpgradeRequest,
} from "../handshake/rfc6455.ts";
import type { HandshakeResult, UpgradeRequest, WebSocketVersion } from "../handshake/types.ts";
import type { HttpRequestHead } from "../handshake/http.ts";
import {
  buildHixie76Response,
  hixie76Answer,
  validateHixie76Request,
} from "../handshake/hixie76.ts";
import { buildHixie75Response, validateHixie75Request } from "../handshake/hixie75.ts";

/** Every protocol revision a server accepts by default. */
export const ALL_VERSIONS: readonly WebSocketVersion[] = [13, 8, 7, "hixie-76", "hixie-75"];

/** Options of a {@linkcode ServerConnection}. */
export interface ServerOptions extends ConnectionOptions {
  /** Largest request head in bytes; larger ones get 431. Default 16384. */
  maxHeadSize?: number;
  /** Most request header lines; more get 431. Default 100. */
  maxHeaders?: number;
  /** Extensions the server is willing to negotiate, in order of preference (hybi only). */
  extensions?: ExtensionFactory[];
  /** Protocol revisions to accept. Default: all of them (13, 8, 7, hixie-76, hixie-75). */
  versions?: readonly WebSocketVersion[];
  /** Whether the transport is TLS; the hixie drafts echo `wss://` or `ws://` in the location. */
  secure?: boolean;
  /**
   * Report requests that ask for no upgrade as `http` events, to be answered with
   * {@linkcode ServerConnection.respond}, instead of failing them with 400. Lets one port serve
   * a page and its WebSocket endpoint.
   */
  plainHttp?: boolean;
  /**
   * Which origins may open a WebSocket. Checked for every protocol revision (the `Origin` header;
   * hybi-07 and hybi-08 send `Sec-WebSocket-Origin`) once the request is otherwise valid, before
   * the `request` event, so before the application or an adapter's upgrade hook sees it. A
   * refused request is answered 403 and reported as a {@linkcode ProtocolError} with code
   * `HANDSHAKE_ORIGIN`. Plain HTTP requests (`plainHttp`) are not checked. Default: no check.
   *
   * - An array of serialised origins, `scheme://host[:port]` as browsers send them (no path, no
   *   trailing slash, no default port), compared ASCII case-insensitively. Browsers send `null`
   *   for opaque origins (sandboxed frames, `file:` pages): list `"null"` to admit them. A request
   *   with no origin is refused, and an empty list refuses every request.
   * - A function of the origin (null when the request declares none) and the request, returning
   *   true to allow and false to refuse. It must decide synchronously: when it throws, or returns
   *   anything but a boolean (a promise, say), the request is answered 500 and the error event
   *   says why.
   *
   * Only browsers are bound to send their page's origin; this stops other sites' pages from
   * opening sockets with your users' cookies (cross-site WebSocket hijacking), it does not
   * authenticate clients.
   *
   * @throws {TypeError} From the constructor, when the value is neither an array of serialised
   *   origins (strings) nor a function.
   *
   * @example Admitting the application's own pages only
   * ```ts
   * import assert from "node:assert/strict";
   * import { ServerConnection } from "@omniws/omniws";
   *
   * const request = (origin: string) =>
   *   new TextEncoder().encode(
   *     "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n" +
   *       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
   *       `Sec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`,
   *   );
   * const options = { origins: ["https://example.com", "http://localhost:8080"] };
   *
   * const good = new ServerConnection(options);
   * good.receive(request("https://EXAMPLE.com"));
   * assert.equal(good.nextEvent()?.type, "request");
   *
   * const evil = new ServerConnection(options);
   * evil.receive(request("https://evil.example"));
   * const ev = evil.nextEvent();
   * assert.ok(ev?.type === "error" && ev.error.code === "HANDSHAKE_ORIGIN");
   * assert.equal(ev.error.status, 403);
   * ```
   *
   * @example A predicate: example.com and its subdomains, over https
   * ```ts
   * import assert from "node:assert/strict";
   * import { ServerConnection } from "@omniws/omniws";
   *
   * const ours = /^https:\/\/([a-z0-9-]+\.)*example\.com$/i;
   * const server = new ServerConnection({
   *   origins: (origin) => origin !== null && ours.test(origin),
   * });
   * server.receive(new TextEncoder().encode(
   *   "GET / HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
   *     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
   *     "Origin: https://app.example.com\r\n\r\n",
   * ));
   * assert.equal(server.nextEvent()?.type, "request");
   * ```
   */
  origins?: readonly string[] | ((origin: string | null, request: UpgradeRequest) => boolean);
}

/** How to accept an upgrade request. */
export interface AcceptOptions {
  /** The subprotocol chosen among those the client offered; omit for none. */
  protocol?: string;
  /** Extra response headers (cookies, for instance). */
  headers?: HeaderInit;
}

/** How to reject an upgrade request. */
export interface RejectOptions {
  /** Extra response headers (`WWW-Authenticate`, `Location`, ...). */
  headers?: HeaderInit;
  /** Response body; a string is sent as UTF-8 text. Defaults to the status's reason phrase. */
  body?: string | Uint8Array;
}

const NO_EXTENSION: NegotiatedExtension = { extension: null, response: "" };

/** Bytes a client may send after its request and before the server decides. */
const MAX_EARLY_DATA = 64 * 1024;

/**
 * A server-side WebSocket connection.
 *
 * @example Accepting every client and echoing messages
 * ```ts
 * import { ServerConnection } from "@omniws/omniws";
 * const conn = new ServerConnection();
 * conn.receive(new TextEncoder().encode(
 *   "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
 * ));
 * for (let ev = conn.nextEvent(); ev !== null; ev = conn.nextEvent()) {
 *   if (ev.type === "request") conn.accept();
 *   if (ev.type === "message") conn.send(ev.data);
 * }
 * const response = new TextDecoder().decode(conn.takeOutput()[0]);
 * console.assert(response.includes("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
 * ```
 */
export class ServerConnection extends Connection {
  #head: HttpRequestParser | null;
  #request: UpgradeRequest | null = null;
  #decided = false;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  readonly #factories: ExtensionFactory[];
  readonly #versions: readonly WebSocketVersion[];
  readonly #secure: boolean;
  /** hixie-76 after accept: the 101 head is out, the 8 key3 bytes are awaited. */
  #awaitingKey3 = false;
  #protocol = "";
  readonly #plainHttp: boolean;
  #httpRequest: HttpRequestHead | null = null;
  readonly #origins: NonNullable<ServerOptions["origins"]> | null;

  /**
   * A server connection waiting for the client's opening request.
   * @param options Limits, behaviour, extensions, the versions and the origins to accept.
   * @throws {TypeError} If `origins` is neither an array of serialised origins nor a function.
   */
  constructor(options: ServerOptions = {}) {
    checkOrigins(options.origins);
    super("server", options);
    const limits: { maxHeadSize?: number; maxHeaders?: number } = {};
    if (options.maxHeadSize !== undefined) limits.maxHeadSize = options.maxHeadSize;
    if (options.maxHeaders !== undefined) limits.maxHeaders = options.maxHeaders;
    this.#head = new HttpRequestParser(limits);
    this.#factories = options.extensions ?? [];
    this.#versions = options.versions ?? ALL_VERSIONS;
    this.#secure = options.secure ?? false;
    this.#plainHttp = options.plainHttp ?? false;
    this.#origins = options.origins ?? null;
  }

  /** The upgrade request once parsed, else null. */
  get request(): UpgradeRequest | null {
    return this.#request;
  }

  /**
   * Accept the waiting upgrade request: queue the 101 response and start exchanging frames.
   * @param options The chosen subprotocol and extra headers.
   */
  accept(options: AcceptOptions = {}): void {
    const request = this.#awaitingDecision("accept");
    const protocol = options.protocol ?? "";
    if (protocol !== "" && !request.protocols.includes(protocol)) {
      throw new TypeError(
        `Cannot accept: subprotocol ${JSON.stringify(protocol)} was not offered by the client`,
      );
    }
    const headers = headerEntries(options.headers);
    this.#decided = true;
    if (request.version === "hixie-76" || request.version === "hixie-75") {
      this.#protocol = protocol;
      const build = request.version === "hixie-76" ? buildHixie76Response : buildHixie75Response;
      this.queueOutput(build(request, this.#secure, protocol, headers));
      if (request.version === "hixie-75") return this.#open(this.#takePending());
      // Sent before key3 arrives: proxies that do not know hixie-76 hold key3 back until then.
      this.#awaitingKey3 = true;
      return this.#tryKey3();
    }
    // Parsed offers are never refused: a server declines what it cannot use.
    const negotiated = negotiateExtensions("server", this.#factories, request.extensions);
    const { extension, response } = negotiated.ok ? negotiated.value : NO_EXTENSION;
    this.queueOutput(buildAcceptResponse(request.key, protocol, response, headers));
    this.startFraming(request.version, protocol, response, extension, this.#takePending());
  }

  #takePending(): Uint8Array {
    const all = joinParts(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    return all;
  }

  #open(rest: Uint8Array): void {
    this.startFraming(this.#request!.version, this.#protocol, "", null, rest);
  }

  /** hixie-76: once the 8 bytes of key3 are in, send the 16-byte answer and open. */
  #tryKey3(): void {
    if (this.#pendingBytes < 8) return;
    this.#awaitingKey3 = false;
    const all = this.#takePending();
    const h = this.#request!.headers;
    const answer = hixie76Answer(
      h.get("sec-websocket-key1")!,
      h.get("sec-websocket-key2")!,
      all.subarray(0, 8),
    );
    // The keys were validated with the request, so there is an answer.
    this.queueOutput(answer!);
    this.#open(all.subarray(8));
  }

  /**
   * Answer a plain HTTP request (an `http` event); the connection then closes (no keep-alive).
   * @param status HTTP status, 200-599.
   * @param headers Response headers (`Content-Type`, ...). `Content-Length` is set from the body.
   * @param body The body; a string is sent as UTF-8.
   */
  respond(status: number, headers: HeaderInit = {}, body: string | Uint8Array = ""): void {
    if (this.#httpRequest === null || this.state !== "connecting") {
      throw new UsageError(
        "ERR_WRONG_STATE",
        "Cannot respond: no plain HTTP request is waiting for an answer",
      );
    }
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Cannot respond with status ${status}: use 200-599`);
    }
    this.#httpRequest = null;
    this.failHandshake(null, buildHttpResponse(status, headerEntries(headers), body));
  }

  /**
   * Reject the waiting upgrade request with an HTTP response; the connection then closes.
   * @param status HTTP status, 300-599 (for instance 401, 403, 404).
   * @param options Extra headers and a body.
   */
  reject(status = 403, options: RejectOptions = {}): void {
    this.#awaitingDecision("reject");
    if (!Number.isInteger(status) || status < 300 || status > 599) {
      throw new RangeError(`Cannot reject with status ${status}: use 300-599`);
    }
    const response = buildHttpResponse(
      status,
      headerEntries(options.headers),
      options.body ?? REASONS[status] ?? "",
    );
    this.#decided = true;
    this.failHandshake(null, response);
  }

  /** @internal */
  protected receiveHandshake(chunk: Uint8Array): void {
    if (this.#awaitingKey3) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      return this.#tryKey3();
    }
    if (this.#head === null) {
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes > MAX_EARLY_DATA) {
        this.#decided = true;
        this.#failWith(
          400,
          "HANDSHAKE_EARLY_DATA",
          "Too much data sent before the handshake completed",
          [],
        );
      } else {
        this.#pending.push(chunk);
      }
      return;
    }
    const result = this.#head.push(chunk);
    if (result.kind === "incomplete") return;
    this.#head = null;
    if (result.kind === "error") {
      this.#failWith(result.status, "HANDSHAKE_BAD_HEAD", result.message, []);
      return;
    }
    if (this.#plainHttp && !isUpgrade(result.head)) {
      this.#httpRequest = result.head;
      this.emit({ type: "http", request: result.head });
      return;
    }
    const checked = this.#validate(result.head);
    if (!checked.ok) {
      const r = checked.rejection;
      this.#failWith(r.status, r.code, r.message, r.headers);
      return;
    }
    if (this.#origins !== null) {
      const refused = refuseOrigin(this.#origins, checked.value);
      if (refused !== null) {
        // A 500 is the application's fault: its details are for the error event, not the peer.
        const body = refused.status === 403 ? refused.message : REASONS[500];
        this.failHandshake(refused, buildHttpResponse(refused.status, [], body));
        return;
      }
    }
    this.#request = checked.value;
    if (result.rest.length > 0) {
      this.#pending.push(result.rest);
      this.#pendingBytes = result.rest.length;
    }
    this.emit({ type: "request", request: checked.value });
  }

  /** Detect the client's protocol revision and validate the request by its rules. */
  #validate(head: HttpRequestHead): HandshakeResult<UpgradeRequest> {
    const h = head.headers;
    const hybi = this.#versions.filter((v): v is 13 | 8 | 7 => typeof v === "number");
    let version: WebSocketVersion;
    if (h.has("sec-websocket-version") || h.has("sec-websocket-key")) {
      if (hybi.length > 0) return validateUpgradeRequest(head, hybi);
      version = 13;
    } else if (h.has("sec-websocket-key1") || h.has("sec-websocket-key2")) {
      version = "hixie-76";
      if (this.#versions.includes(version)) return validateHixie76Request(head);
    } else if (hasToken(h, "upgrade", "websocket")) {
      version = "hixie-75";
      if (this.#versions.includes(version)) return validateHixie75Request(head);
    } else {
      return validateUpgradeRequest(head, hybi.length > 0 ? hybi : HYBI_VERSIONS);
    }
    const message = `Protocol ${
      typeof version === "number" ? "hybi" : version
    } is not enabled on this server`;
    return hybi.length > 0
      ? {
        ok: false,
        rejection: {
          status: 426,
          code: "HANDSHAKE_UNSUPPORTED_VERSION",
          message,
          headers: [["Sec-WebSocket-Version", hybi.join(", ")]],
        },
      }
      : {
        ok: false,
        rejection: { status: 400, code: "HANDSHAKE_UNSUPPORTED_VERSION", message, headers: [] },
      };
  }

  #failWith(
    status: number,
    code: ProtocolError["code"],
    message: string,
    headers: Array<[string, string]>,
  ): void {
    this.failHandshake(
      new ProtocolError(code, message, 0, status),
      buildHttpResponse(status, headers, message),
    );
  }

  #awaitingDecision(action: string): UpgradeRequest {
    if (this.#request === null || this.#decided || this.state !== "connecting") {
      throw new UsageError(
        "ERR_WRONG_STATE",
        `Cannot ${action}: no upgrade request is waiting for a decision`,
      );
    }
    return this.#request;
  }
}

/** `scheme://host[:port]`: an RFC 3986 scheme, a bracketed IP literal or reg-name, a port. */
const SERIALIZED_ORIGIN = new RegExp(
  "^[A-Za-z][A-Za-z0-9+.-]*://" + // scheme
    "(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)" + // IP literal or reg-name
    "(?::[0-9]{1,5})?$", // port
);
const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, ws: 80, https: 443, wss: 443 };

/** What a value is, for a TypeError's message. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && typeof (value as { then?: unknown }).then === "function") {
    return "a promise";
  }
  return typeof value === "string" ? JSON.stringify(value) : `a ${typeof value}`;
}

/** Throws a TypeError unless `origins` is undefined, a function or a list of serialised origins. */
function checkOrigins(origins: unknown): void {
  if (origins === undefined || typeof origins === "function") return;
  if (!Array.isArray(origins)) {
    throw new TypeError(
      `Invalid origins: expected an array of origins or a function, got ${describe(origins)}`,
    );
  }
  for (const origin of origins as unknown[]) {
    if (typeof origin !== "string") {
      throw new TypeError(`Invalid origins: expected strings, got ${describe(origin)}`);
    }
    if (equalsIgnoringAsciiCase(origin, "null")) continue;
    if (!SERIALIZED_ORIGIN.test(origin)) {
      throw new TypeError(
        `Invalid origin ${JSON.stringify(origin)}: expected scheme://host[:port] as browsers ` +
          `send it (no path or trailing slash), or "null"`,
      );
    }
    const port = /:([0-9]+)$/.exec(origin);
    const scheme = origin.slice(0, origin.indexOf(":")).toLowerCase();
    if (port !== null && Number(port[1]) === DEFAULT_PORTS[scheme]) {
      throw new TypeError(
        `Invalid origin ${JSON.stringify(origin)}: browsers leave the default port out`,
      );
    }
  }
}

/** The error to refuse `request` with under the `origins` policy, or null if it is allowed. */
function refuseOrigin(
  origins: NonNullable<ServerOptions["origins"]>,
  request: UpgradeRequest,
): ProtocolError | null {
  const origin = request.origin;
  if (typeof origins === "function") {
    let allowed: unknown;
    try {
      allowed = origins(origin, request);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      const refused = new ProtocolError("HANDSHAKE_ORIGIN", `Origin check threw: ${why}`, 0, 500);
      refused.cause = error;
      return refused;
    }
    if (allowed === true) return null;
    if (allowed !== false) {
      const message = `Origin check returned ${describe(allowed)}, not a boolean: it must decide ` +
        "synchronously";
      return new ProtocolError("HANDSHAKE_ORIGIN", message, 0, 500);
    }
  } else if (origin !== null) {
    for (const o of origins) {
      if (typeof o === "string" && equalsIgnoringAsciiCase(o, origin)) return null;
    }
  }
  const message = origin === null
    ? "Request declares no origin, and only allowed origins may connect"
    : `Origin ${JSON.stringify(origin)} is not allowed`;
  return new ProtocolError("HANDSHAKE_ORIGIN", message, 0, 403);
}

/** Whether a request asks for a WebSocket upgrade of any revision. */
function isUpgrade(head: HttpRequestHead): boolean {
  const h = head.headers;
  return h.has("upgrade") || h.has("sec-websocket-key") || h.has("sec-websocket-version") ||
    h.has("sec-websocket-key1");
}
