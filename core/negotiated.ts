/**
 * A connection whose opening handshake happened somewhere else: an HTTP/2 or HTTP/3 extended
 * CONNECT (RFC 8441, RFC 9220), a server framework or a native socket that already answered the
 * upgrade. It is told the outcome (role, protocol revision, subprotocol, extension) and starts
 * open, exchanging frames at once; there is no HTTP/1.1 head to read or write.
 *
 * Everything after the handshake is the same {@linkcode Connection} the HTTP/1.1 roles use: the
 * same events, limits, options and invariants, so any transport that can move bytes can drive
 * it. The extension is either negotiated here, from the peer's `Sec-WebSocket-Extensions` value,
 * by the same {@linkcode negotiateExtensions} the HTTP/1.1 handshake runs, or handed over already
 * active.
 *
 * @module
 */

import { checkVersion, Connection, type ConnectionOptions, type Role } from "./connection.ts";
import { ProtocolError } from "./errors.ts";
import {
  type ExtensionFactory,
  type NegotiatedExtension,
  negotiateExtensions,
} from "./extension.ts";
import { isToken } from "../handshake/http.ts";
import type { HandshakeResult, WebSocketVersion } from "../handshake/types.ts";

/** Options of a {@linkcode NegotiatedConnection}: the handshake's outcome, limits and behaviour. */
export interface NegotiatedOptions extends ConnectionOptions {
  /** Which end this is: a server receives masked frames, a client masks the frames it sends. */
  role: Role;
  /** The protocol revision agreed on: 13 (default; the only one over HTTP/2), 8, 7 or a hixie draft. */
  version?: WebSocketVersion;
  /** The subprotocol agreed on, or an empty string (default) for none. */
  protocol?: string;
  /**
   * Extensions to negotiate from `extensionsHeader`, in order of preference, as in
   * `ServerOptions.extensions` and `ClientOptions.extensions`.
   */
  extensions?: readonly ExtensionFactory[];
  /**
   * The peer's `Sec-WebSocket-Extensions` value, negotiated with `extensions` as the HTTP/1.1
   * handshake does: on a server the client's offer (the connection's
   * {@linkcode Connection.extensions} is then the value to answer with), on a client the
   * server's answer. Default: none.
   */
  extensionsHeader?: string;
  /**
   * Instead of `extensions` and `extensionsHeader`: an extension already negotiated (a
   * {@linkcode negotiateExtensions} result, or an `Extension` built by other means),
   * with the `Sec-WebSocket-Extensions` value agreed on.
   */
  extension?: NegotiatedExtension;
}

/**
 * A WebSocket connection that starts open, after a handshake made elsewhere: its state is
 * `"open"` from construction and its first event is `open`. Feed it the bytes that follow the
 * handshake (frames) with `receive()`, as with the other roles.
 *
 * When the extension negotiation fails (a malformed header; on a client, an answer naming an
 * extension that was not offered or parameters its factory refuses), the connection starts
 * closed instead: its events are `error` (`HANDSHAKE_BAD_REQUEST` with status 400 on a server,
 * the status to answer with; `HANDSHAKE_BAD_EXTENSION` with status 0 on a client) and `close`
 * (1006), and it writes nothing. Call {@linkcode negotiateExtensions} first to decide before
 * constructing.
 *
 * @example A server and a client exchanging a message in memory (over HTTP/2, say)
 * ```ts
 * import assert from "node:assert/strict";
 * import { NegotiatedConnection } from "@omniws/omniws";
 *
 * const server = new NegotiatedConnection({ role: "server", protocol: "chat" });
 * const client = new NegotiatedConnection({ role: "client", protocol: "chat" });
 * assert.equal(server.state, "open");
 * assert.deepEqual(client.nextEvent(), { type: "open", protocol: "chat", extensions: "" });
 *
 * client.send("hello");
 * for (const bytes of client.takeOutput()) server.receive(bytes);
 * assert.equal(server.nextEvent()?.type, "open");
 * assert.deepEqual(server.nextEvent(), { type: "message", data: "hello" });
 * ```
 *
 * @example permessage-deflate negotiated from the headers
 * ```ts
 * import assert from "node:assert/strict";
 * import { NegotiatedConnection } from "@omniws/omniws";
 * import { permessageDeflate } from "@omniws/omniws/permessage-deflate";
 *
 * // The server reads the client's offer from the request and answers with conn.extensions.
 * const server = new NegotiatedConnection({
 *   role: "server",
 *   extensions: [permessageDeflate()],
 *   extensionsHeader: "permessage-deflate; client_max_window_bits",
 * });
 * assert.match(server.extensions, /^permessage-deflate/);
 *
 * // The client reads that answer from the response.
 * const client = new NegotiatedConnection({
 *   role: "client",
 *   extensions: [permessageDeflate()],
 *   extensionsHeader: server.extensions,
 * });
 * server.send("a".repeat(1000));
 * const bytes = server.takeOutput();
 * assert.ok(bytes.reduce((n, b) => n + b.length, 0) < 100); // compressed
 * for (const b of bytes) client.receive(b);
 * assert.equal(client.nextEvent()?.type, "open");
 * assert.deepEqual(client.nextEvent(), { type: "message", data: "a".repeat(1000) });
 * ```
 */
export class NegotiatedConnection extends Connection {
  /**
   * A connection past its handshake, open at once (or closed, if the extension negotiation
   * failed).
   * @param options The handshake's outcome, limits and behaviour.
   * @throws {TypeError} For an unknown role, a subprotocol that is not a token (hybi) or not
   *   printable ASCII (hixie), extension options on a hixie revision, or both `extension` and
   *   `extensions`/`extensionsHeader`.
   * @throws {RangeError} For an unknown version or an invalid limit.
   */
  constructor(options: NegotiatedOptions) {
    const role = options.role;
    if (role !== "server" && role !== "client") {
      throw new TypeError(`Invalid role ${JSON.stringify(role)}: use "server" or "client"`);
    }
    super(role, options);
    const version = checkVersion(options.version);
    const hixie = typeof version === "string";
    const protocol = options.protocol ?? "";
    if (typeof protocol !== "string" || (protocol !== "" && !validProtocol(protocol, hixie))) {
      throw new TypeError(`Invalid subprotocol: ${JSON.stringify(protocol)}`);
    }
    const factories = options.extensions ?? [];
    const header = options.extensionsHeader ?? "";
    if (typeof header !== "string") {
      throw new TypeError("Invalid extensionsHeader: expected a string");
    }
    const given = options.extension;
    if (given !== undefined && (options.extensions !== undefined || header !== "")) {
      throw new TypeError("Give either extension, or extensions and extensionsHeader, not both");
    }
    if (given !== undefined && (typeof given !== "object" || typeof given.response !== "string")) {
      throw new TypeError("Invalid extension: expected { extension, response }");
    }
    if (hixie && (factories.length > 0 || header !== "" || (given?.extension ?? null) !== null)) {
      throw new TypeError(`The ${version} draft has no extensions`);
    }
    const negotiated: HandshakeResult<NegotiatedExtension> = given !== undefined
      ? { ok: true, value: given }
      : negotiateExtensions(role, factories, header);
    if (!negotiated.ok) {
      const r = negotiated.rejection;
      const status = role === "server" ? r.status : 0;
      this.failHandshake(new ProtocolError(r.code, r.message, 0, status), new Uint8Array(0));
      return;
    }
    const { extension, response } = negotiated.value;
    this.startFraming(version, protocol, response, extension, new Uint8Array(0));
  }

  /** @internal Never called: the connection starts past the handshake. */
  protected receiveHandshake(_chunk: Uint8Array): void {}
}

/** A subprotocol as each revision writes it: a token (hybi), printable ASCII (hixie). */
function validProtocol(protocol: string, hixie: boolean): boolean {
  if (!hixie) return isToken(protocol);
  for (let i = 0; i < protocol.length; i++) {
    const c = protocol.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
