/**
 * Benchmark server: Deno's native WebSocket server (`Deno.serve` + `Deno.upgradeWebSocket`),
 * echoing every message (text as text, binary as binary) and nothing else. Listens on 127.0.0.1
 * at the port given as first argument (default 0: a free one) and prints `PORT <n>`. SIGUSR2
 * forces a garbage collection when run with `--v8-flags=--expose-gc`.
 *
 * @module
 */

Deno.serve({
  port: Number(Deno.args[0] ?? 0),
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`PORT ${port}`),
}, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});
Deno.addSignalListener("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.());
