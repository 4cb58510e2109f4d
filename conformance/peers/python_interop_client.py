"""Python `websockets` (Debian python3-websockets) as a client of the omniws interop server.

Usage: python_interop_client.py ws://127.0.0.1:PORT/ -- prints one JSON report (see
conformance/interop.ts, ClientReport).
"""
import asyncio
import json
import sys

import websockets

LARGE = 1024 * 1024


def pattern(n):
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


async def closed(ws):
    await asyncio.wait_for(ws.wait_closed(), 10)
    return {"code": ws.close_code, "reason": ws.close_reason}


async def main(url):
    out = {"echo": {}}
    async with websockets.connect(url, max_size=None, open_timeout=10) as ws:
        checks = {
            "text": "Hello, wörld ✓",
            "binary": pattern(256),
            "empty_text": "",
            "empty_binary": b"",
            "large_text": "a" * LARGE,
            "large_binary": pattern(LARGE),
        }
        for name, msg in checks.items():
            await ws.send(msg)
            back = await asyncio.wait_for(ws.recv(), 10)
            out["echo"][name] = type(back) is type(msg) and back == msg
        waiter = await ws.ping(b"python-ping")
        await asyncio.wait_for(waiter, 5)
        out["pong"] = True
        await ws.send("ping-me")
        out["serverPing"] = await asyncio.wait_for(ws.recv(), 10) == "pinged"
        await asyncio.wait_for(ws.close(1000), 10)
        out["cleanClose"] = {"code": ws.close_code, "reason": ws.close_reason}

    ws = await websockets.connect(url, open_timeout=10)
    await ws.send("close-4000")
    out["serverClose"] = await closed(ws)

    ws = await websockets.connect(url, max_size=None, open_timeout=10)
    try:
        await ws.send(bytes(3 * LARGE))
    except websockets.ConnectionClosed:
        pass
    out["tooBig"] = await closed(ws)

    ws = await websockets.connect(url, open_timeout=10)
    await ws.write_frame(True, 0x1, b"valid then \xff\xfe")  # a text frame that is not UTF-8
    out["invalidUtf8"] = await closed(ws)
    print(json.dumps(out))


asyncio.run(asyncio.wait_for(main(sys.argv[1]), 60))
