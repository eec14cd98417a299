#!/usr/bin/env python3
"""Reference realtime server: the server side of shared/spec/PROTOCOL.md on python-socketio.

A python-socketio 5.x AsyncServer on aiohttp that follows PROTOCOL.md exactly, so the
client (RealtimeManager), the hub's conformance tests and the benchmarks have one
independent server to be checked against.

Usage (from the repo root, after scripts/setup):

    .venv-peer/bin/python scripts/peer/reference_server.py --port 0 [--key K]... [--master-key M]
        [--host 127.0.0.1] [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES]

When ready it prints `LISTENING <port>` on stdout (flushed); `--port 0` picks a free port.
`--ping-interval` is rounded up to whole seconds (python-engineio advertises it in whole
seconds); `--ping-timeout` is exact.
It runs until SIGINT/SIGTERM. Diagnostics go to stderr (`--verbose` for more).

What it does (section numbers are PROTOCOL.md's):

- §2 CONNECT: the auth object's `clientKey` must be one of the `--key` values (any number
  of them); with no `--key` the server is open. A refusal is CONNECT_ERROR
  `44{"message": "…"}`. `echoMessages` (default true) is the connection's echo flag and
  `Session` its session token (used by the admin user-event call below).
- §3/§4 events: `message` (broadcast, or channel message when `channel` is given),
  `join`, `leave`, `update`, and `members` (answered through the ack with one argument,
  the array of `{"id": sid, "data": D}`). Every delivery carries one argument
  `{"channel": C or null, "message": M}`; the sender gets its own event only when the
  resolved echo (packet `echo`, else the connection's `echoMessages`) is true and it is a
  recipient. Joins and leaves are idempotent; a disconnect sends `channel:leave` to each
  channel the socket was in. Packets that break §3 (reserved or prefixed event name,
  empty or over-long channel, wrong types) are dropped; the connection stays.
- §5 `POST /_api/rest/v1/realtime/get-members` `{"channel": C}` with header
  `X-Client-Key: CLIENTKEY`: 200 `[{"id", "data"}…]`, 401 `invalid_client_key`,
  400 `missing_required_field`, all errors in the Altogic error shape.
- Admin (test helper, not in the client contract): `POST /_api/rest/v1/realtime/user-event`
  with header `Authorization: MASTERKEY` (the `--master-key` value; without one the
  endpoint always answers 401) and body
  `{"event": "user:signin", "session": {...} or null, "to": "SESSION-TOKEN" or "*"}`
  delivers event `user:…` with the two arguments (event name, session) to every socket
  whose auth `Session` equals `to` (or to all sockets for `"*"`). Answers
  `{"delivered": N}`.
"""

import argparse
import asyncio
import json
import logging
import signal
import sys

import socketio
from aiohttp import web

RESERVED_EVENT_NAMES = frozenset(
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]
)
RESERVED_PREFIXES = ("channel:", "user:")
USER_EVENTS = frozenset(
    [
        "user:signin",
        "user:signout",
        "user:update",
        "user:delete",
        "user:pwdchange",
        "user:emailchange",
        "user:phonechange",
    ]
)
MAX_CHANNEL_BYTES = 256
MEMBERS_PATH = "/_api/rest/v1/realtime/get-members"
USER_EVENT_PATH = "/_api/rest/v1/realtime/user-event"

log = logging.getLogger("reference_server")


def valid_event_name(name):
    return (
        isinstance(name, str)
        and name != ""
        and name not in RESERVED_EVENT_NAMES
        and not name.startswith(RESERVED_PREFIXES)
    )


def valid_channel(channel):
    return isinstance(channel, str) and channel != "" and len(channel.encode("utf-8")) <= MAX_CHANNEL_BYTES


def packet_echo(payload):
    """The packet's `echo`: True/False when given, None when absent or null, else invalid."""
    echo = payload.get("echo")
    if echo is None or isinstance(echo, bool):
        return echo, True
    return None, False


def altogic_error(status, status_text, code, message):
    body = {
        "status": status,
        "statusText": status_text,
        "items": [{"origin": "client_error", "code": code, "message": message}],
    }
    return web.json_response(body, status=status)


class Connection:
    """What the server keeps per connected socket."""

    __slots__ = ("echo", "session", "data", "channels")

    def __init__(self, echo, session):
        self.echo = echo
        self.session = session
        self.data = None
        self.channels = {}  # insertion-ordered set of channel names


class ReferenceSocketServer(socketio.AsyncServer):
    """python-socketio dispatches a client EVENT named `connect`/`disconnect` to the
    lifecycle handlers; PROTOCOL.md §3 says such packets are dropped, so filter them
    before dispatch."""

    async def _handle_event(self, eio_sid, namespace, id, data):
        if not data or not isinstance(data[0], str) or data[0] in RESERVED_EVENT_NAMES:
            log.info("dropped event with reserved or invalid name %r", data[0] if data else None)
            return
        await super()._handle_event(eio_sid, namespace, id, data)


class RealtimeServer:
    def __init__(self, keys, master_key, ping_interval_ms, ping_timeout_ms, max_payload):
        self.keys = set(keys)
        self.master_key = master_key
        self.conns = {}  # sid -> Connection
        self.channels = {}  # channel -> insertion-ordered set (dict) of sids
        # async_handlers=False: one client's packets are handled in arrival order.
        self.sio = ReferenceSocketServer(
            async_mode="aiohttp",
            async_handlers=False,
            cors_allowed_origins="*",
            ping_interval=ping_interval_ms / 1000.0,
            ping_timeout=ping_timeout_ms / 1000.0,
            max_http_buffer_size=max_payload,
        )
        self.app = web.Application(client_max_size=max(max_payload, 1024 * 1024))
        self.sio.attach(self.app)
        self.app.router.add_post(MEMBERS_PATH, self.http_get_members)
        self.app.router.add_post(USER_EVENT_PATH, self.http_user_event)
        for name, handler in [
            ("connect", self.on_connect),
            ("disconnect", self.on_disconnect),
            ("message", self.on_message),
            ("join", self.on_join),
            ("leave", self.on_leave),
            ("update", self.on_update),
            ("members", self.on_members),
        ]:
            self.sio.on(name, handler)

    # --- §2 connecting -------------------------------------------------------------

    async def on_connect(self, sid, environ, auth=None):
        if auth is not None and not isinstance(auth, dict):
            raise socketio.exceptions.ConnectionRefusedError("auth must be an object")
        auth = auth or {}
        if self.keys and auth.get("clientKey") not in self.keys:
            log.info("refused %s: invalid client key", sid)
            raise socketio.exceptions.ConnectionRefusedError("Invalid client key")
        echo = auth.get("echoMessages")
        session = auth.get("Session")
        self.conns[sid] = Connection(
            echo if isinstance(echo, bool) else True,
            session if isinstance(session, str) else None,
        )
        log.info("connected %s", sid)

    async def on_disconnect(self, sid, reason=None):
        conn = self.conns.pop(sid, None)
        if conn is None:
            return
        for channel in list(conn.channels):
            self._remove_member(channel, sid)
            await self._deliver("channel:leave", channel, self._member(sid, conn), sid, echo=False)
        log.info("disconnected %s (%s)", sid, reason)

    # --- §3/§4 events ----------------------------------------------------------------

    async def on_message(self, sid, payload=None, *extra):
        conn = self.conns.get(sid)
        if conn is None or not isinstance(payload, dict):
            return self._drop(sid, "message", payload)
        event_name = payload.get("eventName")
        echo, ok = packet_echo(payload)
        channel = payload.get("channel")
        if not ok or not valid_event_name(event_name) or (channel is not None and not valid_channel(channel)):
            return self._drop(sid, "message", payload)
        echo = conn.echo if echo is None else echo
        await self._deliver(event_name, channel, payload.get("message"), sid, echo)

    async def on_join(self, sid, payload=None, *extra):
        conn = self.conns.get(sid)
        if conn is None or not isinstance(payload, dict):
            return self._drop(sid, "join", payload)
        channel = payload.get("channel")
        echo, ok = packet_echo(payload)
        if not ok or not valid_channel(channel):
            return self._drop(sid, "join", payload)
        if channel in conn.channels:
            return
        conn.channels[channel] = None
        self.channels.setdefault(channel, {})[sid] = None
        await self.sio.enter_room(sid, channel)
        await self._deliver("channel:join", channel, self._member(sid, conn), sid, conn.echo if echo is None else echo)

    async def on_leave(self, sid, payload=None, *extra):
        conn = self.conns.get(sid)
        if conn is None or not isinstance(payload, dict):
            return self._drop(sid, "leave", payload)
        channel = payload.get("channel")
        echo, ok = packet_echo(payload)
        if not ok or not valid_channel(channel):
            return self._drop(sid, "leave", payload)
        if channel not in conn.channels:
            return
        echo = conn.echo if echo is None else echo
        # Deliver while the leaver is still in the room so echo can reach it.
        await self._deliver("channel:leave", channel, self._member(sid, conn), sid, echo)
        del conn.channels[channel]
        self._remove_member(channel, sid)
        await self.sio.leave_room(sid, channel)

    async def on_update(self, sid, payload=None, *extra):
        conn = self.conns.get(sid)
        if conn is None or not isinstance(payload, dict):
            return self._drop(sid, "update", payload)
        echo, ok = packet_echo(payload)
        if not ok:
            return self._drop(sid, "update", payload)
        conn.data = payload.get("data")
        echo = conn.echo if echo is None else echo
        for channel in list(conn.channels):
            await self._deliver("channel:update", channel, self._member(sid, conn), sid, echo)

    async def on_members(self, sid, payload=None, *extra):
        channel = payload.get("channel") if isinstance(payload, dict) else None
        if not valid_channel(channel):
            self._drop(sid, "members", payload)
            return []
        return self.members_of(channel)

    # --- §5 REST ----------------------------------------------------------------------

    async def http_get_members(self, request):
        if self.keys and request.headers.get("X-Client-Key") not in self.keys:
            return altogic_error(401, "Unauthorized", "invalid_client_key", "Invalid client key")
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        channel = body.get("channel") if isinstance(body, dict) else None
        if not isinstance(channel, str) or channel == "":
            return altogic_error(
                400, "Bad Request", "missing_required_field", "channel is required: a non-empty string"
            )
        return web.json_response(self.members_of(channel))

    async def http_user_event(self, request):
        if self.master_key is None or request.headers.get("Authorization") != self.master_key:
            return altogic_error(401, "Unauthorized", "invalid_master_key", "Invalid master key")
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return altogic_error(400, "Bad Request", "missing_required_field", "body must be a JSON object")
        event, session, to = body.get("event"), body.get("session"), body.get("to")
        if event not in USER_EVENTS:
            return altogic_error(
                400, "Bad Request", "invalid_field_value", "event must be one of " + ", ".join(sorted(USER_EVENTS))
            )
        if not isinstance(to, str) or to == "":
            return altogic_error(400, "Bad Request", "missing_required_field", "to is required: a session token or '*'")
        targets = [sid for sid, conn in self.conns.items() if to == "*" or conn.session == to]
        for sid in targets:
            await self.sio.emit(event, (event, session), to=sid)
        return web.json_response({"delivered": len(targets)})

    # --- helpers ------------------------------------------------------------------------

    def members_of(self, channel):
        return [self._member(sid, self.conns[sid]) for sid in self.channels.get(channel, {}) if sid in self.conns]

    @staticmethod
    def _member(sid, conn):
        return {"id": sid, "data": conn.data}

    def _remove_member(self, channel, sid):
        members = self.channels.get(channel)
        if members is not None:
            members.pop(sid, None)
            if not members:
                del self.channels[channel]

    async def _deliver(self, event, channel, message, sender, echo):
        """Sends `event` with `{"channel", "message"}` to the channel's room (or to everyone
        when channel is None), skipping the sender unless echo."""
        data = {"channel": channel, "message": message}
        skip = None if echo else sender
        if channel is None:
            await self.sio.emit(event, data, skip_sid=skip)
        else:
            await self.sio.emit(event, data, room=channel, skip_sid=skip)

    @staticmethod
    def _drop(sid, event, payload):
        log.info("dropped invalid %s from %s: %s", event, sid, json.dumps(payload, default=repr)[:200])


async def serve(args):
    server = RealtimeServer(args.key, args.master_key, args.ping_interval, args.ping_timeout, args.max_payload)
    # aiohttp waits up to shutdown_timeout (default 60 s) for open websockets on SIGTERM;
    # cut them after 1 s so a test's teardown never hangs on a client that stays connected.
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    sys.stdout.write("LISTENING %d\n" % port)
    sys.stdout.flush()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def parse_args(argv):
    p = argparse.ArgumentParser(description="PROTOCOL.md reference realtime server (python-socketio)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--key", action="append", default=[], help="accepted client key (repeatable); none = open")
    p.add_argument("--master-key", default=None, help="enables the admin user-event endpoint")
    p.add_argument("--ping-interval", type=int, default=25000, help="milliseconds")
    p.add_argument("--ping-timeout", type=int, default=20000, help="milliseconds")
    p.add_argument("--max-payload", type=int, default=1_000_000, help="bytes")
    p.add_argument("--verbose", action="store_true", help="log every connection and dropped packet")
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        p.error("--port must be 0..65535")
    if args.ping_interval <= 0 or args.ping_timeout <= 0 or args.max_payload <= 0:
        p.error("--ping-interval, --ping-timeout and --max-payload must be positive")
    if args.ping_interval % 1000:
        # python-engineio advertises pingInterval truncated to whole seconds; round up so
        # what the client is told and what the server does agree.
        rounded = (args.ping_interval // 1000 + 1) * 1000
        print("reference_server: --ping-interval %d rounded up to %d ms" % (args.ping_interval, rounded), file=sys.stderr)
        args.ping_interval = rounded
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="reference_server: %(message)s",
    )
    try:
        asyncio.run(serve(args))
    except OSError as e:
        print("reference_server: cannot listen on %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
