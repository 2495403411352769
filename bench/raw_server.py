"""The raw limit: an aiohttp server that only fans robot lines out as pre-serialised frames.

No store, no seq, no queues, no checks: the cost of aiohttp and the kernel alone.
"""

import argparse
import asyncio

import orjson
from aiohttp import WSMsgType, web

WELCOME = orjson.dumps({"type": "welcome", "heartbeat_s": 5}) + b"\n"
subscribers: set[web.WebSocketResponse] = set()


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False, writer_limit=1 << 20)
    await ws.prepare(request)
    subscribers.add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        subscribers.discard(ws)
    return ws


async def robot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    robot_id = None
    while line := await reader.readline():
        message = orjson.loads(line)
        if "id" in message and message["type"] != "state":
            writer.write(orjson.dumps({"type": "ack", "id": message["id"]}) + b"\n")
        if message["type"] == "hello":
            robot_id = message.get("robot_id")
            writer.write(WELCOME)
        elif message["type"] == "state":
            message["id"] = robot_id
            frame = orjson.dumps({"type": "update", "topic": "robots",
                                  "data": {"kind": "upsert", "items": [message]}})
            for ws in list(subscribers):
                try:
                    await ws.send_frame(frame, WSMsgType.TEXT)
                except ConnectionError:
                    subscribers.discard(ws)
    writer.close()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def main(port: int, tcp_port: int) -> None:
    app = web.Application()
    app.router.add_get("/ws/{topic}", websocket)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    server = await asyncio.start_server(robot, "127.0.0.1", tcp_port)
    async with server:
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tcp-port", type=int, required=True)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.port, args.tcp_port))
    except KeyboardInterrupt:
        pass
