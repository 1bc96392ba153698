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
    from planner.export import write_csv, write_json
    from planner.model import solve
    from planner.validate import errors, load_checked

    scn, problems = load_checked(args.scenario)
    if errors(problems) or scn is None:
        _print_problems(problems, args.lang, sys.stderr)
        print(f"无效：{len(errors(problems))} 个错误，未求解。 INVALID: not solved.", file=sys.stderr)
        return EXIT_INVALID
    result = solve(scn, solver=args.solver, time_limit=args.time_limit)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"无法创建输出文件夹 Cannot create output folder {out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    write_csv(result.pairings, out / "pairings.csv")
    write_csv(county_report(scn, result), out / "counties.csv")
    summary = result.summary()
    summary.update({"planner_version": __version__, "time_limit": args.time_limit,
                    "solved_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "scenario_dir": str(Path(args.scenario))})
    if len(scn.relocation):
        try:
            from planner.proceeds import allocate
        except ImportError:
            allocate = None
        if allocate is not None:
            alloc = allocate(scn, result.pairings)
            write_csv(alloc.groups, out / "proceeds.csv")
    write_json(summary, out / "summary.json")
    t = result.totals
    print(f"{result.status}: {t['pairings']} pairings, {t['quota_matched_mu']:.1f} 亩, "
          f"{t['proceeds_wan']:.1f} 万元, objective {result.objective:.4f}, "
          f"{summary['seconds']:.3f} s ({result.solver}) -> {out}")
    if result.status == "failed":
        print(f"求解失败 Solver failed: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_compare(args) -> int:
    from planner.compare import compare
    from planner.export import write_csv
    from planner.model import solve
    from planner.validate import errors, load_checked

    scenarios, results = [], []
    for folder in args.scenarios:
        scn, problems = load_checked(folder)
        if scn is None or errors(problems):
            _print_problems(problems, args.lang, sys.stderr)
            print(f"无效 INVALID: {folder}", file=sys.stderr)
            return EXIT_INVALID
        scenarios.append(scn)
        results.append(solve(scn, solver=args.solver, time_limit=args.time_limit))
    names = [f"{s.name} ({Path(f).name})" for s, f in zip(scenarios, args.scenarios)]
    cmp = compare(scenarios, results, names)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"无法创建输出文件夹 Cannot create output folder {out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    write_csv(cmp.kpis, out / "kpis.csv")
    write_csv(cmp.inputs, out / "inputs_diff.csv")
    write_csv(cmp.pairings, out / "pairings_diff.csv")
    write_csv(cmp.counties, out / "counties_diff.csv")
    write_csv(cmp.benefit, out / "benefit_diff.csv")
    print(f"{len(cmp.inputs)} input differences, {len(cmp.pairings)} pairing differences -> {out}")
    return EXIT_OK


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
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    p.add_argument("--time-limit", type=float, default=None, dest="time_limit")
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("compare", help="compare 2-4 scenario folders (the first is the base)")
    p.add_argument("scenarios", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    p.add_argument("--time-limit", type=float, default=None, dest="time_limit")
    p.set_defaults(func=cmd_compare)
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
