"""Checks across tables, on the typed scenario: quality grades, deals and the caps they must fit, lots, yearly
demand and payments (issues 11 and 12; DESIGN section 3).

`planner.validate` runs these after its checks of files, cells and parameters, on a scenario built from the same
raw tables (bad cells read as blank, so nothing here trips over what is already reported). Supply, demand and lot
arithmetic comes from `planner.model.market`, the rules the model itself uses; each cap a deal must fit is one
function below, so the reason a deal is refused is the model's own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from planner import i18n, schema
from planner.ledger import number
from planner.model.market import (DEAL_STATUSES, candidate_pairs, deal_quantity, demand_rows, horizon,
                                  lot_net_mu, saleable_lots)
from planner.model.market import TOL as MODEL_TOL
from planner.problems import Problem, problem, show
from planner.scenario import Scenario, cell_text

TOL = 1e-6


def check(scn: Scenario, rows: dict[str, list[int]], unreadable: frozenset | set = frozenset()) -> list[Problem]:
    """All checks across tables of a typed scenario; `rows` gives each table's rows as a spreadsheet shows them.
    `unreadable`: the (file, row, column) cells already reported as unreadable; what would follow only from them
    (a lot's net quota read with its unreadable area as 0, say) is not reported again."""
    ctx = _Context(scn, rows, unreadable)
    return (_check_lots(ctx) + _check_demand(ctx) + _check_grades(ctx) + _check_deals(ctx)
            + _check_payments(ctx))


class _Context:
    """The scenario with what every check looks up: rows as a spreadsheet shows them, counties by code."""

    def __init__(self, scn: Scenario, rows: dict[str, list[int]], unreadable=frozenset()):
        self.scn = scn
        self.rows = rows
        self.unreadable = unreadable
        self.hz = horizon(scn)
        self.lots = saleable_lots(scn)  # None without lots.csv
        self.units: dict[str, list] = {}  # seller -> its supply units, filled by _supply_units
        c = scn.counties
        self.county_row: dict[str, int] = {}
        self.county: dict[str, dict] = {}
        for i, rec in enumerate(c.to_dict("records")):
            code = str(rec["code"]).strip()
            if code and code not in self.county:
                self.county[code] = rec
                self.county_row[code] = i

    def row(self, table: str, i: int) -> int:
        rows = self.rows.get(table) or []
        return rows[i] if i < len(rows) else i + 2

    def any_unreadable(self, table: str, i: int, columns) -> bool:
        """Whether one of these cells of row i was already reported as unreadable."""
        where = (f"{table}.csv", self.row(table, i))
        return any((*where, column) in self.unreadable for column in columns)

    def who(self, code: str) -> tuple[str, str]:
        """A county as named in a message: 甲县（001） / 甲县 (001)."""
        name = str(self.county.get(code, {}).get("name", "") or "").strip()
        return (f"{name}（{code}）", f"{name} ({code})") if name else (code, code)

    def eligible(self, code: str) -> bool:
        return schema.may_sell_provincewide(self.county.get(code, {}).get("poverty_class"))


def _num(value) -> float:
    """A cell as a float, NaN when blank or not a number (planner.ledger.number is the one parser)."""
    return number(value, math.nan)


def _qty(x: float, unit: str) -> str:
    return f"{i18n.fmt_number(x, 2)} {unit}"


# --------------------------------------------------------------------------- lots (articles 8, 14, 20)

NET_PARTS = ("area_mu", "used_locally_mu", "reserved_rural_mu", "turnover_owed_mu")  # a lot's net quota


def _check_lots(ctx: _Context) -> list[Problem]:
    lots = ctx.scn.lots
    if not len(lots):
        return []
    out: list[Problem] = []
    net = lot_net_mu(lots)
    first: dict[str, int] = {}
    warned_ineligible: set[str] = set()
    unknown_net: set[str] = set()  # counties with a lot whose net quota or status cannot be read
    for i, rec in enumerate(lots.to_dict("records")):
        row = ctx.row("lots", i)
        lot, code = str(rec["lot_id"]).strip(), str(rec["county_code"]).strip()
        if lot:
            if lot in first:
                out.append(problem("lots.csv", row, "lot_id", show(lot), "duplicate_lot", first=first[lot]))
            else:
                first[lot] = row
        if ctx.any_unreadable("lots", i, NET_PARTS + ("status",)):
            unknown_net.add(code)
        elif net[i] < -TOL:
            out.append(problem("lots.csv", row, "area_mu", cell_text(rec["area_mu"]), "lot_negative_net",
                               net=i18n.fmt_number(net[i], 2)))
        if code and code not in ctx.county:
            out.append(problem("lots.csv", row, "county_code", code, "unknown_county"))
        elif code and not ctx.eligible(code) and code not in warned_ineligible:
            warned_ineligible.add(code)
            out.append(problem("lots.csv", row, "county_code", code, "lot_not_eligible", "warning",
                               county=ctx.who(code)))
        ready = _num(rec["ready_year"])
        if ctx.hz is not None and ready > ctx.hz.end:
            out.append(problem("lots.csv", row, "ready_year", show(int(ready)), "lot_after_horizon", "warning",
                               end=ctx.hz.end))
    return out + _surplus_against_lots(ctx, unknown_net)


def _saleable_net_by_county(lots: pd.DataFrame | None) -> dict[str, float]:
    """Net quota of each county's saleable lots (the supply the model uses when lots.csv is given)."""
    if lots is None or not len(lots):
        return {}
    return lots.groupby(lots["county_code"].astype(str))["net_mu"].sum().to_dict()


def _surplus_against_lots(ctx: _Context, unknown_net: set[str]) -> list[Problem]:
    """With lots.csv the lots are the supply; a surplus_mu that says otherwise is out of date or mistyped (not
    checked for the counties in `unknown_net`: a lot of theirs cannot be read)."""
    net = _saleable_net_by_county(ctx.lots)
    out = []
    for code, rec in ctx.county.items():
        surplus = _num(rec["surplus_mu"])
        if math.isnan(surplus) or not ctx.eligible(code) or code in unknown_net:
            continue  # a county that may not sell is told so by validate (not_eligible_surplus)
        lots_mu = float(net.get(code, 0.0))
        if abs(surplus - lots_mu) > 0.005:
            out.append(problem("counties.csv", ctx.row("counties", ctx.county_row[code]), "surplus_mu",
                               cell_text(rec["surplus_mu"]), "surplus_disagrees_lots", "warning",
                               surplus=i18n.fmt_number(surplus, 2), net=i18n.fmt_number(lots_mu, 2)))
    return out


# --------------------------------------------------------------------------- demand by year

def _check_demand(ctx: _Context) -> list[Problem]:
    d = ctx.scn.demand
    if not len(d):
        return []
    out: list[Problem] = []
    if ctx.hz is None:
        out.append(problem("demand.csv", None, "", "", "demand_without_horizon", "warning"))
    first: dict[tuple, int] = {}
    warned: set[str] = set()
    for i, rec in enumerate(d.to_dict("records")):
        row = ctx.row("demand", i)
        code, year = str(rec["county_code"]).strip(), _num(rec["year"])
        if code and code not in ctx.county:
            out.append(problem("demand.csv", row, "county_code", code, "unknown_county"))
            continue
        if code and not _num(ctx.county[code]["demand_mu"]) > MODEL_TOL and code not in warned:
            warned.add(code)
            out.append(problem("demand.csv", row, "county_code", code, "demand_not_buyer", "warning",
                               county=ctx.who(code)))
        if math.isnan(year):
            continue
        if ctx.hz is not None and not ctx.hz.start <= year <= ctx.hz.end:
            out.append(problem("demand.csv", row, "year", show(int(year)), "demand_year_outside", "warning",
                               start=ctx.hz.start, end=ctx.hz.end))
        key = (code, int(year))
        if key in first:
            out.append(problem("demand.csv", row, "year", show(int(year)), "duplicate_demand", "warning",
                               first=first[key]))
        else:
            first[key] = row
    return out


# --------------------------------------------------------------------------- quality grades (article 4(二))

def _check_grades(ctx: _Context) -> list[Problem]:
    """With the quality rule on, a seller (or its lot) or buyer without a grade leaves its pairings unchecked."""
    if ctx.scn.param("rules", "quality_rule") not in ("pair", "aggregate"):
        return []
    out: list[Problem] = []
    col_s = _column("counties", "reclaimed_quality_grade")
    col_b = _column("counties", "occupied_quality_grade")
    lots = ctx.lots
    lot_counties = set() if lots is None else set(lots["county_code"].astype(str))
    for code, rec in ctx.county.items():
        row = ctx.row("counties", ctx.county_row[code])
        seller = ctx.eligible(code) and (_num(rec["surplus_mu"]) > MODEL_TOL if lots is None else code in lot_counties)
        if seller and math.isnan(_num(rec["reclaimed_quality_grade"])) and lots is None:
            out.append(problem("counties.csv", row, col_s.name, "", "missing_grade", "warning",
                               county=ctx.who(code), label=_labels(col_s)))
        if _num(rec["demand_mu"]) > MODEL_TOL and math.isnan(_num(rec["occupied_quality_grade"])):
            out.append(problem("counties.csv", row, col_b.name, "", "missing_grade", "warning",
                               county=ctx.who(code), label=_labels(col_b)))
    if lots is not None:
        for rec in lots.to_dict("records"):
            code = str(rec["county_code"])
            if code not in ctx.county or not ctx.eligible(code):
                continue
            if math.isnan(_num(rec["reclaimed_quality_grade"])) and \
                    math.isnan(_num(ctx.county[code]["reclaimed_quality_grade"])):
                out.append(problem("lots.csv", ctx.row("lots", int(rec["lot_idx"])), "reclaimed_quality_grade", "",
                                   "missing_lot_grade", "warning", lot=str(rec["lot_id"]), county=ctx.who(code)))
    return out


def _column(table: str, name: str) -> schema.Column:
    return next(c for c in schema.TABLES[table][1] if c.name == name)


def _labels(col: schema.Column) -> tuple[str, str]:
    return i18n.label(col, "zh"), i18n.label(col, "en")


# --------------------------------------------------------------------------- deals (articles 2, 15, 16): an eligible
# producing county, the agreed price, the signed agreement

@dataclass(frozen=True)
class Deal:
    """A signed or filed pairs.csv row with its quota: fixed in the plan."""

    index: int  # row of scn.pairs
    row: int  # as a spreadsheet shows it
    seller: str
    buyer: str
    mu: float
    price: float  # agreed, else the band rule's price; NaN when neither is known
    year: float  # NaN: any year of the plan


def _check_deals(ctx: _Context) -> list[Problem]:
    pairs = ctx.scn.pairs
    if not len(pairs):
        return []
    out: list[Problem] = []
    quantity = deal_quantity(pairs)
    deals: list[Deal] = []
    seen: set[tuple] = set()
    for i, rec in enumerate(pairs.to_dict("records")):
        row = ctx.row("pairs", i)
        s, b = str(rec["seller_code"]).strip(), str(rec["buyer_code"]).strip()
        if rec["status"] in DEAL_STATUSES and math.isnan(quantity[i]):
            out.append(problem("pairs.csv", row, "agreed_mu", show(rec["agreed_mu"]), "status_without_mu",
                               "warning", status=_both_choice("deal_status", rec["status"])))
        if math.isnan(quantity[i]) or s not in ctx.county or b not in ctx.county or s == b or (s, b) in seen:
            continue  # unknown, self and duplicate pairs are reported by validate
        seen.add((s, b))
        name = _deal_name(ctx, s, b)
        agreed = _num(rec["agreed_price"])
        if math.isnan(agreed):
            out.append(problem("pairs.csv", row, "agreed_price", "", "deal_without_price", "warning", deal=name))
        if rec["excluded"]:
            out.append(problem("pairs.csv", row, "excluded", show(rec["excluded"]), "deal_excluded", deal=name))
        if not ctx.eligible(s):
            out.append(problem("pairs.csv", row, "seller_code", s, "deal_not_eligible", county=ctx.who(s), deal=name))
            continue  # the model never lets it sell: no cap to check
        year = _num(rec["year"])
        if ctx.hz is not None and not math.isnan(year) and not ctx.hz.start <= year <= ctx.hz.end:
            out.append(problem("pairs.csv", row, "year", show(int(year)), "deal_year_outside", deal=name,
                               start=ctx.hz.start, end=ctx.hz.end))
        deals.append(Deal(i, row, s, b, float(quantity[i]), agreed, year))
    if any(math.isnan(d.price) for d in deals):  # priced by the band rule, as the model prices them
        prices = _pair_prices(ctx.scn)
        deals = [d if not math.isnan(d.price) else replace(d, price=prices.get((d.seller, d.buyer), math.nan))
                 for d in deals]
    for cap in (supply_cap, pair_quality_cap, demand_cap, budget_cap, construction_cap, cultivated_cap,
                quality_cap, partner_caps):
        for breach in cap(ctx, deals):
            out.append(_breach_problem(ctx, breach))
    return out


def _pair_prices(scn: Scenario) -> dict[tuple[str, str], float]:
    """Each candidate pair's price (agreed, else lo + θ(hi − lo)), as the model prices it."""
    try:
        cand = candidate_pairs(scn)
    except (KeyError, ValueError, TypeError):
        return {}
    return dict(zip(zip(cand["seller_code"].astype(str), cand["buyer_code"].astype(str)),
                    cand["price"].astype(float)))


def _deal_name(ctx: _Context, s: str, b: str) -> tuple[str, str]:
    name = lambda c: str(ctx.county.get(c, {}).get("name", "") or c)  # noqa: E731
    return f"{name(s)}→{name(b)}（{s}→{b}）", f"{name(s)} → {name(b)} ({s}→{b})"


def _both_choice(kind: str, code) -> tuple[str, str]:
    return tuple(i18n.choice_label(kind, code, lang) for lang in i18n.LANGS)


@dataclass(frozen=True)
class Breach:
    """Deals that together exceed one cap."""

    cap: str  # locale key validate.cap_<cap>
    county: str
    deals: tuple[Deal, ...]
    total: float
    limit: float
    unit: str  # 亩 | 万元 | "" (a count or a grade sum)
    year: int | None = None


def _breach_problem(ctx: _Context, br: Breach) -> Problem:
    cap = i18n.both(f"validate.cap_{br.cap}", county=ctx.who(br.county), year=br.year if br.year else "")
    names = [_deal_name(ctx, d.seller, d.buyer) for d in br.deals]
    listed = ("、".join(n[0] for n in names), ", ".join(n[1] for n in names))
    unit = f" {br.unit}" if br.unit else ""
    total = f"{i18n.fmt_number(br.total, 2)}{unit}"
    limit = f"{i18n.fmt_number(br.limit, 2)}{unit}"
    first = min(br.deals, key=lambda d: d.row)
    return problem("pairs.csv", first.row, "agreed_mu", show(i18n.fmt_number(first.mu, 2)), "deal_cap", cap=cap,
                   deals=listed, total=total, limit=limit)


def _over(total: float, limit: float) -> bool:
    return total > limit + TOL * max(1.0, abs(limit))


def _by(deals: list[Deal], key: str) -> dict[str, list[Deal]]:
    out: dict[str, list[Deal]] = {}
    for d in deals:
        out.setdefault(getattr(d, key), []).append(d)
    return out


def _supply_units(ctx: _Context, code: str) -> list[tuple[float, float, float]]:
    """(net 亩, ready year or NaN, grade or NaN) of what a seller can sell: its saleable lots (a lot without a
    grade takes its county's), else its surplus_mu (market.supply_units)."""
    if code in ctx.units:
        return ctx.units[code]
    county_grade = _num(ctx.county[code]["reclaimed_quality_grade"])
    if ctx.lots is None:
        surplus = _num(ctx.county[code]["surplus_mu"])
        units = [(0.0 if math.isnan(surplus) else max(surplus, 0.0), math.nan, county_grade)]
    else:
        mine = ctx.lots[ctx.lots["county_code"].astype(str) == code]
        grade = mine["reclaimed_quality_grade"].astype(float).fillna(county_grade)
        units = list(zip(mine["net_mu"].astype(float), mine["ready"].astype(float), grade))
    ctx.units[code] = units
    return units


def supply_cap(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """A seller's deals fit its supply, and (with a horizon) the deals up to each year fit the quota ready by
    then: a deal takes quota ready by its year (market.flows)."""
    out = []
    for s, group in _by(deals, "seller").items():
        units = _supply_units(ctx, s)
        total, supply = sum(d.mu for d in group), sum(u[0] for u in units)
        if _over(total, supply):
            out.append(Breach("supply", s, tuple(group), total, supply, "亩"))
            continue
        for year in sorted({d.year for d in group if not math.isnan(d.year)}):
            upto = [d for d in group if not math.isnan(d.year) and d.year <= year]
            ready = sum(u[0] for u in units if not u[1] > year)
            if _over(sum(d.mu for d in upto), ready):
                out.append(Breach("supply_by", s, tuple(upto), sum(d.mu for d in upto), ready, "亩", int(year)))
                break
    return out


def pair_quality_cap(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """Under the pair rule a deal sells only quota graded no worse than the buyer's (market.flows)."""
    if ctx.scn.param("rules", "quality_rule") != "pair":
        return []
    out = []
    for d in deals:
        g_b = _num(ctx.county[d.buyer]["occupied_quality_grade"])
        usable = sum(mu for mu, ready, grade in _supply_units(ctx, d.seller)
                     if not ready > d.year and not grade > g_b)
        if _over(d.mu, usable):
            out.append(Breach("supply_pair", d.seller, (d,), d.mu, usable, "亩"))
    return out


def _yearly_demand(ctx: _Context) -> dict[str, dict[int, float]]:
    """Buyer -> year -> demand from demand.csv, as the model reads it (only with a horizon; summed)."""
    if ctx.hz is None or not len(ctx.scn.demand):
        return {}
    out: dict[str, dict[int, float]] = {}
    for code, year, mu in demand_rows(ctx.scn):
        if ctx.hz.start <= year <= ctx.hz.end:
            years = out.setdefault(str(code), {t: 0.0 for t in ctx.hz.years})
            years[int(year)] += float(mu)
    return out


def demand_cap(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """A buyer's deals fit its demand: per year where demand.csv gives it, else demand_mu over the plan."""
    out = []
    yearly = _yearly_demand(ctx)
    for b, group in _by(deals, "buyer").items():
        total = sum(d.mu for d in group)
        if b in yearly:
            whole = sum(yearly[b].values())
            if _over(total, whole):
                out.append(Breach("demand", b, tuple(group), total, whole, "亩"))
                continue
            for year, limit in sorted(yearly[b].items()):
                in_year = [d for d in group if d.year == year]
                if in_year and _over(sum(d.mu for d in in_year), limit):
                    out.append(Breach("demand_year", b, tuple(in_year), sum(d.mu for d in in_year), limit, "亩",
                                      year))
            continue
        demand = _num(ctx.county[b]["demand_mu"])
        demand = 0.0 if math.isnan(demand) else demand
        if _over(total, demand):
            out.append(Breach("demand", b, tuple(group), total, demand, "亩"))
    return out


def _buyer_limit(ctx: _Context, deals: list[Deal], cap: str, column: str, per_deal, unit: str) -> list[Breach]:
    """Σ per_deal(deal) over a buyer's deals against a counties.csv column (blank: no limit)."""
    out = []
    for b, group in _by(deals, "buyer").items():
        limit = _num(ctx.county[b][column])
        if math.isnan(limit):
            continue
        total = float(sum(per_deal(d) for d in group))
        if _over(total, limit):
            out.append(Breach(cap, b, tuple(group), total, limit, unit))
    return out


def budget_cap(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """Σ price · quota of a buyer's deals fits its budget."""
    return _buyer_limit(ctx, [d for d in deals if not math.isnan(d.price)], "budget", "budget_wan",
                        lambda d: d.price * d.mu, "万元")


def construction_cap(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """Deals fit the construction headroom on their own: a plan adjustment (article 6 ¶2) is the model's choice,
    never something a signed deal can count on."""
    return _buyer_limit(ctx, deals, "construction", "construction_headroom_mu", lambda d: d.mu, "亩")


def cultivated_cap(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """cultivated_share · Σ quota fits the cultivated-land headroom (article 6 ¶1)."""
    def occupied(d: Deal) -> float:
        share = _num(ctx.county[d.buyer]["cultivated_share"])
        return (1.0 if math.isnan(share) else share) * d.mu
    return _buyer_limit(ctx, deals, "cultivated", "cultivated_headroom_mu", occupied, "亩")


def quality_cap(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """Aggregate rule: Σ (grade_s − grade_b) · quota ≤ 0 over a buyer's deals, each seller at its best grade
    (the model may pick its best lots); a missing grade is not counted (warned about)."""
    if ctx.scn.param("rules", "quality_rule") != "aggregate":
        return []
    out = []
    for b, group in _by(deals, "buyer").items():
        g_b = _num(ctx.county[b]["occupied_quality_grade"])
        if math.isnan(g_b):
            continue
        gap = 0.0
        for d in group:
            grades = [g for _, ready, g in _supply_units(ctx, d.seller) if not ready > d.year]
            known = [g for g in grades if not math.isnan(g)]
            best = min(known) if known and len(known) == len(grades) else g_b
            gap += (best - g_b) * d.mu
        if gap > TOL:
            out.append(Breach("quality", b, tuple(group), gap, 0.0, ""))
    return out


def partner_caps(ctx: _Context, deals: list[Deal]) -> list[Breach]:
    """A deal is a pairing: the deals of a county count against max_partners (when set)."""
    out = []
    for key, cap, param in (("seller", "partners_seller", "max_partners_per_seller"),
                            ("buyer", "partners_buyer", "max_partners_per_buyer")):
        limit = int(ctx.scn.param("rules", param) or 0)
        if limit <= 0:
            continue
        for code, group in _by(deals, key).items():
            if len(group) > limit:
                out.append(Breach(cap, code, tuple(group), len(group), limit, ""))
    return out


# --------------------------------------------------------------------------- payments (article 16)

def _check_payments(ctx: _Context) -> list[Problem]:
    pay = ctx.scn.payments
    if not len(pay):
        return []
    pairs = ctx.scn.pairs
    qty = deal_quantity(pairs)
    deals = {(str(s), str(b)) for s, b, q in zip(pairs["seller_code"], pairs["buyer_code"], qty) if not np.isnan(q)}
    out: list[Problem] = []
    shares: dict[tuple, list] = {}
    for i, rec in enumerate(pay.to_dict("records")):
        row = ctx.row("payments", i)
        s, b = str(rec["seller_code"]).strip(), str(rec["buyer_code"]).strip()
        unknown = [(col, code) for col, code in (("seller_code", s), ("buyer_code", b))
                   if code and code not in ctx.county]
        for col, code in unknown:
            out.append(problem("payments.csv", row, col, code, "unknown_county"))
        if unknown or not (s and b):
            continue
        if (s, b) not in deals:
            out.append(problem("payments.csv", row, "buyer_code", b, "payment_not_deal", "warning",
                               deal=_deal_name(ctx, s, b)))
            continue
        shares.setdefault((s, b), []).append((row, _num(rec["share"])))
    for (s, b), items in shares.items():
        given = [x for _, x in items if not math.isnan(x)]
        if given and abs(sum(given) - 1.0) > 1e-6:
            out.append(problem("payments.csv", items[0][0], "share", show(i18n.fmt_number(sum(given), 4)),
                               "payment_shares", "warning", deal=_deal_name(ctx, s, b),
                               total=i18n.fmt_number(sum(given), 4)))
    return out
