"""Joins CHANNEL over a raw Socket.IO connection (rawpeer.Conn), then hands the socket to
the compiled floor receiver (floor.c), which replaces this process.

    floor.py BINARY PORT CHANNEL COUNT IDLE_S MAX_S     prints READY, then floor's RESULT
"""
import asyncio
import os
import sys

from rawpeer import Conn, out


async def joined(port: int, channel: str) -> int:
    c = Conn(port)
    await c.open()
    await c.join(channel)
    if c.r._buffer:  # bytes past the join answer would be lost to the floor receiver
        raise RuntimeError("unexpected bytes after the join")
    return os.dup(c.w.get_extra_info("socket").fileno())


def main() -> None:
    binary, port, channel, count, idle, max_s = sys.argv[1:7]
    fd = asyncio.run(joined(int(port), channel))
    os.set_inheritable(fd, True)
    out("READY")
    os.execv(binary, [binary, str(fd), count, idle, max_s])


if __name__ == "__main__":
    main()
