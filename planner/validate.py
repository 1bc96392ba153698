"""Every check of a scenario's inputs, before the model sees them.

Each problem names the file, the row as a spreadsheet shows it (header = row 1), the column or parameter, the bad
value and a plain message in Chinese and English (templates `validate.<code>` in the locale files). Validation
collects all problems and never raises.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd

from planner import i18n, plan_checks, schema
from planner.csvio import AmbiguousNumber
from planner.model.market import VALIDITY_YEARS
from planner.problems import Problem, errors, fmt as _fmt, problem as _problem, problems_frame, row_numbers
from planner.problems import show as _show
from planner.scenario import (TOML_NAME, RawFolder, Scenario, canonical_headers, choice_code, is_blank,
                              parse_bool, parse_number, read_folder)

__all__ = ["Problem", "errors", "problems_frame", "validate_folder", "load_checked", "validate_scenario",
           "validate_raw", "MAX_NUMBER"]

MAX_NUMBER = 1e12  # largest absolute value accepted in any numeric cell or parameter


# --------------------------------------------------------------------------- entry points

def validate_folder(folder) -> list[Problem]:
    return load_checked(folder)[1]


def load_checked(folder) -> tuple[Scenario | None, list[Problem]]:
    """Read and check a scenario folder; the scenario is returned only when there are no errors."""
    try:
        folder = Path(folder)
        if not folder.is_dir():
            return None, [_problem(str(folder), None, "", "", "folder_missing")]
        raw = read_folder(folder)
        try:
            problems, scn = _validate_raw(raw)
        except Exception as exc:
            return None, [_problem("", None, "", "", "check_crashed", error=exc)]
        if errors(problems):
            return None, problems
        return scn if scn is not None else Scenario.from_raw(raw.settings, raw.tables), problems
    except Exception as exc:  # validation never raises: an unexpected failure is itself a problem
        return None, [_problem(str(folder), None, "", "", "read_crashed", error=exc)]


def validate_scenario(scn: Scenario) -> list[Problem]:
    """Check an in-memory scenario (e.g. after edits in the app)."""
    settings, tables = scn.to_raw()
    return validate_raw(RawFolder(settings=settings, tables=tables))


def validate_raw(raw: RawFolder) -> list[Problem]:
    try:
        return _validate_raw(raw)[0]
    except Exception as exc:
        return [_problem("", None, "", "", "check_crashed", error=exc)]


def _validate_raw(raw: RawFolder) -> tuple[list[Problem], Scenario | None]:
    """The problems, and the typed scenario the checks across tables ran on (None when they could not run); with
    no errors it is the scenario itself, as `Scenario.from_raw` builds it."""
    out: list[Problem] = []
    unreadable = set()
    for filename, err in raw.read_errors:
        unreadable.add(filename)
        out.append(Problem(filename, None, "", "", err.message_zh, err.message_en))
    if raw.settings is None and TOML_NAME not in unreadable:
        out.append(_problem(TOML_NAME, None, "", "", "missing_file", filename=TOML_NAME))
    if raw.tables.get("counties") is None and "counties.csv" not in unreadable:
        out.append(_problem("counties.csv", None, "", "", "missing_file", filename="counties.csv"))
    settings_problems = _check_settings(raw.settings) if raw.settings is not None else []
    out += settings_problems
    # Headers given as the app's labels (zh or en, with or without the unit) read as the column names.
    tables = {t: canonical_headers(t, raw.tables[t]) for t in schema.TABLES if raw.tables.get(t) is not None}
    counties = tables.get("counties")
    codes: set[str] = set()
    if counties is not None:
        out += _check_table("counties", counties)
        out += _check_counties(counties)
        codes = {str(c).strip() for c in counties.get("code", pd.Series(dtype=object)).tolist() if not is_blank(c)}
    for table, df in tables.items():
        if table == "counties":
            continue
        out += _check_table(table, df)
        if counties is not None and table == "pairs":
            out += _check_pairs(df, counties, raw.settings or {})
        elif counties is not None and table == "relocation":
            out += _check_relocation(df, codes, counties)
    out += _check_objective_scale(RawFolder(settings=raw.settings, tables=tables))
    scn = None
    if counties is not None and "code" in counties.columns:
        # Across tables (grades, deals and their caps, lots, demand, payments), on the typed scenario.
        scn = Scenario.from_raw(_usable_settings(raw.settings, settings_problems), tables)
        unreadable = {(p.file, p.row, p.column) for p in errors(out) if p.row is not None}
        out += plan_checks.check(scn, {t: row_numbers(df) for t, df in tables.items()}, unreadable)
    return out, scn


def _usable_settings(settings: dict | None, problems: list[Problem]) -> dict:
    """The settings without the parameters found wrong (their defaults apply), so the checks across tables can
    read every parameter without tripping over a bad one already reported."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in (settings or {}).items()}
    for p in errors(problems):
        if p.file == TOML_NAME and "." in p.column:
            section, key = p.column.split(".", 1)
            if isinstance(out.get(section), dict):
                out[section].pop(key, None)
    return out


def _check_objective_scale(raw: RawFolder) -> list[Problem]:
    """Priority weight x price is an objective coefficient; each is accepted up to MAX_NUMBER on its own, but a
    product beyond it is more than the solver can handle (HiGHS treats costs >= 1e20 as infinite and refuses the
    model), so such a scenario is refused here with a message rather than failing in the solve."""
    settings = raw.settings if isinstance(raw.settings, dict) else {}
    rules = settings.get("rules") if isinstance(settings.get("rules"), dict) else {}
    weights = []
    for key in ("priority_weight_national_key", "priority_weight_provincial"):
        w = rules.get(key, 1.0)
        if _is_num(w) and abs(w) <= MAX_NUMBER:
            weights.append((abs(float(w)), key))
    if not weights or rules.get("objective") == "volume":
        return []
    weight, key = max(weights)
    pricing = settings.get("pricing") if isinstance(settings.get("pricing"), dict) else {}
    prices = [abs(float(v)) for v in (pricing.get("guide_floor"), pricing.get("guide_ceiling")) if _is_num(v)]
    for table, columns in (("counties", ("floor_price", "ceiling_price")),
                           ("pairs", ("floor_price", "ceiling_price", "agreed_price"))):
        df = raw.tables.get(table)
        if df is None:
            continue
        df = df.rename(columns=lambda c: str(c).strip().lower())
        for col in columns:
            if col in df.columns:
                prices += [abs(v) for v in map(_num, df[col].tolist()) if v is not None and abs(v) <= MAX_NUMBER]
    price = max(prices, default=0.0)
    if weight * price <= MAX_NUMBER:
        return []
    return [_problem(TOML_NAME, None, f"rules.{key}", _show(rules.get(key)), "objective_scale", weight=weight,
                     price=price, limit=MAX_NUMBER)]


# --------------------------------------------------------------------------- settings

def _check_settings(settings: dict) -> list[Problem]:
    out = []
    known_sections = {p.section for p in schema.PARAMS}
    for section, body in settings.items():
        if section not in known_sections:
            out.append(_problem(TOML_NAME, None, f"[{section}]", "", "unknown_section", "warning"))
            continue
        if not isinstance(body, dict):
            out.append(_problem(TOML_NAME, None, f"[{section}]", str(body), "not_a_section"))
            continue
        for key in body:
            if (section, key) not in schema.PARAMS_BY_KEY:
                out.append(_problem(TOML_NAME, None, f"{section}.{key}", _show(body[key]), "unknown_param",
                                    "warning"))
    for p in schema.PARAMS:
        body = settings.get(p.section)
        if not isinstance(body, dict) or p.key not in body:
            continue
        value = body[p.key]
        where = f"{p.section}.{p.key}"
        if p.kind == "text":
            if not isinstance(value, str):
                out.append(_problem(TOML_NAME, None, where, _show(value), "not_text"))
        elif p.kind == "bool":
            if not isinstance(value, bool):
                out.append(_problem(TOML_NAME, None, where, _show(value), "not_bool_param"))
        elif p.kind == "choice":
            if value not in p.allowed:
                allowed = " | ".join(p.allowed)
                out.append(_problem(TOML_NAME, None, where, _show(value), "bad_choice", allowed=allowed))
        elif p.kind == "choices":
            out += _check_choices_param(p, value, where)
        else:
            out += _check_number_param(p, value, where)
    pricing = settings.get("pricing") if isinstance(settings.get("pricing"), dict) else {}
    lo, hi = pricing.get("guide_floor"), pricing.get("guide_ceiling")
    if _is_num(lo) and _is_num(hi) and lo > hi:
        out.append(_problem(TOML_NAME, None, "pricing.guide_floor", _show(lo), "guide_floor_above_ceiling"))
    return out + _check_horizon(settings)


def _check_horizon(settings: dict) -> list[Problem]:
    """[horizon]: a last year needs a first year and may not precede it; past article 27's four years it warns."""
    body = settings.get("horizon")
    if not isinstance(body, dict):
        return []
    start, end = body.get("start_year"), body.get("end_year")
    whole = lambda v: _is_num(v) and v == int(v)  # noqa: E731
    if end is not None and start is None:
        return [_problem(TOML_NAME, None, "horizon.end_year", _show(end), "end_without_start")]
    if whole(start) and whole(end):
        if end < start:
            return [_problem(TOML_NAME, None, "horizon.end_year", _show(end), "end_before_start", start=int(start))]
        if end - start + 1 > VALIDITY_YEARS:
            return [_problem(TOML_NAME, None, "horizon.end_year", _show(end), "horizon_beyond_validity", "warning",
                             years=int(end - start + 1))]
    return []


def _check_choices_param(p: schema.Param, value, where: str) -> list[Problem]:
    """A list of codes (or their labels); one text is read as a list of one."""
    allowed = " | ".join(p.allowed)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        return [_problem(TOML_NAME, None, where, _show(value), "not_a_list", allowed=allowed)]
    bad = [v for v in items if choice_code(v, p.allowed, p.aliases) is None]
    if bad:
        return [_problem(TOML_NAME, None, where, _show(value), "bad_choice_item", item=bad[0], allowed=allowed)]
    if not items and p.key == "saleable_status":
        return [_problem(TOML_NAME, None, where, "[]", "empty_saleable", "warning")]
    return []


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_number_param(p: schema.Param, value, where: str) -> list[Problem]:
    if not _is_num(value):
        return [_problem(TOML_NAME, None, where, _show(value), "not_number_param")]
    if p.kind == "integer" and value != int(value):
        return [_problem(TOML_NAME, None, where, _show(value), "not_integer")]
    if abs(value) > MAX_NUMBER:  # as for cells: beyond this the solver refuses the model (a lot of 1e20 亩 ...)
        return [_problem(TOML_NAME, None, where, _show(value), "too_large_param", limit=MAX_NUMBER)]
    return _range_problem(TOML_NAME, None, where, value, p.minimum, p.maximum)


def _range_problem(file, row, column, value, minimum, maximum) -> list[Problem]:
    if minimum is not None and value < minimum:
        if minimum == 0:
            return [_problem(file, row, column, _show(value), "negative")]
        return [_problem(file, row, column, _show(value), "out_of_range", lo=_fmt(minimum), hi=_fmt(maximum))]
    if maximum is not None and value > maximum:
        lo = _fmt(minimum) if minimum is not None else "−∞"
        return [_problem(file, row, column, _show(value), "out_of_range", lo=lo, hi=_fmt(maximum))]
    return []


def _fmt(x) -> str:
    return str(int(x)) if x is not None and float(x).is_integer() else str(x)


def _show(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- tables

_row_numbers = row_numbers


def _check_table(table: str, df: pd.DataFrame) -> list[Problem]:
    filename, columns, _ = schema.TABLES[table]
    out = []
    df = df.rename(columns=lambda c: str(c).strip().lower())
    for dup in df.attrs.get("duplicate_headers", []):
        out.append(_problem(filename, 1, dup, "", "duplicate_header"))
    for row in df.attrs.get("overflow_rows", []):
        out.append(_problem(filename, row, "", "", "overflow_row"))
    rows = _row_numbers(df)
    for col in columns:
        if col.name not in df.columns:
            if col.required:
                out.append(_problem(filename, 1, col.name, "", "missing_column", name=col.name, label=_labels(col)))
            continue
        for row, value in zip(rows, df[col.name].tolist()):
            out += _check_cell(filename, row, col, value)
    return out + _unknown_columns(table, df)


def _unknown_columns(table: str, df: pd.DataFrame) -> list[Problem]:
    """Every column the schema does not know is a warning naming it and the closest known column: a misspelt
    header must never silently blank a column (issue 11 item 8). The column is kept."""
    filename, columns, _ = schema.TABLES[table]
    known = {c.name for c in columns}
    duplicated = set(df.attrs.get("duplicate_headers", []))
    out = []
    for name in df.columns:
        name = str(name)
        base = name.rsplit(".", 1)[0] if name.rsplit(".", 1)[-1].isdigit() else name
        if name in known or schema.column_for_header(table, name) in known or base in duplicated:
            continue  # a known column, or a second copy of one (reported as a duplicate header)
        if name.startswith("unnamed_") and all(is_blank(v) for v in df[name].tolist()):
            continue  # an empty column without a header, as spreadsheets leave them
        col = schema.closest_column(table, name)
        if col is None:
            out.append(_problem(filename, 1, name, "", "unknown_column_no_match", "warning", column=name))
        else:
            out.append(_problem(filename, 1, name, "", "unknown_column", "warning", column=name, name=col.name,
                                label=_labels(col)))
    return out


def _labels(col: schema.Column) -> tuple[str, str]:
    return i18n.label(col, "zh"), i18n.label(col, "en")


def _check_cell(filename: str, row: int, col: schema.Column, value) -> list[Problem]:
    if is_blank(value):
        if col.cell_required:
            return [_problem(filename, row, col.name, "", "blank_cell", label=_labels(col))]
        return []
    shown = _show(value)
    if col.kind in ("number", "integer"):
        try:
            number = parse_number(value)
        except AmbiguousNumber:  # "12,5", "1.234,5", "1_000": never guessed (issue 17)
            return [_problem(filename, row, col.name, shown, "ambiguous_number")]
        except (ValueError, TypeError):
            return [_problem(filename, row, col.name, shown, "not_number")]
        if col.kind == "integer" and number != int(number):
            return [_problem(filename, row, col.name, shown, "not_integer")]
        if abs(number) > MAX_NUMBER:
            return [_problem(filename, row, col.name, shown, "too_large")]
        # report the cell as typed ("16", "1,200"), not the parsed float ("16.0", "1200.0")
        return [replace(p, value=shown) for p in
                _range_problem(filename, row, col.name, number, col.minimum, col.maximum)]
    if col.kind == "bool":
        try:
            parse_bool(value)
        except (ValueError, TypeError):
            return [_problem(filename, row, col.name, shown, "not_bool")]
        return []
    if col.kind == "category":
        text = str(value).strip()
        key = text.lower() if text.isascii() else text
        if key not in col.aliases and key not in col.allowed:
            allowed = " | ".join(col.allowed)
            return [_problem(filename, row, col.name, shown, "bad_category", allowed=allowed)]
    return []


def _num(value) -> float | None:
    try:
        return parse_number(value)
    except (ValueError, TypeError):
        return None


def _check_counties(df: pd.DataFrame) -> list[Problem]:
    out = []
    df = df.rename(columns=lambda c: str(c).strip().lower())
    rows = _row_numbers(df)
    if "code" in df.columns:
        first_row: dict[str, int] = {}
        for row, code in zip(rows, df["code"].tolist()):
            if is_blank(code):
                continue
            code = str(code).strip()
            if code in first_row:
                out.append(_problem("counties.csv", row, "code", code, "duplicate_county", first=first_row[code]))
            else:
                first_row[code] = row
    get = lambda name: df[name].tolist() if name in df.columns else [None] * len(df)  # noqa: E731
    for row, demand, ceiling, surplus, pclass in zip(rows, get("demand_mu"), get("ceiling_price"),
                                                     get("surplus_mu"), get("poverty_class")):
        d = _num(demand)
        if d is not None and d > 0 and is_blank(ceiling):
            out.append(_problem("counties.csv", row, "ceiling_price", "", "buyer_needs_ceiling"))
        s = _num(surplus)
        cls = schema.POVERTY_CLASS_ALIASES.get(str(pclass).strip().lower() if not is_blank(pclass) else "")
        if s is not None and s > 0 and cls == "none":
            out.append(_problem("counties.csv", row, "surplus_mu", _show(surplus), "not_eligible_surplus", "warning"))
    return out


def _county_lookup(counties: pd.DataFrame) -> dict[str, dict]:
    df = counties.rename(columns=lambda c: str(c).strip().lower())
    out = {}
    if "code" not in df.columns:
        return out
    for rec in df.to_dict("records"):
        if not is_blank(rec.get("code")):
            out.setdefault(str(rec["code"]).strip(), rec)
    return out


def _check_pairs(df: pd.DataFrame, counties: pd.DataFrame, settings: dict) -> list[Problem]:
    out = []
    df = df.rename(columns=lambda c: str(c).strip().lower())
    lookup = _county_lookup(counties)
    pricing = settings.get("pricing") if isinstance(settings.get("pricing"), dict) else {}
    guide_lo = pricing.get("guide_floor") if _is_num(pricing.get("guide_floor")) else None
    guide_hi = pricing.get("guide_ceiling") if _is_num(pricing.get("guide_ceiling")) else None
    seen: dict[tuple, int] = {}
    for row, rec in zip(_row_numbers(df), df.to_dict("records")):
        s, b = rec.get("seller_code"), rec.get("buyer_code")
        s = "" if is_blank(s) else str(s).strip()
        b = "" if is_blank(b) else str(b).strip()
        ok = True
        for col, code in (("seller_code", s), ("buyer_code", b)):
            if code and code not in lookup:
                out.append(_problem("pairs.csv", row, col, code, "unknown_county"))
                ok = False
        if not (s and b and ok):
            continue
        if s == b:
            out.append(_problem("pairs.csv", row, "buyer_code", b, "same_county_pair"))
            continue
        if (s, b) in seen:
            out.append(_problem("pairs.csv", row, "buyer_code", b, "duplicate_pair", first=seen[(s, b)]))
            continue
        seen[(s, b)] = row
        agreed = _num(rec.get("agreed_price"))
        excluded = False
        try:
            excluded = bool(parse_bool(rec.get("excluded")))
        except (ValueError, TypeError):
            pass
        if agreed is None or excluded:
            continue
        lows = [_num(lookup[s].get("floor_price")), guide_lo, _num(rec.get("floor_price"))]
        highs = [_num(lookup[b].get("ceiling_price")), guide_hi, _num(rec.get("ceiling_price"))]
        lo = max([x for x in lows if x is not None], default=0.0)
        hi = min([x for x in highs if x is not None], default=math.inf)
        if agreed < lo - 1e-9 or agreed > hi + 1e-9:
            band = f"{_fmt(lo)}–{_fmt(hi) if math.isfinite(hi) else '∞'}"
            # the two governments set the price (article 15): outside the band is a notice, not an error
            out.append(_problem("pairs.csv", row, "agreed_price", _show(rec.get("agreed_price")),
                                "agreed_outside_band", "warning", band=band))
    return out


def _check_relocation(df: pd.DataFrame, codes: set[str], counties: pd.DataFrame) -> list[Problem]:
    out = []
    df = df.rename(columns=lambda c: str(c).strip().lower())
    seen: dict[tuple, int] = {}
    for row, rec in zip(_row_numbers(df), df.to_dict("records")):
        for col in ("county_code", "destination_code"):
            code = rec.get(col)
            if not is_blank(code) and str(code).strip() not in codes:
                out.append(_problem("relocation.csv", row, col, str(code).strip(), "unknown_county"))
        key = (str(rec.get("county_code", "")).strip(), str(rec.get("group_id", "")).strip())
        if all(key):
            if key in seen:
                out.append(_problem("relocation.csv", row, "group_id", key[1], "duplicate_group", first=seen[key]))
            else:
                seen[key] = row
    return out
