"""Fallback python-socketio hub for the benchmark, used only when
scripts/peer/reference_server.py is absent. It follows PROTOCOL.md §3-4
(join/leave/update/message routing with the echo rules, members by ack);
the REST members endpoint is left out because no benchmark uses it.

    python py_hub.py --host 127.0.0.1 --port 0   # prints LISTENING <port>
"""
import argparse
import asyncio
import sys

import socketio
from aiohttp import web

RESERVED = {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}


def build(ping_interval: float, ping_timeout: float) -> tuple[socketio.AsyncServer, web.Application]:
    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=ping_interval, ping_timeout=ping_timeout,
                               cors_allowed_origins="*", max_http_buffer_size=1_000_000)
    app = web.Application()
    sio.attach(app)
    echo_default: dict[str, bool] = {}
    member_data: dict[str, object] = {}

    def channels(sid: str) -> list[str]:
        return [r for r in sio.rooms(sid) if r != sid]

    def echo_of(sid: str, data: dict) -> bool:
        e = data.get("echo")
        return e if isinstance(e, bool) else echo_default.get(sid, True)

    def valid_channel(c) -> bool:
        return isinstance(c, str) and 0 < len(c.encode()) <= 256

    async def announce(event: str, channel: str, sid: str, echo: bool) -> None:
        payload = {"channel": channel, "message": {"id": sid, "data": member_data.get(sid)}}
        await sio.emit(event, payload, room=channel, skip_sid=None if echo else sid)

    @sio.event
    async def connect(sid, environ, auth):
        auth = auth if isinstance(auth, dict) else {}
        echo_default[sid] = auth.get("echoMessages", True) is not False
        member_data[sid] = None

    @sio.event
    async def disconnect(sid, *reason):
        for c in channels(sid):
            await sio.leave_room(sid, c)
            await announce("channel:leave", c, sid, False)
        echo_default.pop(sid, None)
        member_data.pop(sid, None)

    @sio.on("message")
    async def message(sid, data):
        if not isinstance(data, dict):
            return
        name = data.get("eventName")
        if not isinstance(name, str) or not name or name in RESERVED or name.startswith(("channel:", "user:")):
            return
        echo = echo_of(sid, data)
        channel = data.get("channel")
        if channel is None:
            await sio.emit(name, {"channel": None, "message": data.get("message")}, skip_sid=None if echo else sid)
        elif valid_channel(channel):
            await sio.emit(name, {"channel": channel, "message": data.get("message")}, room=channel,
                           skip_sid=None if echo else sid)

    @sio.on("join")
    async def join(sid, data):
        if not isinstance(data, dict) or not valid_channel(data.get("channel")):
            return
        c = data["channel"]
        if c in channels(sid):
            return
        await sio.enter_room(sid, c)
        await announce("channel:join", c, sid, echo_of(sid, data))

    @sio.on("leave")
    async def leave(sid, data):
        if not isinstance(data, dict) or not valid_channel(data.get("channel")):
            return
        c = data["channel"]
        if c not in channels(sid):
            return
        echo = echo_of(sid, data)
        if echo:
            await announce("channel:leave", c, sid, True)
            await sio.leave_room(sid, c)
        else:
            await sio.leave_room(sid, c)
            await announce("channel:leave", c, sid, True)

    @sio.on("update")
    async def update(sid, data):
        if not isinstance(data, dict):
            return
        member_data[sid] = data.get("data")
        for c in channels(sid):
            await announce("channel:update", c, sid, echo_of(sid, data))

    @sio.on("members")
    async def members(sid, data):
        c = data.get("channel") if isinstance(data, dict) else None
        if not valid_channel(c):
            return []
        return [{"id": s, "data": member_data.get(s)} for s, _ in sio.manager.get_participants("/", c)]

    return sio, app


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ping-interval", type=float, default=25.0, help="seconds")
    ap.add_argument("--ping-timeout", type=float, default=20.0, help="seconds")
    a = ap.parse_args()
    _, app = build(a.ping_interval, a.ping_timeout)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, a.host, a.port, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
