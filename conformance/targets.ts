/**
 * The implementations under test, by name: servers (tested by the fuzzing client) and clients
 * (tested by the fuzzing server). Each is a command line run from the repository root; a server
 * prints `ws://HOST:PORT/` once listening (PORT=0 picks a free port), a client takes the fuzzing
 * server's base URL and an agent name. Adding a runtime is one line here (for instance the Node
 * and Bun echo servers once their adapters exist).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository root, with a trailing slash. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

const bin = (name: "deno" | "node" | "bun") => `${ROOT}node_modules/.bin/${name}`;

/** A server under test. */
export interface ServerTarget {
  description: string;
  command: () => string[];
  /** Calibration peers are not omniws. */
  calibration?: boolean;
  /** Negotiates permessage-deflate: gets groups 12 and 13 (and only such servers get them). */
  deflate?: boolean;
}

/** A client under test. */
export interface ClientTarget {
  description: string;
  /** `deflate`: groups 12/13 are included, so offer per case (or at all). */
  command: (base: string, agent: string, deflate: boolean) => string[];
  calibration?: boolean;
}

const DEFLATE_SERVER = "conformance/peers/omniws_deflate_echo_server.ts";

/** Servers by name. */
export const SERVERS: Record<string, ServerTarget> = {
  "omniws-deno": {
    description: "examples/echo_server.ts on Deno (adapters/deno.ts)",
    command: () => [bin("deno"), "run", "--allow-net", "--allow-env", "examples/echo_server.ts"],
  },
  "omniws-node": {
    description: "examples/echo_server_node.ts on Node (adapters/node.ts)",
    command: () => [bin("node"), "examples/echo_server_node.ts"],
  },
  "omniws-bun": {
    description: "examples/echo_server_bun.ts on Bun (adapters/bun.ts)",
    command: () => [bin("bun"), "examples/echo_server_bun.ts"],
  },
  "omniws-deno-deflate": {
    description: `${DEFLATE_SERVER} on Deno: adapters/deno.ts with permessageDeflate()`,
    command: () => [bin("deno"), "run", "--allow-net", "--allow-env", DEFLATE_SERVER],
    deflate: true,
  },
  "omniws-node-deflate": {
    description: `${DEFLATE_SERVER} on Node: adapters/node.ts with permessageDeflate()`,
    command: () => [bin("node"), DEFLATE_SERVER],
    deflate: true,
  },
  "omniws-bun-deflate": {
    description: `${DEFLATE_SERVER} on Bun: adapters/bun.ts with permessageDeflate()`,
    command: () => [bin("bun"), DEFLATE_SERVER],
    deflate: true,
  },
  "ws-deflate": {
    description: "npm ws WebSocketServer on Node with perMessageDeflate (calibration)",
    command: () => ["env", "DEFLATE=1", bin("node"), "conformance/peers/ws_echo_server.ts"],
    calibration: true,
    deflate: true,
  },
  "ws": {
    description: "npm ws WebSocketServer on Node (calibration)",
    command: () => [bin("node"), "conformance/peers/ws_echo_server.ts"],
    calibration: true,
  },
  "deno-native": {
    description: "Deno.upgradeWebSocket on Deno (calibration)",
    command: () => [
      bin("deno"),
      "run",
      "--allow-net",
      "--allow-env",
      "conformance/peers/deno_echo_server.ts",
    ],
    calibration: true,
  },
};

/** Clients by name. */
export const CLIENTS: Record<string, ClientTarget> = {
  "omniws-deno": {
    description:
      "ClientConnection over node:net on Deno (conformance/clients/omniws_echo_client.ts)",
    command: (
      base,
      agent,
      deflate,
    ) => [
      bin("deno"),
      "run",
      "--allow-net",
      "--allow-env",
      "conformance/clients/run_omniws_client.ts",
      base,
      agent,
      "4",
      deflate ? "deflate" : "plain",
    ],
  },
  "omniws-node": {
    description: "ClientConnection over node:net on Node",
    command: (base, agent, deflate) => [
      bin("node"),
      "conformance/clients/run_omniws_client.ts",
      base,
      agent,
      "4",
      deflate ? "deflate" : "plain",
    ],
  },
  "omniws-bun": {
    description: "ClientConnection over node:net on Bun",
    command: (base, agent, deflate) => [
      bin("bun"),
      "conformance/clients/run_omniws_client.ts",
      base,
      agent,
      "4",
      deflate ? "deflate" : "plain",
    ],
  },
  "deno-native": {
    description: "Deno's native WebSocket client (calibration)",
    command: (
      base,
      agent,
    ) => [
      bin("deno"),
      "run",
      "--allow-net",
      "conformance/peers/whatwg_echo_client.ts",
      base,
      agent,
    ],
    calibration: true,
  },
  "node-native": {
    description: "Node 24's global WebSocket client (calibration)",
    command: (base, agent) => [bin("node"), "conformance/peers/whatwg_echo_client.ts", base, agent],
    calibration: true,
  },
  "bun-native": {
    description: "Bun's native WebSocket client (calibration)",
    command: (base, agent) => [bin("bun"), "conformance/peers/whatwg_echo_client.ts", base, agent],
    calibration: true,
  },
  "ws": {
    description: "npm ws WebSocket client on Node (calibration)",
    command: (base, agent, deflate) => [
      "env",
      `DEFLATE=${deflate ? 1 : 0}`,
      bin("node"),
      "conformance/peers/ws_echo_client.ts",
      base,
      agent,
    ],
    calibration: true,
  },
};

/** A started server process. */
export interface RunningProcess {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Stop a child process: SIGTERM, then SIGKILL after 3 s. */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * Start a server command; resolves with its `ws://` URL once it printed one (30 s at most).
 * @param command Program and arguments, run from the repository root with PORT=0.
 */
export function startServerProcess(command: string[]): Promise<RunningProcess> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = command;
    const child = spawn(program, args, {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Server did not start within 30 s: ${output}`));
    }, 30_000);
    const onData = (d: Uint8Array) => {
      output += new TextDecoder().decode(d);
      const m = /ws:\/\/[^\s/]+\/?/.exec(output);
      if (m !== null) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ url: m[0], process: child, stop: () => stopProcess(child) });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Uint8Array) => (output += new TextDecoder().decode(d)));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Server exited with ${code}: ${output}`));
    });
  });
}

/** Run a client command to completion (or until `limitMs`), with its output kept for errors. */
export function runClientProcess(
  command: string[],
  limitMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const [program, ...args] = command;
    const child = spawn(program, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on(
      "data",
      (d: Uint8Array) => (output = (output + new TextDecoder().decode(d)).slice(-20000)),
    );
    child.stderr!.on(
      "data",
      (d: Uint8Array) => (output = (output + new TextDecoder().decode(d)).slice(-20000)),
    );
    const timer = setTimeout(() => void stopProcess(child), limitMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
