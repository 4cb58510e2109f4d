/**
 * Calibration peer: Deno's native WebSocket server (`Deno.upgradeWebSocket`) as an echo server.
 * Prints `ws://127.0.0.1:PORT/` once listening (PORT from the environment, default 0).
 *
 * Run: `deno run --allow-net --allow-env conformance/peers/deno_echo_server.ts`
 *
 * @module
 */

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0),
  onListen: ({ hostname, port }) =>
    console.log(`deno native echo server listening on ws://${hostname}:${port}/`),
}, (request) => {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("WebSocket only", { status: 426 });
  }
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => socket.send(e.data);
  socket.onerror = () => {};
  return response;
});
