"""What the proceeds page (收益分配) draws, built from planner.proceeds' plain tables: localised tables, the allocation
CSV and Altair charts. No Streamlit here (and no allocation logic): every function takes DataFrames and a language
and returns a DataFrame, bytes or an Altair chart, so it can be tested without a browser.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planner.export import csv_bytes
from planner.i18n import choice_label, fmt_number, t
from planner.proceeds import Allocation, lorenz
from ui.figures import top_legend

PROVINCE = "__province__"  # the scope "whole province" in the county picker
MODE_ORDER = ("centralized", "dispersed", "urban", "other")
RULE_COLORS = {"per_capita": "#1c7ed6", "per_household": "#2b8a3e", "by_area": "#e8590c", "hybrid": "#9c36b5"}
WATERFALL_COLORS = {"total": "#1c7ed6", "deduction": "#e8590c", "unallocated": "#868e96"}
ORIGIN_COLORS = ("#2b8a3e", "#e8590c")  # own county, moved in from elsewhere

ALLOCATION_COLUMNS = ["county_name", "county_code", "group_id", "village", "resettlement_mode", "destination_name",
                      "destination_code", "households", "persons", "reclaimed_mu", "household_wan", "collective_wan",
                      "total_wan", "per_person_wan", "per_household_wan"]


NUMBER_FORMATS = {"m.mean": "%.2f", "m.gini": "%.3f", "m.cv": "%.3f", "m.gap": "%.1f", "col.households": "%d",
                  "col.persons": "%d", "col.reclaimed_mu": "%.1f", "col.household_wan": "%.2f",
                  "col.collective_wan": "%.2f", "col.total_wan": "%.2f", "col.per_person_wan": "%.2f",
                  "col.per_household_wan": "%.2f"}


def number_formats(lang: str) -> dict[str, str]:
    """Display format per localised table header (for st.column_config.NumberColumn)."""
    return {t(f"proceeds.{key}", lang): fmt for key, fmt in NUMBER_FORMATS.items()}


def rule_label(rule: str, lang: str) -> str:
    return choice_label("rule", rule, lang)


def mode_label(mode: str, lang: str) -> str:
    return choice_label("resettlement_mode", mode, lang)


def _rule_scale(rules: list[str], lang: str) -> alt.Scale:
    return alt.Scale(domain=[rule_label(r, lang) for r in rules],
                     range=[RULE_COLORS.get(r, "#495057") for r in rules])


# --------------------------------------------------------------------------- scope


def scoped(groups: pd.DataFrame, county: str | None) -> pd.DataFrame:
    return groups if county is None else groups[groups["county_code"] == county]


# --------------------------------------------------------------------------- tables


def metrics_view(metrics: pd.DataFrame, adopted: str, lang: str) -> pd.DataFrame:
    """The comparison metrics per rule with localised headers; the adopted rule marked ★."""
    yes, no = t("common.yes", lang), t("common.no", lang)
    return pd.DataFrame({
        t("proceeds.m.rule", lang): [rule_label(r, lang) for r in metrics["rule"]],
        t("proceeds.m.adopted", lang): ["★" if r == adopted else "" for r in metrics["rule"]],
        t("proceeds.m.mean", lang): metrics["mean_per_person_wan"].astype(float).round(2),
        t("proceeds.m.gini", lang): metrics["gini"].astype(float).round(3),
        t("proceeds.m.cv", lang): metrics["cv"].astype(float).round(3),
        t("proceeds.m.ratio", lang): [fmt_number(v, 2) for v in metrics["max_min_ratio"]],
        t("proceeds.m.gap", lang): (metrics["mode_gap"].astype(float) * 100).round(1),
        t("proceeds.m.equal", lang): [yes if bool(v) else no for v in metrics["equal_benefit"]],
    }).reset_index(drop=True)


def allocation_view(groups: pd.DataFrame, lang: str, precise: bool = False) -> pd.DataFrame:
    """One row per relocated group with localised headers and mode labels. Money to 0.01 万元 on screen;
    `precise` (the CSV) keeps 0.0001 万元 = 1 元."""
    df = groups[[c for c in ALLOCATION_COLUMNS if c in groups.columns]].copy()
    df["resettlement_mode"] = [mode_label(m, lang) for m in df["resettlement_mode"]]
    for c in ("households", "persons"):
        df[c] = df[c].astype(float).round(0).astype("Int64")
    df["reclaimed_mu"] = df["reclaimed_mu"].astype(float).round(2)
    digits = 4 if precise else 2
    for c in ("household_wan", "collective_wan", "total_wan", "per_person_wan", "per_household_wan"):
        df[c] = df[c].astype(float).round(digits)
    return df.rename(columns={c: t(f"proceeds.col.{c}", lang) for c in df.columns}).reset_index(drop=True)


def allocation_csv(groups: pd.DataFrame, rule: str, lang: str, audit: dict | None = None) -> bytes:
    """The allocation as Excel opens it on Chinese Windows (UTF-8 BOM, formula-safe), rule in the first column,
    the audit record (planner.audit.audit_record) in trailing columns when given."""
    view = allocation_view(groups, lang, precise=True)
    view.insert(0, t("proceeds.col.rule", lang), rule_label(rule, lang))
    return csv_bytes(view, audit, lang)


def moves_view(groups: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Groups resettled outside their own county: where their money goes."""
    moved = groups[groups["destination_code"] != groups["county_code"]]
    cols = ["county_name", "village", "group_id", "resettlement_mode", "destination_name", "persons",
            "household_wan", "per_person_wan"]
    df = moved[cols].copy()
    df["resettlement_mode"] = [mode_label(m, lang) for m in df["resettlement_mode"]]
    df["persons"] = df["persons"].astype(float).round(0).astype("Int64")
    df["household_wan"] = df["household_wan"].astype(float).round(2)
    df["per_person_wan"] = df["per_person_wan"].astype(float).round(2)
    return df.rename(columns={c: t(f"proceeds.col.{c}", lang) for c in df.columns}).reset_index(drop=True)


# --------------------------------------------------------------------------- per-person benefit


def _unit_labels(groups: pd.DataFrame) -> pd.Series:
    """A short, unique label per group: the village (the group id when blank or repeated)."""
    village = groups["village"].fillna("").astype(str).str.strip()
    label = village.where(village != "", groups["group_id"].astype(str))
    dup = label.duplicated(keep=False)
    return label.where(~dup, label + "（" + groups["group_id"].astype(str) + "）")


def benefit_frame(allocs: dict[str, Allocation], rules: list[str], county: str | None, lang: str) -> pd.DataFrame:
    """Per-person benefit of every relocated group under every rule (long). `unit` is the row of the chart: the
    group within one county, or its producing county for the whole province."""
    columns = ["unit", "group", "county", "mode", "rule", "per_person", "persons", "household_wan"]
    frames = []
    for rule in rules:
        g = scoped(allocs[rule].groups, county)
        g = g[g["persons"] > 0]
        county_names = g["county_name"].fillna(g["county_code"]).astype(str).to_numpy()
        agg = pd.DataFrame({"group": _unit_labels(g).to_numpy(), "county": county_names,
                            "mode": [mode_label(m, lang) for m in g["resettlement_mode"]],
                            "rule": rule_label(rule, lang),
                            "per_person": (g["household_wan"] / g["persons"]).round(3).to_numpy(),
                            "persons": g["persons"].to_numpy(), "household_wan": g["household_wan"].round(2).to_numpy()})
        agg["unit"] = agg["county"] if county is None else agg["group"]
        frames.append(agg[columns])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def benefit_chart(df: pd.DataFrame, rules: list[str], by_county: bool, lang: str) -> alt.Chart | None:
    """One county: horizontal grouped bars, one row per group, one bar per rule. Whole province: one row per
    producing county, one lane per rule and one dot per group in it, so the spread inside a county shows."""
    if df.empty:
        return None
    units = list(dict.fromkeys(df["unit"]))
    rule_order = [rule_label(r, lang) for r in rules]
    tips = [alt.Tooltip("county:N", title=t("proceeds.axis.county", lang)),
            alt.Tooltip("group:N", title=t("proceeds.axis.group", lang)),
            alt.Tooltip("mode:N", title=t("proceeds.axis.mode", lang)),
            alt.Tooltip("rule:N", title=t("proceeds.axis.rule", lang)),
            alt.Tooltip("per_person:Q", title=t("proceeds.axis.per_person", lang), format=",.2f"),
            alt.Tooltip("persons:Q", title=t("proceeds.axis.persons", lang), format=",.0f"),
            alt.Tooltip("household_wan:Q", title=t("proceeds.axis.household_wan", lang), format=",.1f")]
    lane = 9 if len(rules) > 2 else 12
    # Streamlit fits the whole chart into `height`: legend on top and x axis below take about 120 px
    height = 120 + len(units) * (len(rules) * lane + 10)
    y = alt.Y("unit:N", sort=units, title=None, axis=alt.Axis(labelLimit=220, grid=by_county))
    y_offset = alt.YOffset("rule:N", sort=rule_order)
    x = alt.X("per_person:Q", title=t("proceeds.axis.per_person", lang))
    color = alt.Color("rule:N", scale=_rule_scale(rules, lang), title=t("proceeds.axis.rule", lang),
                      legend=top_legend())
    mark = (alt.Chart(df).mark_circle(size=55, opacity=0.75, stroke="white", strokeWidth=0.5) if by_county
            else alt.Chart(df).mark_bar())
    return mark.encode(y=y, yOffset=y_offset, x=x, color=color, tooltip=tips).properties(height=height)


def mode_frame(modes: pd.DataFrame, rules: list[str], lang: str) -> pd.DataFrame:
    if modes.empty:
        return pd.DataFrame(columns=["rule", "mode", "per_person", "persons", "household_wan"])
    df = modes[modes["rule"].isin(rules)].copy()
    return pd.DataFrame({"rule": [rule_label(r, lang) for r in df["rule"]],
                         "mode": [mode_label(m, lang) for m in df["resettlement_mode"]],
                         "per_person": df["per_person_wan"].astype(float).round(3).to_numpy(),
                         "persons": df["persons"].to_numpy(), "household_wan": df["household_wan"].to_numpy()})


def mode_chart(df: pd.DataFrame, rules: list[str], lang: str) -> alt.Chart | None:
    """Vertical grouped bars: one group per resettlement mode, one bar per rule, values on top."""
    if df.empty:
        return None
    order = [mode_label(m, lang) for m in MODE_ORDER if mode_label(m, lang) in set(df["mode"])]
    order += [m for m in dict.fromkeys(df["mode"]) if m not in order]
    rule_order = [rule_label(r, lang) for r in rules]
    base = alt.Chart(df).encode(
        x=alt.X("mode:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelFontSize=13)),
        xOffset=alt.XOffset("rule:N", sort=rule_order),
        y=alt.Y("per_person:Q", title=t("proceeds.axis.per_person", lang)),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("rule:N", scale=_rule_scale(rules, lang), title=t("proceeds.axis.rule", lang),
                        legend=top_legend()),
        tooltip=[alt.Tooltip("mode:N", title=t("proceeds.axis.mode", lang)),
                 alt.Tooltip("rule:N", title=t("proceeds.axis.rule", lang)),
                 alt.Tooltip("per_person:Q", title=t("proceeds.axis.per_person", lang), format=",.2f"),
                 alt.Tooltip("persons:Q", title=t("proceeds.axis.persons", lang), format=",.0f")])
    labels = base.mark_text(dy=-6, fontSize=10, color="#343a40").encode(text=alt.Text("per_person:Q", format=".1f"))
    return (bars + labels).properties(height=320)


def mode_bars(df: pd.DataFrame, lang: str) -> alt.Chart | None:
    """One rule: one horizontal bar per resettlement mode, the money per person written at its end (what a
    reader without statistics wants first: how much each relocated person gets, by how they were resettled)."""
    if df.empty:
        return None
    order = [mode_label(m, lang) for m in MODE_ORDER if mode_label(m, lang) in set(df["mode"])]
    order += [m for m in dict.fromkeys(df["mode"]) if m not in order]
    data = df.assign(label=[t("proceeds.mode_bar_label", lang, value=fmt_number(v, 2), persons=fmt_number(n, 0))
                            for v, n in zip(df["per_person"], df["persons"])])
    base = alt.Chart(data).encode(
        y=alt.Y("mode:N", sort=order, title=None, axis=alt.Axis(labelFontSize=14, labelLimit=200)),
        x=alt.X("per_person:Q", title=t("proceeds.axis.per_person", lang),
                scale=alt.Scale(domain=[0, float(data["per_person"].max()) * 1.45 or 1.0])))
    bars = base.mark_bar(size=30, color=RULE_COLORS["per_capita"]).encode(
        tooltip=[alt.Tooltip("mode:N", title=t("proceeds.axis.mode", lang)),
                 alt.Tooltip("per_person:Q", title=t("proceeds.axis.per_person", lang), format=",.2f"),
                 alt.Tooltip("persons:Q", title=t("proceeds.axis.persons", lang), format=",.0f")])
    text = base.mark_text(align="left", dx=6, fontSize=14, color="#212529").encode(text="label:N")
    return (bars + text).properties(height=60 + 48 * len(order))


# --------------------------------------------------------------------------- Lorenz curves


def lorenz_frame(allocs: dict[str, Allocation], rules: list[str], county: str | None, lang: str) -> pd.DataFrame:
    frames = []
    for rule in rules:
        g = scoped(allocs[rule].groups, county)
        g = g[g["persons"] > 0]
        curve = lorenz(g["per_person_wan"].to_numpy(dtype=float), g["persons"].to_numpy(dtype=float))
        curve["rule"] = rule_label(rule, lang)
        curve["order"] = range(len(curve))
        frames.append(curve)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["population_share", "money_share", "rule", "order"])


def lorenz_chart(df: pd.DataFrame, rules: list[str], lang: str) -> alt.Chart | None:
    if df.empty:
        return None
    x = alt.X("population_share:Q", title=t("proceeds.axis.population_share", lang), scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%"))
    y = alt.Y("money_share:Q", title=t("proceeds.axis.money_share", lang), scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%"))
    diagonal = pd.DataFrame({"population_share": [0.0, 1.0], "money_share": [0.0, 1.0],
                             "label": [t("proceeds.axis.equality", lang)] * 2})
    eq = alt.Chart(diagonal).mark_line(color="#868e96", strokeDash=[5, 4]).encode(
        x=x, y=y, tooltip=[alt.Tooltip("label:N", title=" ")])
    spot = pd.DataFrame({"population_share": [0.3], "money_share": [0.3], "label": [t("proceeds.axis.equality", lang)]})
    eq_text = alt.Chart(spot).mark_text(align="right", dx=-8, dy=-8, color="#868e96", fontSize=12).encode(
        x=x, y=y, text="label:N")
    dashes = [[1, 0], [8, 4], [2, 3], [10, 3, 2, 3]]  # curves often coincide: each rule its own dash
    curves = alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=18), strokeWidth=2, opacity=0.85).encode(
        x=x, y=y, order="order:Q",
        strokeDash=alt.StrokeDash("rule:N", scale=alt.Scale(domain=[rule_label(r, lang) for r in rules],
                                                            range=dashes[:len(rules)]), legend=None),
        color=alt.Color("rule:N", scale=_rule_scale(rules, lang), title=t("proceeds.axis.rule", lang),
                        legend=top_legend()),
        tooltip=[alt.Tooltip("rule:N", title=t("proceeds.axis.rule", lang)),
                 alt.Tooltip("population_share:Q", title=t("proceeds.axis.population_share", lang), format=".1%"),
                 alt.Tooltip("money_share:Q", title=t("proceeds.axis.money_share", lang), format=".1%")])
    return (eq + eq_text + curves).properties(height=340)


# --------------------------------------------------------------------------- money by destination


def destination_frame(groups: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Household money by destination county, split into own-county groups and groups from elsewhere (long)."""
    g = groups.copy()
    if g.empty:
        return pd.DataFrame(columns=["destination", "origin", "amount", "persons", "order"])
    g["destination"] = g["destination_name"].fillna(g["destination_code"]).astype(str)
    g["own"] = g["destination_code"] == g["county_code"]
    totals = g.groupby("destination")["household_wan"].sum().sort_values(ascending=False)
    rows = []
    for dest, part in g.groupby("destination", sort=False):
        for own, origin_key in ((True, "axis.own"), (False, "axis.elsewhere")):
            sub = part[part["own"] == own]
            if len(sub):
                rows.append({"destination": dest, "origin": t(f"proceeds.{origin_key}", lang),
                             "amount": round(float(sub["household_wan"].sum()), 2),
                             "persons": float(sub["persons"].sum()), "order": 0 if own else 1,
                             "sources": "、".join(dict.fromkeys(sub["county_name"].fillna(sub["county_code"])
                                                              .astype(str)))})
    out = pd.DataFrame(rows)
    out["rank"] = out["destination"].map({d: i for i, d in enumerate(totals.index)})
    return out.sort_values(["rank", "order"]).reset_index(drop=True)


def destination_chart(df: pd.DataFrame, lang: str) -> alt.Chart | None:
    if df.empty or float(df["amount"].sum()) <= 0:
        return None
    dests = list(dict.fromkeys(df["destination"]))
    origins = [t("proceeds.axis.own", lang), t("proceeds.axis.elsewhere", lang)]
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("destination:N", sort=dests, title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("amount:Q", title=t("proceeds.axis.household_wan", lang), stack="zero"),
        color=alt.Color("origin:N", scale=alt.Scale(domain=origins, range=list(ORIGIN_COLORS)),
                        title=t("proceeds.axis.origin", lang), legend=top_legend()),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("destination:N", title=t("proceeds.axis.destination", lang)),
                 alt.Tooltip("origin:N", title=t("proceeds.axis.origin", lang)),
                 alt.Tooltip("sources:N", title=t("proceeds.col.county_name", lang)),
                 alt.Tooltip("amount:Q", title=t("proceeds.axis.household_wan", lang), format=",.1f"),
                 alt.Tooltip("persons:Q", title=t("proceeds.axis.persons", lang), format=",.0f")],
    ).properties(height=150 + 34 * len(dests))  # legend and axis included (Streamlit fits the chart)


# --------------------------------------------------------------------------- deductions waterfall


def _share_of(amount: float, gross: float, lang: str, is_gross: bool = False) -> str:
    """ "（12.5%）": a step as a share of the gross proceeds, in percent (never 0.125)."""
    if is_gross or gross <= 0:
        return ""
    return t("proceeds.share_of_gross", lang, pct=f"{amount / gross * 100:.1f}")


def waterfall_frame(counties: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Gross → reclamation → financing → collective (→ unallocated) → household pool, with running totals.
    `counties` is Allocation.counties, one row (a county) or several (summed, e.g. the whole province)."""
    s = counties[["gross_wan", "reclamation_wan", "financing_wan", "collective_wan", "unallocated_wan",
                  "household_wan"]].astype(float).sum()
    steps = [("wf.gross", "total", s["gross_wan"]), ("wf.reclamation", "deduction", s["reclamation_wan"]),
             ("wf.financing", "deduction", s["financing_wan"]), ("wf.collective", "deduction", s["collective_wan"])]
    if s["unallocated_wan"] > 0.005:
        steps.append(("wf.unallocated", "unallocated", s["unallocated_wan"]))
    rows, running = [], 0.0
    for i, (key, kind, amount) in enumerate(steps):
        if kind == "total":
            start, end = 0.0, amount
            running = amount
        else:
            start, end = running, running - amount
            running = end
        label = fmt_number(amount, 1) if kind == "total" or amount < 0.05 else "−" + fmt_number(amount, 1)
        rows.append({"step": t(f"proceeds.{key}", lang), "kind": kind, "start": start, "end": end, "amount": amount,
                     "label": label + _share_of(amount, s["gross_wan"], lang, kind == "total"), "order": i})
    rows.append({"step": t("proceeds.wf.household", lang), "kind": "total", "start": 0.0, "end": s["household_wan"],
                 "amount": s["household_wan"], "order": len(rows),
                 "label": fmt_number(s["household_wan"], 1) + _share_of(s["household_wan"], s["gross_wan"], lang)})
    df = pd.DataFrame(rows)
    df["top"] = df[["start", "end"]].max(axis=1)
    kinds = {"total": "wf.total", "deduction": "wf.deduction", "unallocated": "wf.unallocated"}
    df["kind_label"] = [t(f"proceeds.{kinds[k]}", lang) for k in df["kind"]]
    return df


def waterfall_chart(df: pd.DataFrame, lang: str) -> alt.Chart | None:
    if df.empty or float(df["amount"].abs().sum()) <= 0:
        return None
    order = df["step"].tolist()
    kinds = [k for k in ("total", "deduction", "unallocated") if k in set(df["kind"])]
    labels = [df.loc[df["kind"] == k, "kind_label"].iloc[0] for k in kinds]
    # Step names side by side ran into each other at half-page width ("流转收益复垦成本"): slanted, they keep apart.
    x = alt.X("step:N", sort=order, title=None,
              axis=alt.Axis(labelAngle=-30, labelAlign="right", labelFontSize=12, labelLimit=240, labelOverlap=False))
    bars = alt.Chart(df).mark_bar(size=46).encode(
        # headroom above the tallest bar for its two-line label, below the legend
        x=x, y=alt.Y("start:Q", title=t("proceeds.axis.amount", lang),
                     scale=alt.Scale(domainMax=1.15 * float(df["top"].max()))), y2="end:Q",
        color=alt.Color("kind_label:N", scale=alt.Scale(domain=labels, range=[WATERFALL_COLORS[k] for k in kinds]),
                        title=t("proceeds.axis.kind", lang), legend=top_legend()),
        tooltip=[alt.Tooltip("step:N", title=t("proceeds.axis.step", lang)),
                 alt.Tooltip("label:N", title=t("proceeds.axis.amount", lang))])
    # A label's second line (its share of the gross) runs downwards: lifting both lines by one line height keeps
    # it above the bar instead of across it.
    text = alt.Chart(df).mark_text(baseline="bottom", dy=-18, fontSize=12, lineHeight=14, color="#212529",
                                   lineBreak="\n").encode(x=x, y="top:Q", text="label:N")
    # the running total carried from one bar to the next
    links = df.iloc[:-1].assign(next_order=df["order"].iloc[1:].to_numpy(), step_next=df["step"].iloc[1:].to_numpy())
    connectors = alt.Chart(links).mark_rule(color="#adb5bd", strokeDash=[3, 3]).encode(
        x=x, x2="step_next:N", y="end:Q") if len(links) else None
    layers = [bars, text] if connectors is None else [connectors, bars, text]
    return alt.layer(*layers).properties(height=340)


__all__ = ["PROVINCE", "scoped", "metrics_view", "allocation_view", "allocation_csv", "moves_view",
           "benefit_frame", "benefit_chart", "mode_frame", "mode_chart", "mode_bars", "lorenz_frame", "lorenz_chart",
           "destination_frame", "destination_chart", "waterfall_frame", "waterfall_chart", "rule_label",
           "mode_label", "number_formats"]
