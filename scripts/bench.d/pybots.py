"""python-socketio AsyncClient bots: the peer side of each benchmark scenario.

Every mode prints `READY …` once it is joined and `RESULT {json}` at the end, the same
lines the Lua scripts in this folder print, so the orchestrator treats both alike.

    pybots.py recv  URL CHANNEL COUNT IDLE_S MAX_S count COUNT events 'bnchtick' in a handler
    pybots.py send  URL CHANNEL COUNT             flood COUNT channel messages
    pybots.py pong  URL CHANNEL                   answer every 'bping' with a 'bpong'
    pybots.py ping  URL CHANNEL RATE SECONDS      paced pings, round-trip times in µs
    pybots.py idle  URL CHANNEL N                 N idle clients in this process, joined in
                                                  channels of 10 (CHANNEL-0, CHANNEL-1, ...)
"""
import asyncio
import json
import sys
import time

import socketio

PAD = "x" * 56  # makes each message object about 100 bytes of JSON


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def connect_joined(url: str, channel: str, handlers: dict | None = None) -> socketio.AsyncClient:
    """Connect over the WebSocket transport and return once our own channel:join came back."""
    sio = socketio.AsyncClient(reconnection=False)
    joined = asyncio.get_running_loop().create_future()

    @sio.on("channel:join")
    async def on_join(data):
        if data.get("message", {}).get("id") == sio.get_sid() and not joined.done():
            joined.set_result(None)

    for name, fn in (handlers or {}).items():
        sio.on(name, fn)
    await sio.connect(url, transports=["websocket"], auth={"echoMessages": True}, wait_timeout=60)
    await sio.emit("join", {"channel": channel, "echo": True})
    await asyncio.wait_for(joined, 60)
    return sio


async def recv(url: str, channel: str, count: int, idle: float, max_s: float) -> None:
    st = {"n": 0, "first": 0.0, "last": 0.0, "cpu_first": 0.0}
    done = asyncio.Event()

    async def on_tick(data):
        t = time.time()
        if st["n"] == 0:
            st["first"] = t
            st["cpu_first"] = time.process_time()
        st["n"] += 1
        st["last"] = t
        if st["n"] >= count:
            done.set()

    stop = ["count"]

    async def on_disconnect(*reason):
        stop[0] = "disconnected"
        done.set()

    sio = await connect_joined(url, channel, {"bnchtick": on_tick, "disconnect": on_disconnect})
    out("READY")
    while not done.is_set():  # stop at COUNT, IDLE_S after the last message, or MAX_S after the first
        try:
            await asyncio.wait_for(done.wait(), 0.5)
        except asyncio.TimeoutError:
            t = time.time()
            if st["n"] and (t - st["last"] > idle or t - st["first"] > max_s):
                stop[0] = "idle" if t - st["last"] > idle else "time"
                break
    out("RESULT " + json.dumps({"count": st["n"], "first": st["first"], "last": st["last"],
                                "cpu_first": st["cpu_first"], "cpu_last": time.process_time(), "stop": stop[0]}))
    if sio.connected:
        await sio.disconnect()


async def send(url: str, channel: str, count: int) -> None:
    sio = await connect_joined(url, channel + "-ctl")
    t0 = time.time()
    for i in range(1, count + 1):
        await sio.emit("message", {"channel": channel, "eventName": "bnchtick", "echo": False,
                                   "message": {"seq": i, "ts": time.time(), "pad": PAD}})
        if i % 500 == 0:
            await asyncio.sleep(0)  # let the writer task run, as a real sender would
    t1 = time.time()
    while not sio.eio.queue.empty():  # wait until the transport has taken every packet
        await asyncio.sleep(0.001)
    t2 = time.time()
    out("RESULT " + json.dumps({"count": count, "start": t0, "loop_done": t1, "flushed": t2}))
    # Stay connected until the orchestrator ends the run: a python-socketio server drops
    # the messages it has not yet handled when their sender disconnects.
    await sio.wait()


async def pong(url: str, channel: str) -> None:
    sio = None

    async def on_ping(data):
        await sio.emit("message", {"channel": channel, "eventName": "bpong", "message": data["message"], "echo": False})

    sio = await connect_joined(url, channel, {"bping": on_ping})
    out("READY")
    await sio.wait()


async def ping(url: str, channel: str, rate: float, seconds: float) -> None:
    rtts: list[int] = []

    async def on_pong(data):
        rtts.append(int((time.perf_counter() - data["message"]["t"]) * 1e6))

    sio = await connect_joined(url, channel, {"bpong": on_pong})
    out("READY")
    total = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(total):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await sio.emit("message", {"channel": channel, "eventName": "bping", "echo": False,
                                   "message": {"seq": i, "t": time.perf_counter(), "pad": PAD}})
    elapsed = time.perf_counter() - t0
    deadline = time.perf_counter() + 2
    while len(rtts) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    out("RESULT " + json.dumps({"sent": total, "send_seconds": elapsed, "rtt_us": rtts}))
    await sio.disconnect()


async def idle(url: str, channel: str, n: int) -> None:
    gate = asyncio.Semaphore(64)  # bounded concurrent handshakes, so no SYN queue overflows

    async def one(i: int):
        async with gate:
            return await connect_joined(url, f"{channel}-{i // 10}")

    clients = await asyncio.gather(*(one(i) for i in range(n)))
    out(f"READY *{len(clients)}")
    await asyncio.Event().wait()


def main() -> None:
    mode, rest = sys.argv[1], sys.argv[2:]
    url, channel = rest[0], rest[1]
    coro = {
        "recv": lambda: recv(url, channel, int(rest[2]), float(rest[3]), float(rest[4])),
        "send": lambda: send(url, channel, int(rest[2])),
        "pong": lambda: pong(url, channel),
        "ping": lambda: ping(url, channel, float(rest[2]), float(rest[3])),
        "idle": lambda: idle(url, channel, int(rest[2])),
    }[mode]()
    asyncio.run(coro)


if __name__ == "__main__":
    main()
