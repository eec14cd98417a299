"""A small python-socketio server for SocketIOClient's interop tests.

Socket.IO on /socket.io/ (auth key must be "good"): echo, ack_me, ask (server asks the
client for an ack), kick, tally (counted and echoed) and tally_count (the count, by ack). Raw Engine.IO over aiohttp WebSockets on /raw/?mode=…, for what
python-socketio never does on its own: heartbeat (three pings, then silence), fragments
(fragmented text and binary messages with a ping control frame in between), close (a
WebSocket close frame). With --tls-cert/--tls-key it serves TLS.

Prints "PORT <n>" once listening; exits when stdin closes, so a test never leaves it behind.
"""
import argparse
import asyncio
import json
import os
import struct
import sys

import socketio
from aiohttp import WSMsgType, web

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--max-payload", type=int, default=8_000_000)
parser.add_argument("--ping-interval", type=float, default=25)
parser.add_argument("--ping-timeout", type=float, default=20)
parser.add_argument("--tls-cert")
parser.add_argument("--tls-key")
args = parser.parse_args()

sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=args.ping_interval,
                           ping_timeout=args.ping_timeout, max_http_buffer_size=args.max_payload)
app = web.Application()
sio.attach(app)


@sio.event
async def connect(sid, environ, auth):
    if not isinstance(auth, dict) or auth.get("key") != "good":
        raise socketio.exceptions.ConnectionRefusedError("bad key")


@sio.event
async def echo(sid, *data):
    await sio.emit("echo", data, to=sid)


@sio.event
async def ack_me(sid, *data):
    return data


@sio.event
async def ask(sid, question):
    answer = await sio.call("question", question, to=sid, timeout=10)
    await sio.emit("answered", answer, to=sid)


tallied = {"count": 0}


@sio.event
async def tally(sid, *data):
    """Counts the event, across every connection, and echoes it back."""
    tallied["count"] += 1
    await sio.emit("tally", data, to=sid)


@sio.event
async def tally_count(sid):
    return tallied["count"]


@sio.event
async def kick(sid):
    await sio.disconnect(sid)


def frame(opcode, payload, fin=True):
    """One unmasked server frame, built by hand so it can be a fragment."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


async def raw(request):
    mode = request.query.get("mode", "")
    ws = web.WebSocketResponse(autoping=False, compress=False)
    await ws.prepare(request)
    await ws.send_str('0{"sid":"raw","upgrades":[],"pingInterval":500,"pingTimeout":500,"maxPayload":1000000}')

    async def next_text():
        while True:
            msg = await ws.receive()
            if msg.type == WSMsgType.TEXT:
                return msg.data
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
                return None

    first = await next_text()
    if first is None or not first.startswith("40"):
        await ws.close()
        return ws
    await ws.send_str('40{"sid":"raw-' + mode + '"}')

    if mode == "heartbeat":
        pongs = 0
        for _ in range(3):
            await asyncio.sleep(0.1)
            await ws.send_str("2")
            if await next_text() == "3":
                pongs += 1
        await ws.send_str('42["pongs",%d]' % pongs)
        # Silence from here on: the client must give up after pingInterval + pingTimeout.
        while await next_text() is not None:
            pass
    elif mode == "fragments":
        t = request.transport
        t.write(frame(0x1, b'42["frag","hel', fin=False))
        t.write(frame(0x9, b"abc"))
        t.write(frame(0x0, b"lo wor", fin=False))
        t.write(frame(0x0, b'ld"]'))
        t.write(frame(0x1, b'451-["bin",{"_placeholder":true,"num":0}]'))
        t.write(frame(0x2, b"\xff\x00", fin=False))
        t.write(frame(0x0, b"\x80"))
        while True:
            msg = await ws.receive()
            if msg.type == WSMsgType.PONG:
                await ws.send_str("42" + json.dumps(["pong_ok", msg.data.decode()]))
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
                break
    elif mode == "close":
        await ws.close(code=1001)
    return ws


app.router.add_get("/raw/", raw)


async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    ssl_context = None
    if args.tls_cert:
        import ssl
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
    site = web.TCPSite(runner, "127.0.0.1", args.port, reuse_address=True, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print("PORT", port, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    os._exit(0)


asyncio.run(main())
