/**
 * The omniws side of the interop matrix as a server: adapters/deno.ts on Deno, echoing every
 * message, with three commands: `ping-me` (sends a ping, then the text "pinged"), `close-4000`
 * (closes with 4000 "omniws says bye"), and a 2 MiB message limit so a 3 MiB message fails the
 * connection with 1009. Prints `ws://127.0.0.1:PORT/` once listening (PORT=0: any free port).
 *
 * @module
 */

import { serve } from "../../adapters/deno.ts";

const server = serve({
  port: Number(Deno.env.get("PORT") ?? 0),
  hostname: "127.0.0.1",
  maxMessageSize: 2 * 1024 * 1024,
}, (socket) => {
  socket.onmessage = (e) => {
    if (e.data === "close-4000") return socket.close(4000, "omniws says bye");
    if (e.data === "ping-me") {
      socket.ping("omniws-ping");
      return socket.send("pinged");
    }
    socket.send(e.data);
  };
});
const addr = await server.listening;
console.log(`omniws interop server listening on ws://${addr.hostname}:${addr.port}/`);
