/**
 * permessage-deflate (RFC 7692): per-message DEFLATE compression, negotiated in the handshake,
 * run synchronously inside the core by a pure TypeScript codec, with bounded memory.
 *
 * Pass {@linkcode permessageDeflate} to a server's or a client's `extensions` option. A server
 * only compresses when it is given the extension (it is off by default, as in ws); a client
 * offers it when given it.
 *
 * How it behaves:
 * - Negotiation follows RFC 7692 §7.1 for all four parameters. A server takes the first of the
 *   client's offers it can accept and declines offers with unknown parameters or bad values; a
 *   client fails the handshake on a response it did not ask for (unknown or repeated parameters,
 *   bad values, a window it cannot use, `client_max_window_bits` it did not offer). Values are
 *   decimal 8..15 without leading zeros.
 * - RSV1 marks the first frame of a compressed message (the connection sets it); control frames
 *   and messages sent with `sendFragment` are never compressed. Messages shorter than
 *   `threshold` go out uncompressed, and so does (without context takeover) any message that
 *   compression would not shrink.
 * - A compressed message that cannot be inflated fails the connection with close code 1007
 *   (RFC 7692 §8.2.2 only says to fail it; 1007 "inconsistent data" is what ws and Python's
 *   websockets send). A message that inflates to more than the connection's `maxMessageSize`
 *   fails with 1009 as soon as the limit is crossed, having allocated at most that many bytes:
 *   a decompression bomb costs its limit, not its expansion.
 * - The work a received message can cost is also bounded by its compressed size: once it
 *   inflates past `inflateRatioFloor` (1 MiB), it may not exceed `maxInflateRatio` (256) times
 *   its compressed size. Inflation stops at max(floor, ratio * compressed size) bytes and the
 *   connection fails with 1009 (`MESSAGE_TOO_BIG`). Real data stays far below the ratio (zlib
 *   at level 9: JSON 4-25, log lines 28, sparse binary 64); only megabytes of one byte or one
 *   short pattern repeated come near DEFLATE's maximum of 1,032, which is what bombs are made
 *   of (a JSON array of one record repeated: 158 at level 6, 342 at level 9; a blank image
 *   206 at level 6). Without the bound a 64 KiB message could cost 64 MiB of inflating (and of
 *   compressing again, for an echo); with it, 16 MiB.
 *
 * Memory per connection, allocated on the first compressed message in each direction and kept
 * only while context takeover is on (`*_no_context_takeover` frees it after every message):
 * - receiving: a history ring of 2^max(9, w) bytes, w the peer's window bits (32 KiB at 15);
 * - sending: window 2 * u, hash chain 2 * u and hash heads 2 * 2^h bytes, with u = 2^15 at 15
 *   window bits, else max(1 KiB, 2^(w+1)), and h = min(15, max(9, w + 1)): 192 KiB at 15 bits,
 *   5 KiB at 8. Lower `serverMaxWindowBits` (server) or `clientMaxWindowBits` (client) to shrink
 *   it, or turn context takeover off to keep nothing between messages.
 * Working buffers (symbols, Huffman tables, output) are shared by all connections.
 *
 * @example A server that compresses, and a client that asks for it
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientConnection, ServerConnection } from "@omniws/omniws";
 * import { permessageDeflate } from "@omniws/omniws/permessage-deflate";
 *
 * const client = new ClientConnection({ host: "example.com", extensions: [permessageDeflate()] });
 * const server = new ServerConnection({ extensions: [permessageDeflate()] });
 * const pump = () => {
 *   for (const bytes of client.takeOutput()) server.receive(bytes);
 *   for (const bytes of server.takeOutput()) client.receive(bytes);
 * };
 * pump();
 * for (let ev = server.nextEvent(); ev !== null; ev = server.nextEvent()) {
 *   if (ev.type === "request") server.accept();
 * }
 * pump();
 * assert.equal(client.nextEvent()?.type, "open");
 * assert.equal(client.extensions, "permessage-deflate");
 * server.send("Hello ".repeat(1000));
 * const wire = server.takeOutput().reduce((n, chunk) => n + chunk.length, 0);
 * assert.ok(wire < 100); // 6000 bytes of text in a few dozen bytes
 * ```
 *
 * @module
 */

import type { Extension, ExtensionFactory } from "../core/extension.ts";
import { ProtocolError } from "../core/errors.ts";
import type { ExtensionOffer } from "../handshake/http.ts";
import { Deflater } from "./_deflate.ts";
import { InflateError, Inflater } from "./_inflate.ts";

// The types this module's API is made of, so its documentation is complete on its own.
export type { Extension, ExtensionFactory } from "../core/extension.ts";
export type { ExtensionOffer } from "../handshake/http.ts";
export type { ProtocolError, ProtocolErrorCode } from "../core/errors.ts";

/** Options of {@linkcode permessageDeflate}. */
export interface PermessageDeflateOptions {
  /**
   * Server: always reset the compression context after each message it sends (and say so).
   * Client: ask the server to do so. Either way the client keeps no receive window. Default false.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: ask the client to reset its compression context after each message, so the server
   * keeps no receive window. Client: reset its own context after each message (and say so).
   * Default false.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Base-2 logarithm of the window the server compresses with, 8..15. Server: the largest it
   * uses (a client may ask for less). Client: the largest it accepts, sent in its offer.
   * Default 15.
   */
  serverMaxWindowBits?: number;
  /**
   * Base-2 logarithm of the window the client compresses with, 8..15. Server: the largest it
   * accepts; below 15, offers that do not let the server limit the client's window are declined.
   * Client: the largest it uses, sent in its offer. Default 15.
   */
  clientMaxWindowBits?: number;
  /** Compression level, 0 (stored, no compression) to 9 (smallest, slowest), as zlib's. Default 6. */
  level?: number;
  /** Messages shorter than this many bytes are sent uncompressed. Default 128. */
  threshold?: number;
  /**
   * The largest ratio of inflated to compressed size a received message may reach once it
   * inflates past `inflateRatioFloor` bytes. Inflation stops as soon as a message's output
   * passes max(`inflateRatioFloor`, `maxInflateRatio` * compressed size), and the connection
   * fails with 1009 (`MESSAGE_TOO_BIG`), so hostile input costs at most this many bytes of work
   * per byte received. At least 1; `Infinity` turns the check off (`maxMessageSize` still
   * applies). Default 256: real data compresses 4-64 times (JSON, text, logs, sparse binary);
   * megabytes of a single byte or short pattern repeated, which is what decompression bombs
   * use, up to 1,032 times. Raise it if the peer sends such messages on purpose (a JSON array of
   * one record repeated verbatim over megabytes: 158 times by zlib at level 6, 300 by omniws).
   */
  maxInflateRatio?: number;
  /**
   * Received messages that inflate to at most this many bytes are never refused for their
   * ratio (small highly compressible messages are common and cheap). Default 1 MiB (1048576).
   */
  inflateRatioFloor?: number;
  /**
   * Client: after the offer carrying `serverNoContextTakeover` / `serverMaxWindowBits`, also
   * offer plain permessage-deflate, for servers that cannot honour those. Default false.
   */
  fallback?: boolean;
}

/** The parameters of one offer or response, validated. */
interface Params {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** 0 when absent. */
  serverMaxWindowBits: number;
  /** 0 when absent, -1 when present without a value (offers only). */
  clientMaxWindowBits: number;
}

/** The receiving and sending limits every connection of one factory shares. */
interface Config {
  threshold: number;
  maxInflateRatio: number;
  inflateRatioFloor: number;
}

const NAME = "permessage-deflate";
const RSV1 = 0x40;
const WINDOW_BITS = /^(?:8|9|1[0-5])$/;

/**
 * Read the parameters of an offer (`offer` true) or a response; null when one is unknown, has a
 * bad value or is repeated (RFC 7692 §7: decline such an offer, fail on such a response).
 */
function readParams(ext: ExtensionOffer, offer: boolean): Params | null {
  if (ext.repeatedParams !== undefined) return null;
  const p: Params = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 0,
    clientMaxWindowBits: 0,
  };
  for (const [name, value] of ext.params) {
    switch (name) {
      case "server_no_context_takeover":
        if (value !== true) return null;
        p.serverNoContextTakeover = true;
        break;
      case "client_no_context_takeover":
        if (value !== true) return null;
        p.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits":
        if (value === true || !WINDOW_BITS.test(value)) return null;
        p.serverMaxWindowBits = Number(value);
        break;
      case "client_max_window_bits":
        if (value === true) {
          if (!offer) return null;
          p.clientMaxWindowBits = -1;
        } else {
          if (!WINDOW_BITS.test(value)) return null;
          p.clientMaxWindowBits = Number(value);
        }
        break;
      default:
        return null;
    }
  }
  return p;
}

function checkBits(value: number | undefined, name: string): number {
  if (value === undefined) return 15;
  if (!Number.isInteger(value) || value < 8 || value > 15) {
    throw new RangeError(`Option ${name} must be an integer from 8 to 15, got ${value}`);
  }
  return value;
}

/** The `Sec-WebSocket-Extensions` element for the given parameters. */
function format(p: Params): string {
  let s = NAME;
  if (p.serverNoContextTakeover) s += "; server_no_context_takeover";
  if (p.clientNoContextTakeover) s += "; client_no_context_takeover";
  if (p.serverMaxWindowBits > 0) s += `; server_max_window_bits=${p.serverMaxWindowBits}`;
  if (p.clientMaxWindowBits === -1) s += "; client_max_window_bits";
  else if (p.clientMaxWindowBits > 0) s += `; client_max_window_bits=${p.clientMaxWindowBits}`;
  return s;
}

/** permessage-deflate active on one connection. */
class PerMessageDeflate implements Extension {
  readonly name: string = NAME;
  readonly rsvBits: number = RSV1;
  readonly #deflater: Deflater;
  readonly #inflater: Inflater;
  readonly #threshold: number;
  readonly #ratio: number;
  readonly #floor: number;

  constructor(deflater: Deflater, inflater: Inflater, config: Config) {
    this.#deflater = deflater;
    this.#inflater = inflater;
    this.#threshold = config.threshold;
    this.#ratio = config.maxInflateRatio;
    this.#floor = config.inflateRatioFloor;
  }

  encode(payload: Uint8Array, _binary: boolean): { payload: Uint8Array; rsv: number } {
    if (payload.length < this.#threshold) return { payload, rsv: 0 };
    const compressed = this.#deflater.deflateMessage(payload);
    // Without takeover nothing depends on this message having gone through the compressor, so
    // a message that did not shrink can go as it is.
    if (!this.#deflater.takeover && compressed.length >= payload.length) return { payload, rsv: 0 };
    return { payload: compressed, rsv: RSV1 };
  }

  decode(payload: Uint8Array, _rsv: number, maxSize: number): Uint8Array | ProtocolError {
    // The ratio bound, as an output limit: inflation stops as soon as it is crossed.
    const ratioLimit = this.#ratio === Infinity
      ? Infinity
      : Math.max(this.#floor, Math.floor(this.#ratio * payload.length));
    const limit = ratioLimit < maxSize ? ratioLimit : maxSize;
    const result = this.#inflater.inflateMessage(payload, limit);
    if (!(result instanceof InflateError)) return result;
    if (!result.tooBig) {
      return new ProtocolError(
        "EXTENSION_FAILED",
        `Compressed message is invalid: ${result.message}`,
        1007,
        0,
      );
    }
    return limit < maxSize
      ? new ProtocolError(
        "MESSAGE_TOO_BIG",
        `Compressed message of ${payload.length} bytes inflates to more than ${limit} bytes ` +
          `(over ${this.#ratio} times its size, the maxInflateRatio limit)`,
        1009,
        0,
      )
      : new ProtocolError(
        "MESSAGE_TOO_BIG",
        `Inflated message exceeds the limit of ${maxSize} bytes`,
        1009,
        0,
      );
  }
}

/**
 * The permessage-deflate extension (RFC 7692), for the `extensions` option of a server or a
 * client connection (and of the adapters' servers).
 *
 * @param options Context takeover, window sizes, compression level, threshold.
 * @returns The extension factory, usable by any number of connections of either role.
 *
 * @example Negotiating without context takeover and with a small server window
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientConnection, ServerConnection } from "@omniws/omniws";
 * import { permessageDeflate } from "@omniws/omniws/permessage-deflate";
 *
 * const client = new ClientConnection({
 *   host: "example.com",
 *   extensions: [permessageDeflate({ serverNoContextTakeover: true, serverMaxWindowBits: 10 })],
 * });
 * const server = new ServerConnection({ extensions: [permessageDeflate()] });
 * for (const bytes of client.takeOutput()) server.receive(bytes);
 * assert.equal(server.nextEvent()?.type, "request");
 * server.accept();
 * const response = new TextDecoder().decode(server.takeOutput()[0]);
 * assert.match(
 *   response,
 *   /Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10\r\n/,
 * );
 * ```
 */
export function permessageDeflate(options: PermessageDeflateOptions = {}): ExtensionFactory {
  const serverBits = checkBits(options.serverMaxWindowBits, "serverMaxWindowBits");
  const clientBits = checkBits(options.clientMaxWindowBits, "clientMaxWindowBits");
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`Option level must be an integer from 0 to 9, got ${level}`);
  }
  const threshold = options.threshold ?? 128;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new RangeError(`Option threshold must be a non-negative integer, got ${threshold}`);
  }
  const maxInflateRatio = options.maxInflateRatio ?? 256;
  if (typeof maxInflateRatio !== "number" || !(maxInflateRatio >= 1)) {
    throw new RangeError(
      `Option maxInflateRatio must be a number of at least 1 (Infinity: no limit), got ${maxInflateRatio}`,
    );
  }
  const inflateRatioFloor = options.inflateRatioFloor ?? 1 << 20;
  if (!Number.isSafeInteger(inflateRatioFloor) || inflateRatioFloor < 0) {
    throw new RangeError(
      `Option inflateRatioFloor must be a non-negative integer, got ${inflateRatioFloor}`,
    );
  }
  const config: Config = { threshold, maxInflateRatio, inflateRatioFloor };
  const serverNoContext = options.serverNoContextTakeover ?? false;
  const clientNoContext = options.clientNoContextTakeover ?? false;

  // What a client offers: its configuration first, then (fallback) plain compression.
  const offers: Params[] = [{
    serverNoContextTakeover: serverNoContext,
    clientNoContextTakeover: clientNoContext,
    serverMaxWindowBits: options.serverMaxWindowBits === undefined ? 0 : serverBits,
    clientMaxWindowBits: options.clientMaxWindowBits === undefined ? -1 : clientBits,
  }];
  if (options.fallback === true && (serverNoContext || options.serverMaxWindowBits !== undefined)) {
    offers.push({ ...offers[0], serverNoContextTakeover: false, serverMaxWindowBits: 0 });
  }

  return {
    name: NAME,

    offer(): string {
      return offers.map(format).join(", ");
    },

    accept(received: ExtensionOffer[]): { response: string; extension: Extension } | null {
      for (const ext of received) {
        const p = readParams(ext, true);
        if (p === null) continue; // RFC 7692 §7: decline an offer with bad parameters
        // The client's window: limited only if it lets us (client_max_window_bits in the offer).
        let inflateBits = 15;
        let responseClientBits = 0;
        if (p.clientMaxWindowBits !== 0) {
          inflateBits = Math.min(
            p.clientMaxWindowBits === -1 ? 15 : p.clientMaxWindowBits,
            clientBits,
          );
          if (inflateBits < 15) responseClientBits = inflateBits;
        } else if (clientBits < 15) {
          continue; // we need a smaller client window than this offer allows us to ask for
        }
        const deflateBits = Math.min(
          p.serverMaxWindowBits === 0 ? 15 : p.serverMaxWindowBits,
          serverBits,
        );
        const response: Params = {
          serverNoContextTakeover: p.serverNoContextTakeover || serverNoContext,
          // Also echoed when the client announced it: then no receive window is kept.
          clientNoContextTakeover: p.clientNoContextTakeover || clientNoContext,
          serverMaxWindowBits: p.serverMaxWindowBits !== 0 || deflateBits < 15 ? deflateBits : 0,
          clientMaxWindowBits: responseClientBits,
        };
        const extension = new PerMessageDeflate(
          new Deflater({
            level,
            windowBits: deflateBits,
            takeover: !response.serverNoContextTakeover,
          }),
          new Inflater(inflateBits, !response.clientNoContextTakeover),
          config,
        );
        return { response: format(response), extension };
      }
      return null;
    },

    accepted(response: ExtensionOffer): Extension | string {
      const p = readParams(response, false);
      if (p === null) {
        return "Server answered permessage-deflate with unknown or repeated parameters or bad values";
      }
      const matches = offers.some((o) =>
        (!o.serverNoContextTakeover || p.serverNoContextTakeover) &&
        (o.serverMaxWindowBits === 0 ||
          (p.serverMaxWindowBits !== 0 && p.serverMaxWindowBits <= o.serverMaxWindowBits)) &&
        (o.clientMaxWindowBits !== 0 || p.clientMaxWindowBits === 0)
      );
      if (!matches) {
        return "Server answered permessage-deflate with parameters that were not offered";
      }
      const deflateBits = Math.min(
        p.clientMaxWindowBits === 0 ? 15 : p.clientMaxWindowBits,
        clientBits,
      );
      return new PerMessageDeflate(
        new Deflater({
          level,
          windowBits: deflateBits,
          takeover: !(p.clientNoContextTakeover || clientNoContext),
        }),
        new Inflater(
          p.serverMaxWindowBits === 0 ? 15 : p.serverMaxWindowBits,
          !p.serverNoContextTakeover,
        ),
        config,
      );
    },
  };
}
