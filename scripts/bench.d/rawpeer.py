"""Near-zero-cost Socket.IO peers over raw WebSocket frames, to measure hubs and receivers
without the measuring side being the bottleneck.

    rawpeer.py flood PORT CHANNEL COUNT       send COUNT pre-encoded channel messages at once
    rawpeer.py count PORT CHANNEL N COUNT IDLE_S MAX_S
                                              N connections joined to CHANNEL, each counting
                                              'bnchtick' deliveries by scanning bytes; stops
                                              at COUNT each, IDLE_S of silence or MAX_S

Neither side decodes JSON: the sender writes one pre-built buffer of masked frames; the
receivers count occurrences of the event name in the byte stream (C-speed bytes.count).
Both answer Engine.IO pings so long runs are not dropped. Prints READY / RESULT {json}.
"""
import asyncio
import json
import struct
import sys
import time

PAD = "x" * 56
MARK = b'"bnchtick"'
PING = b"\x81\x012"  # an unmasked server text frame holding Engine.IO "2"


def frame(text: str) -> bytes:
    """A masked client text frame; a zero mask key leaves the payload as is."""
    data = text.encode()
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + b"\0\0\0\0" + data


PONG = frame("3")


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Conn:
    """One Socket.IO connection: WebSocket upgrade, Engine.IO open, Socket.IO CONNECT."""

    def __init__(self, port: int):
        self.port = port
        self.buf = b""

    async def open(self) -> None:
        self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        self.w.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = await self.r.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"upgrade refused: {head[:200]!r}")
        opened = await self.text_frame()
        if not opened.startswith("0{"):
            raise RuntimeError(f"expected Engine.IO open, got {opened[:100]!r}")
        self.w.write(frame('40{"echoMessages":true}'))
        while True:
            t = await self.text_frame()
            if t.startswith("40"):
                return
            if t.startswith("44"):
                raise RuntimeError(f"connect refused: {t}")

    async def text_frame(self) -> str:
        """Reads one unmasked, unfragmented server frame (handshake phase only)."""
        b0, b1 = await self.r.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.r.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.r.readexactly(8))[0]
        data = (await self.r.readexactly(n)).decode()
        if data == "2":
            self.w.write(PONG)
            return await self.text_frame()
        return data

    async def join(self, channel: str) -> None:
        self.w.write(frame("42" + json.dumps(["join", {"channel": channel, "echo": True}], separators=(",", ":"))))
        while True:
            if (await self.text_frame()).startswith('42["channel:join"'):
                return


async def flood(port: int, channel: str, count: int) -> None:
    c = Conn(port)
    await c.open()
    now = time.time()
    blob = b"".join(
        frame("42" + json.dumps(["message", {"channel": channel, "eventName": "bnchtick", "echo": False,
                                             "message": {"seq": i, "ts": now, "pad": PAD}}], separators=(",", ":")))
        for i in range(1, count + 1))

    async def drain_incoming():  # keep the read side empty and answer pings
        while True:
            data = await c.r.read(65536)
            if not data:
                return
            for _ in range(data.count(PING)):
                c.w.write(PONG)

    reader = asyncio.create_task(drain_incoming())
    out("READY")
    t0 = time.time()
    c.w.write(blob)
    await c.w.drain()
    t1 = time.time()
    out("RESULT " + json.dumps({"count": count, "bytes": len(blob), "start": t0, "flushed": t1}))
    # Stay connected until the orchestrator ends the run: a python-socketio server drops
    # the messages it has not yet handled when their sender disconnects.
    await reader


async def count(port: int, channel: str, n: int, target: int, idle: float, max_s: float) -> None:
    conns = [Conn(port) for _ in range(n)]
    gate = asyncio.Semaphore(64)

    async def setup(c: Conn):
        async with gate:
            await c.open()
            await c.join(channel)

    await asyncio.gather(*(setup(c) for c in conns))
    stats = [{"n": 0, "first": 0.0, "last": 0.0} for _ in conns]
    last_byte = [time.time()]

    async def run(c: Conn, st: dict):
        tail = b""
        while st["n"] < target:
            data = await c.r.read(262144)
            if not data:
                return
            t = time.time()
            last_byte[0] = t
            chunk = tail + data
            k = chunk.count(MARK)
            if k:
                if st["n"] == 0:
                    st["first"] = t
                st["n"] += k
                st["last"] = t
            for _ in range(chunk.count(PING)):
                c.w.write(PONG)
            tail = chunk[-(len(MARK) - 1):]

    out("READY")
    tasks = [asyncio.create_task(run(c, st)) for c, st in zip(conns, stats)]
    stop = "count"
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.05)
        firsts = [st["first"] for st in stats if st["n"]]
        t = time.time()
        if firsts and (t - last_byte[0] > idle or t - min(firsts) > max_s):
            stop = "idle" if t - last_byte[0] > idle else "time"
            break
    if stop == "count" and any(st["n"] < target for st in stats):
        stop = "disconnected"
    for t in tasks:
        t.cancel()
    total = sum(st["n"] for st in stats)
    firsts = [st["first"] for st in stats if st["n"]]
    lasts = [st["last"] for st in stats if st["n"]]
    out("RESULT " + json.dumps({"count": total, "stop": stop, "per_receiver_min": min(st["n"] for st in stats),
                                "first": min(firsts) if firsts else 0.0, "last": max(lasts) if lasts else 0.0}))
    for c in conns:
        c.w.close()


def main() -> None:
    mode, a = sys.argv[1], sys.argv[2:]
    if mode == "flood":
        asyncio.run(flood(int(a[0]), a[1], int(a[2])))
    elif mode == "count":
        asyncio.run(count(int(a[0]), a[1], int(a[2]), int(a[3]), float(a[4]), float(a[5])))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
