// Interop with the runtimes' native WHATWG WebSocket clients (Deno, Node 24's global, Bun), each
// run as a script under its runtime against the omniws interop server on Deno: text, binary,
// 1 MiB and empty messages, a server ping (and Bun's own ping), a clean close, omniws closing
// with 4000 + reason, and a 3 MiB message over the server's 2 MiB limit -> 1009. The standard API
// cannot send invalid UTF-8 or (Deno, Node) pings; conformance:calibrate runs the whole
// fuzzing-server suite against these clients.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  clientReportProblems,
  OMNIWS_INTEROP_SERVER,
  type PeerServer,
  runPeerClient,
  startPeerServer,
} from "../conformance/interop.ts";
import { ROOT } from "../conformance/targets.ts";

const SCRIPT = "conformance/peers/whatwg_interop_client.ts";
const clients: Array<[string, (url: string) => string[], boolean]> = [
  ["Deno", (url) => [`${ROOT}node_modules/.bin/deno`, "run", "--allow-net", SCRIPT, url], false],
  ["Node", (url) => [`${ROOT}node_modules/.bin/node`, SCRIPT, url], false],
  ["Bun", (url) => [`${ROOT}node_modules/.bin/bun`, SCRIPT, url], true],
];

describe("interop: native WebSocket clients", () => {
  let omniws: PeerServer;
  before(async () => {
    omniws = await startPeerServer(OMNIWS_INTEROP_SERVER);
  });
  after(async () => {
    await omniws?.stop();
  });

  for (const [name, command, hasPing] of clients) {
    test(
      `${name}'s native client <-> omniws server on Deno: messages, pings, clean and error closes`,
      { timeout: 60_000 },
      async () => {
        const report = await runPeerClient(command(omniws.url));
        assert.deepEqual(clientReportProblems(report, hasPing, false), []);
      },
    );
  }
});
