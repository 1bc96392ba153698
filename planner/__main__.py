"""Command line: python -m planner validate DIR | solve DIR --out OUT [--solver highs|cbc] [--time-limit S]."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _print_problems(problems, lang: str, stream) -> None:
    for p in problems:
        tag = {"error": "错误 ERROR", "warning": "警告 WARNING"}[p.severity]
        print(f"[{tag}] {p.text('zh')}", file=stream)
        print(f"        {p.text('en')}", file=stream)


def cmd_validate(args) -> int:
    from planner.validate import errors, load_checked

    scn, problems = load_checked(args.scenario)
    _print_problems(problems, args.lang, sys.stdout)
    n_err = len(errors(problems))
    if n_err:
        print(f"无效：{n_err} 个错误。 INVALID: {n_err} error(s).")
        return EXIT_INVALID
    print(f"有效 VALID: {scn.name}（{len(scn.counties)} 个县 counties, "
          f"{len(problems)} 个警告 warnings）")
    return EXIT_OK


def cmd_solve(args) -> int:
    from planner import __version__
    from planner.explain import county_report
    from planner.csvio import write_csv, write_json
    from planner.model import solve

    scn, code = _checked_scenario(args.scenario)
    if scn is None:
        return code
    if args.near:  # a stable plan: the nearest to a reference plan within the tolerance of the optimum
        from planner.model.stability import read_reference, solve_near

        try:
            reference = read_reference(args.near)
        except Exception as exc:  # noqa: BLE001 - a bad reference file is reported, not raised
            print(f"错误 ERROR: --near {args.near}: {exc}", file=sys.stderr)
            return EXIT_INVALID
        with _SolveProgress(args.lang, args.time_limit):
            result = solve_near(scn, reference, args.tolerance, solver=args.solver, time_limit=args.time_limit)
    else:
        with _SolveProgress(args.lang, args.time_limit) as progress:
            result = solve(scn, solver=args.solver, time_limit=args.time_limit, progress=progress)
    out = _make_out(args.out)
    if out is None:
        return EXIT_FAILED
    if args.write_lp:
        # The PuLP formulation of record, readable by any LP solver, names carrying the county codes.
        from planner.model import market, write_lp

        write_lp(market(scn), args.write_lp)
    from planner.audit import audit_record, log_solve

    audit = audit_record(scn, result, time_limit=args.time_limit)  # also carried by every CSV written below
    write_csv(result.pairings, out / "pairings.csv", audit)
    if len(result.lots):  # DESIGN 5: sold and remaining per lot
        write_csv(result.lots, out / "lots.csv", audit)
    report = county_report(scn, result)
    write_csv(report, out / "counties.csv", audit)
    summary = result.summary()
    summary.update({"planner_version": __version__, "time_limit": args.time_limit,
                    "solved_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "scenario_dir": str(Path(args.scenario))})
    summary["audit"] = audit
    log_solve(scn, result, "cli", time_limit=args.time_limit, scenario_dir=str(Path(args.scenario)))
    alloc = None
    if len(scn.relocation):
        try:
            from planner.proceeds import allocate
        except ImportError:
            allocate = None
        if allocate is not None:
            alloc = allocate(scn, result.pairings)
            write_csv(alloc.groups, out / "proceeds.csv", audit)
    # Documents to hand on (articles 10, 14, 16): the plan report (Word), the Excel workbook, the ledger and one
    # agreement sheet per pairing (Word, with Markdown copies and an index).
    from planner.export import write_agreements, write_report, write_workbook
    from planner.export.common import Facts
    from planner.ledger import ledger, lot_ledger

    facts = Facts.of(scn, result.pairings)  # what every document reads (the content hash among it), read once
    from planner.export.beside import start_beside

    # The slow documents are made by forked processes while this one writes the others: the workbook, and the map
    # for the report (1-3 s to render; --no-map leaves it out). Each is forked before any renderer starts threads.
    workbook_written = start_beside(lambda: write_workbook(scn, result, out / "workbook.xlsx", allocation=alloc,
                                                           report=report, facts=facts))
    map_file, map_drawn = _start_map(scn, result, args.lang) if args.map else (None, lambda: None)
    # ledger.csv reconciles to the lot when the scenario has lots (the county ledger goes to ledger_counties.csv).
    lot_rows = lot_ledger(scn, result)
    if len(lot_rows):
        write_csv(lot_rows, out / "ledger.csv", audit)
    write_csv(ledger(scn, result, args.lang), out / ("ledger_counties.csv" if len(lot_rows) else "ledger.csv"), audit)
    write_agreements(scn, result, out / "agreements", args.lang, facts=facts)
    map_drawn()
    figure = None
    if map_file is not None:
        figure = map_file.read_bytes() or None  # empty: the map could not be drawn (plan_map_png logged why)
        map_file.unlink(missing_ok=True)
    write_report(scn, result, out / "report.docx", allocation=alloc, lang=args.lang, report=report, facts=facts,
                 figure=figure)
    workbook_written()
    write_json(summary, out / "summary.json")
    t = result.totals
    print(f"{result.status}: {t['pairings']} pairings, {t['quota_matched_mu']:.1f} 亩, "
          f"{t['proceeds_wan']:.1f} 万元, objective {result.objective:.4f}, "
          f"{summary['seconds']:.3f} s ({result.solver}) -> {out}")
    if result.status == "failed":
        print(f"求解失败 Solver failed: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    if not result.has_solution:
        print("未找到方案：时间限制内求解器没有找到任何方案，请放宽时间限制。 No plan: the solver found none within the "
              "time limit; raise the time limit.", file=sys.stderr)
        return EXIT_FAILED
    if result.status == "time_limit":
        gap = result.mip_gap
        if gap is not None:
            print(f"时间限制已到：方案与最优可能方案相差不超过 {100 * gap:.2f}%。 Time limit reached: within "
                  f"{100 * gap:.2f} % of the best possible plan.", file=sys.stderr)
        else:
            print(f"时间限制已到：方案未经证明为最优（已匹配 {t['quota_matched_mu']:.1f} 亩，最多可匹配 "
                  f"{min(t['surplus_offered_mu'], t['demand_mu']):.1f} 亩）。 Time limit reached: the plan is not "
                  f"proven optimal ({t['quota_matched_mu']:.1f} of at most "
                  f"{min(t['surplus_offered_mu'], t['demand_mu']):.1f} 亩 matched).", file=sys.stderr)
    return EXIT_OK


def _start_map(scn, result, lang: str):
    """(temporary PNG file, join) for the report's map, rendered beside this process; (None, no-op) where the
    scenario is not on the shipped map of Jilin."""
    import os
    import tempfile

    from planner.export.beside import start_beside
    from planner.export.map_image import on_shipped_map, plan_map_png

    if not on_shipped_map(scn):
        return None, lambda: None
    handle, name = tempfile.mkstemp(prefix="planner-map-", suffix=".png")
    os.close(handle)
    path = Path(name)
    return path, start_beside(lambda: path.write_bytes(plan_map_png(scn, result, lang) or b""))


def cmd_compare(args) -> int:
    from planner.compare import compare
    from planner.export import write_csv
    from planner.model import solve

    scenarios, results = [], []
    for folder in args.scenarios:
        scn, code = _checked_scenario(folder)
        if scn is None:
            return code
        scenarios.append(scn)
        results.append(solve(scn, solver=args.solver, time_limit=args.time_limit))
    names = [f"{s.name} ({Path(f).name})" for s, f in zip(scenarios, args.scenarios)]
    cmp = compare(scenarios, results, names)
    out = _make_out(args.out)
    if out is None:
        return EXIT_FAILED
    from planner.audit import combined_record

    audit = combined_record(scenarios, args.solver, time_limit=args.time_limit)
    write_csv(cmp.kpis, out / "kpis.csv", audit)
    write_csv(cmp.inputs, out / "inputs_diff.csv", audit)
    write_csv(cmp.pairings, out / "pairings_diff.csv", audit)
    write_csv(cmp.counties, out / "counties_diff.csv", audit)
    write_csv(cmp.benefit, out / "benefit_diff.csv", audit)
    print(f"{len(cmp.inputs)} input differences, {len(cmp.pairings)} pairing differences -> {out}")
    return EXIT_OK


# --------------------------------------------------------------------------- sensitivity: sweep and robust


def _progress_printer(label: str):
    """Progress on stderr: one updating line on a terminal, otherwise a line every 10 %."""
    tty = sys.stderr.isatty()
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        if tty:
            end = "\n" if done >= total else ""
            print(f"\r{label} {done}/{total}", end=end, file=sys.stderr, flush=True)
            return
        tenth = (10 * done) // max(total, 1)
        if tenth > state["last"] or done >= total:
            state["last"] = tenth
            print(f"{label} {done}/{total}", file=sys.stderr, flush=True)

    return report


class _SolveProgress:
    """What a long solve is doing, on stderr, so nobody wonders whether a national solve (a minute or more) hangs:
    the seconds spent and, for an integer search under a time limit, how far the best plan may be from the best
    possible. Silent for the first seconds (most solves end before); then one updating line on a terminal, otherwise
    a line every 10 s (logs stay short)."""

    QUIET_S = 3.0

    def __init__(self, lang: str, limit: float | None, stream=None):
        import threading

        self.lang, self.limit, self.stream = lang, limit, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = 1.0 if self.tty else 10.0
        self.gap: float | None = None
        self.stop = threading.Event()
        self.printed = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __call__(self, _seconds: float, gap: float | None) -> None:  # solve(progress=...): the search's gap
        self.gap = gap

    def __enter__(self):
        import time

        self.t0 = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        if self.printed and self.tty:
            print(file=self.stream, flush=True)

    def line(self, seconds: float) -> str:
        from planner.i18n import t

        if self.gap is not None:
            return t("solve.searching", self.lang, seconds=f"{seconds:.0f}",
                     limit=f"{self.limit:g}" if self.limit else "—", gap=f"{100 * self.gap:.2f} %")
        return t("solve.cli_running", self.lang, seconds=f"{seconds:.0f}")

    def _run(self) -> None:
        import time

        if self.stop.wait(self.QUIET_S):
            return
        while True:
            text = self.line(time.perf_counter() - self.t0)
            print(f"\r{text}\x1b[K" if self.tty else text, end="" if self.tty else "\n", file=self.stream, flush=True)
            self.printed = True
            if self.stop.wait(self.every_s):
                return


def _checked_scenario(folder):
    """(scenario, None) or (None, exit code) after printing the problems."""
    from planner.validate import errors, load_checked

    scn, problems = load_checked(folder)
    if scn is None or errors(problems):
        _print_problems(problems, "zh", sys.stderr)
        print(f"无效：{folder}，{len(errors(problems))} 个错误，未计算。 INVALID: {folder}, not computed.",
              file=sys.stderr)
        return None, EXIT_INVALID
    return scn, None


def _make_out(folder) -> Path | None:
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"无法创建输出文件夹 Cannot create output folder {out}: {exc}", file=sys.stderr)
        return None
    return out


def cmd_sweep(args) -> int:
    from planner.export import write_csv
    from planner.sensitivity import SpecError, parse_spec, sweep, sweep_values

    scn, code = _checked_scenario(args.scenario)
    if scn is None:
        return code
    try:
        parse_spec(args.param, scn)
        if args.values is not None:
            try:
                values = [float(v) for v in args.values.replace("，", ",").split(",") if v.strip()]
            except ValueError:
                raise SpecError(f"--values 必须是以逗号分隔的数字：{args.values!r}。 "
                                f"--values must be numbers separated by commas: {args.values!r}.") from None
            if not values:
                raise SpecError("--values 为空。 --values is empty.")
        else:
            start, stop, steps = args.range
            try:
                steps_i = int(float(steps))
                if steps_i != float(steps):
                    raise ValueError
                values = sweep_values(float(start), float(stop), steps_i)
            except ValueError as exc:
                if isinstance(exc, SpecError):
                    raise
                raise SpecError(f"--range 需要 起点 终点 步数（步数为整数）：{' '.join(args.range)}。 "
                                f"--range takes START STOP STEPS (STEPS an integer): {' '.join(args.range)}.") \
                    from None
        kpis, pairs = sweep(scn, args.param, values, solver=args.solver, time_limit=args.time_limit,
                            progress=_progress_printer("sweep"))
    except SpecError as exc:
        print(f"参数错误 Bad parameter: {exc}", file=sys.stderr)
        return EXIT_INVALID
    out = _make_out(args.out)
    if out is None:
        return EXIT_FAILED
    from planner.audit import audit_record

    audit = audit_record(scn, None, solver=args.solver, time_limit=args.time_limit, parameter=args.param)
    write_csv(kpis, out / "kpis.csv", audit)
    write_csv(pairs, out / "pairings.csv", audit)
    invalid = kpis[kpis["status"] == "invalid"]
    for _, row in invalid.iterrows():
        print(f"[警告 WARNING] {args.param} = {row['value']:g}: {row['problem_zh']}", file=sys.stderr)
        print(f"        {row['problem_en']}", file=sys.stderr)
    failed = kpis[kpis["status"] == "failed"]
    print(f"sweep {args.param}: {len(kpis)} steps ({len(invalid)} invalid, {len(failed)} failed), "
          f"{pairs[['seller_code', 'buyer_code']].drop_duplicates().shape[0]} distinct pairings -> {out}")
    if len(invalid) == len(kpis):
        print("所有取值都使情景无效。 Every value makes the scenario invalid.", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_FAILED if len(failed) else EXIT_OK


def cmd_robust(args) -> int:
    from planner.export import write_csv
    from planner.sensitivity import SpecError, monte_carlo

    scn, code = _checked_scenario(args.scenario)
    if scn is None:
        return code
    try:
        rob = monte_carlo(scn, n_runs=args.runs, price_pct=args.price_pct / 100.0,
                          quantity_pct=args.quantity_pct / 100.0, seed=args.seed, solver=args.solver,
                          time_limit=args.time_limit, workers=args.workers, progress=_progress_printer("robust"))
    except SpecError as exc:
        print(f"参数错误 Bad parameter: {exc}", file=sys.stderr)
        return EXIT_INVALID
    out = _make_out(args.out)
    if out is None:
        return EXIT_FAILED
    from planner.audit import audit_record

    audit = audit_record(scn, None, solver=args.solver, time_limit=args.time_limit, seed=args.seed)
    write_csv(rob.runs, out / "runs.csv", audit)
    write_csv(rob.pairs, out / "pairs.csv", audit)
    write_csv(rob.counties, out / "counties.csv", audit)
    if rob.note:
        print(f"并行计算不可用，已在单个进程中计算 Process pool not used: {rob.note}", file=sys.stderr)
    base = rob.pairs[rob.pairs["in_base"]]
    print(f"robust: {args.runs} runs ({rob.n_solved} solved) in {rob.seconds:.1f} s with {rob.workers} process(es); "
          f"{int(base['robust'].sum())} of {len(base)} recommended pairings robust (>= 80 % of runs), "
          f"{len(rob.pairs)} pairings seen -> {out}")
    return EXIT_OK if rob.n_solved == args.runs else EXIT_FAILED


def _time_limit(text: str) -> float:
    """--time-limit: a positive, finite number of seconds (0, negative and nan are refused)."""
    from planner.model.pipeline import check_time_limit

    try:
        return check_time_limit(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"时间限制须为正的秒数 the time limit must be a positive number of seconds, "
                                         f"not {text!r}") from None


def _solver_name(text: str) -> str:
    from planner.model import SOLVERS, known_solver

    if not known_solver(text):
        raise argparse.ArgumentTypeError(f"unknown solver {text!r}: use {' or '.join(SOLVERS)}, or a solver PuLP finds "
                                         "installed")
    return text


def _tolerance(text: str) -> float:
    """--tolerance: the share of the objective a stable plan may give up, in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"容差须为 [0, 1) 之间的比例（0.001 即 0.1%） the tolerance is a share of the "
                                         f"objective in [0, 1), e.g. 0.001 = 0.1 %, not {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planner", description="节余指标流转规划 Quota transfer planner")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check a scenario folder")
    p.add_argument("scenario")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("solve", help="solve a scenario folder and write result tables")
    p.add_argument("scenario")
    p.add_argument("--out", required=True)
    p.add_argument("--solver", type=_solver_name, default="highs",
                   help="highs (default) | cbc | any solver PuLP finds installed (e.g. GUROBI_CMD, CPLEX_CMD)")
    p.add_argument("--time-limit", type=_time_limit, default=None, dest="time_limit")
    p.add_argument("--no-map", action="store_false", dest="map",
                   help="leave the map out of report.docx (it takes 1-3 s to render)")
    p.add_argument("--write-lp", default=None, dest="write_lp", metavar="FILE",
                   help="also write the PuLP model as an LP file")
    p.add_argument("--near", default=None, metavar="PAIRINGS_CSV",
                   help="keep the plan close to this pairings.csv: fewest 亩 changed within --tolerance of the optimum")
    p.add_argument("--tolerance", type=_tolerance, default=0.001,
                   help="with --near: relative loss of objective accepted (default 0.001 = 0.1 %%)")
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("compare", help="compare 2-4 scenario folders (the first is the base)")
    p.add_argument("scenarios", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    p.add_argument("--time-limit", type=_time_limit, default=None, dest="time_limit")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("sweep", help="solve once per value of one parameter and write KPIs and pairings per step")
    p.add_argument("scenario")
    p.add_argument("--param", required=True,
                   help="pricing.bargaining_weight | pricing.guide_floor | pricing.guide_ceiling | "
                        "county:<code>:<surplus_mu|demand_mu|budget_wan|ceiling_price|floor_price>")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--values", help="comma-separated values, e.g. 0,0.25,0.5")
    g.add_argument("--range", nargs=3, metavar=("START", "STOP", "STEPS"), help="STEPS evenly spaced values")
    p.add_argument("--out", required=True)
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    p.add_argument("--time-limit", type=_time_limit, default=None, dest="time_limit")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("robust", help="Monte Carlo: perturb prices and quantities, count how often each pairing holds")
    p.add_argument("scenario")
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--price-pct", type=float, default=10.0, dest="price_pct", help="± percent on county prices")
    p.add_argument("--quantity-pct", type=float, default=10.0, dest="quantity_pct",
                   help="± percent on surplus, demand and budgets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="processes (default: up to 2 when worthwhile)")
    p.add_argument("--out", required=True)
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    p.add_argument("--time-limit", type=_time_limit, default=None, dest="time_limit")
    p.set_defaults(func=cmd_robust)
    args = parser.parse_args(argv)
    if args.command == "compare" and not 2 <= len(args.scenarios) <= 4:
        parser.error("compare takes 2 to 4 scenario folders")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # A console or redirect that cannot encode Chinese (e.g. cp1252, ascii) must not turn messages into a traceback.
    for _stream in (sys.stdout, sys.stderr):
        try:
            _stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    sys.exit(main())
