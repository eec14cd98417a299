"""Conformance scenarios for the rtlua hub, played by independent python-socketio
clients (and raw WebSocket/TCP clients for bad input).

Usage: hub_peer.py BASE_URL SCENARIO [OPTIONS_JSON]
Each scenario asserts what every client receives; it prints "PASS <scenario>" and exits 0,
or prints the failure and exits 1. Every wait has a timeout, so a scenario never hangs.

"Did NOT receive" is checked without sleeping: after the action under test, a client
sends a sentinel broadcast with echo on. The hub handles one sender's packets in order and
writes to each recipient in order, so once a client holds the sentinel it holds everything
sent before it.
"""
import asyncio
import base64
import json
import os
import struct
import sys
import traceback

import aiohttp
import socketio

BASE = sys.argv[1].rstrip("/")
SCENARIO = sys.argv[2]
OPTS = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
WS_URL = BASE.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
TIMEOUT = 15

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


class Peer:
    """A python-socketio client that records every event it receives."""

    def __init__(self, name, **auth):
        self.name = name
        self.auth = {"echoMessages": True, **auth}
        if auth.get("echoMessages") is None and "echoMessages" in auth:
            del self.auth["echoMessages"]
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events = []  # (event, args)
        self.changed = asyncio.Event()
        self.sentinels = 0

        self.connect_errors = []

        @self.sio.on("connect_error")
        async def connect_error(data):
            self.connect_errors.append(data)

        @self.sio.on("*")
        async def any_event(event, *args):
            self.events.append((event, list(args)))
            self.changed.set()

    async def connect(self):
        await self.sio.connect(BASE, transports=["websocket"], auth=self.auth, wait_timeout=TIMEOUT)
        return self

    @property
    def sid(self):
        return self.sio.get_sid()

    async def emit(self, event, data):
        await self.sio.emit(event, data)

    async def wait_for(self, pred, what):
        async def loop():
            while True:
                for i, e in enumerate(self.events):
                    if pred(e):
                        return i
                self.changed.clear()
                await self.changed.wait()
        try:
            return await asyncio.wait_for(loop(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.name} never received {what}; got {self.events}")

    def received(self, event, exclude_sentinels=True):
        return [args for (e, args) in self.events if e == event]

    async def disconnect(self):
        if self.sio.connected:
            await self.sio.disconnect()


async def sync(sender, *peers):
    """Sender broadcasts a sentinel (echo on); returns once every peer (and sender) has it.
    Then removes sentinels from the records."""
    sender.sentinels += 1
    token = f"{sender.name}-{sender.sentinels}"
    await sender.emit("message", {"eventName": "sentinel", "message": token, "echo": True})
    for p in {id(x): x for x in (sender,) + peers}.values():
        await p.wait_for(lambda e: e[0] == "sentinel" and e[1][0]["message"] == token, f"sentinel {token}")
    for p in (sender,) + peers:
        p.events = [e for e in p.events if e[0] != "sentinel"]


def clear(*peers):
    for p in peers:
        p.events = []


async def post(path, body, headers=None, raw=None):
    async with aiohttp.ClientSession() as s:
        async with s.post(BASE + path, data=raw if raw is not None else json.dumps(body),
                          headers={"Content-Type": "application/json", **(headers or {})}) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text


async def get(path):
    async with aiohttp.ClientSession() as s:
        async with s.get(BASE + path) as r:
            return r.status, await r.text()


def altogic_error(status, code):
    def check(reply):
        st, body = reply
        assert st == status, f"expected HTTP {status}, got {st}: {body}"
        assert body["status"] == status, body
        assert isinstance(body["statusText"], str) and body["statusText"], body
        item = body["items"][0]
        assert item["origin"] == "client_error" and item["code"] == code and item["message"], body
    return check


async def metrics():
    status, text = await get("/metrics")
    assert status == 200, status
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def dropped(m, reason):
    return m[f'rtlua_hub_dropped_packets_total{{reason="{reason}"}}']


# ---------------------------------------------------------------------------
# §3/§4 event rules

@scenario
async def broadcast_echo():
    a = await Peer("A").connect()
    b = await Peer("B").connect()
    c = await Peer("C", echoMessages=False).connect()

    before = await metrics()
    await a.emit("message", {"eventName": "hello", "message": {"n": 1}})
    await sync(a, b, c)
    after = await metrics()
    # Two events (hello, sentinel) to three sockets: encoded twice, written six times.
    assert after["rtlua_hub_events_encoded_total"] - before["rtlua_hub_events_encoded_total"] == 2, (before, after)
    assert after["rtlua_hub_messages_out_total"] - before["rtlua_hub_messages_out_total"] == 6, (before, after)
    for p in (a, b, c):
        assert p.received("hello") == [[{"channel": None, "message": {"n": 1}}]], (p.name, p.events)
    clear(a, b, c)

    await c.emit("message", {"eventName": "hello", "message": "from C"})
    await sync(a, b, c)
    assert c.received("hello") == [], "C's auth echoMessages is false: no echo"
    assert a.received("hello") == b.received("hello") == [[{"channel": None, "message": "from C"}]]
    clear(a, b, c)

    await a.emit("message", {"eventName": "hello", "message": 2, "echo": False})
    await c.emit("message", {"eventName": "hello", "message": 3, "echo": True})
    await sync(a, b, c)
    await sync(c, a, b)
    assert [x[0]["message"] for x in a.received("hello")] == [3], a.events
    assert [x[0]["message"] for x in b.received("hello")] == [2, 3], b.events
    assert [x[0]["message"] for x in c.received("hello")] == [2, 3], "packet echo:true beats auth false"
    for p in (a, b, c):
        await p.disconnect()


@scenario
async def channel_messages():
    a = await Peer("A").connect()
    b = await Peer("B").connect()
    c = await Peer("C").connect()
    await b.emit("join", {"channel": "room"})
    await sync(b, a, c)
    clear(a, b, c)

    await a.emit("message", {"channel": "room", "eventName": "chat", "message": {"t": "hi"}})
    await sync(a, b, c)
    assert b.received("chat") == [[{"channel": "room", "message": {"t": "hi"}}]], b.events
    assert a.received("chat") == [] and c.received("chat") == [], "non-members get nothing, sender need not be member"

    await a.emit("join", {"channel": "room", "echo": False})
    await sync(a, b, c)
    clear(a, b, c)
    await a.emit("message", {"channel": "room", "eventName": "chat", "message": 1})
    await a.emit("message", {"channel": "room", "eventName": "chat", "message": 2, "echo": False})
    await sync(a, b, c)
    assert [x[0]["message"] for x in a.received("chat")] == [1], a.events
    assert [x[0]["message"] for x in b.received("chat")] == [1, 2], b.events
    assert c.received("chat") == []
    for p in (a, b, c):
        await p.disconnect()


@scenario
async def presence():
    a = await Peer("A").connect()
    b = await Peer("B").connect()
    c = await Peer("C", echoMessages=False).connect()

    await a.emit("update", {"data": {"name": "ann"}})
    await a.emit("join", {"channel": "r"})
    await sync(a, b, c)
    assert a.received("channel:join") == [[{"channel": "r", "message": {"id": a.sid, "data": {"name": "ann"}}}]], a.events
    assert b.received("channel:join") == [] and c.received("channel:join") == []
    clear(a, b, c)

    await b.emit("join", {"channel": "r", "echo": False})
    await b.emit("join", {"channel": "r"})  # already in: nothing at all
    await c.emit("join", {"channel": "r"})  # auth echo false: C not told
    await sync(a, b, c)
    await sync(c, a, b)
    joins_a = [x[0]["message"]["id"] for x in a.received("channel:join")]
    assert joins_a == [b.sid, c.sid], (joins_a, a.events)
    assert [x[0]["message"]["id"] for x in b.received("channel:join")] == [c.sid], b.events
    assert c.received("channel:join") == [], c.events
    clear(a, b, c)

    await b.emit("update", {"data": [1, 2]})
    await sync(b, a, c)
    for p in (a, b, c):
        assert p.received("channel:update") == [[{"channel": "r", "message": {"id": b.sid, "data": [1, 2]}}]], (p.name, p.events)
    clear(a, b, c)

    members = await a.sio.call("members", {"channel": "r"}, timeout=TIMEOUT)
    assert members == [{"id": a.sid, "data": {"name": "ann"}}, {"id": b.sid, "data": [1, 2]}, {"id": c.sid, "data": None}], members
    assert await a.sio.call("members", {"channel": "nobody-here"}, timeout=TIMEOUT) == []

    await b.emit("leave", {"channel": "r", "echo": True})
    await b.emit("leave", {"channel": "r", "echo": True})  # not in: nothing
    await sync(b, a, c)
    for p in (a, b, c):
        assert p.received("channel:leave") == [[{"channel": "r", "message": {"id": b.sid, "data": [1, 2]}}]], (p.name, p.events)
    clear(a, b, c)

    # Disconnect: the remaining members hear channel:leave with the member data.
    a_sid = a.sid
    await a.emit("join", {"channel": "r2"})
    await c.emit("join", {"channel": "r2"})
    await sync(c, a, b)
    await a.disconnect()
    await c.wait_for(lambda e: e[0] == "channel:leave" and e[1][0]["channel"] == "r", "A leaving r")
    await c.wait_for(lambda e: e[0] == "channel:leave" and e[1][0]["channel"] == "r2", "A leaving r2")
    leaves = sorted((x[0]["channel"], x[0]["message"]["id"], json.dumps(x[0]["message"]["data"])) for x in c.received("channel:leave"))
    assert leaves == [("r", a_sid, '{"name": "ann"}'), ("r2", a_sid, '{"name": "ann"}')], leaves
    await sync(c, b)
    assert b.received("channel:leave") == [], "B is in no channel"
    members = await b.sio.call("members", {"channel": "r"}, timeout=TIMEOUT)
    assert members == [{"id": c.sid, "data": None}], members
    await b.disconnect()
    await c.disconnect()


@scenario
async def binary_payload():
    a = await Peer("A").connect()
    b = await Peer("B").connect()
    blob = bytes(range(256)) * 4
    await b.emit("join", {"channel": "bin"})
    await sync(b, a)
    big = os.urandom(70000)  # over 65535: the 8-byte WebSocket length form
    text = "é" * 40000
    await a.emit("message", {"channel": "bin", "eventName": "file", "message": {"name": "x", "bytes": blob, "more": [b"\x00\xff", big]}})
    await a.emit("message", {"channel": "bin", "eventName": "long", "message": text})
    await sync(a, b)
    got = b.received("file")
    assert len(got) == 1, b.events
    msg = got[0][0]["message"]
    assert got[0][0]["channel"] == "bin"
    assert msg["bytes"] == blob and msg["more"] == [b"\x00\xff", big] and msg["name"] == "x", msg
    assert b.received("long") == [[{"channel": "bin", "message": text}]]
    await a.disconnect()
    await b.disconnect()


# ---------------------------------------------------------------------------
# §5 members REST, admin user events, keys

@scenario
async def members_rest():
    key = OPTS.get("clientKey")
    a = await Peer("A", clientKey=key).connect()
    await a.emit("update", {"data": {"k": True}})
    await a.emit("join", {"channel": "lobby"})
    await sync(a)
    path = "/_api/rest/v1/realtime/get-members"
    headers = {"x-client-key": key, "Session": "some-session"} if key else {}
    status, body = await post(path, {"channel": "lobby"}, headers)
    assert status == 200 and body == [{"id": a.sid, "data": {"k": True}}], (status, body)
    status, body = await post(path, {"channel": "empty"}, headers)
    assert status == 200 and body == [], (status, body)
    altogic_error(400, "missing_required_field")(await post(path, {}, headers))
    altogic_error(400, "missing_required_field")(await post(path, {"channel": ""}, headers))
    altogic_error(400, "missing_required_field")(await post(path, None, headers, raw="not json"))
    if key:
        altogic_error(401, "invalid_client_key")(await post(path, {"channel": "lobby"}))
        altogic_error(401, "invalid_client_key")(await post(path, {"channel": "lobby"}, {"X-Client-Key": "wrong"}))
    await a.disconnect()


@scenario
async def client_keys():
    key = OPTS["clientKey"]
    for auth in ({}, {"clientKey": "wrong"}):
        p = Peer("X", **auth)
        try:
            await p.connect()
        except socketio.exceptions.ConnectionError:
            assert len(p.connect_errors) == 1 and "client key" in p.connect_errors[0]["message"], p.connect_errors
        else:
            raise AssertionError(f"connect with auth {auth} was accepted")
        finally:
            await p.disconnect()
    ok = await Peer("OK", clientKey=key).connect()
    assert ok.sid
    await ok.disconnect()
    m = await metrics()
    assert m["rtlua_hub_connects_refused_total"] >= 2, m


@scenario
async def user_events():
    master = OPTS["masterKey"]
    s1 = await Peer("S1", Session="token-1").connect()
    s1b = await Peer("S1b", Session="token-1").connect()
    s2 = await Peer("S2", Session="token-2").connect()
    anon = await Peer("Anon").connect()
    path = "/_api/rest/v1/realtime/user-event"
    session = {"userId": "u1", "token": "token-1", "userAgent": {"os": "lua"}}
    status, body = await post(path, {"event": "user:signin", "session": session, "to": "token-1"}, {"Authorization": master})
    assert status == 200 and body == {"delivered": 2}, (status, body)
    for p in (s1, s1b):
        await p.wait_for(lambda e: e[0] == "user:signin", "user:signin")
        assert p.received("user:signin") == [["user:signin", session]], (p.name, p.events)
    await sync(s1, s2, anon)
    assert s2.received("user:signin") == [] and anon.received("user:signin") == []

    status, body = await post(path, {"event": "user:signout", "to": "*"}, {"Authorization": master})
    assert status == 200 and body == {"delivered": 4}, (status, body)
    for p in (s1, s1b, s2, anon):
        await p.wait_for(lambda e: e[0] == "user:signout", "user:signout")
        assert p.received("user:signout") == [["user:signout", None]], (p.name, p.events)

    altogic_error(401, "invalid_master_key")(await post(path, {"event": "user:signin", "to": "*"}))
    altogic_error(401, "invalid_master_key")(await post(path, {"event": "user:signin", "to": "*"}, {"Authorization": "nope"}))
    altogic_error(400, "missing_required_field")(await post(path, {"to": "*"}, {"Authorization": master}))
    altogic_error(400, "missing_required_field")(await post(path, {"event": "user:signin"}, {"Authorization": master}))
    altogic_error(400, "invalid_field_value")(await post(path, {"event": "chat", "to": "*"}, {"Authorization": master}))
    for p in (s1, s1b, s2, anon):
        await p.disconnect()


@scenario
async def admin_disabled():
    altogic_error(404, "not_found")(await post("/_api/rest/v1/realtime/user-event", {"event": "user:signin", "to": "*"}, {"Authorization": "x"}))
    altogic_error(404, "not_found")(await post("/no/such/endpoint", {}))


# ---------------------------------------------------------------------------
# HTTP surface

@scenario
async def http_endpoints():
    status, text = await get("/healthz")
    assert status == 200 and text.strip() == "ok", (status, text)
    a = await Peer("A").connect()
    await a.emit("join", {"channel": "m"})
    await sync(a)
    m = await metrics()
    assert m["rtlua_hub_connections"] == 1 and m["rtlua_hub_sockets"] == 1 and m["rtlua_hub_channels"] == 1, m
    assert m["rtlua_hub_messages_in_total"] >= 3 and m["rtlua_hub_messages_out_total"] >= 2, m
    assert dropped(m, "malformed") == 0, m
    await a.disconnect()
    async with aiohttp.ClientSession() as s:
        async with s.get(BASE + "/socket.io/?EIO=4&transport=polling") as r:
            body = await r.json()
            assert r.status == 400 and "websocket" in body["message"], (r.status, body)
        async with s.get(BASE + "/socket.io/?EIO=3&transport=websocket") as r:
            body = await r.json()
            assert r.status == 400 and "EIO=4" in body["message"], (r.status, body)
        try:
            await s.ws_connect(BASE.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket&sid=abc")
            raise AssertionError("an upgrade of a polling session was accepted")
        except aiohttp.WSServerHandshakeError as e:
            assert e.status == 400, e
        async with s.get(BASE + "/socket.io/?EIO=4&transport=websocket") as r:
            body = await r.json()
            assert r.status == 400 and "WebSocket upgrade" in body["message"], (r.status, body)


# ---------------------------------------------------------------------------
# Bad input: a raw WebSocket client

async def raw_ws(session):
    ws = await session.ws_connect(WS_URL, max_msg_size=0)
    opening = await ws.receive(timeout=TIMEOUT)
    assert opening.type == aiohttp.WSMsgType.TEXT and opening.data.startswith("0{"), opening
    hs = json.loads(opening.data[1:])
    assert hs["upgrades"] == [] and hs["sid"] and hs["pingInterval"] > 0 and hs["pingTimeout"] > 0 and hs["maxPayload"] > 0, hs
    return ws, hs


async def raw_expect(ws, pred, what):
    async def loop():
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return msg
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                await ws.send_str("3")
                continue
            if pred(msg):
                return msg
    try:
        return await asyncio.wait_for(loop(), TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError(f"raw client never got {what}")


@scenario
async def bad_input():
    before = await metrics()
    async with aiohttp.ClientSession() as s:
        ws, _ = await raw_ws(s)
        # Before CONNECT: an event is dropped.
        await ws.send_str('42["message",{"eventName":"early","message":1}]')
        await ws.send_str("40")
        msg = await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith("40"), "40{sid}")
        assert json.loads(msg.data[2:])["sid"], msg.data
        watcher = await Peer("W").connect()
        junk_text = [
            "", "x", "9", "0", "4", "47", "4x", "42", "42notjson", "42{}", "42[1]", "42[]", '42["message"', "43[1]",
            '42["message","not an object"]', '42["message",{"eventName":""}]', '42["message",{"eventName":"connect"}]',
            '42["message",{"eventName":"channel:join"}]', '42["message",{"eventName":"user:signin"}]',
            '42["message",{"eventName":"ok","channel":42}]', '42["message",{"eventName":"ok","echo":"yes"}]',
            '42["join",{"channel":""}]', '42["join",{"channel":"' + "x" * 257 + '"}]', '42["join",[]]', '42["disconnect",{}]',
            '42["chat",{"eventName":"x"}]', '42["members",{"channel":"c"}]', '42/other,["message",{"eventName":"x"}]',
            '451-["message",{"eventName":"b","message":{"_placeholder":true,"num":5}}]', "\x00\x01",
            '4511-["message",{}]', '42' + "[" * 600 + "]" * 600, "44{}", "5", "6",
        ]
        # A text packet while a binary one awaits its attachment: both are dropped.
        await ws.send_str('451-["message",{"eventName":"pending","message":{"_placeholder":true,"num":0}}]')
        await ws.send_str('42["message",{"eventName":"during"}]')
        for t in junk_text:
            await ws.send_str(t)
        await ws.send_bytes(b"\x01\x02 unexpected attachment")
        # Still connected, and still served: the members ack answers.
        await ws.send_str('421["members",{"channel":"none"}]')
        msg = await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith("431"), "members ack")
        assert msg.data == "431[[]]", msg.data
        # Junk that looked like an event never reached anyone.
        await sync(watcher)
        assert watcher.events == [], watcher.events
        # A bad namespace CONNECT is refused without closing.
        await ws.send_str("40/admin,")
        msg = await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith("44/admin,"), "namespace refusal")
        # A valid event after all that still works.
        await ws.send_str('42["message",{"eventName":"after","message":"junk"}]')
        await watcher.wait_for(lambda e: e[0] == "after", "the raw client's event after the junk")
        await ws.close()
        await watcher.disconnect()
    after = await metrics()
    total = sum(dropped(after, r) - dropped(before, r) for r in
                ("malformed", "unknown_type", "not_connected", "unknown_event", "reserved_name", "bad_payload", "bad_namespace"))
    assert total >= len(junk_text) - 4, (total, after)  # "5"/"6"/"": some are no-ops by design
    for r in ("malformed", "unknown_type", "not_connected", "unknown_event", "reserved_name", "bad_payload", "bad_namespace"):
        assert dropped(after, r) > dropped(before, r), f"no drop counted for {r}: {after}"
    assert after["rtlua_hub_oversize_disconnects_total"] == before["rtlua_hub_oversize_disconnects_total"]


async def raw_member(session, channel):
    """A raw WebSocket client, connected and joined to `channel`; returns (ws, sid)."""
    ws, _ = await raw_ws(session)
    await ws.send_str("40")
    msg = await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith("40"), "40{sid}")
    sid = json.loads(msg.data[2:])["sid"]
    await ws.send_str('42["join",{"channel":"%s"}]' % channel)
    await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith('42["channel:join"'), "own join")
    return ws, sid


async def raw_text(ws, prefix, what):
    msg = await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith(prefix), what)
    assert msg.type == aiohttp.WSMsgType.TEXT, f"{what}: {msg}"
    return msg.data


@scenario
async def raw_relay():
    """Message bodies and member data reach a raw receiver byte for byte, however they are
    formatted; a body that is not valid JSON (broken nesting, bad UTF-8) is dropped and
    counted, never relayed."""
    odd = [
        '{ "z" : 1.50e+2 ,\t"a":[ -0.0,1E-7, 12345678901234567890, "\\u00e9\u00e9\\ud83d\\ude00 \\/" , {"k":null} ] }',
        '[]', '{}', '[ [ [ ] ] , { } ]', '{"b":1,"a":2}', '{"a":2,"b":1}',
        # Scalars too: not re-written (1.50 stays 1.50, an escape stays an escape).
        '1.50', '1E2', '-0', '12345678901234567890', '"\\u00e9\\/ }"', 'null', 'true',
    ]
    watcher = await Peer("W").connect()
    await watcher.emit("join", {"channel": "r"})
    await sync(watcher)
    async with aiohttp.ClientSession() as s:
        rx, _ = await raw_member(s, "r")
        tx, tx_sid = await raw_member(s, "tx")
        before = await metrics()
        for i, body in enumerate(odd):
            await tx.send_str('42["message",{"message":%s , "eventName":"odd%d","channel":"r","echo":false}]' % (body, i))
            got = await raw_text(rx, '42["odd%d"' % i, f"odd body {i}")
            assert got == '42["odd%d",{"channel":"r","message":%s}]' % (i, body), (got, body)
            await watcher.wait_for(lambda e, i=i: e[0] == f"odd{i}", f"odd{i}")
            assert watcher.received(f"odd{i}") == [[{"channel": "r", "message": json.loads(body)}]], watcher.events

        # Not JSON inside the body: dropped as malformed, never relayed.
        bad = [b'{"a":[1,}', b'{"a":1]', b'["x",tru]']
        for body in bad:
            await tx.send_frame(b'42["message",{"channel":"r","eventName":"bad","message":' + body + b'}]', aiohttp.WSMsgType.TEXT)
        await tx.send_frame('42["message",{"channel":"r","eventName":"bad","message":{"ok":"é"}}]'.encode(), aiohttp.WSMsgType.TEXT)
        got = await raw_text(rx, '42["bad"', "the valid message after the bad ones")
        assert got == '42["bad",{"channel":"r","message":{"ok":"é"}}]', ("a bad body was relayed", got)
        after = await metrics()
        assert dropped(after, "malformed") - dropped(before, "malformed") == len(bad), (before, after)

        # Not UTF-8: a text message that is not UTF-8 fails the connection (RFC 6455 §8.1: 1007).
        for body in [b'{"s":"\xc3\x28"}', b'["\xed\xa0\x80"]', b'"\xff"']:
            bad_tx, _ = await raw_member(s, "tx2")
            await bad_tx.send_frame(b'42["message",{"channel":"r","eventName":"bad","message":' + body + b'}]', aiohttp.WSMsgType.TEXT)
            msg = await raw_expect(bad_tx, lambda m: False, "close")
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) and bad_tx.close_code == 1007, (msg, bad_tx.close_code)
        await tx.send_frame('42["message",{"channel":"r","eventName":"bad2","message":1}]'.encode(), aiohttp.WSMsgType.TEXT)
        got = await raw_text(rx, '42["bad', "the valid message after the bad UTF-8")
        assert got == '42["bad2",{"channel":"r","message":1}]', ("a bad body was relayed", got)
        after = await metrics()
        assert after['rtlua_hub_protocol_error_closes_total{code="1007"}'] == 3, after

        # Member data: kept as sent, in channel:update, channel:join and the members ack.
        data = '{ "name" : "ann", "tags":["x" ,"y"], "n": 1.0 }'
        await tx.send_str('42["update",{"data":%s}]' % data)
        await tx.send_str('42["join",{"channel":"r"}]')
        got = await raw_text(rx, '42["channel:join"', "the sender joining")
        assert '"data":%s' % data in got and tx_sid in got, got
        await rx.send_str('427["members",{"channel":"r"}]')
        got = await raw_text(rx, "437", "members ack")
        assert '"data":%s' % data in got, got
        members = await watcher.sio.call("members", {"channel": "r"}, timeout=TIMEOUT)
        assert {"id": tx_sid, "data": json.loads(data)} in members, members
        await rx.close()
        await tx.close()
    await watcher.disconnect()


@scenario
async def mixed_sizes_in_order():
    """Small events (coalesced per connection) and big ones (written as shared buffers),
    text and binary, interleaved: every receiver gets all of them, in order, intact."""
    # Around the frame header's 2/4-byte switch (125/126 payload bytes) and the 4096-byte
    # limit between frames framed into each outbox and shared buffers (payload 4092; the
    # digits of i move the sizes).
    sizes = [10, 5000, 100, 70000, 4000, 4200, 1, 67, 68, 69, 4033, 4035, 4037]
    rx = [await Peer(f"R{i}").connect() for i in range(3)]
    tx = await Peer("T").connect()
    for r in rx:
        await r.emit("join", {"channel": "mix"})
    await sync(tx, *rx)
    count = OPTS.get("count", 140)
    for i in range(count):
        n = sizes[i % len(sizes)]
        body = {"i": i, "pad": "p" * n}
        if i % 5 == 3:
            body["bin"] = bytes([i % 256]) * n
        await tx.emit("message", {"channel": "mix", "eventName": "seq", "message": body})
    for r in rx:
        await r.wait_for(lambda e: e[0] == "seq" and e[1][0]["message"]["i"] == count - 1, "the last event")
        got = [x[0]["message"] for x in r.received("seq")]
        assert [m["i"] for m in got] == list(range(count)), (r.name, [m["i"] for m in got])
        for m in got:
            n = sizes[m["i"] % len(sizes)]
            assert m["pad"] == "p" * n, (r.name, m["i"])
            if m["i"] % 5 == 3:
                assert m["bin"] == bytes([m["i"] % 256]) * n, (r.name, m["i"])
    for p in rx + [tx]:
        await p.disconnect()


@scenario
async def fuzz():
    """Seeded mutations of valid packets and random frames; the hub stays up and keeps serving."""
    import random
    rnd = random.Random(OPTS.get("seed", 1))
    seeds = ['40', '42["message",{"eventName":"e","message":[1,{"a":null}]}]', '42["join",{"channel":"c"}]',
             '42["leave",{"channel":"c"}]', '42["update",{"data":{"x":1.5e3}}]', '421["members",{"channel":"c"}]',
             '451-["message",{"eventName":"b","message":{"_placeholder":true,"num":0}}]', '41', '3', '2', '1']
    watcher = await Peer("W").connect()
    async with aiohttp.ClientSession() as s:
        for round_ in range(OPTS.get("rounds", 10)):
            ws, _ = await raw_ws(s)
            for _ in range(200):
                t = list(rnd.choice(seeds))
                for _ in range(rnd.randint(0, 4)):
                    op = rnd.random()
                    i = rnd.randrange(len(t) + 1)
                    if op < 0.4 and t:
                        del t[min(i, len(t) - 1)]
                    elif op < 0.8:
                        t.insert(i, rnd.choice('{}[]",:0123456789-/\\u' + chr(rnd.randint(0, 0x7ff))))
                    else:
                        t[i:i] = list(rnd.choice(seeds))
                text = "".join(t)
                if text.startswith("1"):
                    continue  # an Engine.IO close would end this round early
                if rnd.random() < 0.1:
                    await ws.send_bytes(bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40))))
                else:
                    await ws.send_str(text)
            if not ws.closed:
                # Back to a known state: the first CONNECT may only end a binary packet
                # still waiting for attachments; a second one (re)connects if a DISCONNECT
                # went through; an extra one on a connected socket changes nothing.
                await ws.send_str("40")
                await ws.send_str("40")
                await ws.send_str('429["members",{"channel":"fuzz-check"}]')
                msg = await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith("439"), "members ack after fuzz")
                assert msg.type == aiohttp.WSMsgType.TEXT, f"round {round_}: the hub closed the connection: {msg}"
                await ws.close()
    status, text = await get("/healthz")
    assert status == 200, status
    assert watcher.sio.connected
    await sync(watcher)
    await watcher.disconnect()


@scenario
async def oversize_payload():
    max_payload = OPTS["maxPayload"]
    watcher = await Peer("W").connect()
    async with aiohttp.ClientSession() as s:
        ws, hs = await raw_ws(s)
        assert hs["maxPayload"] == max_payload, hs
        await ws.send_str("40")
        await raw_expect(ws, lambda m: m.type == aiohttp.WSMsgType.TEXT and m.data.startswith("40"), "40{sid}")
        await ws.send_str('42["message",{"eventName":"big","message":"' + "x" * max_payload + '"}]')
        msg = await raw_expect(ws, lambda m: False, "close")
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
        assert ws.close_code == 1009, (ws.close_code, msg)
    # A python-socketio client over the limit is disconnected too; the others are not.
    big = await Peer("Big").connect()
    await big.emit("message", {"eventName": "big", "message": "y" * max_payload})
    deadline = asyncio.get_event_loop().time() + TIMEOUT
    while big.sio.connected:
        assert asyncio.get_event_loop().time() < deadline, "oversize sender still connected"
        await asyncio.sleep(0.05)
    await sync(watcher)
    assert watcher.received("big") == [], watcher.events
    m = await metrics()
    assert m["rtlua_hub_oversize_disconnects_total"] >= 2, m
    await watcher.disconnect()


@scenario
async def ping_eviction():
    """A raw client that never answers pings is evicted; a python-socketio client that does stays."""
    good = await Peer("Good").connect()
    async with aiohttp.ClientSession() as s:
        ws, hs = await raw_ws(s)
        await ws.send_str("40")
        pings = 0
        async def until_closed():
            nonlocal pings
            while True:
                msg = await ws.receive()
                if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                    pings += 1
                elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return
        await asyncio.wait_for(until_closed(), TIMEOUT)
        assert pings >= 1, "the hub never pinged"
    # The good client has been through several ping rounds by now and is still here.
    assert good.sio.connected
    await sync(good)
    m = await metrics()
    assert m["rtlua_hub_ping_timeouts_total"] >= 1, m
    await good.disconnect()


@scenario
async def connect_timeout():
    """A WebSocket that answers pings but never sends a Socket.IO CONNECT is closed."""
    async with aiohttp.ClientSession() as s:
        ws, _ = await raw_ws(s)
        msg = await raw_expect(ws, lambda m: False, "close")  # raw_expect answers pings
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
    m = await metrics()
    assert m["rtlua_hub_connect_timeouts_total"] == 1 and m["rtlua_hub_ping_timeouts_total"] == 0, m


@scenario
async def http_limits():
    """A REST body over maxPayload is refused with 413 in the Altogic shape; the hub goes on."""
    max_payload = OPTS["maxPayload"]
    altogic_error(413, "payload_too_large")(await post("/_api/rest/v1/realtime/get-members", None, raw="x" * (max_payload + 1)))
    status, body = await post("/_api/rest/v1/realtime/get-members", {"channel": "c"})
    assert status == 200 and body == [], (status, body)
    altogic_error(405, "method_not_allowed")(await get_json("/_api/rest/v1/realtime/get-members"))


async def get_json(path):
    async with aiohttp.ClientSession() as s:
        async with s.get(BASE + path) as r:
            return r.status, await r.json()


# ---------------------------------------------------------------------------
# Flow control: a reader that never reads, a flooder

class StalledClient:
    """A WebSocket client on a bare socket that joins a channel and then stops reading."""

    async def open(self, host, port, channel):
        self.reader, self.writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert b" 101 " in head, head
        self.send('40')
        self.send(json.dumps(["join", {"channel": channel}], separators=(",", ":")), prefix="42")
        await self.writer.drain()

    def send(self, text, prefix=""):
        payload = (prefix + text).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.writer.write(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    async def wait_closed_by_hub(self):
        """Drains what the hub sent; returns once the hub has hung up (EOF or reset)."""
        async def drain():
            try:
                while await self.reader.read(1 << 20):
                    pass
            except ConnectionError:
                pass
        await asyncio.wait_for(drain(), TIMEOUT)


@scenario
async def slow_consumer():
    host, port = BASE.split("//")[1].split(":")
    stalled = StalledClient()
    await stalled.open(host, int(port), "flood")
    reader = await Peer("Reader").connect()
    sender = await Peer("Sender").connect()
    await reader.emit("join", {"channel": "flood"})
    await sync(reader)
    count, chunk = OPTS.get("count", 600), "z" * 32768
    for i in range(count):
        await sender.emit("message", {"channel": "flood", "eventName": "bulk", "message": {"i": i, "pad": chunk}})
        if i % 20 == 19:
            # Pace on the reading member so it never lags by more than its socket buffers
            # hold: only the stalled client should overflow, even on a loaded machine.
            await reader.wait_for(lambda e, i=i: e[0] == "bulk" and e[1][0]["message"]["i"] == i, f"bulk {i}")
    await reader.wait_for(lambda e: e[0] == "bulk" and e[1][0]["message"]["i"] == count - 1, "the last bulk message")
    got = [x[0]["message"]["i"] for x in reader.received("bulk")]
    assert got == list(range(count)), "the reading member got everything, in order"
    m = await metrics()
    assert m["rtlua_hub_slow_consumer_disconnects_total"] >= 1, m
    await stalled.wait_closed_by_hub()
    # The sender and reader are unaffected.
    assert sender.sio.connected and reader.sio.connected
    await sync(sender, reader)
    await sender.disconnect()
    await reader.disconnect()


@scenario
async def flood_fairness():
    """One client floods; another's requests are still answered meanwhile."""
    flooder = await Peer("Flooder").connect()
    other = await Peer("Other").connect()
    await other.emit("join", {"channel": "quiet"})
    await sync(other)
    n = OPTS.get("count", 20000)

    async def flood():
        for i in range(n):
            await flooder.emit("message", {"channel": "nobody", "eventName": "spam", "message": i})
    task = asyncio.create_task(flood())
    answered = 0
    while not task.done() or answered < 5:
        members = await other.sio.call("members", {"channel": "quiet"}, timeout=TIMEOUT)
        assert members == [{"id": other.sid, "data": None}], members
        answered += 1
    await task
    await sync(flooder, other)
    m = await metrics()
    assert m["rtlua_hub_messages_in_total"] >= n, m
    await flooder.disconnect()
    await other.disconnect()


@scenario
async def wait_for_shutdown():
    """Connects and waits for the hub (shut down by the test) to drop the connection."""
    p = await Peer("P").connect()
    await p.emit("join", {"channel": "c"})
    await sync(p)
    print("READY", flush=True)
    deadline = asyncio.get_event_loop().time() + 30
    while p.sio.connected:
        assert asyncio.get_event_loop().time() < deadline, "still connected 30 s after the test began"
        await asyncio.sleep(0.05)


async def main():
    fn = SCENARIOS.get(SCENARIO)
    if fn is None:
        print(f"unknown scenario {SCENARIO}; have {sorted(SCENARIOS)}")
        return 2
    try:
        await asyncio.wait_for(fn(), 90)
    except BaseException:
        traceback.print_exc()
        print(f"FAIL {SCENARIO}")
        return 1
    print(f"PASS {SCENARIO}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
