"""Why each county sold or bought less than it could, and what relaxing a limit is worth — in a policy officer's words.

Reasons come from the candidate-pair table (which pairs were admissible and why not), from the plan as printed and
from which model rows bind at the optimum. Shadow prices are the solver's duals turned into "one more 亩 / 万元 here
adds X". Every limit is read through one tolerance (`_used_up`, and `results.is_binding` for model rows): what is
left below the precision a number is stated in (0.01 亩, 0.01 万元) is nothing left, so no reason ever says
"0 亩 left" or calls a budget spent to 25,199.99984 of 25,200 万元 anything but used up.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

from planner import i18n, schema
from planner.model import SolveResult
from planner.model.results import is_binding
from planner.model.rounding import rounding_residue_mu
from planner.scenario import Scenario

MU_TOL = 0.01  # 亩: quota is stated to 0.01 亩; less left than that is nothing left
WAN_TOL = 0.01  # 万元: amounts are stated to 0.01 万元

# Reason, blocking, limit and note words live in the locale files: reason.<code> (with {placeholders} filled per
# county), reason_block.<pair reason>, reason_limit.<binding kind>, reason_outbid.<why>, reason_note.<note>.
BLOCK_REASONS = ("band", "quality", "excluded")
LIMIT_KINDS = ("demand", "budget", "construction", "cultivated", "quality", "partners_buyer")
OWN_LIMITS = ("construction", "cultivated", "quality")  # a buyer's own caps after its budget, in the order reported


def _used_up(left, tol: float = MU_TOL) -> bool:
    """The one tolerance every reason reads a limit by: less than `tol` left (0.01 亩 / 0.01 万元, or the price of
    0.01 亩) is used up."""
    return bool(float(left) < tol)


def _fmt(x: float) -> str:
    """At most 2 decimals, thousands separators, no trailing zeros (the precision quota and money are stated in)."""
    text = f"{float(x):,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _reason(code: str, key: str | None = None, **kw) -> tuple[str, str, str]:
    """(code, zh, en) from the template reason.<key or code>; a (zh, en) tuple value fills each language with its
    part."""
    return (code, *i18n.both(f"reason.{key or code}", **kw))


def _note(key: str, **kw) -> tuple[str, str]:
    return i18n.both(f"reason_note.{key}", **kw)


def _joined(items) -> tuple[str, str]:
    """A list of (zh, en) pieces joined with each language's list separator."""
    return tuple(i18n.t("reason.list_sep", lang).join(w[i] for w in items) for i, lang in enumerate(i18n.LANGS))


def _counted(prefix: str, counts) -> tuple[str, str]:
    """'预算用完 2 个、需求已满 1 个' / 'budget used up: 2, demand filled: 1' from (word code, count) pairs."""
    return _joined([i18n.both("reason.count_item", word=i18n.both(f"{prefix}.{w}"), n=n) for w, n in counts])


def _column(df: pd.DataFrame, col: str) -> pd.Series:
    """A numeric column, all blank when the table lacks it."""
    return pd.to_numeric(df[col], errors="coerce") if col in df else pd.Series(np.nan, index=df.index)


class _Limits:
    """Which limits of each county are used up, read once from the plan as printed and the model rows."""

    def __init__(self, scn: Scenario, result: SolveResult):
        cons = result.constraints
        binding = cons[is_binding(cons["slack"], cons["bound"])] if len(cons) else cons
        self.rows: dict[str, set[str]] = {}
        for kind, code in zip(binding["kind"], binding["county_code"]):
            self.rows.setdefault(str(code), set()).add(kind)
        c = result.counties.set_index("code")
        self.unsold = c["unsold_mu"].to_dict()
        self.unmet = c["unmet_mu"].to_dict()
        self.paid = c["paid_wan"].to_dict()
        self.budget = dict(zip(scn.counties["code"].astype(str), _column(scn.counties, "budget_wan")))
        pairings = result.pairings
        self.flows = Counter(pairings["seller_code"]) + Counter(pairings["buyer_code"])  # rows the plan states
        cand = result.candidates
        ok = cand[cand["admissible"]] if len(cand) else cand
        self.cheapest = ok.groupby("buyer_code")["price"].min().to_dict() if len(ok) else {}
        self.min_lot = float(scn.param("rules", "min_lot_mu") or 0.0) if result.is_mip else 0.0
        self.room = self._buyer_room(scn, result) if self.min_lot > 0 else {}
        # Each seller's reason reads the limits of every buyer it may pair with (and each buyer's, of its sellers):
        # read once per county, not once per pair.
        self._buyer_limits: dict[str, set[str]] = {}
        self._seller_closed: dict[str, bool] = {}

    def _buyer_room(self, scn: Scenario, result: SolveResult) -> dict[str, float]:
        """亩 a buyer could still take as the plan stands: unmet demand, capped by its construction and cultivated
        headroom and by what its budget left buys at its cheapest admissible price."""
        c = scn.counties.set_index(scn.counties["code"].astype(str))

        def num(col: str) -> pd.Series:
            return _column(c, col)

        r = result.counties.set_index("code")
        bought = r["bought_mu"].astype(float)
        adj = (result.pairings.groupby("buyer_code")["plan_adjustment_mu"].sum() if len(result.pairings)
               else pd.Series(dtype=float)).reindex(r.index).fillna(0.0)  # space ceded to it (article 6 ¶2)
        room = r["unmet_mu"].astype(float).copy()
        room = np.fmin(room, (num("construction_headroom_mu") - bought + adj).reindex(r.index))
        share = num("cultivated_share").where(lambda v: v > 0)
        room = np.fmin(room, (num("cultivated_headroom_mu") / share - bought).reindex(r.index))
        price = pd.Series(self.cheapest, dtype=float).where(lambda v: v > 0)
        room = np.fmin(room, ((num("budget_wan") - r["paid_wan"]) / price).reindex(r.index))
        return room.clip(lower=0.0).to_dict()

    def budget_used_up(self, code: str) -> bool:
        """Spent to within 0.01 万元, or what is left cannot buy another 0.01 亩 at the cheapest admissible price."""
        budget = self.budget.get(code, math.nan)
        if budget is None or not math.isfinite(float(budget)):
            return False
        if "budget" in self.rows.get(code, ()):
            return True
        price = float(self.cheapest.get(code, 0.0) or 0.0)
        return _used_up(float(budget) - float(self.paid.get(code, 0.0)), max(WAN_TOL, MU_TOL * price))

    def buyer_limits(self, code: str) -> set[str]:
        """The buyer's used-up limits (kinds of LIMIT_KINDS): demand and budget as printed, the others as model rows."""
        kinds = self._buyer_limits.get(code)
        if kinds is None:
            kinds = {k for k in self.rows.get(code, ()) if k in LIMIT_KINDS}
            if _used_up(self.unmet.get(code, 0.0)):
                kinds.add("demand")
            if self.budget_used_up(code):
                kinds.add("budget")
            self._buyer_limits[code] = kinds
        return kinds

    def rounding_left(self, code: str, kind: str, left: float) -> bool:
        """The model used the limit up (its `kind` row binds) and what the plan leaves is only the rounding of the
        county's flows to 0.01 亩 (rounding them up would break another limit)."""
        return kind in self.rows.get(code, ()) and _used_up(left, rounding_residue_mu(self.flows.get(code, 0)))

    def lot_too_small(self, left: float, partners, other_left: dict, trading) -> bool:
        """With a minimum lot, no open partner could start a new pairing: what is left on one side or the other is
        below min_lot_mu (and it trades with none of them already, where any quantity could be added)."""
        if self.min_lot <= 0 or not len(partners) or set(partners) & set(trading):
            return False
        return all(min(left, float(other_left.get(p, 0.0))) < self.min_lot for p in partners)

    def sold_out(self, code: str) -> bool:
        left = float(self.unsold.get(code, 0.0))
        return _used_up(left) or self.rounding_left(code, "supply", left)

    def seller_closed(self, code: str) -> bool:
        """The seller can sell no more: sold out or its partner limit is reached."""
        closed = self._seller_closed.get(code)
        if closed is None:
            closed = self._seller_closed[code] = self.sold_out(code) or "partners_seller" in self.rows.get(code, ())
        return closed


class _Pairs:
    """Some candidate pairs as plain arrays, one per column, with their row positions in the candidate table.

    The reasons read a few columns of each county's pairs; a DataFrame per county (and its filters) cost most of
    the explanations' time on a national-sized plan."""

    COLUMNS = ("seller_code", "buyer_code", "admissible", "quota_mu", "price", "hi", "lo")

    def __init__(self, cols: dict[str, np.ndarray], rows: np.ndarray, table: pd.DataFrame):
        self.cols, self.rows, self.table = cols, rows, table

    @classmethod
    def of(cls, cand: pd.DataFrame) -> _Pairs:
        cols = {c: cand[c].to_numpy(dtype=object) if c.endswith("_code") else cand[c].to_numpy()
                for c in cls.COLUMNS if c in cand.columns}
        return cls(cols, np.arange(len(cand)), cand)

    def __getitem__(self, col: str) -> np.ndarray:
        return self.cols[col]

    def __contains__(self, col: str) -> bool:
        return col in self.cols

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def empty(self) -> bool:
        return len(self.rows) == 0

    def take(self, positions) -> _Pairs:
        """The pairs at `positions` (indices or a boolean mask)."""
        return _Pairs({c: v[positions] for c, v in self.cols.items()}, self.rows[positions], self.table)

    def reasons(self) -> pd.Series:
        """Why each pair is not admissible, as the candidate table states it."""
        return self.table["reason"].iloc[self.rows]


def explain_counties(scn: Scenario, result: SolveResult) -> pd.DataFrame:
    """One row per county: reason code and text in Chinese and English."""
    cand = result.candidates
    limits = _Limits(scn, result)
    pairs = _Pairs.of(cand)
    moved = pairs.take(pairs["quota_mu"] >= MU_TOL) if "quota_mu" in pairs else pairs.take(slice(0, 0))
    moved_by_seller = pd.Series(np.arange(len(moved))).groupby(moved["seller_code"], sort=False).indices \
        if len(moved) else {}
    names = dict(zip(scn.counties["code"].astype(str), scn.counties["name"]))
    quality_rule = scn.param("rules", "quality_rule")
    objective = scn.param("rules", "objective")
    # Row positions of each county's candidate pairs, found once (a filter per county is quadratic at scale).
    seller_rows = cand.groupby("seller_code", sort=False).indices if len(cand) else {}
    buyer_rows = cand.groupby("buyer_code", sort=False).indices if len(cand) else {}
    no_rows = np.zeros(0, dtype=np.int64)
    pairings = result.pairings
    rows = []
    # Computed once, not per county: a national plan has thousands of pairings.
    adjusted = pairings[pairings["plan_adjustment_mu"] >= MU_TOL] if "plan_adjustment_mu" in pairings.columns \
        else pairings.iloc[0:0]
    adjusting = set(adjusted["seller_code"].astype(str)) | set(adjusted["buyer_code"].astype(str))
    by_buyer = _pairings_by_buyer(pairings)
    for rec in result.counties.to_dict("records"):
        code = rec["code"]
        role = rec["role"]
        parts, notes = [], []
        if not result.has_solution:
            parts.append(_reason("not_solved"))
        else:
            if rec["surplus_mu"] > 0 and not rec["eligible_seller"]:
                parts.append(_reason("not_eligible"))
            if role in ("seller", "both"):
                parts.append(_seller_reason(rec, pairs.take(seller_rows.get(code, no_rows)), limits))
            if role in ("buyer", "both"):
                parts.append(_buyer_reason(rec, pairs.take(buyer_rows.get(code, no_rows)), limits, moved,
                                           moved_by_seller, objective))
            if not parts:
                parts.append(_reason("none"))
            notes = (_adjustment_notes(code, adjusted, names) if code in adjusting else []) + \
                (_quality_notes(by_buyer[code], names, quality_rule) if code in by_buyer else [])
        rows.append({"code": code, "name": rec["name"], "role": role,
                     "reason_code": ";".join(p[0] for p in parts),
                     "reason_zh": "".join([p[1] for p in parts] + [n[0] for n in notes]),
                     "reason_en": " ".join([p[2] for p in parts] + [n[1] for n in notes])})
    return pd.DataFrame(rows, columns=["code", "name", "role", "reason_code", "reason_zh", "reason_en"])


def _blocked_detail(pairs: _Pairs) -> tuple[str, str]:
    counts = [(r, n) for r, n in pairs.reasons().value_counts().items() if r in BLOCK_REASONS]
    return _counted("reason_block", counts) if counts else i18n.both("reason_block.none")


def _seller_reason(rec, pairs: _Pairs, limits: _Limits) -> tuple[str, str, str]:
    left = rec["unsold_mu"]
    if _used_up(left):
        return _reason("fully_sold")
    ok = pairs.take(pairs["admissible"])
    if ok.empty:
        return _reason("no_partner_seller", detail=_blocked_detail(pairs))
    if "partners_seller" in limits.rows.get(rec["code"], set()):
        return _reason("partner_limit", left=_fmt(left))
    if limits.rounding_left(rec["code"], "supply", left):
        return _reason("rounding_left", left=_fmt(left))
    full = [limits.buyer_limits(b) for b in ok["buyer_code"]]
    if all(full):  # every buyer it may pair with has a limit used up
        counts: dict[str, int] = {}
        for kinds in full:
            for kind in kinds:
                counts[kind] = counts.get(kind, 0) + 1
        # in the order of LIMIT_KINDS, not of a set (which changes from one run to the next)
        ordered = sorted(counts.items(), key=lambda kv: LIMIT_KINDS.index(kv[0]))
        return _reason("buyers_full", left=_fmt(left), detail=_counted("reason_limit", ordered))
    open_buyers = [b for b, kinds in zip(ok["buyer_code"], full) if not kinds]
    trading = ok["buyer_code"][ok["quota_mu"] >= MU_TOL] if "quota_mu" in ok else []
    if limits.lot_too_small(left, open_buyers, limits.room, trading):
        return _reason("min_lot", left=_fmt(left), lot=_fmt(limits.min_lot))
    return _reason("not_chosen", left=_fmt(left))


def _buyer_reason(rec, pairs: _Pairs, limits: _Limits, moved: _Pairs, moved_by_seller: dict,
                  objective: str) -> tuple[str, str, str]:
    code = rec["code"]
    left = rec["unmet_mu"]
    if _used_up(left):
        return _reason("fully_met")
    if limits.budget_used_up(code):
        return _reason("budget", left=_fmt(left), budget=_fmt(limits.budget[code]))
    ok = pairs.take(pairs["admissible"])
    if ok.empty:
        return _reason("no_partner_buyer", detail=_blocked_detail(pairs))
    own = limits.buyer_limits(code)
    for kind in OWN_LIMITS:
        if kind in own:
            return _reason(kind, left=_fmt(left))
    if "partners_buyer" in own:
        return _reason("partner_limit", "partner_limit_buyer", left=_fmt(left))
    if limits.rounding_left(code, "demand", left):
        return _reason("rounding_left", "rounding_left_buyer", left=_fmt(left))
    # Its limits have room: a seller it may pair with that still has quota was simply not chosen (the objective or
    # lot sizes); outbid only when every such seller is sold out and sold to some other buyer.
    open_sellers = [s for s in ok["seller_code"] if not limits.seller_closed(s)]
    if open_sellers:
        trading = ok["seller_code"][ok["quota_mu"] >= MU_TOL] if "quota_mu" in ok else []
        if limits.lot_too_small(min(left, limits.room.get(code, left)), open_sellers, limits.unsold, trading):
            return _reason("min_lot", "min_lot_buyer", left=_fmt(left), lot=_fmt(limits.min_lot))
        return _reason("not_chosen", "not_chosen_buyer", left=_fmt(left))
    sold = [moved_by_seller[s] for s in set(ok["seller_code"]) if s in moved_by_seller]  # what its sellers moved
    to_others = moved.take(np.sort(np.concatenate(sold))) if sold else moved.take(slice(0, 0))
    to_others = to_others.take(to_others["buyer_code"] != code)
    if to_others.empty:
        return _reason("supply_short", left=_fmt(left))
    return _reason("outbid", left=_fmt(left), who=i18n.both(f"reason_outbid.{_outbid_why(ok, to_others, objective)}"))


def _outbid_why(own_pairs: _Pairs, to_others: _Pairs, objective: str) -> str:
    """'better_<objective>' when some seller's quota went where it scores more under the objective, else 'equal'."""
    if objective == "volume":
        return "equal"
    score = (lambda p: p["price"]) if objective == "proceeds" else (lambda p: p["hi"] - p["lo"])
    mine = dict(zip(own_pairs["seller_code"], score(own_pairs)))
    better = any(v > mine.get(s, math.inf) + 1e-9 for s, v in zip(to_others["seller_code"], score(to_others)))
    return f"better_{objective}" if better else "equal"


def _adjustment_notes(code: str, pairings: pd.DataFrame, names: dict) -> list[tuple[str, str]]:
    """Article 6 ¶2 in the document's words, on both sides' reasons: 调减<seller>建设用地总规模 X 亩、相应调增<buyer> X 亩."""
    if "plan_adjustment_mu" not in pairings.columns or pairings.empty:
        return []
    adj = pairings[((pairings["seller_code"] == code) | (pairings["buyer_code"] == code))
                   & (pairings["plan_adjustment_mu"] >= MU_TOL)]
    by_pair = adj.groupby(["buyer_code", "seller_code"], sort=False)["plan_adjustment_mu"].sum()
    changes: dict[str, list[tuple[str, str]]] = {}  # one sentence per buyer short of space, one change per seller
    for (b, s), mu in by_pair.items():
        if not _used_up(mu):
            changes.setdefault(b, []).append(i18n.both("reason_note.plan_adjustment_item", seller=names.get(s, s),
                                                       buyer=names.get(b, b), mu=_fmt(mu)))
    return [_note("plan_adjustment", buyer=names.get(b, b), changes=tuple(
        i18n.t("reason_note.item_sep", lang).join(item[i] for item in items) for i, lang in enumerate(i18n.LANGS)))
        for b, items in changes.items()]


def _pairings_by_buyer(pairings: pd.DataFrame) -> dict[str, list[dict]]:
    """Per buyer, its first pairing with each seller (seller, quality check, both grades), in plan order."""
    if "quality_check" not in pairings.columns or pairings.empty:
        return {}
    out: dict[str, dict[str, dict]] = {}
    cols = ["seller_code", "buyer_code", "quality_check", "reclaimed_grade", "occupied_grade"]
    for r in pairings[cols].astype({"seller_code": object, "buyer_code": object,
                                    "quality_check": object}).to_dict("records"):
        out.setdefault(str(r["buyer_code"]), {}).setdefault(r["seller_code"], r)
    return {b: list(by_seller.values()) for b, by_seller in out.items()}


def _quality_notes(mine: list[dict], names: dict, quality_rule: str) -> list[tuple[str, str]]:
    """Article 4(二) on the buyer's reason: pairs a grade is missing for (when a quality rule is on), or pairs whose
    reclaimed farmland is worse than the farmland taken (when the rule is off). `mine`: the buyer's first pairing
    with each seller (_pairings_by_buyer)."""
    if quality_rule in ("pair", "aggregate"):
        unchecked = [r["seller_code"] for r in mine if r["quality_check"] == "unchecked"]
        if unchecked:
            return [_note("quality_unchecked", pairs=_joined([(names.get(s, s),) * 2 for s in unchecked]))]
        return []
    worse = [r for r in mine if r["quality_check"] == "worse"]
    if not worse:
        return []
    items = [i18n.both("reason_note.quality_worse_item", seller=names.get(r["seller_code"], r["seller_code"]),
                       reclaimed=_fmt(r["reclaimed_grade"]), occupied=_fmt(r["occupied_grade"])) for r in worse]
    return [_note("quality_worse", pairs=_joined(items))]


# --------------------------------------------------------------------------- shadow prices

# Shadow-price sentences are shadow.<kind> in the locale files; the objective's unit is objective_unit.<objective>.
SHADOW_KINDS = ("supply", "demand", "budget", "construction", "cultivated", "adjust_cap", "quality", "min_sale")


def shadow_prices(scn: Scenario, result: SolveResult) -> pd.DataFrame:
    """County-level limits with a shadow price that prints as a number (not 0 at 2 decimals), largest first. For an
    integer plan they hold with its pairings fixed (`integer.pairing_duals`); empty when there are none."""
    cols = ["kind", "code", "name", "shadow_price", "text_zh", "text_en"]
    cons = result.constraints
    if cons.empty or cons["shadow_price"].isna().all():
        return pd.DataFrame(columns=cols)
    names = dict(zip(scn.counties["code"], scn.counties["name"]))
    unit = i18n.both(f"objective_unit.{scn.param('rules', 'objective')}")
    weighted = (float(scn.param("rules", "priority_weight_national_key")) != 1.0
                or float(scn.param("rules", "priority_weight_provincial")) != 1.0)
    if weighted:
        unit = i18n.both("objective_unit.weighted", unit=unit)
    sel = cons[(cons["county_code"] != "") & (cons["shadow_price"].abs() > 1e-7) & cons["kind"].isin(SHADOW_KINDS)]
    if sel.empty:  # nothing binds with a price (e.g. every price 0): mapping an empty str column below stays str
        return pd.DataFrame(columns=cols)
    # When a seller misses its minimum sale, the dual of its min_sale row is the shortfall penalty M itself, and any
    # other row that would let it sell more carries M too (k·M for k 亩 of shortfall avoided). Those values count
    # 亩 of shortfall, not 万元, so they are not shown; M is read off the missed rows (|values| >= M/1000 dropped).
    sold = sel["county_code"].map(dict(zip(result.counties["code"], result.counties["sold_mu"]))).fillna(0.0)
    missed = (sel["kind"] == "min_sale") & (sold < sel["bound"] - MU_TOL)
    if missed.any():
        penalty = float(sel.loc[missed, "shadow_price"].abs().min())
        sel = sel[~missed & (sel["shadow_price"].abs() < 1e-3 * penalty)]
    rows = []
    lots = sel["lot_id"] if "lot_id" in sel else pd.Series("", index=sel.index)
    for kind, code, value, lot in zip(sel["kind"], sel["county_code"], sel["shadow_price"], lots):
        if _fmt(abs(float(value))) == "0":  # "adds 0" says nothing
            continue
        name = names.get(code, code)
        who = (f"{name}（{lot}）", f"{name} ({lot})") if lot else name  # a lot's supply: which of the county's lots
        text_zh, text_en = i18n.both(f"shadow.{kind}", name=who, unit=unit, v=_fmt(float(value)))
        rows.append({"kind": kind, "code": code, "name": name, "shadow_price": float(value),
                     "text_zh": text_zh, "text_en": text_en})
    out = pd.DataFrame(rows, columns=cols)
    if out.empty:
        return out
    return out.sort_values("shadow_price", ascending=False, key=np.abs).reset_index(drop=True)


def county_report(scn: Scenario, result: SolveResult) -> pd.DataFrame:
    """The per-county table with its reason, as written to counties.csv."""
    reasons = explain_counties(scn, result)[["code", "reason_code", "reason_zh", "reason_en"]]
    return result.counties.merge(reasons, on="code", how="left")


__all__ = ["explain_counties", "shadow_prices", "county_report", "MU_TOL", "WAN_TOL", "schema"]
