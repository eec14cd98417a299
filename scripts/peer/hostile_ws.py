"""Hostile raw WebSocket clients for the hub's adversarial tests
(Tests/EndToEndTests/HostileSocketTests.swift). Standard library only; every socket goes to
127.0.0.1, every wait has a timeout, every scenario ends by itself.

Usage: hostile_ws.py SCENARIO PORT HUB_PID [ARGS…]
Prints one line `RESULT {json}` (what it measured; the Swift test judges) and exits 0, or
prints the error and exits 1.
"""
import json
import os
import socket
import struct
import sys
import time
import urllib.request

HOST = "127.0.0.1"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def metrics(port):
    text = urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def post_json(port, path, body):
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read().decode()


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """A client frame; `length` may lie about the payload's size."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def masked_fast(opcode, payload):
    """A masked frame with an all-zero key (the payload is then sent as is): for floods."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", n)
    return head + b"\0\0\0\0" + payload


class WS:
    def __init__(self, port, rcvbuf=None, timeout=10):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout)
        self.s.connect((HOST, port))
        self.s.sendall(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise RuntimeError("closed during the upgrade")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"no upgrade: {head!r}")

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def read(self):
        """The next server frame as (opcode, payload); raises EOFError when the hub hung up."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0F, payload

    def read_text(self, prefix=""):
        """The next text frame starting with `prefix` (Engine.IO pings are answered)."""
        while True:
            op, p = self.read()
            if op == 8:
                raise EOFError(f"close frame {p!r}")
            if op == 1:
                t = p.decode()
                if t == "2" and prefix != "2":
                    self.send_text("3")
                    continue
                if t.startswith(prefix):
                    return t

    def read_close(self, timeout=10):
        """Reads until the hub's close frame: its code (None for an empty one), or 'eof'."""
        self.s.settimeout(timeout)
        try:
            while True:
                op, p = self.read()
                if op == 8:
                    return struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None
        except (EOFError, ConnectionResetError):
            return "eof"
        except socket.timeout:
            return "timeout"

    def send(self, data):
        self.s.sendall(data)

    def send_text(self, t):
        self.send(frame(1, t))

    def connect_socket(self, auth=None):
        self.read_text("0")
        self.send_text("40" + (json.dumps(auth) if auth else ""))
        return json.loads(self.read_text("40")[2:])["sid"]

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def result(**kw):
    print("RESULT " + json.dumps(kw), flush=True)


# --- floods from a client that never reads


def flood(port, pid, seconds, make_frame, label):
    """Sends `make_frame()` as fast as it can without ever reading, until the hub hangs up
    or `seconds` pass; samples the hub's RSS throughout."""
    base = rss_kb(pid)
    ws = WS(port, rcvbuf=4096)
    ws.connect_socket()
    chunk = make_frame() * 64
    ws.s.settimeout(1)
    t0, sent, peak, cut, last_sample = time.time(), 0, base, False, 0.0
    while time.time() - t0 < seconds:
        try:
            ws.s.sendall(chunk)
            sent += len(chunk)
        except socket.timeout:
            pass  # the hub stopped reading for now: its buffers are full
        except (BrokenPipeError, ConnectionResetError):
            cut = True
            break
        if time.time() - last_sample > 0.05:
            peak, last_sample = max(peak, rss_kb(pid)), time.time()
    took = time.time() - t0
    ws.close()
    time.sleep(0.5)
    m = metrics(port)
    result(label=label, cut=cut, seconds=round(took, 2), sent_mb=round(sent / 2**20, 1), rss_before_kb=base,
           rss_peak_kb=max(peak, rss_kb(pid)), rss_after_kb=rss_kb(pid),
           slow_consumer=m.get("rtlua_hub_slow_consumer_disconnects_total", -1))


def eio_ping_flood(port, pid, seconds="20", size="1000"):
    payload = b"2" + b"p" * (int(size) - 1)
    flood(port, pid, float(seconds), lambda: masked_fast(1, payload), "engine.io ping flood")


def ws_ping_flood(port, pid, seconds="20"):
    flood(port, pid, float(seconds), lambda: masked_fast(9, b"q" * 125), "websocket ping flood")


# --- binary packets that never complete


def binary_partial(port, pid, conns="60", attachment_kb="90", wait_s="8"):
    """Each connection announces 10 attachments, sends 9 and stops. The hub must close every
    one (byte bound or time bound); the RSS while they wait is sampled."""
    base = rss_kb(pid)
    att = b"\xAB" * (int(attachment_kb) * 1024)
    placeholders = ",".join('{"_placeholder":true,"num":%d}' % i for i in range(10))
    socks, t0 = [], time.time()
    for _ in range(int(conns)):
        ws = WS(port)
        ws.connect_socket()
        ws.send_text('4510-["message",{"eventName":"b","message":[%s]}]' % placeholders)
        try:
            for _ in range(9):
                ws.send(masked_fast(2, att))
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed by the hub already (the byte bound)
        socks.append(ws)
    peak = rss_kb(pid)
    codes, deadline = [], time.time() + float(wait_s)
    for ws in socks:
        code = ws.read_close(timeout=max(0.1, deadline - time.time()))
        codes.append(code)
        peak = max(peak, rss_kb(pid))
        ws.close()
    took = time.time() - t0
    time.sleep(0.3)
    m = metrics(port)
    result(codes=codes, seconds=round(took, 2), rss_before_kb=base, rss_peak_kb=peak, rss_after_kb=rss_kb(pid),
           binary_timeouts=m.get("rtlua_hub_binary_timeouts_total", -1),
           binary_oversize=m.get("rtlua_hub_binary_oversize_disconnects_total", -1))


# --- RFC 6455 cases: the close code the hub answers each with


RFC_CASES = {
    "text not utf-8": [frame(1, b"42[\"x\xff\"]")],
    "text utf-8 broken across fragments": [frame(1, b"4\xe2\x82", fin=False), frame(0, b"(", fin=True)],
    "rsv1": [frame(1, "3", rsv=4)],
    "rsv2": [frame(2, b"x", rsv=2)],
    "rsv3 on a ping": [frame(9, b"", rsv=1)],
    "opcode 3": [frame(3, b"x")],
    "opcode 7": [frame(7, b"")],
    "opcode 0xB": [frame(0xB, b"")],
    "opcode 0xF": [frame(0xF, b"")],
    "unmasked text": [frame(1, "3", mask=False)],
    "unmasked close": [frame(8, struct.pack("!H", 1000), mask=False)],
    "continuation first": [frame(0, b"x")],
    "text inside a fragmented text": [frame(1, b"4", fin=False), frame(1, b"2")],
    "fragmented ping": [frame(9, b"", fin=False)],
    "ping over 125 bytes": [frame(9, b"p" * 126)],
    "close with 1 byte": [frame(8, b"\x03")],
    "close 999": [frame(8, struct.pack("!H", 999))],
    "close 1004": [frame(8, struct.pack("!H", 1004))],
    "close 1005": [frame(8, struct.pack("!H", 1005))],
    "close 1006": [frame(8, struct.pack("!H", 1006))],
    "close 1015": [frame(8, struct.pack("!H", 1015))],
    "close 1016": [frame(8, struct.pack("!H", 1016))],
    "close 2999": [frame(8, struct.pack("!H", 2999))],
    "close 5000": [frame(8, struct.pack("!H", 5000))],
    "close 65535": [frame(8, struct.pack("!H", 65535))],
    "close reason not utf-8": [frame(8, struct.pack("!H", 1000) + b"\xff\xfe")],
    "close 1000": [frame(8, struct.pack("!H", 1000) + b"bye")],
    "close 1001": [frame(8, struct.pack("!H", 1001))],
    "close 1011": [frame(8, struct.pack("!H", 1011))],
    "close 3000": [frame(8, struct.pack("!H", 3000))],
    "close 4999": [frame(8, struct.pack("!H", 4999))],
    "close empty": [frame(8, b"")],
    "message over maxPayload in fragments": [frame(1, b"4" * 60000, fin=False), frame(0, b"2" * 60000, fin=False),
                                             frame(0, b"x", fin=True)],
}


def rfc6455(port, pid, *names):
    out = {}
    for name in names or RFC_CASES:
        ws = WS(port)
        ws.connect_socket()
        for f in RFC_CASES[name]:
            ws.send(f)
        out[name] = ws.read_close(timeout=5)
        ws.close()
    # What is right still works: a fragmented text packet, a ping answered with its payload.
    ws = WS(port)
    ws.read_text("0")
    ws.send(frame(1, b"4", fin=False) + frame(9, b"hello") + frame(0, b"0", fin=True))
    pong = None
    while True:
        op, p = ws.read()
        if op == 10:
            pong = p.decode()
        elif op == 1 and p.startswith(b"40"):
            break
    ws.close()
    m = metrics(port)
    closes = {k.split('"')[1]: v for k, v in m.items() if k.startswith("rtlua_hub_protocol_error_closes_total")}
    result(codes=out, fragmented_connect=True, pong=pong, protocol_closes=closes)


# --- members stay JSON


def binary_member(port, pid):
    a, b = WS(port), WS(port)
    a.connect_socket()
    b.connect_socket()
    for ws in (a, b):
        ws.send_text('42["join",{"channel":"bin"}]')
    b.send_text('42["update",{"data":{"name":"b"}}]')
    a.read_text('42["channel:update"')  # b's update reached a: the joins are done
    # a's update holds binary: refused (members must stay JSON); the rest goes on.
    a.send_text('451-["update",{"data":{"avatar":{"_placeholder":true,"num":0}}}]')
    a.send(frame(2, b"\x00\x01\x02\xff"))
    a.send_text('421["members",{"channel":"bin"}]')
    ack = a.read_text("431")
    status, body = post_json(port, "/_api/rest/v1/realtime/get-members", {"channel": "bin"})
    m = metrics(port)
    result(status=status, body=body, ack=ack, dropped=m.get('rtlua_hub_dropped_packets_total{reason="binary_member_data"}'))


# --- per-socket limits


def rate_limit(port, pid, count="2000"):
    """Sends `count` messages at once; the hub started with a small bucket drops the rest."""
    before = metrics(port).get('rtlua_hub_dropped_packets_total{reason="rate_limited"}', 0)
    rx, tx = WS(port), WS(port)
    rx.connect_socket()
    tx.connect_socket()
    rx.send_text('42["join",{"channel":"r"}]')
    rx.send_text('421["members",{"channel":"r"}]')
    rx.read_text("431")
    msg = masked_fast(1, b'42["message",{"channel":"r","eventName":"tick","message":1}]')
    tx.send(msg * int(count))
    # Then wait out the bucket, and a last message must get through.
    time.sleep(1.5)
    tx.send(masked_fast(1, b'42["message",{"channel":"r","eventName":"last","message":1}]'))
    got = 0
    while True:
        t = rx.read_text("42[")
        if t.startswith('42["last"'):
            break
        got += 1
    m = metrics(port)
    result(sent=int(count), delivered=got,
           rate_limited=m.get('rtlua_hub_dropped_packets_total{reason="rate_limited"}', 0) - before)


def caps(port, pid, channels="3", data_bytes="100"):
    """One join past the channel cap and one update past the member-data cap are dropped;
    the socket stays and its state is what it was before them."""
    ws = WS(port)
    sid = ws.connect_socket()
    n = int(channels)
    for i in range(n + 1):
        ws.send_text('42["join",{"channel":"c%d"}]' % i)
    ws.send_text('42["update",{"data":{"v":"small"}}]')
    ws.send_text('42["update",{"data":{"v":"%s"}}]' % ("x" * int(data_bytes)))
    ws.send_text('421["members",{"channel":"c0"}]')
    ack0 = ws.read_text("431")
    ws.send_text('422["members",{"channel":"c%d"}]' % n)
    ack_last = ws.read_text("432")
    m = metrics(port)
    result(sid=sid, members_c0=json.loads(ack0[3:]), members_over=json.loads(ack_last[3:]),
           too_many_channels=m.get('rtlua_hub_dropped_packets_total{reason="too_many_channels"}'),
           member_data_too_large=m.get('rtlua_hub_dropped_packets_total{reason="member_data_too_large"}'))


def wrong_key(port, pid, tries="5"):
    ws = WS(port)
    ws.read_text("0")
    refusals, code = 0, None
    for _ in range(int(tries)):
        try:
            ws.send_text('40{"clientKey":"wrong"}')
        except (BrokenPipeError, ConnectionResetError):
            break
    try:
        while True:
            op, p = ws.read()
            if op == 1 and p.startswith(b"44"):
                refusals += 1
            elif op == 8:
                code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None
                break
    except (EOFError, ConnectionResetError, socket.timeout):
        pass
    ws.close()
    # A right key on a new connection still works.
    ok = WS(port)
    sid = ok.connect_socket({"clientKey": "good"})
    ok.close()
    m = metrics(port)
    result(refusals=refusals, close_code=code, good_sid=bool(sid),
           wrong_key_disconnects=m["rtlua_hub_wrong_key_disconnects_total"],
           refused=m["rtlua_hub_connects_refused_total"])


def connect_timeout(port, pid):
    ws = WS(port)
    ws.read_text("0")
    t0 = time.time()
    code = ws.read_close(timeout=15)
    took = time.time() - t0
    ws.close()
    m = metrics(port)
    result(code=code, seconds=round(took, 2), connect_timeouts=m["rtlua_hub_connect_timeouts_total"])


def idle(port, pid, conns="2000", hold_s="2"):
    """N idle Socket.IO connections: the hub's RSS before and with them held."""
    base = rss_kb(pid)
    socks = []
    for _ in range(int(conns)):
        ws = WS(port)
        ws.connect_socket()
        socks.append(ws)
    time.sleep(float(hold_s))
    held = rss_kb(pid)
    for ws in socks:
        ws.close()
    result(conns=int(conns), rss_before_kb=base, rss_held_kb=held,
           bytes_per_conn=round((held - base) * 1024 / int(conns)))


def main():
    name, port, pid, *rest = sys.argv[1:]
    fn = {"eio-ping-flood": eio_ping_flood, "ws-ping-flood": ws_ping_flood, "binary-partial": binary_partial,
          "rfc6455": rfc6455, "binary-member": binary_member, "rate-limit": rate_limit, "caps": caps,
          "wrong-key": wrong_key, "connect-timeout": connect_timeout, "idle": idle}[name]
    fn(int(port), int(pid), *rest)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report anything, exit 1
        import traceback
        traceback.print_exc()
        sys.exit(1)
