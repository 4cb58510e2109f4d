/**
 * The chat's wire protocol: one JSON object per WebSocket text message, in both directions.
 *
 * Text, never binary, because hixie-75 and hixie-76 clients can only send text: with JSON in text
 * frames a 2010 client and today's browser share one room. Every object has a `type`.
 *
 * Client to server:
 *
 * | message | meaning |
 * |---|---|
 * | `{"type":"join","nick":"ada"}` | take a nickname and enter the room (once per connection) |
 * | `{"type":"message","text":"hello"}` | say something (after joining) |
 *
 * Server to client:
 *
 * | message | when |
 * |---|---|
 * | `{"type":"hello","room","instance","version","users","limits"}` | on connect, before joining |
 * | `{"type":"welcome","nick","room","instance","version","users","history"}` | the join succeeded; `history` holds the last 100 messages, oldest first |
 * | `{"type":"message","id","nick","text","time","version"}` | someone (possibly you) said something |
 * | `{"type":"join","nick","version","time","users"}` | someone joined; `users` is the presence list after it |
 * | `{"type":"leave","nick","time","users"}` | someone left |
 * | `{"type":"error","code","message"}` | a request was refused or dropped; the connection stays open |
 * | `{"type":"closing","code","reason"}` | the server is about to close this connection (rate limit, shutdown) |
 *
 * - `time` is the server's clock, milliseconds since the Unix epoch; `id` increases by one per
 *   message within one server `instance` (a new instance starts again: clients that dedupe
 *   replayed history by `id` compare `instance` first).
 * - `version` is the protocol revision the server detected for that connection: `13`, `8`, `7`,
 *   `"hixie-76"` or `"hixie-75"`. `users` is `[{ "nick", "version" }]`, sorted by nickname.
 * - Error codes: `BAD_JSON`, `BAD_MESSAGE` (not an object, a field of the wrong type), `UNKNOWN_TYPE`,
 *   `BINARY` (binary frames are refused), `NICK_INVALID`, `NICK_TAKEN`, `NOT_JOINED`,
 *   `ALREADY_JOINED`, `EMPTY`, `TOO_LONG`, `RATE_LIMITED`.
 * - `closing` exists because hixie clients get no close code or reason; the close frame that
 *   follows carries the same code and reason for everyone else (4008 "Too many messages" for a
 *   flooding client, 1000 "Server is shutting down" on shutdown).
 *
 * @module
 */

/** A protocol revision as the server reports it (the library's `WebSocketVersion`). */
export type Version = 13 | 8 | 7 | "hixie-76" | "hixie-75";

/** One entry of the presence list. */
export interface User {
  /** Nickname. */
  nick: string;
  /** The protocol revision this user's connection speaks. */
  version: Version;
}

/** The limits the server enforces, announced in `hello`. */
export interface Limits {
  /** Longest message text, in UTF-16 code units. */
  maxText: number;
  /** Longest nickname, in characters. */
  maxNick: number;
  /** Messages a client may send in a burst. */
  burst: number;
  /** Messages per second a client may keep sending after a burst. */
  perSecond: number;
}

/** A chat message as broadcast and replayed. */
export interface ChatMessage {
  type: "message";
  /** Increases by one per message within a server instance. */
  id: number;
  nick: string;
  text: string;
  /** Server time, ms since the epoch. */
  time: number;
  /** The sender's protocol revision. */
  version: Version;
}

/** Error codes of `{"type":"error"}`. */
export type ErrorCode =
  | "BAD_JSON"
  | "BAD_MESSAGE"
  | "UNKNOWN_TYPE"
  | "BINARY"
  | "NICK_INVALID"
  | "NICK_TAKEN"
  | "NOT_JOINED"
  | "ALREADY_JOINED"
  | "EMPTY"
  | "TOO_LONG"
  | "RATE_LIMITED";

/** Everything the server sends. */
export type ServerMessage =
  | {
    type: "hello";
    room: string;
    instance: string;
    version: Version;
    users: User[];
    limits: Limits;
  }
  | {
    type: "welcome";
    nick: string;
    room: string;
    instance: string;
    version: Version;
    users: User[];
    history: ChatMessage[];
  }
  | ChatMessage
  | { type: "join"; nick: string; version: Version; time: number; users: User[] }
  | { type: "leave"; nick: string; time: number; users: User[] }
  | { type: "error"; code: ErrorCode; message: string }
  | { type: "closing"; code: number; reason: string };

/** Everything a client may send. */
export type ClientMessage = { type: "join"; nick: string } | { type: "message"; text: string };

/** A revision as people name it: `RFC 6455`, `hybi-08`, `hybi-07`, `hixie-76`, `hixie-75`. */
export function versionLabel(version: Version | null): string {
  switch (version) {
    case 13:
      return "RFC 6455";
    case 8:
      return "hybi-08";
    case 7:
      return "hybi-07";
    case null:
      return "unknown";
    default:
      return version;
  }
}
