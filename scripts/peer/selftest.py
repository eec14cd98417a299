#!/usr/bin/env python3
"""Self-test of reference_server.py with python-socketio clients (no Swift involved).

    .venv-peer/bin/python scripts/peer/selftest.py

Starts the server on a free loopback port with a client key and a master key, checks the
PROTOCOL.md rules it implements, prints `selftest: N checks passed` and exits 0, or
prints the first failure and exits 1. Bounded: every wait has a timeout.
"""

import asyncio
import json
import os
import sys
import urllib.error
import urllib.request

import socketio

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "ck-test"
MASTER = "mk-test"
WAIT = 10.0


class Peer:
    """A python-socketio client that records every event it receives, in order."""

    def __init__(self, url, auth):
        self.url, self.auth = url, auth
        self.events = []
        self.changed = asyncio.Condition()
        self.sio = socketio.AsyncClient(reconnection=False)

        @self.sio.on("*")
        async def any_event(event, *args):
            async with self.changed:
                self.events.append((event, list(args)))
                self.changed.notify_all()

    async def connect(self):
        await self.sio.connect(self.url, transports=["websocket"], auth=self.auth, wait_timeout=WAIT)
        return self

    async def wait_for(self, predicate, what):
        async def wait():
            async with self.changed:
                await self.changed.wait_for(lambda: any(predicate(e) for e in self.events))

        try:
            await asyncio.wait_for(wait(), WAIT)
        except asyncio.TimeoutError:
            raise AssertionError("timed out waiting for %s; got %r" % (what, self.events)) from None
        return next(e for e in self.events if predicate(e))

    def named(self, name):
        return [args for (event, args) in self.events if event == name]


def post(port, path, body, headers):
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path),
        data=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers=dict({"Content-Type": "application/json"}, **headers),
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def run(port):
    url = "http://127.0.0.1:%d" % port
    checks = 0

    def check(cond, what):
        nonlocal checks
        if not cond:
            raise AssertionError(what)
        checks += 1

    # §2: wrong key refused with the server's message.
    bad = socketio.AsyncClient(reconnection=False)
    refusals = []
    bad.on("connect_error", lambda data: refusals.append(data))
    try:
        await bad.connect(url, transports=["websocket"], auth={"clientKey": "nope"}, wait_timeout=WAIT)
        check(False, "wrong key connected")
    except socketio.exceptions.ConnectionError:
        check(refusals == [{"message": "Invalid client key"}], "refusal: %r" % refusals)

    a = await Peer(url, {"clientKey": KEY, "Session": "sess-a"}).connect()
    b = await Peer(url, {"clientKey": KEY, "echoMessages": False}).connect()
    sid_a, sid_b = a.sio.get_sid(), b.sio.get_sid()

    # Broadcast with default echo (a: true, b: false).
    await a.sio.emit("message", {"eventName": "hi", "message": 1})
    await b.wait_for(lambda e: e == ("hi", [{"channel": None, "message": 1}]), "broadcast at b")
    await a.wait_for(lambda e: e[0] == "hi", "echoed broadcast at a")
    await b.sio.emit("message", {"eventName": "from-b", "message": 2})
    await b.sio.emit("message", {"eventName": "from-b-echo", "message": 3, "echo": True})
    await b.wait_for(lambda e: e[0] == "from-b-echo", "packet echo=true overrides auth")
    check(b.named("from-b") == [], "b got its own broadcast though echoMessages=false")
    await a.wait_for(lambda e: e[0] == "from-b-echo", "b's broadcasts at a")  # a reads on its own connection
    check(len(a.named("from-b")) == 1, "a missed b's broadcast")

    # Reserved and prefixed names are dropped, the connection stays.
    for name in ["connect", "disconnect", "channel:x", "user:signin", ""]:
        await a.sio.emit("message", {"eventName": name, "message": 0})
    await a.sio.emit("disconnect")
    await a.sio.emit("join", {"channel": "x" * 257})
    await a.sio.emit("message", {"eventName": "after-drops", "message": 0})
    await a.wait_for(lambda e: e[0] == "after-drops", "connection alive after drops")
    check(a.sio.connected and not any(e[0] in ("connect", "channel:x") for e in a.events), "reserved name leaked")

    # join: joiner echo, others see {"id","data"}; idempotent.
    await a.sio.emit("update", {"data": {"name": "alice"}})
    await b.sio.emit("join", {"channel": "room"})
    # Two connections' packets are handled in no set order: b must be in the room before a
    # joins, or b is not told. Its members call is answered after its join (one connection,
    # handled in order).
    in_room = await b.sio.call("members", {"channel": "room"}, timeout=WAIT)
    check([m["id"] for m in in_room] == [sid_b], "b in the room before a joins: %r" % in_room)
    await a.sio.emit("join", {"channel": "room"})
    await a.sio.emit("join", {"channel": "room"})
    join_a = {"channel": "room", "message": {"id": sid_a, "data": {"name": "alice"}}}
    await b.wait_for(lambda e: e == ("channel:join", [join_a]), "channel:join at b")
    await a.wait_for(lambda e: e == ("channel:join", [join_a]), "echoed channel:join at a")
    check(b.named("channel:join") == [[join_a]], "b saw its own join or a duplicate: %r" % b.named("channel:join"))

    # Channel message reaches members only; sender need not be a member.
    c = await Peer(url, {"clientKey": KEY}).connect()
    await c.sio.emit("message", {"channel": "room", "eventName": "chat", "message": {"t": "x"}})
    await a.wait_for(lambda e: e == ("chat", [{"channel": "room", "message": {"t": "x"}}]), "chat at a")
    await b.wait_for(lambda e: e[0] == "chat", "chat at b")
    await c.sio.emit("message", {"eventName": "c-done", "message": 0})
    await c.wait_for(lambda e: e[0] == "c-done", "c's own broadcast")
    check(c.named("chat") == [], "non-member got the channel message")

    # Binary round trip.
    await a.sio.emit("message", {"channel": "room", "eventName": "bin", "message": b"\x00\xff\x10"})
    got = await b.wait_for(lambda e: e[0] == "bin", "binary at b")
    check(got[1][0]["message"] == b"\x00\xff\x10", "binary changed: %r" % got[1])

    # update reaches every channel once; members ack and REST agree.
    await a.sio.emit("update", {"data": {"name": "alice2"}, "echo": False})
    upd = {"channel": "room", "message": {"id": sid_a, "data": {"name": "alice2"}}}
    await b.wait_for(lambda e: e == ("channel:update", [upd]), "channel:update at b")
    members = await a.sio.call("members", {"channel": "room"}, timeout=WAIT)
    check(sorted(m["id"] for m in members) == sorted([sid_a, sid_b]), "members ack: %r" % members)
    status, body = post(port, "/_api/rest/v1/realtime/get-members", {"channel": "room"}, {"X-Client-Key": KEY})
    check(status == 200 and {m["id"] for m in body} == {sid_a, sid_b}, "REST members: %r" % body)
    check({"id": sid_a, "data": {"name": "alice2"}} in body, "REST member data: %r" % body)
    status, body = post(port, "/_api/rest/v1/realtime/get-members", {"channel": "none"}, {"X-Client-Key": KEY})
    check((status, body) == (200, []), "unknown channel: %r" % body)
    status, body = post(port, "/_api/rest/v1/realtime/get-members", {"channel": "room"}, {"X-Client-Key": "x"})
    check(status == 401 and body["items"][0]["code"] == "invalid_client_key", "401: %r" % body)
    status, body = post(port, "/_api/rest/v1/realtime/get-members", {"chan": 1}, {"X-Client-Key": KEY})
    check(status == 400 and body["items"][0]["code"] == "missing_required_field", "400: %r" % body)
    status, body = post(port, "/_api/rest/v1/realtime/get-members", b"not json", {"X-Client-Key": KEY})
    check(status == 400 and body["statusText"] == "Bad Request", "400 on bad JSON: %r" % body)

    # leave: idempotent, leaver excluded without echo.
    await a.sio.emit("leave", {"channel": "room", "echo": False})
    await a.sio.emit("leave", {"channel": "room"})
    await b.wait_for(lambda e: e[0] == "channel:leave", "channel:leave at b")
    await a.sio.emit("message", {"eventName": "a-left", "message": 0})
    await b.wait_for(lambda e: e[0] == "a-left", "marker after leave")
    check(len(b.named("channel:leave")) == 1 and a.named("channel:leave") == [], "leave not idempotent/echo")

    # Disconnect sends channel:leave to the remaining members.
    await c.sio.emit("join", {"channel": "room"})
    await b.wait_for(lambda e: e[0] == "channel:join" and e[1][0]["message"]["id"] == c.sio.get_sid(), "c joined")
    sid_c = c.sio.get_sid()
    await c.sio.disconnect()
    await b.wait_for(
        lambda e: e == ("channel:leave", [{"channel": "room", "message": {"id": sid_c, "data": None}}]),
        "channel:leave on disconnect",
    )

    # Admin user events: to one session, then to all; two arguments (name, session).
    status, body = post(port, "/_api/rest/v1/realtime/user-event", {"event": "user:signin", "to": "*"}, {"Authorization": "bad"})
    check(status == 401, "user-event without master key: %r" % body)
    session = {"token": "sess-a", "userId": "u1"}
    status, body = post(
        port, "/_api/rest/v1/realtime/user-event", {"event": "user:update", "session": session, "to": "sess-a"},
        {"Authorization": MASTER},
    )
    check((status, body) == (200, {"delivered": 1}), "user-event: %r" % body)
    await a.wait_for(lambda e: e == ("user:update", ["user:update", session]), "user event at a")
    status, body = post(
        port, "/_api/rest/v1/realtime/user-event", {"event": "user:signout", "session": None, "to": "*"},
        {"Authorization": MASTER},
    )
    check((status, body) == (200, {"delivered": 2}), "user-event to all: %r" % body)
    await b.wait_for(lambda e: e == ("user:signout", ["user:signout", None]), "user event at b")
    check(b.named("user:update") == [], "b got a user event for another session")

    await a.sio.disconnect()
    await b.sio.disconnect()
    return checks


async def main():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, os.path.join(HERE, "reference_server.py"), "--port", "0",
        "--key", KEY, "--key", "other-key", "--master-key", MASTER,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), WAIT)).decode()
        if not line.startswith("LISTENING "):
            raise AssertionError("server said %r" % line)
        checks = await asyncio.wait_for(run(int(line.split()[1])), 60)
        print("selftest: %d checks passed" % checks)
        return 0
    except AssertionError as e:
        print("selftest: FAILED: %s" % e)
        return 1
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), WAIT)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
