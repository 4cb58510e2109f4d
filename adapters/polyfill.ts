/**
 * Installs omniws's `WebSocket` as `globalThis.WebSocket` where the runtime has none (Node
 * before 22, for instance) and leaves a native one alone: the modern form of the original
 * prototype's shim. Import it once, for its effect.
 *
 * @example
 * ```ts ignore
 * import "@omniws/omniws/polyfill";
 * const ws = new WebSocket("ws://127.0.0.1:9001/");
 * ```
 *
 * @module
 */

const g = globalThis as {
  WebSocket?: unknown;
  Deno?: unknown;
  Bun?: unknown;
  process?: { versions?: { node?: string } };
};

/** Whether this import installed omniws's class (false when the runtime had its own). */
export let installed = false;

if (typeof g.WebSocket !== "function") {
  // Deno and Bun always have a native WebSocket, so only Node-like runtimes get here.
  if (g.process?.versions?.node !== undefined) {
    g.WebSocket = (await import("./node.ts")).WebSocket;
    installed = true;
  }
}
