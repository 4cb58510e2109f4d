"""Drives an echo server with Python's `websockets` (Debian python3-websockets) and prints JSON.

Usage: python_echo_client.py ws://127.0.0.1:PORT/
"""
import asyncio
import json
import sys

import websockets


async def main(url):
    out = {"echo": {}, "closes": []}
    async with websockets.connect(url, max_size=None, open_timeout=10) as ws:
        cases = {
            "text": "Hello, wörld ✓",
            "empty_text": "",
            "binary": bytes(range(256)),
            "empty_binary": b"",
        }
        for n in (125, 126, 65535, 65536, 16 * 1024 * 1024):
            cases[f"binary_{n}"] = bytes((i * 31 + 7) & 0xFF for i in range(n)) if n < 70000 else bytes(n)
            cases[f"text_{n}"] = "a" * n
        for name, msg in cases.items():
            await ws.send(msg)
            back = await asyncio.wait_for(ws.recv(), 20)
            out["echo"][name] = type(back) is type(msg) and back == msg
        pong_waiter = await ws.ping(b"omniws-ping")
        await asyncio.wait_for(pong_waiter, 5)
        out["pong"] = True
    for code, reason in ((1000, ""), (4000, "bye now")):
        ws = await websockets.connect(url, open_timeout=10)
        await ws.send("x")
        await ws.recv()
        await asyncio.wait_for(ws.close(code, reason), 10)
        out["closes"].append({"code": ws.close_code, "reason": ws.close_reason})
    print(json.dumps(out))


asyncio.run(asyncio.wait_for(main(sys.argv[1]), 120))
