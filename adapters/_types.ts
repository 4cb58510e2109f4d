/**
 * The types every runtime adapter exports, gathered once: each adapter re-exports this module,
 * so the types are public (and documented) from every entry point.
 *
 * @module
 */

export type { DriverOptions } from "./_driver.ts";
export type { AdapterErrorCode } from "./_errors.ts";
export type {
  ConnectionHandler,
  HttpAnswer,
  ServerCloseOptions,
  SocketFactory,
  UpgradeDecision,
  WebSocketServer,
} from "./_session.ts";
export type { SocketBackend, SocketEvents } from "./_backend.ts";
export type { UpgradeRequest } from "../handshake/types.ts";
export type { HttpRequestHead } from "../handshake/http.ts";
export type {
  BinaryType,
  WebSocket as WebSocketBase,
  WebSocketEventHandler,
  WebSocketEventListener,
  WebSocketListenerOptions,
  WebSocketOptions,
} from "./_websocket.ts";
export type {
  WebSocketCloseInfo,
  WebSocketStream as WebSocketStreamBase,
  WebSocketStreamConnection,
  WebSocketStreamOptions,
} from "./_websocket_stream.ts";
