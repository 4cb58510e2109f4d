// Interop with npm `ws` in both roles (its scripts run on Node), over loopback: text, binary,
// 1 MiB and empty messages, pings both ways, a clean close, omniws closing with 4000 + reason,
// ws closing with 4001 + reason, and protocol errors (a 3 MiB message over the omniws server's
// 2 MiB limit -> 1009; invalid UTF-8 from either side -> 1007).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  clientReportProblems,
  OMNIWS_INTEROP_SERVER,
  omniwsClientProblems,
  type PeerServer,
  runOmniwsClientScenario,
  runPeerClient,
  startPeerServer,
} from "../conformance/interop.ts";
import { ROOT } from "../conformance/targets.ts";

const NODE = `${ROOT}node_modules/.bin/node`;

describe("interop: npm ws", () => {
  let omniws: PeerServer;
  let ws: PeerServer;
  before(async () => {
    omniws = await startPeerServer(OMNIWS_INTEROP_SERVER);
    ws = await startPeerServer([NODE, "conformance/peers/ws_interop_server.ts"]);
  });
  after(async () => {
    await omniws?.stop();
    await ws?.stop();
  });

  test("ws client <-> omniws server on Deno: messages, pings, clean and error closes", {
    timeout: 60_000,
  }, async () => {
    const report = await runPeerClient([
      NODE,
      "conformance/peers/ws_interop_client.ts",
      omniws.url,
    ]);
    assert.deepEqual(clientReportProblems(report, true, true), []);
  });

  test(
    "omniws client <-> ws server: messages, pings, clean and error closes",
    { timeout: 60_000 },
    async () => {
      const report = await runOmniwsClientScenario(ws.url, "ws-ping");
      await ws.waitLines(4);
      assert.deepEqual(omniwsClientProblems(report, ws.lines, "ws says bye"), []);
    },
  );
});
