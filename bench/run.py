"""Benchmark: the whole `python -m planner solve` command against raw HiGHS on the same LP, side by side.

    .venv/bin/python bench/run.py [province detailed national national-lots national-rules] [--repeat N]
                                  [--before TREE]

For each size it generates a synthetic scenario folder (bench/generate.py), then alternates runs of
  planner: `python -m planner solve DIR --out OUT` (a fresh process: read, validate, build, solve, write), and
  raw:     `python bench/raw_highs.py DIR` (a fresh process: read with pandas, build with numpy,
           scipy.optimize.linprog(method="highs-ipm")),
and prints wall seconds (best of N), the ratio planner/raw, peak memory of each process and whether the optima
agree. It also times the default Jilin scenario in process. Not a test: numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import SIZES, make, make_every_rule, make_with_lots  # noqa: E402

MEASURE = """
import os, resource, subprocess, sys, time, json
limit = float(os.environ.get("BENCH_TIMEOUT") or 0) or None
t = time.perf_counter()
try:
    p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=limit)
    rc, out, err, timed_out = p.returncode, p.stdout, p.stderr, False
except subprocess.TimeoutExpired:
    rc, out, err, timed_out = 0, "", "", True
dt = time.perf_counter() - t
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
peak_kb = usage.ru_maxrss
print(json.dumps({"seconds": dt, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": peak_kb / 1024, "rc": rc,
                  "stdout": out[-2000:],
                  "stderr": err[-2000:], "timed_out": timed_out}))
"""


def measure(cmd: list[str], timeout: float | None = None, tree: Path = ROOT) -> dict:
    """Run cmd in a fresh process; wall time, CPU time and that process's own peak memory (stopped after `timeout`
    s). `tree`: the source tree whose `planner` runs (another one: an earlier commit, for before/after)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, cwd=tree,
                         env={**os.environ, "PYTHONPATH": str(tree), "BENCH_TIMEOUT": str(timeout or "")})
    return json.loads(out.stdout)


def bench_size(size: str, repeat: int, work: Path, raw_timeout: float | None) -> dict:
    folder = make(size, work / size)
    out_dir = work / f"{size}-out"
    planner_runs, raw_runs = [], []
    for _ in range(repeat):
        planner_runs.append(measure([sys.executable, "-m", "planner", "solve", str(folder), "--out", str(out_dir)]))
        raw_runs.append(measure([sys.executable, str(ROOT / "bench" / "raw_highs.py"), str(folder)], raw_timeout))
    for r in planner_runs + raw_runs:
        if r["rc"] != 0:
            raise SystemExit(f"a run failed: {r['stderr']}")
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    best_p = min(r["seconds"] for r in planner_runs)
    finished = [r for r in raw_runs if not r["timed_out"]]
    raw = json.loads(finished[-1]["stdout"].strip().splitlines()[-1]) if finished else None
    # A raw run stopped at the time-out counts as that long: the ratio is then an upper bound ("<").
    best_r = min(r["seconds"] for r in raw_runs)
    solver_obj = summary["totals"].get("solver_objective", summary["objective"])  # before rounding to 0.01 亩
    agree = raw is not None and raw["objective"] is not None and abs(solver_obj - raw["objective"]) <= \
        1e-6 * max(1.0, abs(raw["objective"]))
    return {"size": size, "sellers_x_buyers": "x".join(map(str, SIZES[size])),
            "variables": summary["totals"]["admissible_pairs"], "planner_s": best_p, "raw_s": best_r,
            "raw_timed_out": raw is None, "raw_solve_only_s": raw["seconds_solve"] if raw else float("nan"),
            "ratio": best_p / best_r, "planner_peak_mb": max(r["peak_mb"] for r in planner_runs),
            "raw_peak_mb": max(r["peak_mb"] for r in raw_runs), "optima_agree": agree if raw else "n/a",
            "planner_algorithm": summary.get("algorithm"), "planner_objective": summary["objective"],
            "raw_objective": raw["objective"] if raw else None}


CASES = {"lots": make_with_lots, "rules": make_every_rule}


def bench_case(size: str, case: str, repeat: int, work: Path, tree: Path = ROOT,
               timeout: float | None = None) -> dict:
    """The whole solve command on a case with no raw counterpart (the raw script knows neither lots nor plan
    adjustment): "lots" has ~3 lots per seller, a four-year horizon and the quality balance per lot (issue 12);
    "rules" has every LP rule on (issue 14). Seconds, CPU seconds and peak memory against the targets."""
    folder = work / f"{size}-{case}"
    if not folder.exists():
        CASES[case](size, folder)
    out_dir = work / f"{size}-{case}-out-{abs(hash(str(tree)))}"
    runs = [measure([sys.executable, "-m", "planner", "solve", str(folder), "--out", str(out_dir)], timeout, tree)
            for _ in range(repeat)]
    for r in runs:
        if r["rc"] != 0:
            raise SystemExit(f"a run failed: {r['stderr']}")
    if all(r["timed_out"] for r in runs):
        return {"size": f"{size}+{case}", "variables": None, "seconds": timeout, "cpu_s": float("nan"),
                "peak_mb": max(r["peak_mb"] for r in runs), "algorithm": "?", "status": "stopped",
                "solve_s": float("nan"), "build_s": float("nan"), "objective": None}
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    done = [r for r in runs if not r["timed_out"]]
    return {"size": f"{size}+{case}", "variables": summary["totals"].get("variables"),
            "seconds": min(r["seconds"] for r in done), "cpu_s": min(r["cpu_s"] for r in done),
            "peak_mb": max(r["peak_mb"] for r in runs), "algorithm": summary.get("algorithm"),
            "status": summary["status"], "solve_s": summary.get("seconds_solve", float("nan")),
            "build_s": summary.get("seconds_build", float("nan")),
            "objective": summary["totals"].get("solver_objective", summary.get("objective"))}


def print_case(r: dict, label: str = "") -> None:
    print(f"{label}{r['size']:<16} {r['variables'] or '?':>10} columns  whole solve command {r['seconds']:.2f} s "
          f"(CPU {r['cpu_s']:.2f} s; build {r['build_s']:.2f} s, solver {r['solve_s']:.2f} s, {r['algorithm']}, "
          f"{r['status']}, objective {r['objective']})  peak {r['peak_mb']:.0f} MB (targets: < 60 s, < 3 GB)",
          flush=True)


def bench_baseline(repeat: int = 20) -> float:
    from planner import load_checked, solve

    scn, _ = load_checked(ROOT / "scenarios" / "jilin-baseline")
    solve(scn)  # warm up imports
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        solve(scn)
        times.append(time.perf_counter() - t)
    return min(times), sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", default=["province", "detailed"],
                    choices=list(SIZES) + [f"{k}-{c}" for k in SIZES for c in CASES])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--raw-timeout", type=float, default=900.0,
                    help="stop a raw HiGHS run after this many seconds (its time then bounds the ratio)")
    ap.add_argument("--before", type=Path, default=None, metavar="TREE",
                    help="also run the lots/rules cases with the planner of this source tree (e.g. `git archive` "
                         "of an earlier commit unpacked there), side by side: before / after")
    ap.add_argument("--before-timeout", type=float, default=900.0)
    args = ap.parse_args()
    best, median = bench_baseline()
    print(f"jilin-baseline in process: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms (target < 200 ms)")
    with tempfile.TemporaryDirectory() as tmp:
        header = (f"{'size':<10}{'S x B':>11}{'vars':>10}{'planner s':>11}{'raw s':>9}{'ratio':>7}"
                  f"{'raw solve s':>12}{'planner MB':>11}{'raw MB':>8}  optima agree  algorithm")
        print(header)
        for name in [s for s in args.sizes if s not in SIZES]:
            size, case = name.rsplit("-", 1)
            if args.before is not None:
                print_case(bench_case(size, case, 1, Path(tmp), args.before.resolve(), args.before_timeout),
                           "before ")
            print_case(bench_case(size, case, args.repeat, Path(tmp)), "after  " if args.before else "")
        for size in [s for s in args.sizes if s in SIZES]:
            r = bench_size(size, args.repeat, Path(tmp), args.raw_timeout)
            raw_s = f">{r['raw_s']:.0f}" if r["raw_timed_out"] else f"{r['raw_s']:.2f}"
            ratio = f"<{r['ratio']:.2f}" if r["raw_timed_out"] else f"{r['ratio']:.2f}"
            print(f"{r['size']:<10}{r['sellers_x_buyers']:>11}{r['variables']:>10}{r['planner_s']:>11.2f}"
                  f"{raw_s:>9}{ratio:>7}{r['raw_solve_only_s']:>12.2f}{r['planner_peak_mb']:>11.0f}"
                  f"{r['raw_peak_mb']:>8.0f}  {str(r['optima_agree']):<13} {r['planner_algorithm']}", flush=True)


if __name__ == "__main__":
    main()
