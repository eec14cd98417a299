"""Fan-out throughput: one sender broadcasts M events (echo off) to K receivers; reports
deliveries per second. Runs against the hub at BASE_URL and, for comparison, against a
python-socketio AsyncServer doing the same routing (started here in a subprocess).

Usage: fanout_bench.py BASE_URL [K] [M]      (BASE_URL "-" skips the hub run)
Receivers are bare asyncio sockets that only count bytes after the handshake, so the
clients cost little next to the server under test.
"""
import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time

MESSAGE = "x" * 40
FRAME_TEXT = '42["bench",{"channel":null,"message":"%s"}]' % MESSAGE
DELIVERY_BYTES = (2 if len(FRAME_TEXT) < 126 else 4) + len(FRAME_TEXT)
SEND_TEXT = '42["message",{"eventName":"bench","message":"%s","echo":false}]' % MESSAGE


def ws_frame(text):
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Raw(asyncio.Protocol):
    def __init__(self):
        self.buf = b""
        self.counting = False
        self.count = 0
        self.target = None
        self.done = asyncio.get_event_loop().create_future()
        self.changed = asyncio.Event()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.counting:
            self.count += len(data)
            if self.target is not None and self.count >= self.target and not self.done.done():
                self.done.set_result(None)
        else:
            self.buf += data
            self.changed.set()

    async def read_until(self, pred):
        while True:
            r = pred(self.buf)
            if r is not None:
                return r
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 20)

    async def read_frame_text(self):
        def parse(b):
            if len(b) < 2:
                return None
            n = b[1] & 0x7F
            off = 2
            if n == 126:
                if len(b) < 4:
                    return None
                n = struct.unpack(">H", b[2:4])[0]
                off = 4
            if len(b) < off + n:
                return None
            return off + n, b[off:off + n].decode()
        end, text = await self.read_until(parse)
        self.buf = self.buf[end:]
        return text


async def open_raw(host, port):
    loop = asyncio.get_event_loop()
    _, proto = await loop.create_connection(Raw, host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    proto.transport.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    end = await proto.read_until(lambda b: (b.index(b"\r\n\r\n") + 4) if b"\r\n\r\n" in b else None)
    assert b" 101 " in proto.buf[:end], proto.buf[:end]
    proto.buf = proto.buf[end:]
    opening = await proto.read_frame_text()
    assert opening.startswith("0{"), opening
    proto.transport.write(ws_frame("40"))
    while True:
        t = await proto.read_frame_text()
        if t.startswith("40"):
            return proto


async def run(base, k, m):
    host, port = base.split("//")[1].split(":")
    port = int(port)
    receivers = [await open_raw(host, port) for _ in range(k)]
    sender = await open_raw(host, port)
    for r in receivers:
        r.counting = True
        r.count = len(r.buf)
        r.target = m * DELIVERY_BYTES
    frame = ws_frame(SEND_TEXT)
    start = time.perf_counter()
    for i in range(m):
        sender.transport.write(frame)
        if i % 200 == 199:
            await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*(r.done for r in receivers)), 120)
    elapsed = time.perf_counter() - start
    for r in receivers + [sender]:
        r.transport.close()
    return k * m / elapsed, elapsed


PY_SERVER = r'''
import sys, socketio
from aiohttp import web
sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=300, max_http_buffer_size=1000000)
@sio.on("message")
async def message(sid, data):
    echo = data.get("echo", True)
    channel = data.get("channel")
    await sio.emit(data["eventName"], {"channel": channel, "message": data.get("message")},
                   to=channel, skip_sid=None if echo else sid)
app = web.Application()
sio.attach(app)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


async def wait_listening(port):
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("python-socketio server did not start")


async def main():
    base = sys.argv[1]
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    m = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    results = {}
    if base != "-":
        rate, secs = await run(base, k, m)
        results["hub"] = rate
        print(f"hub:             {k} receivers x {m} events = {k*m} deliveries in {secs:.2f} s: {rate:,.0f}/s")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", PY_SERVER, str(port)])
    try:
        await wait_listening(port)
        rate, secs = await run(f"http://127.0.0.1:{port}", k, m)
        results["python"] = rate
        print(f"python-socketio: {k} receivers x {m} events = {k*m} deliveries in {secs:.2f} s: {rate:,.0f}/s")
    finally:
        server.kill()
        server.wait(10)
    if "hub" in results:
        print(f"ratio hub/python-socketio: {results['hub'] / results['python']:.1f}x")
    print("BENCH DONE")


if __name__ == "__main__":
    asyncio.run(main())
