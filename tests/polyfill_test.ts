// The polyfill installs omniws's WebSocket only where the runtime has none.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUNTIME } from "./_runtime.ts";

test("polyfill installs omniws's WebSocket where globalThis.WebSocket is missing (simulated on Node), else leaves it", async () => {
  const g = globalThis as { WebSocket?: unknown };
  const native = g.WebSocket;
  if (RUNTIME === "node") delete g.WebSocket; // as on Node 20, which has none
  try {
    const mod = await import("../adapters/polyfill.ts");
    if (RUNTIME === "node") {
      assert.equal(mod.installed, true);
      const { WebSocket } = await import("../adapters/node.ts");
      assert.equal(g.WebSocket, WebSocket);
    } else {
      assert.equal(mod.installed, false);
      assert.equal(g.WebSocket, native);
    }
  } finally {
    g.WebSocket = native;
  }
});
