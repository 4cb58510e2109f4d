// The chat application (examples/chat/) on this runtime's adapter, in process on loopback port 0:
// the JSON protocol and its rules on bad input, legacy clients in the room, the command-line
// client, and the page itself in Chromium (two users, hixie-76 and hixie-75 clients, markup shown
// as text, the rate limit's close reason, reconnecting after a restart; a screenshot is saved to
// test-artifacts/chat.png).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { WebSocket } from "../adapters/_websocket.ts";
import {
  ChatRoom,
  type ChatServer,
  type ChatSocket,
  RATE_LIMIT_CLOSE,
  startChat,
} from "../examples/chat/server.ts";
import type { ServerMessage, Version } from "../examples/chat/protocol.ts";
import { type Adapter, loadAdapter, RUNTIME } from "./_runtime.ts";
import { type Browser, hasChromium, launchChromium } from "./_browser.ts";
import { ROOT, skipUnlessPeer } from "./_servers.ts";

const adapter: Adapter = await loadAdapter();
const quiet = (): void => {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Clients not yet closed: closed by each describe's after(), so a failed test ends the file. */
const openClients = new Set<Client>();

/** Close every client a failed test left open, waiting at most 2 s for their close events. */
async function closeLeftovers(): Promise<void> {
  const closing = [...openClients].map((c) => c.close());
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(closing),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
  ]);
  clearTimeout(timer);
  openClients.clear();
}

/** A chat client on this runtime's WebSocket, speaking any revision, that keeps what it receives. */
class Client {
  readonly ws: WebSocket;
  /** Messages received and not yet taken by `expect`. */
  readonly inbox: ServerMessage[] = [];
  readonly closed: Promise<CloseEvent>;

  constructor(url: string, version: Version = 13) {
    this.ws = new adapter.WebSocket(url, [], { version });
    this.ws.onmessage = (e) => this.inbox.push(JSON.parse(e.data as string) as ServerMessage);
    this.closed = new Promise((resolve) => (this.ws.onclose = (e) => resolve(e)));
    openClients.add(this);
    void this.closed.then(() => openClients.delete(this));
  }

  /** Connect and wait for `hello`. */
  static async open(url: string, version: Version = 13): Promise<Client> {
    const c = new Client(url, version);
    await c.expect((m) => m.type === "hello", "hello");
    return c;
  }

  /** Connect and join as `nick`. */
  static async join(url: string, nick: string, version: Version = 13): Promise<Client> {
    const c = await Client.open(url, version);
    c.send({ type: "join", nick });
    await c.expect((m) => m.type === "welcome", `welcome of ${nick}`);
    return c;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  say(text: string): void {
    this.send({ type: "message", text });
  }

  /** Take the first received message that matches; wait up to 5 s for it. */
  async expect<T extends ServerMessage = ServerMessage>(
    match: (m: ServerMessage) => boolean,
    what: string,
  ): Promise<T> {
    let found = -1;
    await waitFor(
      () => (found = this.inbox.findIndex(match)) >= 0,
      `${what} (got ${JSON.stringify(this.inbox).slice(0, 300)})`,
    );
    return this.inbox.splice(found, 1)[0] as T;
  }

  /** Take the next error, which must have `code`. */
  async error(code: string): Promise<string> {
    const e = await this.expect<Extract<ServerMessage, { type: "error" }>>(
      (m) => m.type === "error",
      `error ${code}`,
    );
    assert.equal(e.code, code, e.message);
    return e.message;
  }

  async close(): Promise<void> {
    if (this.ws.readyState < 2) this.ws.close();
    await this.closed;
  }
}

const isMessage = (text: string) => (m: ServerMessage) => m.type === "message" && m.text === text;

describe(`chat protocol on ${RUNTIME}`, () => {
  let chat: ChatServer;
  before(async () => {
    // Generous rate limits here; the flood test has its own server with the defaults.
    chat = await startChat(adapter.serve, { port: 0, log: quiet, burst: 1000, perSecond: 1000 });
  });
  after(async () => {
    await closeLeftovers();
    await chat.close();
  });

  test("a newcomer gets hello, then welcome with the presence list; others see join and leave with its version", async () => {
    const ada = await Client.join(chat.wsUrl, "ada");
    const grace = new Client(chat.wsUrl, 8);
    const hello = await grace.expect<Extract<ServerMessage, { type: "hello" }>>(
      (m) => m.type === "hello",
      "hello",
    );
    assert.deepEqual([hello.room, hello.version, hello.users], ["lobby", 8, [{
      nick: "ada",
      version: 13,
    }]]);
    assert.deepEqual(hello.limits, { maxText: 2000, maxNick: 24, burst: 1000, perSecond: 1000 });
    grace.send({ type: "join", nick: "grace" });
    const welcome = await grace.expect<Extract<ServerMessage, { type: "welcome" }>>(
      (m) => m.type === "welcome",
      "welcome",
    );
    assert.equal(welcome.nick, "grace");
    assert.equal(welcome.room, "lobby");
    assert.equal(welcome.version, 8);
    assert.deepEqual(welcome.users, [{ nick: "ada", version: 13 }, { nick: "grace", version: 8 }]);
    const joined = await ada.expect<Extract<ServerMessage, { type: "join" }>>(
      (m) => m.type === "join",
      "join notice",
    );
    assert.equal(joined.nick, "grace");
    assert.equal(joined.version, 8);
    assert.ok(Math.abs(joined.time - Date.now()) < 5000, "server time");
    grace.say("hello, ada");
    const said = await ada.expect<Extract<ServerMessage, { type: "message" }>>(
      isMessage("hello, ada"),
      "grace's message",
    );
    assert.equal(said.nick, "grace");
    assert.equal(said.version, 8);
    await grace.expect(isMessage("hello, ada"), "the sender's own copy");
    await grace.close();
    const left = await ada.expect<Extract<ServerMessage, { type: "leave" }>>(
      (m) => m.type === "leave",
      "leave notice",
    );
    assert.equal(left.nick, "grace");
    assert.deepEqual(left.users, [{ nick: "ada", version: 13 }]);
    await ada.close();
    await waitFor(() => chat.room.connections === 0, "the room to empty");
  });

  test("hixie-76, hixie-75, hybi-07 and RFC 6455 clients share one room", async () => {
    const modern = await Client.join(chat.wsUrl, "modern");
    const h76 = await Client.join(chat.wsUrl, "safari5", "hixie-76");
    const h75 = await Client.join(chat.wsUrl, "chrome4", "hixie-75");
    const h07 = await Client.join(chat.wsUrl, "firefox6", 7);
    assert.deepEqual(chat.room.users, [
      { nick: "chrome4", version: "hixie-75" },
      { nick: "firefox6", version: 7 },
      { nick: "modern", version: 13 },
      { nick: "safari5", version: "hixie-76" },
    ]);
    const clients = [modern, h76, h75, h07];
    const lines: Array<[Client, string]> = [[h76, "from 2010 ✓"], [h75, "from 2009 ✓"], [
      h07,
      "hybi-07",
    ], [modern, "today"]];
    for (const [from, text] of lines) {
      from.say(text);
      for (const c of clients) await c.expect(isMessage(text), `${text} at every client`);
    }
    for (const c of clients) await c.close();
    await waitFor(() => chat.room.connections === 0, "the room to empty");
  });

  test("history: a newcomer gets the last 100 of 101 messages, oldest first", async () => {
    const chatty = await Client.join(chat.wsUrl, "chatty");
    for (let i = 1; i <= 101; i++) chatty.say(`m${i}`);
    await chatty.expect(isMessage("m101"), "the last message");
    const late = await Client.open(chat.wsUrl);
    late.send({ type: "join", nick: "late" });
    const welcome = await late.expect<Extract<ServerMessage, { type: "welcome" }>>(
      (m) => m.type === "welcome",
      "welcome",
    );
    assert.equal(welcome.history.length, 100);
    assert.deepEqual(
      welcome.history.map((m) => m.text),
      Array.from({ length: 100 }, (_, i) => `m${i + 2}`),
    );
    for (let i = 1; i < 100; i++) {
      assert.equal(welcome.history[i]!.id, welcome.history[i - 1]!.id + 1);
    }
    assert.ok(
      welcome.history.every((m) =>
        m.nick === "chatty" && m.version === 13 && typeof m.time === "number"
      ),
    );
    await chatty.close();
    await late.close();
  });

  test("malformed input is answered with an error and the connection stays open", async () => {
    const c = await Client.open(chat.wsUrl, "hixie-76");
    c.say("too early");
    await c.error("NOT_JOINED");
    c.send("not json {");
    await c.error("BAD_JSON");
    for (const bad of ["[1,2]", "null", "42", '"join"', '{"nick":"x"}', '{"type":7}']) {
      c.send(bad);
      await c.error("BAD_MESSAGE");
    }
    c.send({ type: "shout", text: "hi" });
    assert.match(await c.error("UNKNOWN_TYPE"), /Unknown message type "shout"/);
    c.send({ type: "join", nick: "tester" });
    await c.expect((m) => m.type === "welcome", "welcome");
    c.send({ type: "join", nick: "again" });
    await c.error("ALREADY_JOINED");
    c.send({ type: "message", text: 42 });
    await c.error("BAD_MESSAGE");
    c.say("   ");
    await c.error("EMPTY");
    c.say("x".repeat(2001));
    assert.equal(await c.error("TOO_LONG"), "Message is too long: 2001 characters, at most 2000");
    c.say("y".repeat(2000));
    await c.expect(isMessage("y".repeat(2000)), "a message of exactly 2000 characters");
    await c.close();
  });

  test("binary frames are refused with an error", async () => {
    const c = await Client.join(chat.wsUrl, "binary");
    c.ws.send(new Uint8Array([1, 2, 3]));
    await c.error("BINARY");
    c.say("still here");
    await c.expect(isMessage("still here"), "a message after the refusal");
    await c.close();
  });

  test("nickname rules: 1 to 24 letters, digits, _ - . ; unique regardless of case", async () => {
    const c = await Client.open(chat.wsUrl);
    for (const nick of ["", "   ", "x".repeat(25)]) {
      c.send({ type: "join", nick });
      assert.equal(await c.error("NICK_INVALID"), "Nickname must be 1 to 24 characters");
    }
    for (const nick of ["a b", "<b>", "ada!", "tab\there"]) {
      c.send({ type: "join", nick });
      assert.match(await c.error("NICK_INVALID"), /letters, digits/);
    }
    c.send({ type: "join", nick: 42 });
    await c.error("BAD_MESSAGE");
    c.send({ type: "join", nick: "  Zoë_1.x-y  " });
    const welcome = await c.expect<Extract<ServerMessage, { type: "welcome" }>>(
      (m) => m.type === "welcome",
      "welcome",
    );
    assert.equal(welcome.nick, "Zoë_1.x-y");
    const other = await Client.open(chat.wsUrl);
    other.send({ type: "join", nick: "ZOË_1.X-Y" });
    assert.equal(await other.error("NICK_TAKEN"), "Nickname ZOË_1.X-Y is taken: choose another");
    other.send({ type: "join", nick: "z".repeat(24) });
    await other.expect((m) => m.type === "welcome", "a 24-character nickname");
    await c.close();
    await other.close();
  });

  test("plain HTTP on the same port: the page with a hash-based CSP, 426 on /ws, 404 and 405 elsewhere", async () => {
    const page = await fetch(chat.url);
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(
      page.headers.get("content-security-policy") ?? "",
      /script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-/,
    );
    assert.match(html, /<title>omniws chat<\/title>/);
    assert.doesNotMatch(
      html,
      /innerHTML|insertAdjacentHTML|outerHTML|document\.write/,
      "the page builds its DOM with textContent",
    );
    const ws = await fetch(chat.wsUrl.replace("ws:", "http:"));
    assert.equal(ws.status, 426);
    await ws.text();
    const missing = await fetch(new URL("/nope", chat.url));
    assert.equal(missing.status, 404);
    await missing.text();
    const post = await fetch(chat.url, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    await post.text();
    const elsewhere = new adapter.WebSocket(chat.wsUrl.replace("/ws", "/other"));
    const closed = await new Promise<CloseEvent>((resolve) => (elsewhere.onclose = resolve));
    assert.equal(closed.code, 1006, "an upgrade on another path is refused");
  });

  test("the command-line client joins with hixie-75, sends a line from stdin and prints the room", {
    timeout: 60_000,
  }, async () => {
    const watcher = await Client.join(chat.wsUrl, "watcher");
    const cli = join(ROOT, "examples/chat/cli.ts");
    const args = ["--url", chat.wsUrl, "--version", "hixie-75", "--nick", "cli75"];
    const child = RUNTIME === "deno"
      ? spawn(process.execPath, ["run", "--allow-net", "--allow-env", cli, ...args], { cwd: ROOT })
      : spawn(process.execPath, [cli, ...args], { cwd: ROOT });
    let output = "";
    child.stdout!.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
    child.stderr!.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code))
    );
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      child.stdin!.end("hello from the command line\n");
      const joined = await watcher.expect<Extract<ServerMessage, { type: "join" }>>(
        (m) => m.type === "join",
        "the CLI's join",
      );
      assert.deepEqual([joined.nick, joined.version], ["cli75", "hixie-75"]);
      const said = await watcher.expect<Extract<ServerMessage, { type: "message" }>>(
        isMessage("hello from the command line"),
        "the CLI's line",
      );
      assert.equal(said.version, "hixie-75");
      assert.equal(await exited, 0, output);
      assert.match(output, /connected to .* speaking hixie-75/);
      assert.match(output, /joined #lobby as cli75/);
      assert.match(output, /\] cli75: hello from the command line/);
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
      await watcher.close();
    }
  });
});

describe(`chat rate limit on ${RUNTIME}`, () => {
  test("a flooding client gets one warning, then closing and close 4008 'Too many messages'; the room sees it leave", async () => {
    const chat = await startChat(adapter.serve, { port: 0, log: quiet });
    try {
      const calm = await Client.join(chat.wsUrl, "calm");
      const flood = await Client.join(chat.wsUrl, "flood", "hixie-76");
      const hybi = await Client.join(chat.wsUrl, "flood13");
      for (let i = 0; i < 40; i++) hybi.say(`spam ${i}`);
      const close = await hybi.closed;
      assert.equal(close.code, RATE_LIMIT_CLOSE.code);
      assert.equal(close.reason, "Too many messages");
      const warnings = hybi.inbox.filter((m) => m.type === "error");
      assert.equal(warnings.length, 1, "one warning, not one per dropped message");
      assert.equal(warnings[0]!.type === "error" && warnings[0]!.code, "RATE_LIMITED");
      assert.deepEqual(hybi.inbox.at(-1), {
        type: "closing",
        code: 4008,
        reason: "Too many messages",
      });
      assert.equal(
        hybi.inbox.filter((m) => m.type === "message").length,
        9,
        "the burst (10, less the join) went through",
      );
      // A hixie-76 client gets no close code: the closing message says why.
      for (let i = 0; i < 40; i++) flood.say(`spam ${i}`);
      await flood.expect(
        (m) => m.type === "closing" && m.code === 4008 && m.reason === "Too many messages",
        "closing",
      );
      assert.equal((await flood.closed).code, 1005);
      await calm.expect((m) => m.type === "leave" && m.nick === "flood13", "flood13 leaving");
      await calm.expect((m) => m.type === "leave" && m.nick === "flood", "flood leaving");
      assert.deepEqual(chat.room.users, [{ nick: "calm", version: 13 }]);
      await calm.close();
    } finally {
      await chat.close();
    }
  });

  test("the token bucket refills at perSecond and forgives dropped messages at one per second", () => {
    let now = 0;
    const room = new ChatRoom({
      burst: 3,
      perSecond: 1,
      maxStrikes: 2,
      now: () => now,
      log: quiet,
    });
    const socket = new FakeSocket();
    room.add(socket);
    socket.receive({ type: "join", nick: "x" }); // 1 token
    socket.receive({ type: "message", text: "1" });
    socket.receive({ type: "message", text: "2" }); // bucket empty
    socket.receive({ type: "message", text: "3" }); // dropped, warned (strike 1)
    socket.receive({ type: "message", text: "4" }); // dropped silently (strike 2)
    assert.deepEqual(socket.types(), ["hello", "welcome", "message", "message", "error"]);
    now += 1000; // one token back, one strike forgiven
    socket.receive({ type: "message", text: "5" });
    assert.equal(socket.types().at(-1), "message");
    socket.receive({ type: "message", text: "6" }); // strike 2
    socket.receive({ type: "message", text: "7" }); // strike 3 > 2: closed
    assert.deepEqual(socket.types().slice(-2), ["error", "closing"]);
    assert.deepEqual(socket.closedWith, [4008, "Too many messages"]);
    assert.equal(room.connections, 0);
    assert.deepEqual(room.history.map((m) => m.text), ["1", "2", "5"]);
  });
});

/** A socket for driving a {@linkcode ChatRoom} by hand. */
class FakeSocket extends EventTarget implements ChatSocket {
  readonly version: Version = 13;
  readyState = 1;
  readonly sent: ServerMessage[] = [];
  closedWith: [number | undefined, string | undefined] | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as ServerMessage);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
  receive(message: unknown): void {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
  types(): string[] {
    return this.sent.map((m) => m.type);
  }
}

// ---- the page in Chromium ------------------------------------------------------------------

// deno-lint-ignore no-explicit-any
type Page = any;

/** A JavaScript expression for the page: whether a message with exactly `text` is shown. */
const shows = (text: string): string =>
  `[...document.querySelectorAll("#messages .msg .text")].some((e) => e.textContent === ${
    JSON.stringify(text)
  })`;
const WAIT = { timeout: 15_000 };

/**
 * Wait until a JavaScript expression is true in the page. Playwright's `waitForFunction` polls
 * with `eval` inside the page, which the page's Content-Security-Policy forbids (as it should);
 * `evaluate` goes through the DevTools protocol, which the policy does not govern.
 */
async function until(page: Page, expression: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${ms} ms waiting for ${expression}`);
    }
    await sleep(25);
  }
}

describe(`chat page in Chromium on ${RUNTIME}`, {
  skip: skipUnlessPeer(hasChromium(), "chromium is not installed"),
}, () => {
  let browser: Browser;
  let chat: ChatServer;
  // Two people, kept open across the tests below (a Chromium page costs a few hundred ms).
  let ada: Page;
  let grace: Page;

  async function openPage(url: string, nick: string): Promise<Page> {
    const page = await browser.browser.newPage();
    await page.setViewportSize({ width: 1040, height: 660 });
    await page.goto(url);
    await page.fill("#nick", nick);
    await page.click("#join-button", WAIT);
    await page.waitForSelector("#join", { state: "hidden", ...WAIT });
    return page;
  }

  async function say(page: Page, text: string): Promise<void> {
    // A background tab's animation frames are throttled, and Playwright's click waits on them.
    await page.bringToFront();
    await page.fill("#text", text);
    await page.click("#send");
  }

  before(async () => {
    [browser, chat] = await Promise.all([
      launchChromium(),
      startChat(adapter.serve, { port: 0, log: quiet }),
    ]);
    ada = await openPage(chat.url, "ada");
    grace = await openPage(chat.url, "grace");
  });
  after(async () => {
    await closeLeftovers();
    await browser?.close();
    await chat?.close();
  });

  test(
    "two pages chat both ways, see presence change, and hixie-76 and hixie-75 clients join in; screenshot",
    { timeout: 60_000 },
    async () => {
      assert.equal(await ada.textContent("#room-title"), "#lobby");
      assert.equal(await ada.textContent("#status-text"), "Online as ada");
      await ada.waitForSelector('#users li[data-nick="grace"]', WAIT);
      await until(
        ada,
        `[...document.querySelectorAll(".notice")].some((e) => e.textContent.startsWith("grace joined"))`,
      );
      assert.equal(await ada.textContent("#count"), "2");

      await say(ada, "Hi Grace! This chat runs on omniws.");
      await until(grace, shows("Hi Grace! This chat runs on omniws."));
      await say(grace, "Hello Ada, it works in my browser too.");
      await until(ada, shows("Hello Ada, it works in my browser too."));

      const h76 = await Client.join(chat.wsUrl, "safari5", "hixie-76");
      const h75 = await Client.join(chat.wsUrl, "chrome4", "hixie-75");
      await ada.waitForSelector('#users li[data-nick="chrome4"]', WAIT);
      await until(grace, `document.getElementById("count").textContent === "4"`);
      assert.equal(await ada.textContent('#users li[data-nick="safari5"] .ver'), "hixie-76");
      assert.equal(await ada.textContent('#users li[data-nick="chrome4"] .ver'), "hixie-75");
      await until(
        ada,
        `[...document.querySelectorAll(".notice")].some((e) => e.textContent.startsWith("safari5 joined · hixie-76"))`,
      );
      h76.say("Greetings from a 2010 browser (hixie-76).");
      await until(ada, shows("Greetings from a 2010 browser (hixie-76)."));
      h75.say("And from 2009, speaking hixie-75!");
      for (const page of [ada, grace]) {
        await until(page, shows("Greetings from a 2010 browser (hixie-76)."));
        await until(page, shows("And from 2009, speaking hixie-75!"));
      }
      const welcome = "Welcome, legacy friends — ¡hola! ✓";
      await say(grace, welcome);
      await h76.expect(isMessage(welcome), "the page's message at the hixie-76 client");
      await h75.expect(isMessage(welcome), "the page's message at the hixie-75 client");
      await until(ada, shows(welcome));
      assert.equal(await ada.textContent("#messages .msg:last-child .nick"), "grace");

      mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
      await ada.bringToFront();
      await ada.screenshot({ path: join(ROOT, "test-artifacts/chat.png") });
      await grace.bringToFront();
      await grace.setViewportSize({ width: 390, height: 700 });
      await grace.screenshot({ path: join(ROOT, "test-artifacts/chat-narrow.png") });
      await grace.setViewportSize({ width: 1040, height: 660 });

      await h75.close();
      await until(ada, `!document.querySelector('#users li[data-nick="chrome4"]')`);
      await until(
        ada,
        `[...document.querySelectorAll(".notice")].some((e) => e.textContent.startsWith("chrome4 left"))`,
      );
      await h76.close();
      await until(grace, `document.getElementById("count").textContent === "2"`);
    },
  );

  test("markup in a message is shown as text: no element is made, no script runs", {
    timeout: 30_000,
  }, async () => {
    const payload = "<img src=x onerror=alert(1)><script>alert(2)</script><b>bold</b>";
    let dialogs = 0;
    ada.on("dialog", (d: { dismiss(): Promise<void> }) => {
      dialogs++;
      void d.dismiss();
    });
    await say(grace, payload);
    await until(ada, shows(payload));
    const dom = await ada.evaluate(`({
      elements: document.querySelectorAll("#messages img, #messages script, #messages b").length,
      text: [...document.querySelectorAll("#messages .msg .text")].at(-1).textContent,
    })`);
    assert.deepEqual(dom, { elements: 0, text: payload });
    await sleep(100);
    assert.equal(dialogs, 0);
  });

  test("a flooding page is warned, then disconnected, and shows 'Too many messages (4008)'", {
    timeout: 30_000,
  }, async () => {
    await grace.evaluate(`(() => {
      const form = document.getElementById("compose"), text = document.getElementById("text");
      for (let i = 0; i < 40; i++) { text.value = "flood " + i; form.requestSubmit(); }
    })()`);
    await until(
      grace,
      `document.getElementById("banner-text").textContent.includes("Too many messages")`,
    );
    assert.equal(
      await grace.textContent("#banner-text"),
      "Disconnected by the server: Too many messages (4008)",
    );
    assert.equal(await grace.textContent("#status-text"), "Disconnected");
    assert.match(await grace.textContent(".notice.warn"), /Too many messages: slow down/);
    assert.equal(await grace.isDisabled("#text"), true);
    await until(ada, `!document.querySelector('#users li[data-nick="grace"]')`);
    await grace.screenshot({ path: join(ROOT, "test-artifacts/chat-rate-limited.png") });
  });

  test("the page reconnects with backoff after a restart, says so, and rejoins with its nickname", {
    timeout: 60_000,
  }, async () => {
    let own = await startChat(adapter.serve, { port: 0, log: quiet });
    const port = own.port;
    try {
      const page = await openPage(own.url, "phoenix");
      await own.close();
      await until(
        page,
        `/^Connection lost\\. Reconnecting in \\d+ s…$/.test(document.getElementById("banner-text").textContent)`,
      );
      assert.equal(await page.textContent("#status-text"), "Offline");
      assert.equal(await page.isDisabled("#text"), true);
      own = await startChat(adapter.serve, { port, log: quiet });
      await until(
        page,
        `document.getElementById("status-text").textContent === "Online as phoenix"`,
        20_000,
      );
      assert.deepEqual(own.room.users.map((u) => u.nick), ["phoenix"]);
      assert.equal(await page.isHidden("#banner"), true);
      const notices = await page.evaluate(
        `[...document.querySelectorAll(".notice")].map((e) => e.textContent)`,
      ) as string[];
      assert.ok(notices.includes("Connection lost: Server is shutting down"), notices.join(" | "));
      assert.ok(
        notices.includes("The server restarted: the history starts again"),
        notices.join(" | "),
      );
      assert.ok(notices.includes("Reconnected as phoenix"), notices.join(" | "));
      await say(page, "back again");
      await until(page, shows("back again"));
      await page.close();
    } finally {
      await own.close();
    }
  });
});
