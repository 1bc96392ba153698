"""How far a recommendation holds: one-parameter sweeps and Monte Carlo robustness of pairings.

Parameters are named by a small spec string so the page, the command line and tests speak the same language:
`pricing.bargaining_weight`, `pricing.guide_floor`, `pricing.guide_ceiling`, or `county:<code>:<column>` with
column one of surplus_mu, demand_mu, budget_wan, ceiling_price, floor_price.

Sweeps solve the scenario once per value; a value that makes the scenario invalid (θ above 1, a guidance floor
above the ceiling or above an agreed price, ...) gives a step with status "invalid" and the validation message
instead of a solve. Monte Carlo runs are seeded per run (SeedSequence.spawn), so results do not depend on how many
worker processes share them. The workers are fresh interpreters (`python -m planner.mc_worker`, no fork of a threaded
server such as Streamlit, and unlike multiprocessing's "spawn" they never run the caller's main script again); when
they cannot be started or fail, the remaining runs continue in this process and `Robustness.note` says why.
"""
from __future__ import annotations

import math
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from planner import i18n
from planner.model import by_pair, solve
from planner.scenario import Scenario

GLOBAL_PARAMS = ("pricing.bargaining_weight", "pricing.guide_floor", "pricing.guide_ceiling")
COUNTY_COLUMNS = ("surplus_mu", "demand_mu", "budget_wan", "ceiling_price", "floor_price")
SELLER_COLUMNS = ("surplus_mu", "floor_price")  # what a selling county decides
BUYER_COLUMNS = ("demand_mu", "budget_wan", "ceiling_price")  # what a buying county decides
# Labels of sweepable parameters are sweep_param.<spec or county column> in the locale files (param_label).
KPI_COLUMNS = ["quota_matched_mu", "proceeds_wan", "unmet_demand_mu", "mean_price_wan_per_mu", "pairings",
               "objective"]
SWEEP_COLUMNS = ["step", "value", "status", *KPI_COLUMNS, "problem_zh", "problem_en"]
SWEEP_PAIR_COLUMNS = ["step", "value", "seller_code", "seller_name", "buyer_code", "buyer_name", "quota_mu",
                      "price_wan_per_mu", "amount_wan"]
# Many solves in a row go the matrix fast path (the same model as the PuLP formulation, tests/test_formulation.py)
# and skip building each one in PuLP: 200 Monte Carlo runs of the baseline stay within the 20-second target.
BATCH_ALGORITHM = "fast"
# Integer models (minimum lots, partner limits) in a batch accept plans within 0.1 % of the proven bound: what a
# pairing's survival rate needs, at a fraction of the time of proving each of 200 runs to a zero gap.
BATCH_MIP_GAP = 1e-3
ROBUST_THRESHOLD = 0.8  # a pairing chosen in at least this share of runs is "robust"
MAX_STEPS = 201
MAX_RUNS = 10_000
WORKER_START_TIMEOUT = 60.0  # seconds for the worker processes to start and import the planner
POOL_MIN_SECONDS = 2.0  # with workers=None, use the pool only when the runs would take longer than this serially
Progress = Callable[[int, int], None]


class SpecError(ValueError):
    """A parameter spec or value the planner cannot apply; the message is bilingual (zh, then en)."""

    @classmethod
    def of(cls, code: str, /, **fmt) -> SpecError:
        """The error whose message is the locale template spec_error.<code>, in Chinese then English."""
        return cls(" ".join(i18n.both(f"spec_error.{code}", **fmt)))


# --------------------------------------------------------------------------- parameters


def parse_spec(spec: str, scn: Scenario | None = None) -> tuple[str, str | None, str]:
    """('global', None, 'pricing.bargaining_weight') or ('county', code, column); SpecError when unknown.
    With a scenario, the county code must exist in it."""
    spec = str(spec).strip()
    if spec in GLOBAL_PARAMS:
        return "global", None, spec
    parts = spec.split(":")
    if len(parts) == 3 and parts[0] == "county":
        code, column = parts[1].strip(), parts[2].strip()
        if column not in COUNTY_COLUMNS:
            raise SpecError.of("unknown_county_column", column=column, choices=", ".join(COUNTY_COLUMNS))
        if not code:
            raise SpecError.of("missing_county_code")
        if scn is not None and not (scn.counties["code"] == code).any():
            raise SpecError.of("unknown_county", code=code)
        return "county", code, column
    raise SpecError.of("unknown_param", spec=spec, params=", ".join(GLOBAL_PARAMS), columns=", ".join(COUNTY_COLUMNS))


def apply_parameter(scn: Scenario, spec: str, value: float) -> Scenario:
    """A copy of the scenario with one parameter set (the original is left alone)."""
    kind, code, column = parse_spec(spec, scn)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise SpecError.of("not_number", value=value) from None
    if not math.isfinite(value):
        raise SpecError.of("not_finite", value=value)
    if kind == "global":
        section, key = column.split(".")
        return scn.with_param(section, key, value)
    out = scn.copy()
    out.counties.loc[out.counties["code"] == code, column] = value
    return out


def current_value(scn: Scenario, spec: str) -> float | None:
    """The parameter's value in the scenario (None when blank / not given)."""
    kind, code, column = parse_spec(spec, scn)
    if kind == "global":
        section, key = column.split(".")
        v = scn.param(section, key)
        return None if v is None else float(v)
    v = scn.counties.loc[scn.counties["code"] == code, column]
    return None if v.empty or pd.isna(v.iloc[0]) else float(v.iloc[0])


def param_label(scn: Scenario | None, spec: str, lang: str = "zh") -> str:
    """'议价系数 θ', or '通榆县 · 节余指标（亩）' for a county parameter."""
    kind, code, column = parse_spec(spec)
    text = i18n.t(f"sweep_param.{column}", lang)
    if kind == "county":
        name = code
        if scn is not None:
            names = scn.counties.loc[scn.counties["code"] == code, "name"]
            if not names.empty and isinstance(names.iloc[0], str) and names.iloc[0]:
                name = names.iloc[0]
        text = f"{name} · {text}"
    return text


def sweep_values(start: float, stop: float, steps: int) -> list[float]:
    """`steps` evenly spaced values from start to stop (both included), rounded to 6 decimals."""
    steps = int(steps)
    if not 1 <= steps <= MAX_STEPS:
        raise SpecError.of("steps", most=MAX_STEPS)
    if not (math.isfinite(float(start)) and math.isfinite(float(stop))):
        raise SpecError.of("range_not_finite")
    if steps == 1:
        return [round(float(start), 6)]
    return [round(float(v), 6) for v in np.linspace(float(start), float(stop), steps)]


def default_range(scn: Scenario, spec: str) -> tuple[float, float]:
    """A sensible range around the current value: θ over [0, 1]; otherwise 50 % to 150 % of the current value."""
    kind, code, column = parse_spec(spec, scn)
    if column == "pricing.bargaining_weight":
        return 0.0, 1.0
    cur = current_value(scn, spec)
    if cur is None or cur <= 0:
        if column == "pricing.guide_ceiling":
            floor = scn.param("pricing", "guide_floor")
            return float(floor or 0.0), float(floor or 0.0) + 60.0
        if column == "budget_wan" and code is not None:
            row = scn.counties.loc[scn.counties["code"] == code].iloc[0]
            demand, ceiling = row.get("demand_mu"), row.get("ceiling_price")
            if pd.notna(demand) and pd.notna(ceiling) and demand * ceiling > 0:
                return 0.0, float(round(demand * ceiling, 2))
        return 0.0, (40.0 if "price" in column or column.startswith("pricing.") else 1000.0)
    lo, hi = 0.5 * cur, 1.5 * cur
    agreed = scn.pairs["agreed_price"].dropna() if "agreed_price" in scn.pairs else pd.Series(dtype=float)
    if column == "pricing.guide_floor":  # stays below the ceiling and every agreed price (else invalid)
        ceiling = scn.param("pricing", "guide_ceiling")
        for cap in ([float(ceiling)] if ceiling is not None else []) + ([float(agreed.min())] if len(agreed) else []):
            hi = min(hi, cap)
        lo = min(lo, hi)
    if column == "pricing.guide_ceiling":  # stays above the floor and every agreed price
        floor = scn.param("pricing", "guide_floor")
        for cap in ([float(floor)] if floor is not None else []) + ([float(agreed.max())] if len(agreed) else []):
            lo = max(lo, cap)
        hi = max(lo, hi)
    decimals = 2 if ("price" in column or column.startswith("pricing.")) else 0
    return round(lo, decimals), round(hi, decimals)


# --------------------------------------------------------------------------- sweeps


def _kpis(result) -> dict:
    """Headline figures of one solve, rounded to 1e-4 so that solver noise (18869.999999 vs 18870.000001) does not
    show up as a change."""
    t = result.totals
    q = t["quota_matched_mu"]
    return {"status": result.status, "has_solution": bool(result.has_solution),
            "objective": round(float(result.objective), 4), "quota_matched_mu": round(q, 4),
            "proceeds_wan": round(t["proceeds_wan"], 4), "unmet_demand_mu": round(t["unmet_demand_mu"], 4),
            "mean_price_wan_per_mu": round(t["proceeds_wan"] / q, 4) if q > 1e-9 else 0.0,
            "pairings": int(t["pairings"])}


def sweep(scn: Scenario, spec: str, values, solver: str = "highs", time_limit: float | None = None,
          progress: Progress | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KPIs per step (SWEEP_COLUMNS) and the pairings of every step in long format (SWEEP_PAIR_COLUMNS).

    Each step is exactly `solve(apply_parameter(scn, spec, value))`. A value that makes the scenario invalid is not
    solved: its step has status "invalid", empty KPIs and the first validation errors in problem_zh / problem_en."""
    from planner.validate import errors, validate_scenario

    parse_spec(spec, scn)  # a bad spec fails before any solve
    values = [float(v) for v in values]
    if not values:
        raise SpecError.of("no_values")
    rows, pair_frames = [], []
    for i, v in enumerate(values):
        step_scn = apply_parameter(scn, spec, v)
        problems = errors(validate_scenario(step_scn))
        if problems:
            rows.append({"step": i + 1, "value": v, "status": "invalid",
                         "problem_zh": i18n.t("sweep.problem_sep", "zh").join(p.text("zh") for p in problems[:3]),
                         "problem_en": i18n.t("sweep.problem_sep", "en").join(p.text("en") for p in problems[:3])})
        else:
            result = solve(step_scn, solver=solver, time_limit=time_limit, algorithm=BATCH_ALGORITHM,
                           mip_gap=BATCH_MIP_GAP)
            k = _kpis(result)
            k.pop("has_solution")
            rows.append({"step": i + 1, "value": v, **k, "problem_zh": "", "problem_en": ""})
            p = by_pair(result.pairings)[["seller_code", "seller_name", "buyer_code", "buyer_name", "quota_mu",
                                 "price_wan_per_mu", "amount_wan"]].copy()
            p.insert(0, "value", v)
            p.insert(0, "step", i + 1)
            pair_frames.append(p)
        if progress:
            progress(i + 1, len(values))
    kpis = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
    for c in KPI_COLUMNS:
        kpis[c] = kpis[c].astype(float)
    pairs = (pd.concat(pair_frames, ignore_index=True) if pair_frames
             else pd.DataFrame(columns=SWEEP_PAIR_COLUMNS))
    return kpis, pairs


def pairing_matrix(kpis: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """How the pairings change across a sweep: one row per pair ever chosen, one column per step (quota in 亩,
    0 when not chosen, NaN for an invalid step), plus the number of steps where the pair is chosen and whether
    its quota changes at all. Step columns are named by the step number (1, 2, ...)."""
    steps = kpis["step"].astype(int).tolist()
    keys = ["seller_code", "seller_name", "buyer_code", "buyer_name"]
    if pairs.empty:
        return pd.DataFrame(columns=[*keys, *steps, "steps_chosen", "changes"])
    wide = pairs.pivot_table(index=keys, columns="step", values="quota_mu", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=steps, fill_value=0.0)
    invalid = kpis.loc[kpis["status"] == "invalid", "step"].astype(int).tolist()
    for s in invalid:
        wide[s] = np.nan
    valid = [s for s in steps if s not in invalid]
    wide["steps_chosen"] = (wide[valid] > 1e-6).sum(axis=1).astype(int)
    spread = wide[valid].max(axis=1) - wide[valid].min(axis=1) if valid else 0.0
    wide["changes"] = spread > 1e-6
    wide = wide.reset_index()
    wide.columns.name = None
    first = [min((s for s in valid if row[s] > 1e-6), default=0) for _, row in wide.iterrows()]
    wide["_first"] = first
    wide = wide.sort_values(["steps_chosen", "_first", "seller_code", "buyer_code"],
                            ascending=[False, True, True, True]).drop(columns="_first")
    return wide.reset_index(drop=True)


# --------------------------------------------------------------------------- Monte Carlo


@dataclass
class Robustness:
    runs: pd.DataFrame  # one row per run: run number, status and KPIs
    pairs: pd.DataFrame  # one row per pair seen (or in the base plan): frequency, quota range, base quota, robust
    base_kpis: dict
    counties: pd.DataFrame = field(default_factory=pd.DataFrame)  # per county: sold/bought in the runs
    workers: int = 1  # worker processes actually used (1: in this process)
    note: str = ""  # why the pool was not used, when it was asked for but failed
    seconds: float = 0.0
    n_solved: int = 0  # runs with a solution (the denominator of frequencies)


ROBUST_PAIR_COLUMNS = ["seller_code", "seller_name", "buyer_code", "buyer_name", "frequency", "base_quota_mu",
                       "min_quota_mu", "mean_quota_mu", "max_quota_mu", "in_base", "robust"]
ROBUST_COUNTY_COLUMNS = ["code", "name", "role", "base_mu", "min_mu", "mean_mu", "max_mu", "active_share"]


def perturb(scn: Scenario, rng: np.random.Generator, price_pct: float, quantity_pct: float) -> Scenario:
    """Independent uniform ±pct factors per county on prices (floor, ceiling) and on quantities (surplus, demand,
    budget). The provincial guidance band, pair-level bands and agreed prices stay as they are (policy and
    contracts). Blank values stay blank."""
    out = scn.copy()
    c = out.counties
    n = len(c)
    for col in ("floor_price", "ceiling_price"):
        c[col] = c[col] * rng.uniform(1 - price_pct, 1 + price_pct, n)
    for col in ("surplus_mu", "demand_mu", "budget_wan"):
        c[col] = c[col] * rng.uniform(1 - quantity_pct, 1 + quantity_pct, n)
    if len(out.lots):  # with lots.csv the lots are the supply: their area varies as a county's surplus would
        out.lots["area_mu"] = out.lots["area_mu"] * rng.uniform(1 - quantity_pct, 1 + quantity_pct, len(out.lots))
    return out


def scenario_parts(scn: Scenario) -> tuple:
    """A scenario as plain picklable data: (settings, {table: DataFrame}) for every table of the schema."""
    return scn.settings, scn.tables()


def _run_chunk(args) -> list[tuple[dict, list[tuple[str, str, float]]]]:
    scn, seeds, price_pct, quantity_pct, solver, time_limit = args
    if isinstance(scn, tuple):
        scn = Scenario(scn[0], **scn[1])
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        result = solve(perturb(scn, rng, price_pct, quantity_pct), solver=solver, time_limit=time_limit,
                       algorithm=BATCH_ALGORITHM,
                           mip_gap=BATCH_MIP_GAP)
        pairs = by_pair(result.pairings)
        moved = list(zip(pairs["seller_code"], pairs["buyer_code"], pairs["quota_mu"].astype(float)))
        out.append((_kpis(result), moved))
    return out


_READY, _EOF = "ready", "eof"


def _reader(k: int, stream, q: queue.Queue) -> None:
    """Read one worker's pickles into the queue; (k, _EOF) when its output ends, (k, ("error", text)) on garbage."""
    try:
        while True:
            try:
                item = pickle.load(stream)
            except EOFError:
                break
            q.put((k, item))
    except Exception as exc:  # noqa: BLE001
        q.put((k, ("error", f"{type(exc).__name__}: {exc}")))
    q.put((k, _EOF))


def _writer(proc: subprocess.Popen, payload: bytes) -> None:
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except OSError:  # the worker died; its reader reports it
        pass


def _stderr_tail(f) -> str:
    try:
        f.flush()
        f.seek(0)
        text = f.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(text[-3:])
    except Exception:  # noqa: BLE001
        return ""


def _run_in_pool(common: tuple, chunks: list, workers: int, on_done: Callable[[int, list], None]) -> str:
    """Run the chunks in `workers` fresh interpreter processes (`python -m planner.mc_worker`), chunk i on worker
    i mod workers; '' when all finished there, else why the pool stopped (chunks not yet passed to on_done are left
    for the caller). Not multiprocessing's "spawn": that runs the caller's main script again in every child, and
    under `streamlit run` the main script is the app. Exceptions raised by on_done propagate (workers killed)."""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONSTARTUP", None)
    procs, logs = [], []
    q: queue.Queue = queue.Queue()
    try:
        for k in range(workers):
            log = tempfile.TemporaryFile()
            logs.append(log)
            try:
                proc = subprocess.Popen([sys.executable, "-m", "planner.mc_worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=log, env=env, cwd=root)
            except OSError as exc:
                return f"cannot start a worker process: {exc}"
            procs.append(proc)
            mine = [(i, chunks[i]) for i in range(k, len(chunks), workers)]
            try:
                payload = pickle.dumps((common, mine), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001
                return f"cannot send the scenario to the workers: {type(exc).__name__}: {exc}"
            threading.Thread(target=_writer, args=(proc, payload), daemon=True).start()
            threading.Thread(target=_reader, args=(k, proc.stdout, q), daemon=True).start()
        ready, ended = set(), set()
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while len(ended) < workers:
            timeout = max(0.0, deadline - time.monotonic()) if len(ready) < workers else None
            try:
                k, item = q.get(timeout=timeout)
            except queue.Empty:
                return f"worker processes did not start within {WORKER_START_TIMEOUT:.0f} s"
            if item == _EOF:
                ended.add(k)
                code = procs[k].wait()
                if code != 0 or k not in ready:
                    return f"worker process exited with code {code}: {_stderr_tail(logs[k])}"
            elif isinstance(item, tuple) and item and item[0] == _READY:
                ready.add(k)
            elif isinstance(item, tuple) and item and item[0] == "error":
                return f"bad answer from a worker process: {item[1]}"
            else:
                on_done(*item)
        return ""
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
        for log in logs:
            log.close()


def monte_carlo(scn: Scenario, n_runs: int = 200, price_pct: float = 0.1, quantity_pct: float = 0.1,
                seed: int = 0, solver: str = "highs", time_limit: float | None = None, workers: int | None = None,
                progress: Progress | None = None) -> Robustness:
    """Perturb prices and quantities n_runs times; how often does each pairing appear, and how big is it?

    workers=None: up to two processes when the runs are long enough to pay for starting them; workers=1: all in
    this process; workers=k: k processes. Results are the same whatever the number of workers."""
    n_runs = int(n_runs)
    if not 1 <= n_runs <= MAX_RUNS:
        raise SpecError.of("runs", most=MAX_RUNS)
    for name, pct in (("price_pct", price_pct), ("quantity_pct", quantity_pct)):
        if not (isinstance(pct, (int, float)) and 0 <= pct <= 1):
            raise SpecError.of("perturbation", name=name, pct=pct)
    t0 = time.perf_counter()
    base = solve(scn, solver=solver, time_limit=time_limit, algorithm=BATCH_ALGORITHM, mip_gap=BATCH_MIP_GAP)
    base_seconds = time.perf_counter() - t0
    seeds = np.random.SeedSequence(int(seed)).spawn(n_runs)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if n_runs * base_seconds > POOL_MIN_SECONDS else 1
    workers = max(1, int(workers))
    results: dict[int, list] = {}
    done_runs = 0
    if progress:
        progress(0, n_runs)

    def on_done(i: int, chunk_result: list) -> None:
        nonlocal done_runs
        results[i] = chunk_result
        done_runs += len(chunk_result)
        if progress:
            progress(done_runs, n_runs)

    note = ""
    used = 1
    if workers > 1 and n_runs > 1:
        size = max(1, math.ceil(n_runs / workers / 8))  # about 8 chunks per worker: progress and load balance
        chunks = [seeds[i:i + size] for i in range(0, n_runs, size)]
        common = (scn, price_pct, quantity_pct, solver, time_limit)
        # The scenario travels as plain data (dict and DataFrames), not as a Scenario: under `streamlit run` the
        # planner modules may have been reloaded since the session's scenario was made, and pickle refuses an
        # instance of a class that is no longer the module's.
        plain = (scenario_parts(scn), price_pct, quantity_pct, solver, time_limit)
        note = _run_in_pool(plain, chunks, workers, on_done)
        used = workers if not note else 1
        for i, chunk in enumerate(chunks):  # whatever the pool did not finish runs here, in order
            if i not in results:
                on_done(i, _run_chunk((*common[:1], chunk, *common[1:])))
    else:
        for i, s in enumerate(seeds):
            on_done(i, _run_chunk((scn, [s], price_pct, quantity_pct, solver, time_limit)))

    runs, seen = [], {}
    n_solved = 0
    for i in sorted(results):
        for kpis, moved in results[i]:
            runs.append({"run": len(runs) + 1, **kpis})
            if not kpis["has_solution"]:
                continue
            n_solved += 1
            for s, b, q in moved:
                seen.setdefault((s, b), []).append(q)
    base_pairs = by_pair(base.pairings)
    base_q = {(s, b): float(q) for s, b, q in zip(base_pairs["seller_code"], base_pairs["buyer_code"],
                                                  base_pairs["quota_mu"])}
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    rows = []
    for (s, b) in set(seen) | set(base_q):
        q = np.array(seen.get((s, b), []), dtype=float)
        rows.append({"seller_code": s, "seller_name": names.get(s, s), "buyer_code": b,
                     "buyer_name": names.get(b, b), "frequency": len(q) / n_solved if n_solved else 0.0,
                     "base_quota_mu": base_q.get((s, b), 0.0),
                     # the quota when the pairing is chosen
                     "min_quota_mu": float(q.min()) if len(q) else 0.0,
                     "mean_quota_mu": float(q.mean()) if len(q) else 0.0,
                     "max_quota_mu": float(q.max()) if len(q) else 0.0})
    pairs = pd.DataFrame(rows, columns=ROBUST_PAIR_COLUMNS[:-2])
    pairs["in_base"] = pairs["base_quota_mu"] > 0
    pairs["robust"] = pairs["frequency"] >= ROBUST_THRESHOLD - 1e-12
    pairs = pairs.sort_values(["frequency", "base_quota_mu", "seller_code", "buyer_code"],
                              ascending=[False, False, True, True]).reset_index(drop=True)
    counties = _county_robustness(scn, base, results, n_solved)
    return Robustness(pd.DataFrame(runs), pairs, _kpis(base), counties, used, note,
                      time.perf_counter() - t0, n_solved)


def _county_robustness(scn: Scenario, base, results: dict, n_solved: int) -> pd.DataFrame:
    """Per selling / buying county: how much it sells (buys) in the base plan and across the runs. A pairing may be
    fragile while the county's total is robust: the partner changes, the volume does not."""
    sellers, buyers = scn.seller_codes(), scn.buyer_codes()
    s_idx = {c: i for i, c in enumerate(sellers)}
    b_idx = {c: i for i, c in enumerate(buyers)}
    sold = np.zeros((n_solved, len(sellers)))
    bought = np.zeros((n_solved, len(buyers)))
    r = 0
    for i in sorted(results):
        for kpis, moved in results[i]:
            if not kpis["has_solution"]:
                continue
            for s, b, q in moved:
                if s in s_idx:
                    sold[r, s_idx[s]] += q
                if b in b_idx:
                    bought[r, b_idx[b]] += q
            r += 1
    base_sold = base.pairings.groupby("seller_code")["quota_mu"].sum()
    base_bought = base.pairings.groupby("buyer_code")["quota_mu"].sum()
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    rows = []
    for role, codes, mat, base_vol in (("seller", sellers, sold, base_sold), ("buyer", buyers, bought, base_bought)):
        for j, code in enumerate(codes):
            col = mat[:, j] if n_solved else np.zeros(0)
            rows.append({"code": code, "name": names.get(code, code), "role": role,
                         "base_mu": float(base_vol.get(code, 0.0)),
                         "min_mu": float(col.min()) if len(col) else 0.0,
                         "mean_mu": float(col.mean()) if len(col) else 0.0,
                         "max_mu": float(col.max()) if len(col) else 0.0,
                         "active_share": float((col > 1e-6).mean()) if len(col) else 0.0})
    return pd.DataFrame(rows, columns=ROBUST_COUNTY_COLUMNS)


__all__ = ["GLOBAL_PARAMS", "COUNTY_COLUMNS", "SELLER_COLUMNS", "BUYER_COLUMNS", "KPI_COLUMNS",
           "ROBUST_THRESHOLD", "SpecError", "parse_spec", "apply_parameter", "current_value", "param_label",
           "sweep_values", "default_range", "sweep", "pairing_matrix", "Robustness", "perturb", "monte_carlo"]
