// Production hardening: the echo server survives the attacks of bench/stress/_attacks.ts (reset
// storms, fd exhaustion, silent TLS clients, ping floods, never-reading clients, slowloris), with
// bounded memory and file descriptors, and still echoes for an ordinary client afterwards.
//
// Each run tests the server of the runtime it runs on (Deno's under `deno test`, Node's under
// `node --test`, Bun's under `bun test`), so scripts/test_all.ts covers each adapter once;
// HARDENING_RUNTIMES=deno,node,bun tests other runtimes' servers from one run. Servers are child
// processes on 127.0.0.1, measured through /proc (Linux only) and stopped by PID in `finally`;
// every attack is bounded in count and time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  fdCount,
  type FloodResult,
  holdConnections,
  mib,
  Monitor,
  neverReader,
  pingFlood,
  probeUntil,
  resetStorm,
  rssBytes,
  silentTls,
  slowloris,
} from "../bench/stress/_attacks.ts";
import {
  CURRENT_RUNTIME,
  type Runtime,
  RUNTIMES,
  selfSignedCertFiles,
  type ServerProcess,
  type StartOptions,
  startServer,
} from "../bench/stress/_server.ts";

const MiB = 1024 * 1024;
/** How far a server's RSS may grow over its baseline during a flood. */
const RSS_BOUND = 64 * MiB;
/** How many fds above its baseline a server may keep once attackers are gone. */
const FD_SLACK = 8;

const SERVER_RUNTIMES: Runtime[] = (process.env.HARDENING_RUNTIMES ?? CURRENT_RUNTIME)
  .split(",").map((s) => s.trim()).filter((s): s is Runtime =>
    (RUNTIMES as readonly string[]).includes(s)
  );

const NO_PROC = existsSync("/proc/self/fd") ? false : "needs /proc (Linux)";
const NO_PRLIMIT = NO_PROC || (existsSync("/usr/bin/prlimit") ? false : "prlimit is not installed");
const NO_OPENSSL = NO_PROC || (existsSync("/usr/bin/openssl") ? false : "openssl is not installed");

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Start a server, warm it up with one echo, run `body`, stop it by PID whatever happens. */
async function withServer(
  runtime: Runtime,
  options: StartOptions,
  body: (server: ServerProcess) => Promise<void>,
  secure = false,
): Promise<void> {
  const server = await startServer(runtime, options);
  try {
    assert.notEqual(
      await probeUntil(server.port, 5000, secure),
      null,
      "the server echoes before the attack",
    );
    await sleep(200);
    await body(server);
  } finally {
    await server.stop();
  }
}

/** Wait up to `ms` for the server's fd count to come back to `limit` or below; the last count. */
async function fdsSettle(pid: number, limit: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let fds = fdCount(pid);
  while (!(fds <= limit) && Date.now() < deadline) {
    await sleep(100);
    fds = fdCount(pid);
  }
  return fds;
}

/**
 * The peak RSS growth of a server during a flood: sampled by a {@linkcode Monitor} and on every
 * `broken()` check the flood makes between writes (a failing server can pass the bound between
 * two monitor samples). `broken()` turns true at twice the bound, to stop the flood early: the
 * machine is shared.
 */
function rssWatch(server: ServerProcess) {
  const base = rssBytes(server.pid);
  const monitor = new Monitor(server.pid, server.port, { everyMs: 100 });
  let peak = 0;
  return {
    base,
    broken: (): boolean => {
      peak = Math.max(peak, rssBytes(server.pid) - base);
      return peak > 2 * RSS_BOUND;
    },
    stop: async (): Promise<number> => Math.max(peak, (await monitor.stop()).peakRss - base),
  };
}

/** The flood reached the server: its connection upgraded and at least `min` bytes went out. */
function assertFlooded(flood: FloodResult, min: number): void {
  assert.equal(flood.connections, 1, `the flooding connection upgraded: ${JSON.stringify(flood)}`);
  assert.ok(flood.bytesWritten >= min, `the flood wrote ${mib(min)}: ${JSON.stringify(flood)}`);
}

function assertAlive(server: ServerProcess, what: string): void {
  assert.ok(
    server.alive(),
    `${server.runtime} server died during ${what} (exit ${
      server.child.exitCode ?? server.child.signalCode
    }); output: ${server.output().slice(-1500)}`,
  );
}

for (const runtime of SERVER_RUNTIMES) {
  // 1. Reset storms.
  test(
    `${runtime} server survives 1,000 resets at every stage with fds back to baseline`,
    { skip: NO_PROC },
    async () => {
      await withServer(runtime, {}, async (server) => {
        const baseFds = fdCount(server.pid);
        const storm = await resetStorm(server.port, {
          count: 1000,
          concurrency: 16,
          durationMs: 9000,
        });
        assertAlive(server, `a reset storm (${JSON.stringify(storm)})`);
        assert.equal(storm.attempted, 1000, `the storm ran to the end: ${JSON.stringify(storm)}`);
        assert.equal(
          storm.failed,
          0,
          `every connection reached its stage: ${JSON.stringify(storm)}`,
        );
        const fds = await fdsSettle(server.pid, baseFds + FD_SLACK, 3000);
        assert.ok(fds <= baseFds + FD_SLACK, `fds back near baseline: ${baseFds} -> ${fds}`);
        assert.notEqual(
          await probeUntil(server.port, 3000),
          null,
          "an ordinary client echoes after",
        );
        assertAlive(server, "the probe after the storm");
      });
    },
  );

  // 2. File-descriptor exhaustion.
  test(
    `${runtime} server accepts and echoes again after 200 connections exhaust its 64 fds`,
    { skip: NO_PRLIMIT },
    async () => {
      await withServer(runtime, { nofile: 64 }, async (server) => {
        const baseFds = fdCount(server.pid);
        const held = await holdConnections(server.port, { count: 200, holdMs: 1500 });
        assert.ok(held.connected >= 100, `the attack reached the server: ${JSON.stringify(held)}`);
        await sleep(300);
        assertAlive(server, `fd exhaustion (${JSON.stringify(held)})`);
        const echo = await probeUntil(server.port, 5000);
        assertAlive(server, "recovery from fd exhaustion");
        assert.notEqual(echo, null, "an ordinary client echoes within 5 s of the fds coming back");
        const fds = await fdsSettle(server.pid, baseFds + FD_SLACK, 3000);
        assert.ok(fds <= baseFds + FD_SLACK, `fds back near baseline: ${baseFds} -> ${fds}`);
      });
    },
  );

  // 3. Silent TLS clients.
  test(
    `${runtime} TLS server closes silent and half-ClientHello clients at its 2 s handshake timeout`,
    { skip: NO_OPENSSL },
    async () => {
      const cert = selfSignedCertFiles();
      try {
        const env = {
          TLS_CERT_FILE: cert.certFile,
          TLS_KEY_FILE: cert.keyFile,
          HANDSHAKE_TIMEOUT_MS: "2000",
        };
        await withServer(
          runtime,
          { script: "bench/stress/echo_server.ts", env },
          async (server) => {
            const baseFds = fdCount(server.pid);
            const [silent, half] = await Promise.all([
              silentTls(server.port, { count: 20, mode: "silent", waitMs: 4500 }),
              silentTls(server.port, { count: 20, mode: "half-hello", waitMs: 4500 }),
            ]);
            assertAlive(server, "silent TLS clients");
            const show = (r: typeof silent) =>
              `${r.closedByServer}/${r.opened} closed, latest after ${
                Math.round(r.closeTimesMs.at(-1) ?? NaN)
              } ms`;
            assert.equal(silent.opened, 20);
            assert.equal(half.opened, 20);
            assert.equal(
              silent.stillOpen,
              0,
              `silent clients closed within 4.5 s: ${show(silent)}`,
            );
            assert.equal(
              half.stillOpen,
              0,
              `half-hello clients closed within 4.5 s: ${show(half)}`,
            );
            const fds = await fdsSettle(server.pid, baseFds + FD_SLACK, 3000);
            assert.ok(fds <= baseFds + FD_SLACK, `fds back near baseline: ${baseFds} -> ${fds}`);
            assert.notEqual(
              await probeUntil(server.port, 3000, true),
              null,
              "a wss client echoes after",
            );
          },
          true,
        );
      } finally {
        cert.remove();
      }
    },
  );

  // 4. Ping flood from a peer that never reads.
  test(
    `${runtime} server RSS stays within 64 MiB of baseline under a 6 s ping flood from a peer that never reads`,
    { skip: NO_PROC },
    async () => {
      await withServer(runtime, {}, async (server) => {
        const watch = rssWatch(server);
        const flood = await pingFlood(server.port, { durationMs: 6000, stopWhen: watch.broken });
        const growth = await watch.stop();
        assertAlive(server, "a ping flood");
        assertFlooded(flood, MiB);
        assert.ok(
          growth < RSS_BOUND,
          `RSS grew ${mib(growth)} over ${mib(watch.base)} (bound ${mib(RSS_BOUND)}); ` +
            `${flood.frames} pings (${mib(flood.bytesWritten)}) written in ${
              Math.round(flood.ms)
            } ms`,
        );
        assert.notEqual(
          await probeUntil(server.port, 3000),
          null,
          "an ordinary client echoes after",
        );
      });
    },
  );

  // 5. Never-reading client.
  test(
    `${runtime} server RSS stays within 64 MiB of baseline while a client sends 1 MiB messages for 6 s and never reads`,
    { skip: NO_PROC },
    async () => {
      await withServer(runtime, {}, async (server) => {
        const watch = rssWatch(server);
        const flood = await neverReader(server.port, { durationMs: 6000, stopWhen: watch.broken });
        const growth = await watch.stop();
        assertAlive(server, "a never-reading client");
        assertFlooded(flood, MiB);
        assert.ok(
          growth < RSS_BOUND,
          `RSS grew ${mib(growth)} over ${mib(watch.base)} (bound ${mib(RSS_BOUND)}); ` +
            `${flood.frames} messages (${mib(flood.bytesWritten)}) written in ${
              Math.round(flood.ms)
            } ms`,
        );
        assert.notEqual(
          await probeUntil(server.port, 3000),
          null,
          "an ordinary client echoes after",
        );
      });
    },
  );

  // 7. Slowloris on the opening handshake.
  test(
    `${runtime} server closes 200 slowloris connections at its 10 s handshake timeout and keeps echoing meanwhile`,
    { skip: NO_PROC },
    async () => {
      await withServer(runtime, {}, async (server) => {
        const baseFds = fdCount(server.pid);
        const monitor = new Monitor(server.pid, server.port, { everyMs: 500, probe: true });
        const loris = await slowloris(server.port, { count: 200, durationMs: 12_500 });
        const m = await monitor.stop();
        assertAlive(server, "slowloris");
        assert.equal(loris.opened, 200);
        assert.equal(
          loris.stillOpen,
          0,
          `every slowloris connection closed within 12.5 s: ${loris.closedByServer} closed`,
        );
        assert.equal(m.failedProbes, 0, `every probe during the attack echoed: ${m.probes} probes`);
        assert.ok(
          m.probeMax < 1000,
          `probe round trips under 1 s (max ${Math.round(m.probeMax)} ms)`,
        );
        const fds = await fdsSettle(server.pid, baseFds + FD_SLACK, 3000);
        assert.ok(fds <= baseFds + FD_SLACK, `fds back near baseline: ${baseFds} -> ${fds}`);
      });
    },
  );
}
