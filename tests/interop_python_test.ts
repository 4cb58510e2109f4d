// Interop with Python's `websockets` (Debian python3-websockets) in both roles, over loopback:
// text, binary, 1 MiB and empty messages, pings both ways, a clean close, omniws closing with
// 4000 + reason, the peer closing with 4001 + reason, and protocol errors (a 3 MiB message over
// the omniws server's 2 MiB limit -> 1009; invalid UTF-8 from either side -> 1007).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { hasPythonModule, PYTHON, skipUnlessPeer } from "./_servers.ts";
import {
  clientReportProblems,
  OMNIWS_INTEROP_SERVER,
  omniwsClientProblems,
  type PeerServer,
  runOmniwsClientScenario,
  runPeerClient,
  startPeerServer,
} from "../conformance/interop.ts";

const available = hasPythonModule("websockets");
const skip = skipUnlessPeer(available, "python3-websockets is not installed");

describe("interop: Python websockets", { skip }, () => {
  let omniws: PeerServer;
  let python: PeerServer;
  before(async () => {
    omniws = await startPeerServer(OMNIWS_INTEROP_SERVER);
    python = await startPeerServer([PYTHON, "conformance/peers/python_interop_server.py"]);
  });
  after(async () => {
    await omniws?.stop();
    await python?.stop();
  });

  test(
    "Python websockets client <-> omniws server on Deno: messages, pings, clean and error closes",
    { timeout: 60_000 },
    async () => {
      const report = await runPeerClient([
        PYTHON,
        "conformance/peers/python_interop_client.py",
        omniws.url,
      ]);
      assert.deepEqual(clientReportProblems(report, true, true), []);
    },
  );

  test("omniws client <-> Python websockets server: messages, pings, clean and error closes", {
    timeout: 60_000,
  }, async () => {
    const report = await runOmniwsClientScenario(python.url, "python-ping");
    await python.waitLines(4);
    assert.deepEqual(omniwsClientProblems(report, python.lines, "python says bye"), []);
  });
});
