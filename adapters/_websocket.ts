/**
 * The browser-compatible `WebSocket` class, written once for every runtime.
 *
 * It follows the WHATWG WebSockets standard (constructor checks, `readyState`, `binaryType`,
 * `bufferedAmount`, `protocol`, `extensions`, `url`, `on*` handlers and `addEventListener` with
 * `MessageEvent` / `CloseEvent`, `close(code, reason)` checks) on top of the core connection and
 * the shared {@linkcode Driver}. A runtime adapter supplies only a {@linkcode Connector}: how to
 * open a TCP or TLS connection. Server-side sockets are instances of the same class.
 *
 * @module
 */

import type { ConnectionEvent } from "../core/connection.ts";
import type { UpgradeRequest, WebSocketVersion } from "../handshake/rfc6455.ts";
import { COALESCE_LIMIT, isValidCloseCode } from "../framing/rfc6455.ts";
import type { DriverHandlers } from "./_driver.ts";
import type { SocketBackend, SocketEvents } from "./_backend.ts";
import {
  bindConnector,
  type Connector,
  connectorOf,
  startClient,
  type WebSocketOptions,
} from "./_client.ts";
import type { AdapterError } from "./_errors.ts";

export type { Connector, ConnectTarget, TransportSink, WebSocketOptions } from "./_client.ts";

/**
 * How binary messages are delivered to a `WebSocket`'s listeners: the standard's `"blob"` and
 * `"arraybuffer"` (a copy into a buffer of its own), or `"bytes"`, a `Uint8Array` view of the
 * received bytes with no copy (non-standard here; Node's ws calls it `"nodebuffer"`).
 */
export type BinaryType = "blob" | "arraybuffer" | "bytes";

/**
 * A listener as `addEventListener` takes it: a function or an object with `handleEvent`.
 * Spelled out because Node's type package has no global name for it (the DOM's is
 * `EventListenerOrEventListenerObject`), so the published declarations need no DOM lib.
 */
export type WebSocketEventListener = ((event: Event) => void) | { handleEvent(event: Event): void };

/** Options of `addEventListener`, spelled out for the same reason as {@linkcode WebSocketEventListener}. */
export interface WebSocketListenerOptions {
  /** Listen in the capture phase. */
  capture?: boolean;
  /** Remove the listener after its first call. */
  once?: boolean;
  /** The listener will not call `preventDefault()`. */
  passive?: boolean;
  /** Remove the listener when this signal aborts. */
  signal?: AbortSignal;
}
/** An `on*` event handler property's value: called with the event, `this` being the socket. */
export type WebSocketEventHandler<E extends Event = Event> =
  | ((this: WebSocket, ev: E) => unknown)
  | null;

/** `CloseEvent` where the runtime lacks one (Node before 23). */
const CloseEventImpl: typeof CloseEvent =
  (globalThis as { CloseEvent?: typeof CloseEvent }).CloseEvent ??
    class CloseEvent extends Event {
      readonly code: number;
      readonly reason: string;
      readonly wasClean: boolean;
      constructor(type: string, init: CloseEventInit = {}) {
        super(type, init);
        this.code = init.code ?? 0;
        this.reason = init.reason ?? "";
        this.wasClean = init.wasClean ?? false;
      }
    } as unknown as typeof CloseEvent;

const encoder = new TextEncoder();
const SOCKET = Symbol("socket");
const DATA = Symbol("data");
const ORIGIN = Symbol("origin");

/**
 * A server socket being made by {@linkcode serverSocket}: the constructor takes its backend from
 * here (and leaves its event receiver), so nothing of it travels in the public options.
 */
let adopting: { backend: SocketBackend; url: string; events: SocketEvents | null } | null = null;

/**
 * A WebSocket with the browser's interface, on any runtime.
 *
 * @example Echo against a server
 * ```ts ignore
 * import { WebSocket } from "@omniws/omniws/node";
 * const ws = new WebSocket("ws://127.0.0.1:9001/");
 * ws.onopen = () => ws.send("hello");
 * ws.onmessage = (e) => { console.log(e.data); ws.close(); };
 * ```
 */
export class WebSocket extends EventTarget {
  /** The connection is being established. */
  static readonly CONNECTING = 0;
  /** The connection is open. */
  static readonly OPEN = 1;
  /** The closing handshake is under way. */
  static readonly CLOSING = 2;
  /** The connection is closed. */
  static readonly CLOSED = 3;
  /** The connection is being established. */
  readonly CONNECTING = 0;
  /** The connection is open. */
  readonly OPEN = 1;
  /** The closing handshake is under way. */
  readonly CLOSING = 2;
  /** The connection is closed. */
  readonly CLOSED = 3;

  readonly #url: string;
  readonly #origin: string;
  readonly #backend: SocketBackend;
  #readyState = 0;
  #binaryType: BinaryType = "blob";
  #protocol = "";
  #extensions = "";
  // The on<type> handlers; the listener wrapping one exists once it is registered.
  #handlers:
    | Record<string, { handler: Handler; listener: EventListener | null } | undefined>
    | null = null;
  /** Whether `onmessage`'s listener is registered with the EventTarget (see `#setHandler`). */
  #messageHandlerRegistered = false;
  /** Sends waiting behind a Blob being read; null when none ever waited. */
  #blobs: Promise<void> | null = null;
  #blobsPending = 0;
  #discarded = 0;
  #failed = false;
  #server = false;
  /** `message` listeners added with `addEventListener` ever (on* handlers not counted). */
  #messageListeners = 0;
  // Made on first use: most server sockets never need them, and idle sockets are many.
  #drainWaiters: Array<() => void> | null = null;
  #wrappers: WeakMap<WebSocketEventListener, (event: Event) => void> | null = null;

  /**
   * Open a connection (client), as `new WebSocket(url, protocols)` does in a browser.
   * @param url `ws:` or `wss:` URL (`http:`/`https:` are taken as `ws:`/`wss:`).
   * @param protocols A subprotocol or a list of them, most preferred first.
   * @param options Non-standard: headers, origin, version, limits, timeouts, TLS options.
   */
  constructor(
    url: string | URL,
    protocols: string | string[] = [],
    options: WebSocketOptions = {},
  ) {
    super();
    const adopt = adopting;
    adopting = null;
    if (adopt !== null) {
      // Server side: the handshake is done; events come from the session's backend.
      this.#url = adopt.url;
      this.#origin = originOf(adopt.url);
      this.#backend = adopt.backend;
      this.#server = true;
      this.#binaryType = "arraybuffer";
      this.#readyState = 1;
      this.#protocol = adopt.backend.protocol;
      this.#extensions = adopt.backend.extensions;
      adopt.events = new WebSocket.#Reports(this);
      return;
    }
    const connector = connectorOf(new.target, "WebSocket");
    const started = startClient(url, protocols, options, new WebSocket.#Reports(this), connector);
    this.#url = started.href;
    this.#origin = started.origin;
    this.#backend = started.driver;
  }

  /**
   * What the backend reports, passed on to the socket: an object of its own, declared inside the
   * class so that it reaches the socket's private members without exposing them.
   */
  static readonly #Reports = class implements DriverHandlers {
    readonly #socket: WebSocket;
    constructor(socket: WebSocket) {
      this.#socket = socket;
    }
    event(ev: ConnectionEvent): void {
      this.#socket.#onEvent(ev);
    }
    failure(error: AdapterError): void {
      this.#socket.#fire(errorEvent(error));
    }
    drained(): void {
      this.#socket.#wakeDrainWaiters();
    }
    uncaught(error: unknown): void {
      // A client has no server to report to: as browsers report a listener's exception.
      // deno-lint-ignore no-console
      console.error(error);
    }
  };

  /** The URL this socket connected to (client) or was requested at (server). */
  get url(): string {
    return this.#url;
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    return this.#readyState;
  }

  /** Bytes queued by `send()` and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#backend.bufferedAmount + this.#discarded;
  }

  /** The subprotocol the server chose, or an empty string. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions the server accepted, or an empty string. */
  get extensions(): string {
    return this.#extensions;
  }

  /** How binary messages are delivered: `"blob"` (client default) or `"arraybuffer"` (server default). */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    if (value === "blob" || value === "arraybuffer" || value === "bytes") this.#binaryType = value;
  }

  /** The protocol revision in use (non-standard), or null before the handshake. */
  get version(): WebSocketVersion | null {
    return this.#backend.version;
  }

  /** Called when the connection opens. */
  get onopen(): WebSocketEventHandler {
    return this.#handlers?.open?.handler ?? null;
  }
  set onopen(h: WebSocketEventHandler) {
    this.#setHandler("open", h);
  }
  /** Called with a `MessageEvent` for each message. */
  get onmessage(): WebSocketEventHandler<MessageEvent> {
    return this.#handlers?.message?.handler ?? null;
  }
  set onmessage(h: WebSocketEventHandler<MessageEvent>) {
    this.#setHandler("message", h);
  }
  /** Called when the connection fails. */
  get onerror(): WebSocketEventHandler {
    return this.#handlers?.error?.handler ?? null;
  }
  set onerror(h: WebSocketEventHandler) {
    this.#setHandler("error", h);
  }
  /** Called with a `CloseEvent` when the connection is closed. */
  get onclose(): WebSocketEventHandler<CloseEvent> {
    return this.#handlers?.close?.handler ?? null;
  }
  set onclose(h: WebSocketEventHandler<CloseEvent>) {
    this.#setHandler("close", h);
  }

  /**
   * Send a message: a string as text; an ArrayBuffer, a typed array or DataView, or a Blob as
   * binary. Throws `InvalidStateError` while connecting; discarded (counted in
   * `bufferedAmount`) once closing, as the standard says.
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#readyState === 0) {
      throw new DOMException("Cannot send: the connection is not open yet", "InvalidStateError");
    }
    let bytes: string | Uint8Array | null = null;
    if (typeof data === "string") bytes = data;
    else if (
      data instanceof ArrayBuffer ||
      (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer)
    ) {
      bytes = this.#snapshot(new Uint8Array(data));
    } else if (ArrayBuffer.isView(data)) {
      // A plain Uint8Array goes as it is; other views (and Buffers) as a Uint8Array of their bytes.
      bytes = this.#snapshot(
        data.constructor === Uint8Array
          ? data as Uint8Array
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
    } else if (typeof Blob !== "undefined" && data instanceof Blob) {
      // Blobs are read asynchronously; later sends wait behind them to keep the order.
      this.#blobsPending++;
      this.#blobs = (this.#blobs ?? Promise.resolve()).then(async () => {
        const buf = new Uint8Array(await data.arrayBuffer());
        this.#blobsPending--;
        this.#sendNow(buf);
      });
      return;
    } else {
      bytes = String(data);
    }
    if (this.#blobsPending > 0) {
      const b = bytes;
      this.#blobs = this.#blobs!.then(() => this.#sendNow(b));
      return;
    }
    this.#sendNow(bytes);
  }

  /**
   * What `send` hands the core: the caller may change its buffer once `send` returns, and the
   * core copies small payloads into their frame anyway, so only larger ones (or ones that
   * wait behind a Blob) are copied here.
   */
  #snapshot(view: Uint8Array): Uint8Array {
    if (view.length <= COALESCE_LIMIT && this.#blobsPending === 0) return view;
    // Not slice(): V8's slice costs about twice an allocation plus set() (64 KiB, Node 24).
    const copy = new Uint8Array(view.length);
    copy.set(view);
    return copy;
  }

  #sendNow(data: string | Uint8Array): void {
    if (this.#readyState !== 1 || this.#backend.state !== "open") {
      this.#discarded += typeof data === "string" ? encoder.encode(data).length : data.length;
      return;
    }
    this.#backend.send(data);
  }

  /**
   * Start the closing handshake.
   * @param code Client: 1000 or 3000-4999, as in browsers. Server: any code RFC 6455 lets an
   *   endpoint send (1000-1003, 1007-1014, 3000-4999), so a server can say 1001 "going away" or
   *   1008 "policy violation". `InvalidAccessError` otherwise.
   * @param reason Up to 123 bytes of UTF-8 (`SyntaxError` otherwise).
   */
  close(code?: number, reason?: string): void {
    if (
      code !== undefined &&
      !(this.#server
        ? sendableCode(code)
        : code === 1000 || (code >= 3000 && code <= 4999 && Number.isInteger(code)))
    ) {
      const allowed = this.#server ? "1000-1003, 1007-1014 or 3000-4999" : "1000 or 3000-4999";
      throw new DOMException(`Close code must be ${allowed}, got ${code}`, "InvalidAccessError");
    }
    const text = reason === undefined ? "" : String(reason);
    if (encoder.encode(text).length > 123) {
      throw new DOMException("Close reason must be at most 123 bytes of UTF-8", "SyntaxError");
    }
    if (this.#readyState >= 2) return;
    const backend = this.#backend;
    if (this.#readyState === 0) {
      this.#readyState = 2;
      this.#failed = true;
      this.#fire(
        errorEvent(new Error("WebSocket was closed before the connection was established")),
      );
      backend.abort();
    } else {
      this.#readyState = 2;
      if (code === undefined) backend.close();
      else backend.close(code, text);
    }
  }

  /** Non-standard: send a ping (not on hixie connections). */
  ping(data?: string | Uint8Array): void {
    this.#backend.ping(data);
  }

  /**
   * Non-standard: resolves once `bufferedAmount` is at most `threshold` bytes, for writers that
   * want backpressure with the event API.
   */
  drained(threshold = 0): Promise<void> {
    if (!(threshold >= 0)) {
      throw new RangeError(`drained() takes a threshold of 0 or more bytes, got ${threshold}`);
    }
    if (this.bufferedAmount <= threshold) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.bufferedAmount <= threshold || this.#readyState === 3) resolve();
        else (this.#drainWaiters ??= []).push(check);
      };
      (this.#drainWaiters ??= []).push(check);
    });
  }

  /**
   * Non-standard: stop reading from the peer (application flow control), so a peer that sends
   * faster than the application can handle is held back by TCP instead of buffered here.
   * Messages already received are still delivered. Timeouts do not run while paused.
   */
  pause(): void {
    this.#backend.pause();
  }

  /** Non-standard: read from the peer again after {@linkcode WebSocket.pause}. */
  resume(): void {
    this.#backend.resume();
  }

  /** Non-standard: whether reading is paused, by `pause()` or because the peer does not read. */
  get isPaused(): boolean {
    return this.#backend.paused;
  }

  /** An `on<type>` handler's call: an exception is reported and goes no further, as in browsers. */
  #call(handler: Handler, event: Event): void {
    try {
      handler.call(this, event);
    } catch (error) {
      this.#backend.reportUncaught(error);
    }
  }

  /** Waiters that are still short of room re-register themselves, so take the list first. */
  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    if (waiters === null || waiters.length === 0) return;
    this.#drainWaiters = null;
    for (const w of waiters) w();
  }

  #onEvent(ev: ConnectionEvent): void {
    switch (ev.type) {
      case "open":
        this.#readyState = 1;
        this.#protocol = ev.protocol;
        this.#extensions = ev.extensions;
        this.#fire(new Event("open"));
        break;
      case "message": {
        let data: string | ArrayBuffer | Blob | Uint8Array;
        if (typeof ev.data === "string") data = ev.data;
        else if (this.#binaryType === "arraybuffer") data = toArrayBuffer(ev.data);
        else if (this.#binaryType === "bytes") data = ev.data;
        else data = new Blob([ev.data as Uint8Array<ArrayBuffer>]);
        const event = messageEvent(data, this.#origin, this);
        if (this.#messageListeners > 0) {
          this.#fire(event);
        } else {
          // Only `onmessage` listens: call it without a dispatch, which costs as much as the
          // rest of an echo on some runtimes.
          const onmessage = this.#handlers?.message;
          if (onmessage !== undefined) this.#call(onmessage.handler, event);
        }
        break;
      }
      case "error":
        if (!this.#failed) {
          this.#failed = true;
          this.#fire(errorEvent(ev.error));
        }
        break;
      case "close":
        // As in browsers, close is its own task: code that awaited `open` or a message can still
        // add a close listener, and `close()` returns with readyState CLOSING.
        setTimeout(() => {
          this.#readyState = 3;
          this.#wakeDrainWaiters();
          this.#fire(
            new CloseEventImpl("close", {
              code: ev.code,
              reason: ev.reason,
              wasClean: ev.wasClean,
            }),
          );
        }, 0);
        break;
      default:
        break;
    }
  }

  #fire(event: Event): void {
    if (event.type === "error") this.#failed = true;
    this.dispatchEvent(event);
  }

  /**
   * Adds a listener. An exception thrown by it is reported (a server's `onError`, else
   * `console.error`) and does not propagate: Node's and Bun's EventTarget would rethrow it as an
   * uncaught exception and take a server down with it, where browsers report it and go on.
   */
  override addEventListener(
    type: string,
    listener: WebSocketEventListener | null,
    options?: boolean | WebSocketListenerOptions,
  ): void {
    if (listener === null) return;
    if (type === "message") {
      // onmessage, if set, was set first: it takes its place among the listeners now.
      if (this.#messageListeners++ === 0) this.#registerMessageHandler();
    }
    this.#wrappers ??= new WeakMap();
    let wrapper = this.#wrappers.get(listener);
    if (wrapper === undefined) {
      wrapper = (event: Event) => {
        try {
          if (typeof listener === "function") listener.call(this, event);
          else listener.handleEvent(event);
        } catch (error) {
          this.#backend.reportUncaught(error);
        }
      };
      this.#wrappers.set(listener, wrapper);
    }
    super.addEventListener(type, wrapper, options);
  }

  /** Removes a listener added with {@linkcode WebSocket.addEventListener}. */
  override removeEventListener(
    type: string,
    listener: WebSocketEventListener | null,
    options?: boolean | EventListenerOptions,
  ): void {
    const wrapper = listener === null ? undefined : this.#wrappers?.get(listener);
    if (wrapper !== undefined) super.removeEventListener(type, wrapper, options);
  }

  // deno-lint-ignore no-explicit-any
  #setHandler(type: string, handler: WebSocketEventHandler<any>): void {
    const handlers = this.#handlers ??= {};
    const old = handlers[type];
    if (typeof handler === "function" && old !== undefined) {
      // As in browsers, a handler replaced by another keeps its place among the listeners.
      old.handler = handler;
      return;
    }
    if (old !== undefined && old.listener !== null) super.removeEventListener(type, old.listener);
    if (type === "message") this.#messageHandlerRegistered = false;
    if (typeof handler !== "function") {
      handlers[type] = undefined;
      return;
    }
    handlers[type] = { handler, listener: null };
    // A lone onmessage is called directly (see #onEvent) and needs no listener until a
    // `message` listener is added; the others are dispatched and so registered at once.
    if (type !== "message" || this.#messageListeners > 0) this.#register(type);
  }

  #registerMessageHandler(): void {
    if (!this.#messageHandlerRegistered && this.#handlers?.message !== undefined) {
      this.#register("message");
    }
  }

  /** Register the `on<type>` handler as a listener, where dispatch does not call it already. */
  #register(type: string): void {
    const h = this.#handlers![type]!;
    if (type === "message") this.#messageHandlerRegistered = true;
    if (eventTargetCallsOnProperties()) return; // it would be called twice
    h.listener = (e: Event) => this.#call(h.handler, e);
    super.addEventListener(type, h.listener);
  }
}

/** An `on<type>` handler that is set. */
// deno-lint-ignore no-explicit-any
type Handler = NonNullable<WebSocketEventHandler<any>>;

let callsOnProperties: boolean | undefined;

/**
 * Whether this runtime's `EventTarget` itself calls a target's `on<type>` property when it
 * dispatches (workerd's does; browsers, Deno, Node and Bun leave that to the subclass). Probed
 * once, on first use, so importing the module has no side effects.
 */
function eventTargetCallsOnProperties(): boolean {
  if (callsOnProperties === undefined) {
    let called = false;
    const probe = Object.assign(new EventTarget(), { onomniwsprobe: () => (called = true) });
    probe.dispatchEvent(new Event("omniwsprobe"));
    callsOnProperties = called;
  }
  return callsOnProperties;
}

/** @internal A class whose constructor uses `connector`, for one runtime's adapter. */
export function withConnector(connector: Connector): typeof WebSocket {
  const Bound = class WebSocket extends WebSocketBase {};
  bindConnector(Bound, connector);
  return Bound;
}

/**
 * @internal Make the browser-style socket for an accepted server connection on `backend`;
 * returns it with the receiver its backend must report to.
 */
export function serverSocket(
  backend: SocketBackend,
  request: UpgradeRequest,
  secure: boolean,
): { socket: WebSocket; events: SocketEvents } {
  const url = `${secure ? "wss" : "ws"}://${request.host}${
    request.target.startsWith("/") ? request.target : "/"
  }`;
  const adopt = { backend, url, events: null as SocketEvents | null };
  adopting = adopt;
  try {
    const socket = new WebSocket(url);
    return { socket, events: adopt.events! };
  } finally {
    adopting = null;
  }
}

/**
 * The `message` event. The runtimes' own `MessageEvent` constructors validate their init
 * dictionary at a cost (Node's, from undici, takes about as long as the rest of an echo), so
 * sockets make this one: an `Event` with the same own properties, whose prototype chain goes
 * through `MessageEvent.prototype` where there is one, so `instanceof MessageEvent` holds.
 */
class WebSocketMessageEvent extends Event {
  // Symbol slots assigned in the constructor and read through getters on the prototype, as
  // browsers define `data` and `origin`. Class fields would run an initializer per event (a
  // tenth of an echo's CPU on Bun), and plain assignments to `data` would hit the getter-only
  // property of MessageEvent.prototype.
  declare [DATA]: unknown;
  declare [ORIGIN]: string;
  declare [SOCKET]: EventTarget;

  constructor(data: unknown, origin: string, socket: EventTarget) {
    super("message");
    this[DATA] = data;
    this[ORIGIN] = origin;
    this[SOCKET] = socket;
  }

  /** The message: a string, or bytes as the socket's `binaryType` says. */
  get data(): unknown {
    return this[DATA];
  }

  /** The origin of the socket's URL. */
  get origin(): string {
    return this[ORIGIN];
  }
}
let linkedMessageEvent = false;

/**
 * A message event for `socket`. On first use, `MessageEvent.prototype` goes into the chain, and
 * the prototype gets the rest of MessageEvent's fields and a `target` that holds without a
 * dispatch, so importing has no side effects and a lone `onmessage` can be called directly.
 */
function messageEvent(data: unknown, origin: string, socket: EventTarget): Event {
  if (!linkedMessageEvent) {
    linkedMessageEvent = true;
    const proto = WebSocketMessageEvent.prototype;
    if (typeof MessageEvent === "function") Object.setPrototypeOf(proto, MessageEvent.prototype);
    const socketOf = {
      get(this: WebSocketMessageEvent) {
        return this[SOCKET];
      },
    };
    Object.defineProperties(proto, {
      lastEventId: { value: "" },
      source: { value: null },
      ports: { value: Object.freeze([]) },
      target: socketOf,
      currentTarget: socketOf,
      srcElement: socketOf,
    });
  }
  return new WebSocketMessageEvent(data, origin, socket);
}

function sendableCode(code: number): boolean {
  return Number.isInteger(code) && isValidCloseCode(code);
}

/** The message's bytes as an ArrayBuffer of their own: never the larger buffer a view sits in. */
function toArrayBuffer(view: Uint8Array): ArrayBuffer {
  const buffer = view.buffer;
  if (
    view.byteOffset === 0 && view.byteLength === buffer.byteLength && buffer instanceof ArrayBuffer
  ) return buffer;
  // Not `view.slice()`: on a Node Buffer that is a view of the same memory, not a copy.
  return buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}

/** An `error` event carrying the cause (non-standard `error` and `message` properties). */
function errorEvent(error: Error): Event {
  const ev = new Event("error");
  Object.defineProperty(ev, "error", { value: error, enumerable: true });
  Object.defineProperty(ev, "message", { value: error.message, enumerable: true });
  return ev;
}

/** The base class, under a name the adapters' subclasses can extend. */
const WebSocketBase = WebSocket;
