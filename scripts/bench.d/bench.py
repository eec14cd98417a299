"""The rtlua benchmark orchestrator (run by scripts/bench with the peer venv's python).

Runs each scenario of BENCHMARKS.md several times on 127.0.0.1, rtlua against the
python-socketio peer, and ends with one summary table. Every child process is killed when
its run ends, on a deadline, or when this process dies (PR_SET_PDEATHSIG).
"""
import argparse
import asyncio
import ctypes
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PY = sys.executable
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def die_with_parent() -> None:
    LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def log(msg: str) -> None:
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class Proc:
    """A child process whose stdout lines are READY / RESULT {json} (anything else is kept)."""

    def __init__(self, name: str, argv: list[str], logdir: Path):
        self.name, self.argv, self.logdir = name, argv, logdir
        self.lines: list[str] = []
        self.ready = 0
        self.ready_at = 0.0
        self.result: dict | None = None
        self.results: list[dict] = []
        self.changed = asyncio.Event()
        self.exited_at = 0.0

    async def start(self) -> "Proc":
        self.errlog = open(self.logdir / f"{self.name}.stderr", "wb")
        self.spawned_at = time.time()
        self.p = await asyncio.create_subprocess_exec(
            *self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.errlog,
            start_new_session=True, preexec_fn=die_with_parent, limit=1 << 24)
        self.reader = asyncio.create_task(self._read())
        RUNNING.add(self)
        return self

    async def _read(self) -> None:
        while True:
            raw = await self.p.stdout.readline()
            t = time.time()
            if not raw:
                break
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith("READY"):
                rest = line[5:].strip()
                self.ready += int(rest[1:]) if rest.startswith("*") else 1
                self.ready_at = t
            elif line.startswith("RESULT "):
                self.result = json.loads(line[7:])
                self.results.append(self.result)
            elif line.startswith("LISTENING "):
                self.lines.append(line)
            elif len(self.lines) < 50:
                self.lines.append(line)
            self.changed.set()
        await self.p.wait()
        self.exited_at = time.time()
        self.changed.set()

    async def until(self, cond, timeout: float, what: str):
        deadline = time.time() + timeout
        while not cond():
            if self.exited_at and not cond():
                raise RuntimeError(f"{self.name} exited ({self.p.returncode}) before {what}; see {self.errlog.name}: "
                                   + tail(self.logdir / f"{self.name}.stderr"))
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {what} within {timeout:.0f}s")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass

    async def wait_ready(self, n: int, timeout: float) -> float:
        await self.until(lambda: self.ready >= n, timeout, f"READY x{n}")
        return self.ready_at

    async def wait_result(self, timeout: float) -> dict:
        await self.until(lambda: self.result is not None, timeout, "RESULT")
        return self.result

    async def wait_results(self, n: int, timeout: float) -> list[dict]:
        await self.until(lambda: len(self.results) >= n, timeout, f"RESULT x{n}")
        return self.results

    async def wait_exit(self, timeout: float) -> float:
        await self.until(lambda: self.exited_at > 0, timeout, "exit")
        return self.exited_at

    def rss_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in KiB from /proc."""
        vals = {}
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    vals[line.split(":")[0]] = int(line.split()[1])
        return vals["VmRSS"], vals["VmHWM"]

    def cpu_seconds(self) -> float:
        """user + system CPU time so far, from /proc (0 once the process is gone)."""
        try:
            with open(f"/proc/{self.p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    async def stop(self) -> None:
        RUNNING.discard(self)
        if self.p.returncode is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            await asyncio.wait_for(self.reader, 5)
        except (asyncio.TimeoutError, Exception):
            pass
        self.errlog.close()


RUNNING: set[Proc] = set()


def kill_all() -> None:
    for p in list(RUNNING):
        try:
            os.killpg(p.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def tail(path: Path, n: int = 400) -> str:
    try:
        return path.read_bytes()[-n:].decode(errors="replace").strip().replace("\n", " | ")
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_port(port: int, proc: Proc, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.exited_at:
            raise RuntimeError(f"{proc.name} exited: " + tail(proc.logdir / f"{proc.name}.stderr"))
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"{proc.name}: port {port} not open within {timeout}s")


# ---------------------------------------------------------------- results

@dataclass
class Row:
    key: str
    name: str
    unit: str          # "msg/s", "ms", "KiB", ...
    better: str        # "higher" | "lower"
    target: str = ""
    check: object = None   # fn(rtlua_median, python_median) -> bool
    rtlua: list = field(default_factory=list)
    python: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def med(self, side: str):
        v = getattr(self, side)
        return statistics.median(v) if v else None

    def ratio(self):
        r, p = self.med("rtlua"), self.med("python")
        if not r or not p:
            return None
        return r / p if self.better == "higher" else p / r

    def status(self) -> str:
        if self.check is None:
            return ""
        r, p = self.med("rtlua"), self.med("python")
        if r is None:
            return "not run"
        try:
            return "met" if self.check(r, p) else "MISSED"
        except TypeError:
            return "n/a"


def fmt_num(v: float, unit: str) -> str:
    if unit in ("msg/s", "deliv/s"):
        return f"{v:,.0f}"
    if unit == "KiB":
        return f"{v:,.1f}"
    if unit == "µs":
        return f"{v:,.1f}"
    if unit == "ms":
        return f"{v:,.3f}" if v < 10 else f"{v:,.1f}"
    if unit == "s":
        return f"{v:,.2f}"
    if unit == "conns":
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def fmt_vals(vals: list, unit: str) -> str:
    if not vals:
        return "—"
    m = statistics.median(vals)
    s = fmt_num(m, unit)
    if len(vals) > 1:
        s += f" [{fmt_num(min(vals), unit)}–{fmt_num(max(vals), unit)}]"
    return s


class Bench:
    def __init__(self, a: argparse.Namespace):
        self.a = a
        self.rtlua = a.rtlua
        self.logdir = Path(a.logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.seq = 0
        self.rows: dict[str, Row] = {}
        self.order: list[str] = []
        self.ceiling: dict[str, float] = {}
        ref = Path(a.py_hub) if a.py_hub else ROOT / "scripts/peer/reference_server.py"
        self.py_hub_script = ref if ref.exists() else HERE / "py_hub.py"
        self.floor_bin = self.build_floor()

    def build_floor(self) -> Path | None:
        """Compiles floor.c (row 1.2f) with the system's C compiler; None without one."""
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        out = self.logdir / "floor"
        if cc and subprocess.run([cc, "-O2", "-o", str(out), str(HERE / "floor.c")]).returncode == 0:
            return out
        log("  (no C compiler: row 1.2f, the floor, is left out)")
        return None

    def row(self, key: str, name: str, unit: str, better: str, target: str = "", check=None) -> Row:
        if key not in self.rows:
            self.rows[key] = Row(key, name, unit, better, target, check)
            self.order.append(key)
        return self.rows[key]

    def name(self, base: str) -> str:
        self.seq += 1
        return f"{self.seq:03d}-{base}"

    async def spawn(self, base: str, argv: list[str]) -> Proc:
        return await Proc(self.name(base), argv, self.logdir).start()

    # --- peers and hubs

    def lua(self, url: str, script: str, args: list[str], instances: int = 1, extra: list[str] = ()) -> list[str]:
        argv = ["stdbuf", "-oL", self.rtlua, "run", "--url", url, *extra]
        if instances > 1:
            argv += ["--instances", str(instances)]
        return argv + [str(HERE / script), "--", *args]

    def pyb(self, mode: str, url: str, args: list[str]) -> list[str]:
        return [PY, str(HERE / "pybots.py"), mode, url, *args]

    def raw(self, mode: str, port: int, args: list[str]) -> list[str]:
        return [PY, str(HERE / "rawpeer.py"), mode, str(port), *args]

    async def hub(self, kind: str) -> tuple[Proc, int]:
        if kind == "rtlua":
            port = free_port()
            # Above the default cap of 10,000 connections: row 4 runs up to ~18,000 bots.
            p = await self.spawn("hub-rtlua", [self.rtlua, "serve", "--host", "127.0.0.1", "--port", str(port),
                                               "--max-connections", "19900"])
            await wait_port(port, p, 30)
            return p, port
        p = await self.spawn("hub-python", [PY, str(self.py_hub_script), "--host", "127.0.0.1", "--port", "0"])
        await p.until(lambda: any(l.startswith("LISTENING ") for l in p.lines), 30, "LISTENING")
        port = int(next(l for l in p.lines if l.startswith("LISTENING ")).split()[1])
        await wait_port(port, p, 10)
        return p, port

    def hubs(self) -> list[str]:
        return (["rtlua"] if self.rtlua else []) + ["python"]

    async def session(self, fn, *args):
        """Runs one measurement, always stopping every process it started."""
        before = set(RUNNING)
        try:
            return await asyncio.wait_for(fn(*args), self.a.run_timeout)
        except Exception as e:  # a failed run is reported, the bench goes on
            log(f"    ! {type(e).__name__}: {e}")
            return None
        finally:
            for p in list(RUNNING - before):
                await p.stop()

    # --- scenario 1: receive throughput

    async def recv_once(self, hub_kind: str, rx: str, tx: str, count: int, extra: tuple = ()) -> dict:
        hub, port = await self.hub(hub_kind)
        url = f"http://127.0.0.1:{port}"
        ch = f"bench{self.seq}"
        idle, max_s = str(self.a.idle), str(self.a.max_seconds)
        rargv = {"lua": lambda: self.lua(url, "recv.lua", [ch, str(count), idle, max_s], extra=extra),
                 "python": lambda: self.pyb("recv", url, [ch, str(count), idle, max_s]),
                 "raw": lambda: self.raw("count", port, [ch, "1", str(count), idle, max_s]),
                 "floor": lambda: [PY, str(HERE / "floor.py"), str(self.floor_bin), str(port), ch, str(count), idle,
                                   max_s]}[rx]()
        r = await self.spawn(f"recv-{rx}", rargv)
        await r.wait_ready(1, 60)
        sargv = {"lua": lambda: self.lua(url, "send.lua", [ch, str(count)], extra=extra),
                 "python": lambda: self.pyb("send", url, [ch, str(count)]),
                 "raw": lambda: self.raw("flood", port, [ch, str(count)])}[tx]()
        hub_cpu0 = hub.cpu_seconds()
        s = await self.spawn(f"send-{tx}", sargv)
        limit = self.a.max_seconds + 60
        res = await r.wait_result(limit)
        hub_cpu1 = hub.cpu_seconds()
        sres = s.result or {}
        n, first, last = res["count"], res["first"], res["last"]
        rate = (n - 1) / (last - first) if n > 1 and last > first else 0.0
        out = {"count": n, "rate": rate, "complete": n >= count, "stop": res.get("stop", "?"), "rx": rx,
               "hub_us": (hub_cpu1 - hub_cpu0) / max(n, 1) * 1e6}
        if res.get("cpu_last") and n > 1:
            out["rx_us"] = (res["cpu_last"] - res["cpu_first"]) / (n - 1) * 1e6
        if "start" in sres and "loop_done" in sres:
            # the time the sender took to hand every message to its client library
            out["sender_rate"] = sres["count"] / max(sres["loop_done"] - sres["start"], 1e-9)
        return out

    async def scenario1(self) -> None:
        count = self.a.messages
        log(f"\n== 1. receive throughput: {count:,} channel messages of ~100 B (sender floods, receiver counts)")
        # rtlua column: the rtlua hub; python column: the python-socketio hub
        row = self.row("1.0", "1.0 hub ceiling: raw sender → hub → raw receiver", "msg/s", "higher")
        cpu = self.row("1.0c", "1.0c hub CPU per message routed (from /proc)", "µs", "lower")
        for h in self.hubs():
            for i in range(self.a.runs):
                r = await self.session(self.recv_once, h, "raw", "raw", count)
                if r:
                    (row.rtlua if h == "rtlua" else row.python).append(r["rate"])
                    (cpu.rtlua if h == "rtlua" else cpu.python).append(r["hub_us"])
                    self.note_partial(row, r, count)
                    log(f"  {h} hub, run {i + 1}: {r['rate']:,.0f} msg/s ({r['count']:,} received), "
                        f"hub CPU {r['hub_us']:.1f} µs/msg")
            vals = row.rtlua if h == "rtlua" else row.python
            self.ceiling[h] = statistics.median(vals) if vals else float("inf")

        for h in self.hubs():
            row = self.row(f"1.{1 if h == 'rtlua' else 2}", f"1.{1 if h == 'rtlua' else 2} receiver into script code, "
                           f"{h} hub (raw sender): Lua vs python", "msg/s", "higher", "≥ 10×",
                           lambda r, p: r >= 10 * p)
            n = 1 if h == "rtlua" else 2
            cpu = self.row(f"1.{n}c", f"1.{n}c receiver CPU per message, {h} hub (os.clock / process_time)", "µs",
                           "lower")
            for rx in (["lua"] if self.rtlua else []) + ["python"]:
                for i in range(self.a.runs):
                    r = await self.session(self.recv_once, h, rx, "raw", count)
                    if r:
                        (row.rtlua if rx == "lua" else row.python).append(r["rate"])
                        if r.get("rx_us"):
                            (cpu.rtlua if rx == "lua" else cpu.python).append(r["rx_us"])
                        self.note_partial(row, r, count)
                        if r["rate"] >= 0.85 * self.ceiling.get(h, float("inf")):
                            self.add_note(row, f"{rx} receiver hub-bound ({h} hub ceiling ≈ {self.ceiling[h]:,.0f})")
                        log(f"  {rx} receiver on {h} hub, run {i + 1}: {r['rate']:,.0f} msg/s ({r['count']:,} received), "
                            f"receiver CPU {r.get('rx_us', 0):.1f} µs/msg")

        # The floor: what a receiver that only waits, reads and counts costs per message on the
        # python hub, beside the python receiver; python/floor is the best ratio any receiver
        # could reach there.
        py_cpu = self.rows.get("1.2c")
        if self.floor_bin and py_cpu and py_cpu.python:
            fl = self.row("1.2f", "1.2f floor, python hub: a C receiver that only waits, reads and counts "
                          "(rtlua column) vs the python receiver (1.2c)", "µs", "lower")
            fl.python = list(py_cpu.python)
            for i in range(self.a.runs):
                r = await self.session(self.recv_once, "python", "floor", "raw", count)
                if r and r.get("rx_us"):
                    fl.rtlua.append(r["rx_us"])
                    log(f"  floor receiver on python hub, run {i + 1}: {r['rate']:,.0f} msg/s, CPU {r['rx_us']:.1f} µs/msg")

        row = self.row("1.3", "1.3 pipeline: rtlua bot → rtlua hub → rtlua bot vs all-python", "msg/s", "higher",
                       "≥ 25×", lambda r, p: r >= 25 * p)
        sides = ([("rtlua", "lua")] if self.rtlua else []) + [("python", "python")]
        for hub_kind, bot in sides:
            for i in range(self.a.runs):
                r = await self.session(self.recv_once, hub_kind, bot, bot, count)
                if r:
                    (row.rtlua if bot == "lua" else row.python).append(r["rate"])
                    self.note_partial(row, r, count)
                    sr = r.get("sender_rate")
                    if sr and r["rate"] >= 0.9 * sr:
                        self.add_note(row, f"{bot} pipeline sender-bound (receiver ≥ 90 % of the sender's rate)")
                    log(f"  all-{bot} pipeline, run {i + 1}: {r['rate']:,.0f} msg/s ({r['count']:,} received; "
                        f"sender {sr:,.0f} msg/s)" if sr else f"  all-{bot} pipeline, run {i + 1}: {r['rate']:,.0f} msg/s")

    def note_partial(self, row: Row, r: dict, count: int) -> None:
        if r["complete"]:
            return
        why = {"time": "time bound reached", "idle": f"no message for {self.a.idle:g} s",
               "disconnected": "the hub disconnected the receiver (slow consumer?)"}.get(
            r.get("stop", "?").split(":")[0], r.get("stop", "?"))
        self.add_note(row, f"{r.get('rx', 'receiver')}: runs stopped before {count:,} ({why}); "
                           "the rate is over what arrived")

    def add_note(self, row: Row, note: str) -> None:
        if note not in row.notes:
            row.notes.append(note)

    # --- scenario 2: hub fan-out

    async def fanout_once(self, hub_kind: str, rx: str, receivers: int, count: int) -> dict:
        hub, port = await self.hub(hub_kind)
        ch = f"fan{self.seq}"
        idle, max_s = str(self.a.idle), str(self.a.max_seconds)
        if rx == "raw":
            r = await self.spawn("fan-recv-raw", self.raw("count", port, [ch, str(receivers), str(count), idle, max_s]))
            await r.wait_ready(1, 120)
        else:
            url = f"http://127.0.0.1:{port}"
            r = await self.spawn("fan-recv-lua", self.lua(url, "recv.lua", [ch, str(count), idle, max_s], receivers))
            await r.wait_ready(receivers, 120)
        s = await self.spawn("fan-send", self.raw("flood", port, [ch, str(count)]))
        sres = await s.wait_result(60)
        if rx == "raw":
            res = await r.wait_result(self.a.max_seconds + 60)
            total, last = res["count"], res["last"]
        else:
            res = await r.wait_results(receivers, self.a.max_seconds + 60)
            total, last = sum(x["count"] for x in res), max(x["last"] for x in res)
        dur = last - sres["start"]
        stop = res.get("stop", "?") if rx == "raw" else ",".join(sorted({x.get("stop", "?") for x in res}))
        return {"count": total, "rate": total / dur if dur > 0 else 0.0, "complete": total >= receivers * count,
                "stop": stop, "rx": f"{rx} receivers"}

    async def scenario2(self) -> None:
        receivers, count = 100, self.a.fanout_messages
        log(f"\n== 2. hub fan-out: 1 sender, {receivers} receivers in one channel, {count:,} messages")
        kinds = ["raw"] + (["lua"] if self.rtlua else [])
        for rx in kinds:
            if rx == "raw":
                row = self.row("2", f"2 hub fan-out, {receivers} raw receivers: rtlua hub vs python hub",
                               "deliv/s", "higher", "≥ 10×", lambda r, p: r >= 10 * p)
            else:
                row = self.row("2b", f"2b hub fan-out, {receivers} Lua receivers (one rtlua process): rtlua hub vs "
                               "python hub", "deliv/s", "higher")
            for h in self.hubs():
                for i in range(self.a.runs):
                    r = await self.session(self.fanout_once, h, rx, receivers, count)
                    if r:
                        (row.rtlua if h == "rtlua" else row.python).append(r["rate"])
                        self.note_partial(row, r, receivers * count)
                        log(f"  {rx} receivers, {h} hub, run {i + 1}: {r['rate']:,.0f} deliveries/s ({r['count']:,})")

    # --- scenario 8: checks and metrics (issue #12)

    async def fanout_probe_once(self, n: int, rounds: int) -> dict:
        # The hub's default cap is 10,000 connections; the probe may want more.
        port = free_port()
        hub = await self.spawn("hub-rtlua", [self.rtlua, "serve", "--host", "127.0.0.1", "--port", str(port),
                                             "--max-connections", str(n + 100)])
        await wait_port(port, hub, 30)
        summary = self.logdir / f"fanout-{self.seq}.json"
        p = await self.spawn("fanout-lua", self.lua(f"http://127.0.0.1:{port}", "fanout.lua", [str(n), str(rounds)], n,
                                                   extra=["--summary-json", str(summary), "--quiet"]))
        await p.until(lambda: any(l.startswith("JOINED ") for l in p.lines), self.a.max_seconds + 180, "JOINED")
        joined = float(next(l for l in p.lines if l.startswith("JOINED ")).split()[1])
        rss, _ = p.rss_kib()
        await p.wait_exit(rounds + 120)
        s = json.loads(summary.read_text())
        d = next(m for m in s["metrics"] if m["name"] == "delivery" and m["tags"] == {"event": "fan"})
        done = next((m["count"] for m in s["metrics"] if m["name"] == "fan_complete"), 0)
        return {"joined": joined, "rss_per_bot": rss / n, "p50": d["p50"], "p99": d["p99"], "max": d["max"],
                "samples": d["count"], "complete": done}

    async def scenario8(self) -> None:
        count = self.a.messages
        log(f"\n== 8. checks and metrics: the pipeline of 1.3 without and with the metrics; a fan-out probe")
        if not self.rtlua:
            return
        row = self.row("8.1", "8.1 pipeline rtlua → rtlua hub → rtlua (1.3): metrics off (rtlua column) vs on "
                       "(--summary-json: built-ins + delivery clock; python column)", "msg/s", "higher",
                       "on ≥ 95 % of off", lambda off, on: on >= 0.95 * off)
        for i in range(self.a.runs):
            for label, extra in (("off", ()), ("on", ("--summary-json", str(self.logdir / "pipeline.json"), "--quiet"))):
                r = await self.session(self.recv_once, "rtlua", "lua", "lua", count, extra)
                if r:
                    (row.rtlua if label == "off" else row.python).append(r["rate"])
                    self.note_partial(row, r, count)
                    log(f"  metrics {label}, run {i + 1}: {r['rate']:,.0f} msg/s ({r['count']:,} received)")
        n, rounds = self.a.fanout_bots, 5
        rows = {k: self.row(f"8.{j}", f"8.{j} fan-out probe: 1 bot broadcasts {rounds} messages to {n:,} bots "
                            f"(one rtlua run, rtlua hub): {what}", unit, better)
                for j, (k, what, unit, better) in enumerate([
                    ("p50", "delivery p50", "ms", "lower"), ("p99", "delivery p99", "ms", "lower"),
                    ("max", "delivery max", "ms", "lower"), ("complete", f"bots that received all {rounds}", "bots",
                                                              "higher"),
                    ("joined", f"time until all {n:,} joined", "s", "lower"),
                    ("rss_per_bot", "client process RSS per bot", "KiB", "lower")], start=2)}
        for i in range(self.a.runs):
            r = await self.session(self.fanout_probe_once, n, rounds)
            if r:
                for k, row in rows.items():
                    row.rtlua.append(r[k])
                log(f"  fan-out run {i + 1}: delivery p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms;"
                    f" {r['complete']:,} of {n:,} got all {rounds} ({r['samples']:,} samples); joined in {r['joined']:.1f} s;"
                    f" {r['rss_per_bot']:.1f} KiB RSS per bot")

    # --- scenario 3: round-trip latency

    async def latency_once(self, hub_kind: str, bot: str) -> dict:
        hub, port = await self.hub(hub_kind)
        url = f"http://127.0.0.1:{port}"
        ch = f"lat{self.seq}"
        if bot == "lua":
            pong = await self.spawn("pong-lua", self.lua(url, "pong.lua", [ch]))
        else:
            pong = await self.spawn("pong-python", self.pyb("pong", url, [ch]))
        await pong.wait_ready(1, 60)
        rate, secs = str(self.a.rate), str(self.a.seconds)
        argv = self.lua(url, "ping.lua", [ch, rate, secs]) if bot == "lua" else self.pyb("ping", url, [ch, rate, secs])
        ping = await self.spawn(f"ping-{bot}", argv)
        res = await ping.wait_result(self.a.seconds + 60)
        rtts = sorted(res["rtt_us"])
        if not rtts:
            raise RuntimeError("no pong came back")

        def pct(q: float) -> float:
            return rtts[min(len(rtts) - 1, max(0, int(round(q * len(rtts))) - 1))] / 1000.0

        return {"p50": pct(0.50), "p99": pct(0.99), "p999": pct(0.999), "max": rtts[-1] / 1000.0,
                "lost": res["sent"] - len(rtts), "rate": res["sent"] / max(res["send_seconds"], 1e-9)}

    async def scenario3(self) -> None:
        log(f"\n== 3. round-trip latency: ping/pong at {self.a.rate:,} msg/s for {self.a.seconds} s")
        pairs = ([("rtlua stacks", "rtlua", "lua", "python", "python")] if self.rtlua else
                 [("rtlua stacks", None, None, "python", "python")])
        if self.rtlua and not self.a.quick:
            pairs.append(("rtlua hub", "rtlua", "lua", "rtlua", "python"))
        for label, rhub, rbot, phub, pbot in pairs:
            tag = "3" if label == "rtlua stacks" else "3h"
            desc = ("rtlua bots via rtlua hub vs python bots via python hub" if tag == "3"
                    else "same rtlua hub: Lua bots vs python bots")
            rows = {k: self.row(f"{tag}.{k}", f"{tag} round trip {k} ({desc})", "ms", "lower",
                                "< 1 ms" if k == "p99" else "",
                                (lambda r, p: r < 1.0) if k == "p99" else None)
                    for k in ("p50", "p99", "p999", "max")}
            for side, hub_kind, bot in (("rtlua", rhub, rbot), ("python", phub, pbot)):
                if hub_kind is None:
                    continue
                for i in range(self.a.runs):
                    r = await self.session(self.latency_once, hub_kind, bot)
                    if r:
                        for k, row in rows.items():
                            getattr(row, side).append(r[k])
                        if r["lost"]:
                            self.add_note(rows["max"], f"{bot}: {r['lost']} pongs lost in a run")
                        if r["rate"] < 0.95 * self.a.rate:
                            self.add_note(rows["p50"], f"{bot} pinger reached only {r['rate']:,.0f} msg/s")
                        log(f"  {bot} bots on {hub_kind} hub, run {i + 1}: p50 {r['p50']:.3f} p99 {r['p99']:.3f} "
                            f"p99.9 {r['p999']:.3f} max {r['max']:.3f} ms, {r['rate']:,.0f} msg/s, lost {r['lost']}")

    # --- scenario 4: bots per process

    async def bots_once(self, hub_kind: str, bot: str, n: int) -> dict:
        hub, port = await self.hub(hub_kind)
        url = f"http://127.0.0.1:{port}"
        ch = f"idle{self.seq}"
        argv = self.lua(url, "idle.lua", [ch], instances=n) if bot == "lua" else self.pyb("idle", url, [ch, str(n)])
        p = await self.spawn(f"bots-{bot}-{n}", argv)
        t = await p.wait_ready(n, self.a.max_seconds + 120)
        connect = t - p.spawned_at
        await asyncio.sleep(1.0)  # let allocations settle before reading RSS
        rss, hwm = p.rss_kib()
        return {"connect": connect, "rss": rss, "hwm": hwm}

    async def scenario4(self) -> None:
        sizes = self.a.bots
        log(f"\n== 4. idle bots per process, each joined to a channel: N = {', '.join(map(str, sizes))}")
        hub_kind = "rtlua" if self.rtlua else "python"
        sides = ([("rtlua", "lua")] if self.rtlua else []) + [("python", "python")]
        base: dict[str, float] = {}
        for side, bot in sides:
            vals = []
            for i in range(self.a.runs):
                r = await self.session(self.bots_once, hub_kind, bot, 1)
                if r:
                    vals.append(r["rss"])
            base[side] = statistics.median(vals) if vals else 0.0
            log(f"  {bot}: one-bot process RSS {base[side]:,.0f} KiB (baseline)")
        for n in sizes:
            mem = self.row(f"4.{n}.mem", f"4 N={n:,}: resident memory per bot (above a 1-bot process)", "KiB", "lower",
                           "≤ 50 KiB" if n == 10000 else "", (lambda r, p: r <= 50) if n == 10000 else None)
            con = self.row(f"4.{n}.con", f"4 N={n:,}: time until all bots joined (process start → last join)", "s",
                           "lower")
            runs = self.a.runs if n < 10000 or not self.a.quick else 1
            for side, bot in sides:
                for i in range(runs):
                    r = await self.session(self.bots_once, hub_kind, bot, n)
                    if r:
                        per = (r["rss"] - base[side]) / max(n - 1, 1)
                        getattr(mem, side).append(per)
                        getattr(con, side).append(r["connect"])
                        log(f"  {bot} N={n}, run {i + 1}: RSS {r['rss']:,} KiB ({per:,.1f} KiB/bot), "
                            f"all joined in {r['connect']:.2f} s")
                    else:
                        self.add_note(mem, f"{bot} N={n}: a run failed (see log)")

    # --- scenario 5: start-up

    async def startup_once(self, argv: list[str]) -> dict:
        t0 = time.perf_counter()
        p = await asyncio.create_subprocess_exec(
            "/usr/bin/time", "-f", "MAXRSS %M", *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent)
        out, err = await asyncio.wait_for(p.communicate(), 30)
        wall = (time.perf_counter() - t0) * 1000
        if p.returncode != 0 or b"hello" not in out:
            raise RuntimeError(f"{argv[0]} failed ({p.returncode}): {err.decode(errors='replace')[-300:]}")
        rss = int(err.decode().rsplit("MAXRSS", 1)[1].split()[0])
        return {"wall": wall, "rss": rss}

    async def scenario5(self) -> None:
        n = self.a.startup_runs
        log(f"\n== 5. start-up: a script that prints and exits, {n} runs each")
        wall = self.row("5.wall", "5 start-up wall time: `rtlua run hello.lua` vs `python3 hello.py`", "ms", "lower",
                        "< 50 ms", lambda r, p: r < 50)
        mem = self.row("5.mem", "5 start-up peak RSS", "KiB", "lower")
        sides = ([("rtlua", [self.rtlua, "run", str(HERE / "hello.lua")])] if self.rtlua else [])
        sides.append(("python", [PY, str(HERE / "hello.py")]))
        if self.rtlua:
            # without the embedded hub (the script never touches `realtime`, so nothing connects)
            ext_w = self.row("5.wall-url", "5 start-up wall time with --url (no embedded hub)", "ms", "lower")
            ext_m = self.row("5.mem-url", "5 start-up peak RSS with --url (no embedded hub)", "KiB", "lower")
        for side, argv in sides:
            for _ in range(2):  # warm the page cache
                await self.session(self.startup_once, argv)
            for _ in range(n):
                r = await self.session(self.startup_once, argv)
                if r:
                    getattr(wall, side).append(r["wall"])
                    getattr(mem, side).append(r["rss"])
            log(f"  {side}: {fmt_vals(getattr(wall, side), 'ms')} ms, peak {fmt_vals(getattr(mem, side), 'KiB')} KiB")
        if self.rtlua:
            argv = [self.rtlua, "run", "--url", "http://127.0.0.1:9", str(HERE / "hello.lua")]
            for _ in range(n):
                r = await self.session(self.startup_once, argv)
                if r:
                    ext_w.rtlua.append(r["wall"])
                    ext_m.rtlua.append(r["rss"])
            ext_w.python, ext_m.python = list(wall.python), list(mem.python)
            log(f"  rtlua --url: {fmt_vals(ext_w.rtlua, 'ms')} ms, peak {fmt_vals(ext_m.rtlua, 'KiB')} KiB")

    # --- scenario 7: `rtlua test` (issue #13); rtlua only, python has no counterpart

    async def test_once(self, argv: list[str]) -> float:
        t0 = time.perf_counter()
        p = await asyncio.create_subprocess_exec(*argv, cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                 stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent)
        out, err = await asyncio.wait_for(p.communicate(), 120)
        wall = (time.perf_counter() - t0) * 1000
        if p.returncode != 0:
            raise RuntimeError(f"rtlua test failed ({p.returncode}): {(out + err).decode(errors='replace')[-400:]}")
        return wall

    async def scenario7(self) -> None:
        if not self.rtlua:
            return
        n = self.a.startup_runs
        log(f"\n== 7. rtlua test: wall time of the process, {n} runs each")
        cases = [("7.examples", "7 `rtlua test examples/` (8 tests, 4 files: hub, bots, virtual clock)",
                  [self.rtlua, "test", "examples"]),
                 ("7.cron14", "7 `rtlua test` of a 14-day weekday-cron test (10 runs on the virtual clock)",
                  [self.rtlua, "test", str(HERE / "cron14_test.lua")]),
                 ("7.hourly28", "7 `rtlua test` of 3 connected hourly bots and a client over 28 days (pings on the virtual clock)",
                  [self.rtlua, "test", str(HERE / "hourly28_test.lua")])]
        for key, name, argv in cases:
            row = self.row(key, name, "ms", "lower")
            for _ in range(n):
                r = await self.session(self.test_once, argv)
                if r:
                    row.rtlua.append(r)
            log(f"  {name}: {fmt_vals(row.rtlua, 'ms')} ms")

    # --- scenario 6: hub memory per idle Socket.IO connection (issue #14)

    async def idle_hub(self, kind: str) -> tuple[Proc, int]:
        """A hub for row 6: pings every 5 s (the default timeout, 20 s, to answer: a python hub
        busy with 20,000 handshakes answers pongs late), so a connection counted as held has
        been pinged; no connection cap below the open-files limit."""
        ping = ["--ping-interval", "5000", "--ping-timeout", "20000"]
        if kind == "rtlua":
            port = free_port()
            p = await self.spawn("idlehub-rtlua", [self.rtlua, "serve", "--host", "127.0.0.1", "--port", str(port),
                                                   "--max-connections", "1000000", *ping])
            await wait_port(port, p, 30)
            return p, port
        p = await self.spawn("idlehub-python", [PY, str(self.py_hub_script), "--host", "127.0.0.1", "--port", "0",
                                                *ping])
        await p.until(lambda: any(l.startswith("LISTENING ") for l in p.lines), 30, "LISTENING")
        port = int(next(l for l in p.lines if l.startswith("LISTENING ")).split()[1])
        await wait_port(port, p, 10)
        return p, port

    async def idle_once(self, kind: str, n: int) -> dict:
        hub, port = await self.idle_hub(kind)
        await asyncio.sleep(0.5)
        base, _ = hub.rss_kib()
        per_proc = 5000  # each client process stays far under its own open-files limit
        sizes = [min(per_proc, n - i) for i in range(0, n, per_proc)]
        hold = 10.0      # after its last handshake: two ping intervals' worth of pongs
        t0 = time.time()
        clients = [await self.spawn(f"idle-{kind}-{n}", [PY, str(HERE / "idleconns.py"), str(port), str(k), str(hold)])
                   for k in sizes]
        for c in clients:
            await c.until(lambda c=c: any(l.startswith("CONNECTED ") for l in c.lines), 600, "CONNECTED")
        opened = max(c.ready_at for c in clients) - t0 if all(c.ready_at for c in clients) else 0.0
        res = [await c.wait_result(hold + 60) for c in clients]
        await asyncio.sleep(1.0)  # the last pongs and frees settle
        rss, hwm = hub.rss_kib()
        alive = sum(r["alive"] for r in res)
        errors: dict[str, int] = {}
        for r in res:
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        return {"base": base, "rss": rss, "hwm": hwm, "held": alive, "connected": sum(r["connected"] for r in res),
                "open_s": opened, "errors": errors}

    async def scenario6(self) -> None:
        sizes = self.a.idle_conns
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        log(f"\n== 6. idle Socket.IO connections held by one hub process (open-files limit {hard:,}): "
            f"N = {', '.join(f'{n:,}' for n in sizes)}")
        held = self.row("6.held", f"6 largest number of idle connections held (of {max(sizes):,} opened; "
                        f"open-files limit {hard:,} per process)", "conns", "higher")
        for n in sizes:
            mem = self.row(f"6.{n}.mem", f"6 N={n:,}: hub memory per idle Socket.IO connection (RSS above the "
                           "started hub)", "KiB", "lower", "≤ 4 KiB", lambda r, p: r <= 4)
            for side in self.hubs():
                for i in range(self.a.runs):
                    r = await self.session(self.idle_once, side, n)
                    if not r:
                        self.add_note(mem, f"{side} N={n}: a run failed (see log)")
                        continue
                    per = (r["rss"] - r["base"]) / max(r["held"], 1)
                    getattr(mem, side).append(per)
                    if n == max(sizes):
                        getattr(held, side).append(r["held"])
                    if r["held"] < n:
                        self.add_note(mem, f"{side} N={n}: {r['held']:,} held of {n:,} ({r['errors']})")
                    log(f"  {side} hub N={n:,}, run {i + 1}: {r['held']:,} held, RSS {r['base']:,} → {r['rss']:,} KiB "
                        f"(peak {r['hwm']:,}): {per:,.2f} KiB per connection; all open in {r['open_s']:.1f} s"
                        + (f"; errors {r['errors']}" if r["errors"] else ""))

    # --- report

    def table(self) -> str:
        head = ["scenario", "unit", "rtlua", "python", "ratio", "target", "status"]
        body = []
        for k in self.order:
            r = self.rows[k]
            ratio = r.ratio()
            body.append([r.name, r.unit, fmt_vals(r.rtlua, r.unit), fmt_vals(r.python, r.unit),
                         f"{ratio:,.1f}×" if ratio else "—", r.target, r.status()])
        w = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
        line = lambda cells: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
        out = [line(head), "|" + "|".join("-" * (x + 2) for x in w) + "|"] + [line(b) for b in body]
        return "\n".join(out)

    def notes(self) -> str:
        notes = [f"- {r.name.split(' ', 1)[0]}: {n}" for k in self.order for r in [self.rows[k]] for n in r.notes]
        return "notes:\n" + "\n".join(notes) if notes else "notes: none"

    def save(self) -> None:
        data = {"rows": [{**{k: v for k, v in self.rows[k].__dict__.items() if k != "check"},
                          "status": self.rows[k].status(), "ratio": self.rows[k].ratio()} for k in self.order],
                "args": vars(self.a)}
        (self.logdir / "results.json").write_text(json.dumps(data, indent=1, default=str))


def machine_facts(a) -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    import importlib.metadata as md
    facts = [f"cpu: {cpu} x{os.cpu_count()}", f"memory: {int(mem) // 1024:,} MiB",
             f"kernel: {platform.release()}", f"python: {platform.python_version()}",
             f"python-socketio {md.version('python-socketio')}, python-engineio {md.version('python-engineio')}, "
             f"aiohttp {md.version('aiohttp')}",
             f"load average at start: {' '.join(open('/proc/loadavg').read().split()[:3])}"]
    if a.rtlua:
        facts.append(f"rtlua: {a.rtlua} ({a.rev})")
    return "\n".join(facts)


async def amain(a) -> int:
    b = Bench(a)
    log(machine_facts(a))
    log(f"python hub: {b.py_hub_script}; logs: {b.logdir}")
    scen = {"1": b.scenario1, "2": b.scenario2, "3": b.scenario3, "4": b.scenario4, "5": b.scenario5,
            "6": b.scenario6, "7": b.scenario7, "8": b.scenario8}
    try:
        for s in a.only:
            await scen[s]()
    finally:
        b.save()
        log(f"\nload average at end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
        log(b.notes())
        log("\n== summary (median [min–max] of the runs; ratio > 1 means rtlua is better)\n")
        log(b.table())
    return 0


def open_files_limit() -> int:
    """Raises this process's open-files soft limit to the hard one (its children, the hubs
    and clients, inherit it) and returns it (at most 20,000 when there is no hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    lim = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return 20_000 if lim == resource.RLIM_INFINITY else lim


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rtlua", help="release rtlua binary; omitted: python side only")
    ap.add_argument("--rev", default="?")
    ap.add_argument("--quick", action="store_true", help="fewer messages and shorter runs")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--only", default="1234567", help="scenarios to run, e.g. 13")
    ap.add_argument("--bots", help="bot counts for scenario 4, e.g. 100,1000,10000")
    ap.add_argument("--fanout-bots", type=int, help="bots of scenario 8's fan-out probe (default 10,000)")
    ap.add_argument("--idle-conns", help="idle connection counts for scenario 6, e.g. 2000,19900")
    ap.add_argument("--py-hub", help="python-socketio server script (default: scripts/peer/reference_server.py, "
                                     "else bench.d/py_hub.py)")
    ap.add_argument("--logdir", default=f"/tmp/rtlua-bench-{time.strftime('%Y%m%d-%H%M%S')}")
    a = ap.parse_args()
    q = a.quick
    a.runs = a.runs or 3
    a.messages = 20_000 if q else 200_000
    a.fanout_messages = 500 if q else 2_000
    a.rate, a.seconds = 1000, (3 if q else 10)
    a.bots = [int(x) for x in a.bots.split(",")] if a.bots else [100, 1000] if q else [100, 1000, 10000]
    a.startup_runs = 5 if q else 10
    a.fanout_bots = a.fanout_bots or (1000 if q else 10_000)
    # Scenario 6: 2,000, and the most one process can hold under its open-files limit (the
    # hard one; a few descriptors left for the process's own files).
    most = open_files_limit() - 100
    a.idle_conns = ([int(x) for x in a.idle_conns.split(",")] if a.idle_conns
                    else [1000] if q else [2000, most])
    a.idle = 5.0            # a receiver stops after this long without a message
    a.max_seconds = 30 if q else 90   # and at most this long after its first one
    a.run_timeout = a.max_seconds + 240
    loop_deadline = 1800 if q else 5400

    async def bounded():
        return await asyncio.wait_for(amain(a), loop_deadline)

    def on_term(*_):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_term)
    try:
        return asyncio.run(bounded())
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        kill_all()


if __name__ == "__main__":
    sys.exit(main())
