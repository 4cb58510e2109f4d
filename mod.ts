/**
 * omniws: one WebSocket protocol core for Deno, Node, Bun, edge runtimes and browsers.
 *
 * The core is a synchronous, I/O-free state machine: feed it the bytes your socket received,
 * read events out; call `send`, `ping` or `close`, take the bytes to write. It has no timers, no
 * promises and no dependencies, so it runs in any JavaScript engine. Adapters (`./deno`, ...)
 * put it on a runtime's sockets; they are separate exports and never loaded by this module.
 *
 * Data flow: `receive(bytes)` -> handshake or {@linkcode FrameParser} -> `nextEvent()`;
 * `send()`/`close()` -> frames written into shared output slabs (the bytes
 * {@linkcode writeFrame} makes) -> `takeOutput()`, one chunk per run of frames.
 *
 * {@linkcode ServerConnection} and {@linkcode ClientConnection} make the HTTP/1.1 opening
 * handshake themselves; after a handshake made elsewhere (an HTTP/2 extended CONNECT, a native
 * socket), {@linkcode NegotiatedConnection} starts open with its outcome, and
 * {@linkcode negotiateExtensions} is the extension negotiation all three share.
 *
 * @example Quick start: an in-memory client and server
 * ```ts
 * import { ClientConnection, ServerConnection } from "@omniws/omniws";
 *
 * const client = new ClientConnection({ host: "example.com", path: "/chat" });
 * const server = new ServerConnection();
 * const pump = () => {
 *   for (const bytes of client.takeOutput()) server.receive(bytes);
 *   for (const bytes of server.takeOutput()) client.receive(bytes);
 * };
 *
 * pump();
 * for (let ev = server.nextEvent(); ev !== null; ev = server.nextEvent()) {
 *   if (ev.type === "request") server.accept();
 * }
 * pump();
 * client.send("hello");
 * pump();
 * for (let ev = server.nextEvent(); ev !== null; ev = server.nextEvent()) {
 *   if (ev.type === "message") console.assert(ev.data === "hello");
 * }
 * ```
 *
 * @module
 */

export {
  Connection,
  type ConnectionEvent,
  type ConnectionOptions,
  FRAGMENT_OVERHEAD,
  type ReadyState,
  type Role,
} from "./core/connection.ts";
export {
  type AcceptOptions,
  type RejectOptions,
  ServerConnection,
  type ServerOptions,
} from "./core/server.ts";
export { ClientConnection, type ClientOptions } from "./core/client.ts";
export { NegotiatedConnection, type NegotiatedOptions } from "./core/negotiated.ts";
export {
  ProtocolError,
  type ProtocolErrorCode,
  UsageError,
  type UsageErrorCode,
} from "./core/errors.ts";
export {
  type Extension,
  type ExtensionFactory,
  type NegotiatedExtension,
  negotiateExtensions,
} from "./core/extension.ts";
export {
  type FrameErrorCode,
  FrameParser,
  type FrameParserOptions,
  type FrameSink,
  isValidCloseCode,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  RSV1,
  RSV2,
  RSV3,
  writeFrame,
} from "./framing/rfc6455.ts";
export { acceptKey } from "./handshake/rfc6455.ts";
export type {
  ExtensionOffer,
  HandshakeErrorCode,
  HandshakeRejection,
  HandshakeResult,
  UpgradeRequest,
  UpgradeResponse,
  WebSocketVersion,
} from "./handshake/types.ts";
export { HttpHeaders, type HttpRequestHead, type HttpResponseHead } from "./handshake/http.ts";
export type { HeaderInit } from "./handshake/_head.ts";
