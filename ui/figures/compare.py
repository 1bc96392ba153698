"""What the compare page draws, built from `planner.compare.Comparison`: localised tables, Altair charts and the
CSV download. No Streamlit here: every function takes plain data and a language, so it is testable headlessly.
"""
from __future__ import annotations

import dataclasses
import math

import altair as alt
import pandas as pd

from planner import schema
from planner.compare import Comparison
from planner.export import csv_bytes
from planner.i18n import choice_label, column_label, fmt_number, label, t
from planner.ledger import number
from planner.scenario import Scenario
from ui.figures import top_legend

CHANGE_COLORS = {"added": "#2b8a3e", "removed": "#c92a2a", "changed": "#e8590c", "price_changed": "#868e96"}
KPI_DECIMALS = {"pairings": 0, "mean_price_wan_per_mu": 2, "mean_per_person_wan": 2}
TABLE_TITLES = {"counties": "editor.tab_counties", "pairs": "editor.tab_pairs",
                "relocation": "editor.tab_relocation", "scenario.toml": "editor.tab_params"}
TOLERANCE = 1e-6


def without_names(comp: Comparison) -> Comparison:
    """The comparison without the scenario-name change: names label the columns; they are not an input."""
    d = comp.inputs
    keep = ~((d["table"] == "scenario.toml") & (d["column"] == "scenario.name"))
    return dataclasses.replace(comp, inputs=d[keep].reset_index(drop=True))


def _num(value) -> float:
    """A cell as a float, NaN when blank or not a number (planner.ledger.number is the one parser)."""
    return number(value, math.nan)


def _differs(a, b) -> bool:
    x, y = _num(a), _num(b)
    if math.isnan(x) and math.isnan(y):
        return False
    if math.isnan(x) or math.isnan(y):
        return True
    return abs(x - y) > TOLERANCE * max(1.0, abs(x), abs(y))


def _signed(value, decimals: int) -> str:
    x = _num(value)
    if math.isnan(x):
        return "—"
    if abs(x) < 0.5 * 10 ** -decimals:
        return "0"
    text = fmt_number(abs(x), decimals)
    return f"+{text}" if x > 0 else f"−{text}"


def change_header(name: str, lang: str) -> str:
    return t("cmp.vs_base", lang, name=name)


# --------------------------------------------------------------------------- KPIs


def kpi_changes(comp: Comparison) -> list[str]:
    """KPI keys whose value differs between the base and any other scenario."""
    base = comp.names[0]
    return [row["kpi"] for _, row in comp.kpis.iterrows()
            if any(_differs(row[base], row[n]) for n in comp.names[1:])]


def kpi_table(comp: Comparison, lang: str) -> pd.DataFrame:
    """Side by side: one row per KPI, one column per scenario, then the change of each other scenario."""
    base = comp.names[0]
    out = pd.DataFrame({t("cmp.col_kpi", lang): [t(f"kpi.{k}", lang) for k in comp.kpis["kpi"]]})
    for name in comp.names:
        out[name] = [fmt_number(v, KPI_DECIMALS.get(k, 1)) for k, v in zip(comp.kpis["kpi"], comp.kpis[name])]
    for name in comp.names[1:]:
        # The change of the values as shown (22.01 against 19.50 reads +2.51, not the +2.52 of the unrounded ones)
        out[change_header(name, lang)] = [
            _signed(round(_num(v), d) - round(_num(b), d), d) if _differs(b, v) else "—"
            for k, b, v in zip(comp.kpis["kpi"], comp.kpis[base], comp.kpis[name]) for d in [KPI_DECIMALS.get(k, 1)]]
    return out


def kpi_export(comp: Comparison, lang: str) -> pd.DataFrame:
    out = pd.DataFrame({t("cmp.col_kpi", lang): [t(f"kpi.{k}", lang) for k in comp.kpis["kpi"]]})
    for name in comp.names:
        out[name] = comp.kpis[name].astype(float).round(4)
    for name in comp.names[1:]:
        out[change_header(name, lang)] = (comp.kpis[name].astype(float) - comp.kpis[comp.names[0]].astype(float)
                                          ).round(4)
    return out


# --------------------------------------------------------------------------- inputs


def _item_label(table: str, column: str, lang: str) -> str:
    if table == "scenario.toml":
        section, _, key = column.partition(".")
        p = schema.PARAMS_BY_KEY.get((section, key))
        return label(p, lang) if p else column
    for name, (_, columns, _) in schema.TABLES.items():
        if name == table:
            for c in columns:
                if c.name == column:
                    return column_label(c, lang)
    return column


def _value_label(table: str, column: str, value, lang: str) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if not text:
        return ""
    kind = column.partition(".")[2] if table == "scenario.toml" else column
    if kind in ("poverty_class", "resettlement_mode", "objective", "quality_rule", "rule"):
        return choice_label(kind, text, lang)
    return text


def inputs_table(comp: Comparison, scenarios: list[Scenario], lang: str) -> pd.DataFrame:
    """Parameters and cells that changed, rows added or removed, with labels staff read (county names)."""
    names = {}
    for s in scenarios:
        for code, name in zip(s.counties["code"], s.counties["name"]):
            names.setdefault(str(code), str(name))
    d = comp.inputs

    def who(table, key):
        if not key:
            return ""
        if table == "counties":
            return f"{names.get(key, '')} {key}".strip()
        if table == "pairs":
            s, _, b = key.partition("/")
            return f"{names.get(s, s)} → {names.get(b, b)}"
        if table == "relocation":
            c, _, g = key.partition("/")
            return f"{names.get(c, c)} / {g}"
        return key

    return pd.DataFrame({
        t("cmp.col_scenario", lang): d["scenario"],
        t("cmp.col_table", lang): [t(TABLE_TITLES[x], lang) if x in TABLE_TITLES else x for x in d["table"]],
        t("cmp.col_row", lang): [who(tb, k) for tb, k in zip(d["table"], d["key"])],
        t("cmp.col_item", lang): [_item_label(tb, c, lang) if c else "" for tb, c in zip(d["table"], d["column"])],
        t("cmp.col_change", lang): [t(f"cmp.input_{c}", lang) for c in d["change"]],
        t("cmp.col_base_value", lang): [_value_label(tb, c, v, lang) for tb, c, v in
                                        zip(d["table"], d["column"], d["base"])],
        t("cmp.col_other_value", lang): [_value_label(tb, c, v, lang) for tb, c, v in
                                         zip(d["table"], d["column"], d["other"])],
    })


# --------------------------------------------------------------------------- pairings


def pairings_table(comp: Comparison, lang: str, display: bool = False) -> pd.DataFrame:
    """Pairings that changed. display=True: for the page — a pairing absent from a scenario has 0 亩 there and its
    price shows as '—' (st.dataframe would show a grey 'None'); otherwise blanks (for the CSV)."""
    p = comp.pairings

    def price(values):
        values = values.astype(float).round(2)
        return [fmt_number(v, 2) for v in values] if display else values

    def quota(values):
        values = values.astype(float)
        return (values.fillna(0.0) if display else values).round(1)

    return pd.DataFrame({
        t("cmp.col_scenario", lang): p["scenario"],
        t("col.seller_name", lang): p["seller_name"],
        t("col.buyer_name", lang): p["buyer_name"],
        t("cmp.col_change", lang): [t(f"cmp.pair_{c}", lang) for c in p["change"]],
        t("cmp.col_quota_base", lang): quota(p["quota_mu_base"]),
        t("cmp.col_quota_other", lang): quota(p["quota_mu_other"]),
        t("cmp.col_quota_change", lang): quota(p["quota_change_mu"]),
        t("cmp.col_price_base", lang): price(p["price_wan_per_mu_base"]),
        t("cmp.col_price_other", lang): price(p["price_wan_per_mu_other"]),
        t("col.seller_code", lang): p["seller_code"],
        t("col.buyer_code", lang): p["buyer_code"],
    })


def pairing_chart(comp: Comparison, name: str, lang: str) -> alt.Chart | None:
    """Quota change per pairing (other − base), one bar per pair, coloured by added / removed / changed."""
    p = comp.pairings[(comp.pairings["scenario"] == name) & (comp.pairings["change"] != "price_changed")].copy()
    if p.empty:
        return None
    p["pair"] = p["seller_name"].astype(str) + " → " + p["buyer_name"].astype(str)
    p["kind"] = [t(f"cmp.pair_{c}", lang) for c in p["change"]]
    p["delta"] = p["quota_change_mu"].astype(float).round(1)
    p["base"] = p["quota_mu_base"].astype(float).fillna(0).round(1)
    p["other"] = p["quota_mu_other"].astype(float).fillna(0).round(1)
    p = p.sort_values("delta")
    kinds = ["added", "removed", "changed"]
    color = alt.Color("kind:N", title=t("cmp.col_change", lang),
                      scale=alt.Scale(domain=[t(f"cmp.pair_{k}", lang) for k in kinds],
                                      range=[CHANGE_COLORS[k] for k in kinds]),
                      legend=top_legend())
    bars = alt.Chart(p).mark_bar().encode(
        x=alt.X("delta:Q", title=t("cmp.chart_quota_change", lang)),
        y=alt.Y("pair:N", sort=None, title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        color=color,
        tooltip=[alt.Tooltip("pair:N", title=t("cmp.chart_pair", lang)),
                 alt.Tooltip("kind:N", title=t("cmp.col_change", lang)),
                 alt.Tooltip("base:Q", title=t("cmp.col_quota_base", lang), format=",.1f"),
                 alt.Tooltip("other:Q", title=t("cmp.col_quota_other", lang), format=",.1f"),
                 alt.Tooltip("delta:Q", title=t("cmp.col_quota_change", lang), format="+,.1f")])
    rule = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#495057").encode(x="x:Q")
    return (bars + rule).properties(height=max(120, 24 * len(p) + 40))


# --------------------------------------------------------------------------- counties and people


def counties_table(comp: Comparison, lang: str) -> pd.DataFrame:
    c = comp.counties
    out = pd.DataFrame({t("col.name", lang): c["name"], t("col.code", lang): c["code"]})
    for name in comp.names:
        out[name] = c[name].astype(float).round(1)
    for name in comp.names[1:]:
        out[change_header(name, lang)] = c[f"change:{name}"].astype(float).round(1)
    return out


def proceeds_chart(comp: Comparison, lang: str) -> alt.Chart | None:
    """Per-county proceeds (万元), grouped bars: one group per county, one bar per scenario."""
    c = comp.counties
    if c.empty:
        return None
    order = c.sort_values(comp.names[0], ascending=False)["name"].astype(str).tolist()
    long = c.melt(id_vars=["code", "name"], value_vars=comp.names, var_name="scenario", value_name="proceeds")
    long["proceeds"] = long["proceeds"].astype(float).round(1)
    long["name"] = long["name"].astype(str)
    n = len(comp.names)
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("name:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
        yOffset=alt.YOffset("scenario:N", sort=comp.names),
        x=alt.X("proceeds:Q", title=t("col.proceeds_wan", lang)),
        color=alt.Color("scenario:N", sort=comp.names, title=t("cmp.col_scenario", lang),
                        legend=top_legend()),
        tooltip=[alt.Tooltip("name:N", title=t("col.name", lang)),
                 alt.Tooltip("scenario:N", title=t("cmp.col_scenario", lang)),
                 alt.Tooltip("proceeds:Q", title=t("col.proceeds_wan", lang), format=",.1f")],
    ).properties(height=max(160, len(order) * (10 * n + 8) + 50))


def benefit_table(comp: Comparison, lang: str) -> pd.DataFrame:
    b = comp.benefit
    present = [n for n in comp.names if n in b.columns]
    if b.empty or not present:
        return pd.DataFrame()
    out = pd.DataFrame({t("col.name", lang): b.get("name", b["county_code"]), t("col.code", lang): b["county_code"]})
    for name in present:
        out[name] = b[name].astype(float).round(2)
    base = comp.names[0]
    if base in b.columns:
        for name in present:
            if name != base:
                out[change_header(name, lang)] = (b[name].astype(float) - b[base].astype(float)).round(2)
    return out


# --------------------------------------------------------------------------- download


def comparison_csv(comp: Comparison, scenarios: list[Scenario], lang: str, audit: dict | None = None) -> bytes:
    """One CSV with every table of the comparison, one after another; the first column says which table."""
    section = t("cmp.col_section", lang)
    parts = [("cmp.section_kpis", kpi_export(comp, lang)),
             ("cmp.section_inputs", inputs_table(comp, scenarios, lang)),
             ("cmp.section_pairings", pairings_table(comp, lang)),
             ("cmp.section_counties", counties_table(comp, lang)),
             ("cmp.section_benefit", benefit_table(comp, lang))]
    frames = []
    for key, df in parts:
        if df.empty:
            continue
        df = df.copy()
        df.insert(0, section, t(key, lang))
        frames.append(df)
    if not frames:
        return csv_bytes(pd.DataFrame(columns=[section]), audit, lang)
    # the same header may appear in several tables (scenario names); keep the union in first-seen order
    columns: list[str] = []
    for df in frames:
        columns += [c for c in df.columns if c not in columns]
    out = pd.concat([df.reindex(columns=columns) for df in frames], ignore_index=True)
    return csv_bytes(out, audit, lang)
