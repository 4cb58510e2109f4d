"""Python `websockets` as a server for the omniws client: echoes, and obeys `ping-me` (pings
"python-ping", then sends "pong:python-ping" once the pong arrived), `close-4001` (closes with
4001 "python says bye") and `send-invalid-utf8` (a text frame that is not UTF-8). Prints
ws://127.0.0.1:PORT/ once listening, then {"code": ..., "reason": ...} per closed connection.
"""
import asyncio
import json
import os

import websockets


async def handler(ws, path=None):
    try:
        async for msg in ws:
            if msg == "close-4001":
                await ws.close(4001, "python says bye")
            elif msg == "send-invalid-utf8":
                await ws.write_frame(True, 0x1, b"\xff\xfe")
            elif msg == "ping-me":
                waiter = await ws.ping(b"python-ping")
                await asyncio.wait_for(waiter, 5)
                await ws.send("pong:python-ping")
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        print(json.dumps({"code": ws.close_code, "reason": ws.close_reason}), flush=True)


async def main():
    async with websockets.serve(handler, "127.0.0.1", int(os.environ.get("PORT", "0")), max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"python websockets server listening on ws://127.0.0.1:{port}/", flush=True)
        await asyncio.sleep(600)


asyncio.run(main())
