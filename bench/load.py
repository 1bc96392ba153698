"""Load test: N browser sessions at once against a real `streamlit run app.py`, each cycling pages.

    .venv/bin/python bench/load.py [--sessions 10] [--seconds 60] [--think 0] [--pages overview,pairings,...]

Starts the app on a free loopback port (headless, usage statistics off, scenarios from a temporary copy of
scenarios/), then opens N websocket sessions that speak Streamlit's own protocol (the BackMsg/ForwardMsg protobufs
that ship in the `streamlit` package, the same messages the browser sends): a page change is a `rerun_script` with
the page's URL path, and a page rerun lasts from sending it until the server's `script_finished`. That is what a
user waits for, without a browser's rendering. Each session cycles the pages for --seconds (with --think seconds
between page changes), then the server is stopped. Printed: p50/p95/max rerun seconds overall and per page,
errors (exception elements, page not found, refused or dropped sockets, reruns over --timeout), server RSS (start,
peak, end) and the load average before and after, since the machine may be shared.

Loopback only, bounded in time (--seconds plus the server start, and every rerun at most --timeout). Not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["overview", "pairings", "proceeds", "export"]
URL_PATHS = {"overview": ""}  # the default page answers at the app's root
FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children (a CBC solve runs as a child)."""
    total = 0
    pids = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(k) for k in kids]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process (load-independent: what the reruns cost, not how long they
    waited for a core on a shared machine)."""
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_server(app_dir: Path, port: int, scenarios: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PLANNER_SCENARIOS_DIR": str(scenarios), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    out = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=app_dir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start within 60 s")


def xsrf_cookie(port: int) -> str:
    """The XSRF cookie the server sets on the page request (the browser sends it back on the websocket)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        for header in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "_streamlit_xsrf":
                return rest.split(";")[0]
    return ""


def rerun_msg(page: str, cached: set[str]) -> bytes:
    msg = BackMsg()
    state = msg.rerun_script
    # what a browser's message cache holds: the server then sends a reference instead of a large element again
    state.cached_message_hashes.extend(sorted(cached))
    state.query_string = ""
    state.page_script_hash = ""
    state.page_name = URL_PATHS.get(page, page)  # the URL path: st.navigation resolves it as from the address bar
    return msg.SerializeToString()


class Stats:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.bytes_in = 0
        self.page_bytes: dict[str, int] = {}
        self.pid = 0
        self.steady_cpu0, self.steady_runs0 = float("nan"), 0

    def runs(self) -> int:
        return sum(len(ts) for page, ts in self.times.items() if page != "(first run)")

    def add(self, page: str, seconds: float) -> None:
        self.times.setdefault(page, []).append(seconds)


async def run_page(ws, page: str, timeout: float, stats: Stats, cached: set[str]) -> tuple[float, list[str]]:
    """Ask for `page` and wait for the end of its run; returns (seconds, problems seen in the run)."""
    problems: list[str] = []
    t0 = time.perf_counter()
    await ws.send(rerun_msg(page, cached))
    while True:
        remaining = timeout - (time.perf_counter() - t0)
        if remaining <= 0:
            raise TimeoutError(f"{page}: no script_finished within {timeout:.0f} s")
        data = await asyncio.wait_for(ws.recv(), remaining)
        stats.bytes_in += len(data)
        stats.page_bytes[page] = stats.page_bytes.get(page, 0) + len(data)
        fwd = ForwardMsg()
        fwd.ParseFromString(data)
        kind = fwd.WhichOneof("type")
        if fwd.metadata.cacheable and fwd.hash:
            cached.add(fwd.hash)
        if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            if fwd.delta.new_element.WhichOneof("type") == "exception":
                exc = fwd.delta.new_element.exception
                problems.append(f"{page}: exception {exc.type}: {exc.message[:200]}")
        elif kind == "page_not_found":
            problems.append(f"{page}: page not found")
        elif kind == "script_finished" and fwd.script_finished in FINISHED:
            return time.perf_counter() - t0, problems


async def session(i: int, port: int, cookie: str, args, stats: Stats, stop_at: float, started: list) -> None:
    uri = f"ws://127.0.0.1:{port}/_stcore/stream"
    origin = f"http://127.0.0.1:{port}"
    pages = args.pages
    await asyncio.sleep(i * args.stagger)
    try:
        async with connect(uri, subprotocols=["streamlit", cookie or "x"], origin=origin, max_size=None,
                           additional_headers={"Cookie": f"_streamlit_xsrf={cookie}"} if cookie else None,
                           open_timeout=30, ping_interval=None) as ws:
            # the first run (new session: state set-up and the first solve of this session) is timed apart
            cached: set[str] = set()
            seconds, problems = await run_page(ws, pages[i % len(pages)], args.timeout, stats, cached)
            stats.add("(first run)", seconds)
            stats.errors += problems
            started.append(i)
            if len(started) == args.sessions:  # every session has had its first run: steady state from here
                stats.steady_cpu0, stats.steady_runs0 = cpu_seconds(stats.pid), stats.runs()
            n = i
            while time.monotonic() < stop_at:
                n += 1
                page = pages[n % len(pages)]
                try:
                    seconds, problems = await run_page(ws, page, args.timeout, stats, cached)
                except TimeoutError as exc:
                    stats.errors.append(f"session {i}: {exc}")
                    return
                stats.add(page, seconds)
                stats.errors += [f"session {i}: {p}" for p in problems]
                if args.think:
                    await asyncio.sleep(args.think)
    except Exception as exc:  # noqa: BLE001 - a refused or dropped socket is an error of the run, reported
        stats.errors.append(f"session {i}: {type(exc).__name__}: {exc}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mb(pid))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass


async def drive(port: int, pid: int, args) -> tuple[Stats, list[float], float, float]:
    cookie = xsrf_cookie(port)
    cpu0 = cpu_seconds(pid)
    stats, samples, started = Stats(), [], []
    stats.pid = pid
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, samples, stop))
    t0 = time.monotonic()
    stop_at = t0 + args.seconds
    await asyncio.gather(*(session(i, port, cookie, args, stats, stop_at, started) for i in range(args.sessions)))
    stop.set()
    await sampler
    stats.steady_cpu = cpu_seconds(pid) - stats.steady_cpu0
    return stats, samples, time.monotonic() - t0, cpu_seconds(pid) - cpu0


def report(stats: Stats, samples: list[float], rss_start: float, wall: float, cpu: float, args,
           load_before: str) -> None:
    every = [s for page, ts in stats.times.items() if page != "(first run)" for s in ts]
    print(f"sessions {args.sessions}, {wall:.0f} s, think {args.think} s, pages {','.join(args.pages)}")
    print(f"page reruns: {len(every)}  p50 {pct(every, 0.5):.2f} s  p95 {pct(every, 0.95):.2f} s  "
          f"max {max(every, default=float('nan')):.2f} s  "
          f"mean {statistics.fmean(every) if every else float('nan'):.2f} s")
    for page, ts in stats.times.items():
        kb = stats.page_bytes.get(page, 0) / 1024 / max(len(ts), 1) if page != "(first run)" else float("nan")
        print(f"  {page:<12} n={len(ts):<4} p50 {pct(ts, 0.5):6.2f}  p95 {pct(ts, 0.95):6.2f}  max {max(ts):6.2f}"
              f"  ~{kb:.0f} KB per run")
    steady = stats.runs() - stats.steady_runs0
    print(f"server CPU {cpu:.1f} s in all; once every session had started: {stats.steady_cpu:.1f} s over {steady} "
          f"page runs = {stats.steady_cpu / max(steady, 1):.3f} s per page run; received {stats.bytes_in / 1e6:.1f} MB")
    print(f"server RSS: start {rss_start:.0f} MB, peak {max(samples, default=0):.0f} MB, "
          f"end {samples[-1] if samples else 0:.0f} MB")
    print(f"load average before {load_before}, after {load_average()} (2 cores: {os.cpu_count()})")
    print(f"errors: {len(stats.errors)}")
    for e in stats.errors[:20]:
        print("  ", e)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the sessions cycle pages")
    ap.add_argument("--think", type=float, default=0.0, help="pause between a session's page changes (s)")
    ap.add_argument("--stagger", type=float, default=0.2, help="delay between session starts (s)")
    ap.add_argument("--timeout", type=float, default=120.0, help="longest wait for one rerun (s)")
    ap.add_argument("--pages", default=",".join(PAGES), help="URL paths to cycle, comma-separated")
    ap.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app.py to run (A/B comparisons)")
    args = ap.parse_args()
    args.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="planner-load-") as tmp:
        scenarios = Path(tmp) / "scenarios"
        shutil.copytree(args.app_dir / "scenarios", scenarios, ignore=shutil.ignore_patterns(".trash", ".*lock*"))
        port = free_port()
        proc = start_server(args.app_dir, port, scenarios, Path(tmp) / "server.log")
        try:
            rss_start = rss_mb(proc.pid)
            stats, samples, wall, cpu = asyncio.run(drive(port, proc.pid, args))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        report(stats, samples, rss_start, wall, cpu, args, load_before)
        if stats.errors:
            tail = (Path(tmp) / "server.log").read_text(errors="replace")[-3000:]
            print("server log (tail):\n" + tail)
    return 1 if stats.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
