"""Idle Socket.IO connections for row 6 (hub memory per idle connection): as light a client
as can be, so one process holds thousands (each under its own open-files limit).

    idleconns.py PORT N HOLD_S [GATE]

Opens N connections to 127.0.0.1:PORT, each a raw WebSocket upgrade, the Engine.IO open
and a Socket.IO CONNECT, at most GATE (default 64) handshakes at a time. Prints READY *k
as they connect, then `CONNECTED n` when every attempt has ended, answers every Engine.IO
ping, and after HOLD_S more seconds prints RESULT {"connected", "alive", "failed",
"errors"} (alive: still open then); it then keeps the connections open for the
orchestrator to measure the server, and exits by itself 120 s later. No JSON is decoded after the handshake.
"""
import asyncio
import json
import resource
import struct
import sys
import time

PING = b"\x81\x012"  # an unmasked server text frame holding Engine.IO "2"


def frame(text: str) -> bytes:
    """A masked client text frame; a zero mask key leaves the payload as is."""
    data = text.encode()
    return struct.pack("!BB", 0x81, 0x80 | len(data)) + b"\0\0\0\0" + data


PONG = frame("3")
CONNECT = frame("40")


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Idle(asyncio.Protocol):
    """One connection: the handshake by a small byte-level state machine, then pongs only."""

    def __init__(self, port: int, done: asyncio.Future):
        self.port, self.done = port, done
        self.buf = b""
        self.state = "upgrade"   # upgrade → open → connect → idle
        self.alive = False

    def connection_made(self, transport) -> None:
        self.t = transport
        self.alive = True
        transport.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())

    def connection_lost(self, exc) -> None:
        self.alive = False
        if not self.done.done():
            self.done.set_result(f"closed during {self.state}")

    def data_received(self, data: bytes) -> None:
        if self.state == "idle":
            # Pings are 3-byte frames; one split across reads is answered at the next.
            if PING in data:
                self.t.write(PONG * data.count(PING))
            return
        self.buf += data
        if self.state == "upgrade":
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buf[:end].split(b"\r\n", 1)[0]:
                return self.fail("upgrade refused")
            self.buf = self.buf[end + 4:]
            self.state = "open"
        while self.state in ("open", "connect"):
            text = self.next_frame()
            if text is None:
                return
            if text == "2":
                self.t.write(PONG)
            elif self.state == "open":
                if not text.startswith("0{"):
                    return self.fail("no Engine.IO open")
                self.t.write(CONNECT)
                self.state = "connect"
            elif text.startswith("40"):
                self.state = "idle"
                self.buf = b""
                if not self.done.done():
                    self.done.set_result(None)
            elif text.startswith("44"):
                return self.fail("CONNECT refused")

    def next_frame(self) -> str | None:
        b = self.buf
        if len(b) < 2:
            return None
        n, at = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, at = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, at = struct.unpack("!Q", b[2:10])[0], 10
        if len(b) < at + n:
            return None
        self.buf = b[at + n:]
        return b[at:at + n].decode(errors="replace")

    def fail(self, why: str) -> None:
        if not self.done.done():
            self.done.set_result(why)
        self.t.abort()


async def main(port: int, n: int, hold: float, gate_n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(gate_n)
    conns: list[Idle] = []
    errors: dict[str, int] = {}
    pending_ready = [0]

    async def one() -> bool:
        async with gate:
            done = loop.create_future()
            try:
                _, proto = await loop.create_connection(lambda: Idle(port, done), "127.0.0.1", port)
            except OSError as e:
                why = f"connect: {e.strerror or e}"
                errors[why] = errors.get(why, 0) + 1
                return False
            conns.append(proto)
            try:
                why = await asyncio.wait_for(done, 60)
            except asyncio.TimeoutError:
                why = "handshake timeout"
                proto.t.abort()
            if why:
                errors[why] = errors.get(why, 0) + 1
                return False
            pending_ready[0] += 1
            return True

    async def report() -> None:
        while True:
            await asyncio.sleep(0.2)
            if pending_ready[0]:
                out(f"READY *{pending_ready[0]}")
                pending_ready[0] = 0

    reporter = asyncio.create_task(report())
    results = await asyncio.gather(*(one() for _ in range(n)))
    reporter.cancel()
    if pending_ready[0]:
        out(f"READY *{pending_ready[0]}")
    connected = sum(results)
    out(f"CONNECTED {connected}")
    await asyncio.sleep(hold)
    alive = sum(1 for c in conns if c.alive and c.state == "idle")
    out("RESULT " + json.dumps({"connected": connected, "alive": alive, "failed": n - connected,
                                "errors": errors, "t": time.time()}))
    # Held open (and pings answered) while the orchestrator reads the server's memory; it
    # kills this process, else it ends by itself.
    await asyncio.sleep(120)
    for c in conns:
        c.t.abort()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(int(a[0]), int(a[1]), float(a[2]), int(a[3]) if len(a) > 3 else 64))
