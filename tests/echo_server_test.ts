// The echo server (examples/echo_server.ts on Deno) against raw protocol violations and against
// Python's `websockets` client. Loopback only; every wait is bounded.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { spawn } from "node:child_process";
import {
  bin,
  hasPythonModule,
  PYTHON,
  ROOT,
  type RunningServer,
  skipUnlessPeer,
  startServer,
} from "./_servers.ts";
import type { ChildProcess } from "node:child_process";

const HANDSHAKE =
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** A client frame; `mask: false` sends it unmasked (a violation). */
function frame(first: number, payload: Uint8Array, mask = true, lengthOverride?: number): Buffer {
  const len = lengthOverride ?? payload.length;
  const head: number[] = [first];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {head.push(
      m | 127,
      0,
      0,
      0,
      0,
      (len >>> 24) & 0xff,
      (len >>> 16) & 0xff,
      (len >>> 8) & 0xff,
      len & 0xff,
    );}
  const key = [0x11, 0x22, 0x33, 0x44];
  const body = Buffer.from(payload);
  if (mask) {
    head.push(...key);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  }
  return Buffer.concat([Buffer.from(head), body]);
}

const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => new TextEncoder().encode(s);

interface RawResult {
  closeCode: number | null;
  ended: boolean;
  echoed: string[];
}

/** Handshake, send `frames`, read until the server closes; parse what the server sent. */
function rawSession(port: number, frames: Buffer[]): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let sent = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`No close within 5 s; got ${JSON.stringify(buf.toString("latin1"))}`));
    }, 5000);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (!sent && buf.includes("\r\n\r\n")) {
        sent = true;
        for (const f of frames) s.write(f);
      }
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      const head = buf.indexOf("\r\n\r\n");
      assert.ok(buf.subarray(0, head).toString().startsWith("HTTP/1.1 101 "));
      let p = head + 4;
      const result: RawResult = { closeCode: null, ended: true, echoed: [] };
      while (p + 2 <= buf.length) {
        const op = buf[p] & 0x0f;
        let len = buf[p + 1] & 0x7f;
        p += 2;
        if (len === 126) {
          len = buf.readUInt16BE(p);
          p += 2;
        }
        const payload = buf.subarray(p, p + len);
        p += len;
        if (op === 8) result.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        else result.echoed.push(payload.toString());
      }
      resolve(result);
    });
    s.write(HANDSHAKE);
  });
}

describe("echo server", () => {
  let server: RunningServer;
  /** Peer processes still running: killed after the tests, whatever happened. */
  const children = new Set<ChildProcess>();
  before(async () => {
    server = await startServer(bin("deno"), [
      "run",
      "--allow-net",
      "--allow-env",
      "examples/echo_server.ts",
    ]);
  });
  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    await server?.stop();
  });

  const violations: Array<[string, Buffer[], number]> = [
    ["an unmasked frame", [frame(0x81, text("hi"), false)], 1002],
    ["reserved opcode 3", [frame(0x83, text("x"))], 1002],
    ["reserved opcode 11", [frame(0x8b, text("x"))], 1002],
    ["RSV1 without an extension", [frame(0xc1, text("x"))], 1002],
    ["RSV3 without an extension", [frame(0x91, text("x"))], 1002],
    ["a 126-byte ping", [frame(0x89, new Uint8Array(126))], 1002],
    ["a fragmented ping", [frame(0x09, text("p"))], 1002],
    ["an orphan continuation", [frame(0x80, text("x"))], 1002],
    [
      "a text frame during a fragmented message",
      [frame(0x01, text("a")), frame(0x81, text("b"))],
      1002,
    ],
    ["invalid UTF-8", [frame(0x81, bytes(0x48, 0xc3, 0x28))], 1007],
    ["a surrogate in UTF-8", [frame(0x81, bytes(0xed, 0xa0, 0x80))], 1007],
    ["invalid UTF-8 split across fragments", [
      frame(0x01, bytes(0xce, 0xba, 0xe1)),
      frame(0x80, bytes(0xbd, 0x28)),
    ], 1007],
    ["UTF-8 truncated at the message end", [
      frame(0x01, bytes(0x41, 0xe2)),
      frame(0x80, bytes(0x82)),
    ], 1007],
    ["close code 1005", [frame(0x88, bytes(0x03, 0xed))], 1002],
    ["close code 999", [frame(0x88, bytes(0x03, 0xe7))], 1002],
    ["close code 5000", [frame(0x88, bytes(0x13, 0x88))], 1002],
    ["a 1-byte close payload", [frame(0x88, bytes(0x03))], 1002],
    ["a close reason that is not UTF-8", [frame(0x88, bytes(0x03, 0xe8, 0xff))], 1007],
  ];

  test("server answers each violation with the RFC 6455 close code and closes TCP, serving others meanwhile", async () => {
    // A well-behaved client stays connected throughout and must keep being served.
    const bystander = net.connect(server.port, "127.0.0.1");
    try {
      let got = Buffer.alloc(0);
      bystander.on("data", (d) => (got = Buffer.concat([got, d])));
      bystander.on("error", () => {});
      bystander.write(HANDSHAKE);
      for (const [name, frames, code] of violations) {
        const r = await rawSession(server.port, frames);
        assert.equal(r.closeCode, code, `${name}: close code`);
        assert.ok(r.ended, `${name}: TCP closed`);
      }
      bystander.write(frame(0x81, text("still here")));
      const deadline = Date.now() + 5000;
      while (!got.includes("still here") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(got.includes("still here"), "the bystander is still served");
    } finally {
      bystander.destroy();
    }
  });

  test("a clean close 1000 from a raw client is echoed and the server closes TCP", async () => {
    const r = await rawSession(server.port, [
      frame(0x81, text("one")),
      frame(0x88, bytes(0x03, 0xe8)),
    ]);
    assert.deepEqual(r.echoed, ["one"]);
    assert.equal(r.closeCode, 1000);
  });

  const python = hasPythonModule("websockets");
  test(
    "Python websockets client: text, binary, empty, 125..65536 bytes, 16 MiB, ping, close 1000 and 4000",
    {
      skip: skipUnlessPeer(python, "python3-websockets is not installed"),
      timeout: 120_000,
    },
    async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const out = await new Promise<string>((resolve, reject) => {
        const c = spawn(PYTHON, [
          `${ROOT}tests/peers/python_echo_client.py`,
          `ws://127.0.0.1:${server.port}/`,
        ], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        children.add(c);
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", (d) => (stdout += d));
        c.stderr.on("data", (d) => (stderr += d));
        timer = setTimeout(() => c.kill("SIGKILL"), 110_000);
        c.on("error", (error) => reject(new Error(`python did not start: ${error.message}`)));
        c.on("exit", (code) => {
          children.delete(c);
          code === 0 ? resolve(stdout) : reject(new Error(`python exited ${code}: ${stderr}`));
        });
      }).finally(() => clearTimeout(timer));
      const result = JSON.parse(out);
      for (const [name, ok] of Object.entries(result.echo)) {
        assert.equal(ok, true, `echo of ${name}`);
      }
      assert.equal(Object.keys(result.echo).length, 14);
      assert.equal(result.pong, true);
      assert.deepEqual(result.closes, [{ code: 1000, reason: "" }, { code: 4000, reason: "" }]);
    },
  );
});
