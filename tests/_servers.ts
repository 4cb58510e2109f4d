/**
 * Starting and stopping test servers as child processes, on loopback, with bounded waits.
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** A runtime binary from node_modules/.bin. */
export function bin(name: "deno" | "node" | "bun"): string {
  return `${ROOT}node_modules/.bin/${name}`;
}

/** A running server process and the port it listens on. */
export interface RunningServer {
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Start a server command that prints `ws://host:port/` when listening; resolves with its port.
 * The process is given PORT=0 so it picks a free port.
 */
export function startServer(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Server did not start within 30 s: ${output}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /ws:\/\/[^:]+:(\d+)\//.exec(output);
      if (m) {
        clearTimeout(timer);
        // SIGTERM, then SIGKILL if it is still there after 5 s: a stuck server must not keep
        // the test file alive.
        const stop = () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
            child.once("exit", () => {
              clearTimeout(killer);
              done();
            });
            child.kill("SIGTERM");
          });
        resolve({ port: Number(m[1]), process: child, stop });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Server exited with ${code}: ${output}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`Server did not start: ${error.message}`));
    });
  });
}

/** The Debian Python interpreter, which has Debian's modules (python3 on PATH may not). */
export const PYTHON = "/usr/bin/python3";

/** Whether a Debian Python module is importable. */
export function hasPythonModule(name: string): boolean {
  if (!existsSync(PYTHON)) return false;
  const r = spawnSyncQuiet(PYTHON, ["-c", `import ${name}`]);
  return r === 0;
}

import { spawnSync } from "node:child_process";
function spawnSyncQuiet(cmd: string, args: string[]): number | null {
  return spawnSync(cmd, args, { stdio: "ignore", timeout: 20_000 }).status;
}

/**
 * Whether a missing peer should fail the test rather than skip it: in CI every peer is installed
 * by the test setup, so absence is a failure there.
 */
export const REQUIRE_PEERS: boolean = process.env.CI === "true" ||
  process.env.OMNIWS_REQUIRE_PEERS === "1";

/**
 * The `skip` option of a test that needs a peer: `false` when the peer is there or when
 * {@linkcode REQUIRE_PEERS} holds (the test then runs and fails for want of it), else `reason`.
 */
export function skipUnlessPeer(available: boolean, reason: string): string | false {
  return available || REQUIRE_PEERS ? false : reason;
}

/**
 * The `skip` option of a test that makes a certificate with openssl: like every other peer,
 * a missing /usr/bin/openssl skips locally and fails under {@linkcode REQUIRE_PEERS}.
 */
export const NEEDS_OPENSSL: string | false = skipUnlessPeer(
  existsSync("/usr/bin/openssl"),
  "openssl is not installed",
);
