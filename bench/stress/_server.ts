/**
 * Starting the echo servers (or a dedicated attack server) as child processes for the stress
 * suite and the hardening tests: on loopback, port 0, optionally under a low file-descriptor
 * limit (`prlimit`, which execs the server, so the child's PID is the server's own), stopped by
 * PID with SIGTERM and then SIGKILL.
 *
 * @module
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { alive } from "./_attacks.ts";

/** The repository root, with a trailing slash. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Where the servers' sources are taken from: the repository root, or OMNIWS_SERVER_ROOT (e.g. a
 * `git archive` of an older commit, to measure the code before and after a fix with the same
 * attacker). Runtimes always come from this repository's node_modules.
 */
export const SERVER_ROOT: string = (() => {
  const dir = process.env.OMNIWS_SERVER_ROOT;
  if (dir === undefined || dir === "") return ROOT;
  return dir.endsWith("/") ? dir : `${dir}/`;
})();

/** The three runtimes omniws serves on. */
export type Runtime = "deno" | "node" | "bun";
/** Every runtime, in report order. */
export const RUNTIMES: readonly Runtime[] = ["deno", "node", "bun"];

/** The runtime executing this code. */
export const CURRENT_RUNTIME: Runtime = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

const ECHO: Record<Runtime, string> = {
  deno: "examples/echo_server.ts",
  node: "examples/echo_server_node.ts",
  bun: "examples/echo_server_bun.ts",
};

/** The command line that runs `script` (absolute, or relative to SERVER_ROOT) on `runtime`. */
export function runtimeCommand(runtime: Runtime, script: string): string[] {
  const bin = `${ROOT}node_modules/.bin/${runtime}`;
  const file = script.startsWith("/")
    ? script
    : existsSync(`${SERVER_ROOT}${script}`)
    ? `${SERVER_ROOT}${script}`
    : `${ROOT}${script}`;
  if (runtime === "deno") return [bin, "run", "-A", "--no-prompt", file];
  return [bin, file];
}

/** A running server process. */
export interface ServerProcess {
  runtime: Runtime;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Whether it is still running. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after 2 s; resolves once it exited (at most ~4 s). */
  stop(): Promise<void>;
}

/** How to start a server. */
export interface StartOptions {
  /** Script relative to the repository root; default the runtime's echo server. */
  script?: string;
  /** Run under `prlimit --nofile=N:N`. */
  nofile?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Give up waiting for `ws://host:port/` after this long (default 30 s). */
  startTimeoutMs?: number;
  /**
   * What the process prints once ready, instead of `ws://host:port/` (for a client process);
   * its first group, if any, is taken as the port (else the port is 0).
   */
  ready?: RegExp;
}

/**
 * Start a server that prints `ws://host:port/` (or `wss://`) when listening, with PORT=0.
 * @param runtime Which runtime runs it.
 * @param options Script, fd limit, environment.
 * @returns The running server.
 */
export function startServer(runtime: Runtime, options: StartOptions = {}): Promise<ServerProcess> {
  let cmd = runtimeCommand(runtime, options.script ?? ECHO[runtime]);
  if (options.nofile !== undefined) {
    cmd = ["prlimit", `--nofile=${options.nofile}:${options.nofile}`, "--", ...cmd];
  }
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: SERVER_ROOT,
    env: { ...process.env, PORT: "0", NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const pid = child.pid ?? -1;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), 2000)),
    ]);
    clearTimeout(timer);
    if (!killed) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone in between.
      }
      await Promise.race([exited, new Promise((r) => timer = setTimeout(r, 2000))]);
      clearTimeout(timer);
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${runtime} process was not ready within 30 s: ${out}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (d: Uint8Array) => {
      out = (out + new TextDecoder().decode(d)).slice(-64 * 1024);
      const m = (options.ready ?? /wss?:\/\/[^:/\s]+:(\d+)\//).exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.stdout!.on("data", (x: Uint8Array) => out += new TextDecoder().decode(x));
      resolve({
        runtime,
        port: Number(m[1] ?? 0),
        pid,
        child,
        output: () => out,
        alive: () => child.exitCode === null && child.signalCode === null && alive(pid),
        stop,
      });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Uint8Array) => {
      out = (out + new TextDecoder().decode(d)).slice(-64 * 1024);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${runtime} server exited (${code ?? signal}) before listening: ${out}`));
    });
  });
}

/** PEM files of a self-signed certificate in a temp dir; `remove()` deletes the dir. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
  remove(): void;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl in a temp dir. */
export function selfSignedCertFiles(): CertFiles {
  const dir = mkdtempSync(join(tmpdir(), "omniws-stress-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  // deno-fmt-ignore
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    // An end-entity certificate: rustls (Deno) refuses a CA certificate as a server's.
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "extendedKeyUsage=serverAuth",
    "-keyout", keyFile, "-out", certFile,
  ], { stdio: "ignore", timeout: 30_000 });
  return { certFile, keyFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
