"""Python `websockets` (Debian python3-websockets) with permessage-deflate, for the interop tests.

Usage:
  python_deflate_peer.py server [OPTIONS_JSON]
      An echo server on 127.0.0.1 (port from PORT, 0 = any); prints ws://127.0.0.1:PORT/.
  python_deflate_peer.py client URL [OPTIONS_JSON]
      Sends the interop messages to an echo server, checks each echo, asks for __stats__ and
      prints one JSON report: {"extension", "echoes": {name: ok}, "stats"}.

OPTIONS_JSON holds ServerPerMessageDeflateFactory / ClientPerMessageDeflateFactory arguments;
without it, websockets' defaults (compression="deflate") apply.
"""
import asyncio
import json
import os
import random
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def messages():
    """The same kinds and sizes of messages as interopMessages() in tests/_deflate.ts."""
    rnd = random.Random(7692)
    words = "the of and to a in is it you that he was for on are with as his they be at one have".split()
    prose = " ".join(words[int(rnd.random() ** 2 * len(words))] for _ in range(90_000))[: 1 << 18]
    json_1k = "".join(
        json.dumps({"id": i, "user": f"user{i % 37}", "ts": 1700000000000 + i * 7919, "ok": i % 2 == 0}) + "\n"
        for i in range(40)
    )[:1000]
    json_64k = "".join(
        json.dumps({"id": i, "user": f"user{i % 37}", "ts": 1700000000000 + i * 7919, "ok": i % 2 == 0}) + "\n"
        for i in range(2000)
    )[:65536]
    mixed = bytes((i * 7 // 13) & 0xFF for i in range(200_000))
    return [
        ("empty text", ""),
        ("empty binary", b""),
        ("short text", "Hello"),
        ("unicode text", "Grüße, мир, 世界 ✓ 🎉"),
        ("json 1 KB", json_1k),
        ("json 1 KB again", json_1k),
        ("json 64 KB", json_64k),
        ("prose 256 KB", prose),
        ("mixed binary 200 KB", mixed),
        ("noise 100 B", os.urandom(100)),
        ("noise 64 KB", os.urandom(65536)),
        ("noise 256 KB", os.urandom(1 << 18)),
    ]


async def echo(ws, path=None):
    extension = ws.response_headers.get("Sec-WebSocket-Extensions", "")
    async for message in ws:
        if message == "__stats__":
            await ws.send(json.dumps({"extensions": extension}))
        else:
            await ws.send(message)


async def server(options):
    kwargs = {"max_size": None}
    if options is not None:
        kwargs["extensions"] = [ServerPerMessageDeflateFactory(**options)]
    async with websockets.serve(echo, "127.0.0.1", int(os.environ.get("PORT", "0")), **kwargs) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        print(f"python websockets permessage-deflate echo server listening on ws://127.0.0.1:{port}/", flush=True)
        await asyncio.Future()


async def client(url, options):
    kwargs = {"max_size": None, "open_timeout": 10}
    if options is not None:
        kwargs["extensions"] = [ClientPerMessageDeflateFactory(**options)]
    report = {"echoes": {}}
    async with websockets.connect(url, **kwargs) as ws:
        report["extension"] = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        for name, data in messages():
            await ws.send(data)
            back = await asyncio.wait_for(ws.recv(), 20)
            report["echoes"][name] = type(back) is type(data) and back == data
        await ws.send("__stats__")
        report["stats"] = json.loads(await asyncio.wait_for(ws.recv(), 20))
    print(json.dumps(report), flush=True)


def main():
    mode = sys.argv[1]
    if mode == "server":
        options = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
        asyncio.run(server(options))
    else:
        options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
        asyncio.run(client(sys.argv[2], options))


if __name__ == "__main__":
    main()
