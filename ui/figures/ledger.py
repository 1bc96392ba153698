"""What the quota ledger page (指标台账) draws, built from planner.ledger's plain tables: localised tables, the ledger
CSV and Altair charts (lots by county and status, the flow from produced to remaining, the years). No Streamlit here:
every function takes DataFrames and a language and returns a DataFrame, bytes or a chart, testable without a browser.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from planner import schema
from planner.export import csv_bytes
from planner.i18n import choice_label, fmt_number, has_key, t
from ui.figures import top_legend

STATUS_COLORS = {"planned": "#ced4da", "reclaiming": "#ffd8a8", "accepted": "#a5d8ff", "confirmed": "#1c7ed6"}
SOLD_COLOR = "#2b8a3e"
FLOW_COLORS = {"total": "#1c7ed6", "deduction": "#e8590c", "sold": "#2b8a3e", "left": "#868e96"}


def header(name: str, lang: str) -> str:
    """A ledger column's header in `lang`: qledger.col.<name>, sold_<year>_mu as the year's sales."""
    if name.startswith("sold_") and name[5:9].isdigit():
        return t("qledger.col.sold_year", lang, year=name[5:9])
    key = f"qledger.col.{name}"
    return t(key, lang) if has_key(key, lang) else name


def localised(df: pd.DataFrame, lang: str, choices: dict[str, str] | None = None,
              flags: tuple[str, ...] = ()) -> pd.DataFrame:
    """`df` with coded values as labels (`choices`: column -> choice kind), yes/no flags and headers in `lang`."""
    out = df.copy()
    for col, kind in (choices or {}).items():
        if col in out.columns:
            out[col] = [choice_label(kind, v, lang) for v in out[col]]
    for col in flags:
        if col in out.columns:
            out[col] = [t("qledger.yes" if bool(v) else "qledger.no", lang) for v in out[col]]
    return out.rename(columns={c: header(c, lang) for c in out.columns})


def lots_view(led: pd.DataFrame, lang: str) -> pd.DataFrame:
    return localised(led, lang, {"status": "lot_status"}, ("saleable",))


def deals_view(deals: pd.DataFrame, lang: str) -> pd.DataFrame:
    return localised(deals.drop(columns=["status"]), lang, flags=("in_plan",))


def payments_view(rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    return localised(rows, lang, {"milestone": "milestone"}, ("overdue", "deal_found"))


def ledger_csv(led: pd.DataFrame, lang: str, audit: dict | None = None) -> bytes:
    """The lot ledger as the page offers it: localised headers and labels, UTF-8 with BOM, formula-safe."""
    return csv_bytes(lots_view(led, lang), audit, lang)


def number_formats(columns, lang: str) -> dict[str, str]:
    """st.column_config number formats per localised header: 亩 and 万元 to 0.01, shares to 0.01, years plain."""
    out = {}
    for c in columns:
        if c.endswith(("_mu", "_wan")) or c in ("price_wan_per_mu",):
            out[header(c, lang)] = "%.2f" if c == "price_wan_per_mu" else "localized"
        elif c in ("ready_year", "year", "due_year", "end_year", "lots"):
            out[header(c, lang)] = "%d"
        elif c in ("share", "scheduled_share"):
            out[header(c, lang)] = "%.2f"
    return out


# --------------------------------------------------------------------------- lots by county and status


def status_frame(led: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Per county: net quota sold, and what remains by lot status (long format, for a stacked bar)."""
    rows = []
    for (code, name), g in led.groupby(["county_code", "county_name"], sort=False):
        rows.append({"county": name, "part": "sold", "mu": float(g["sold_mu"].sum())})
        for status in schema.LOT_STATUSES:
            mu = float(g.loc[g["status"] == status, "remaining_mu"].sum())
            rows.append({"county": name, "part": status, "mu": mu})
    df = pd.DataFrame(rows, columns=["county", "part", "mu"])
    df = df[df["mu"] > 0.005]
    df["label"] = [t("qledger.part.sold", lang) if p == "sold" else
                   t("qledger.part.left", lang, status=choice_label("lot_status", p, lang)) for p in df["part"]]
    df["text"] = [fmt_number(v, 2) for v in df["mu"]]
    return df


def status_chart(led: pd.DataFrame, lang: str) -> alt.Chart | None:
    df = status_frame(led, lang)
    if df.empty:
        return None
    parts = ["sold", "confirmed", "accepted", "reclaiming", "planned"]
    present = [p for p in parts if p in set(df["part"])]
    labels = [df.loc[df["part"] == p, "label"].iloc[0] for p in present]
    colors = [SOLD_COLOR if p == "sold" else STATUS_COLORS[p] for p in present]
    df = df.assign(order=[parts.index(p) for p in df["part"]])
    counties = df.groupby("county")["mu"].sum().sort_values(ascending=False).index.tolist()
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("county:N", sort=counties, title=None, axis=alt.Axis(labelFontSize=12, labelOverlap=False)),
        x=alt.X("sum(mu):Q", title=t("qledger.axis.mu", lang)),
        color=alt.Color("label:N", scale=alt.Scale(domain=labels, range=colors), title=None,
                        legend=top_legend()),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("county:N", title=t("qledger.axis.county", lang)),
                 alt.Tooltip("label:N", title=t("qledger.axis.part", lang)),
                 alt.Tooltip("text:N", title=t("qledger.axis.mu", lang))],
    ).properties(height=max(220, 30 * len(counties)))


# --------------------------------------------------------------------------- produced -> confirmed -> sold -> remaining


def flow_frame(rec: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The province's quota as a waterfall: produced, less what stays in the county (used locally, kept for rural
    use, turnover owed), net; less what is not yet saleable, saleable (confirmed); less sold, unsold."""
    s = rec[["produced_mu", "used_locally_mu", "reserved_rural_mu", "turnover_owed_mu", "net_mu", "not_saleable_mu",
             "saleable_mu", "sold_mu", "unsold_saleable_mu"]].astype(float).sum()
    steps = [("produced", "total", s["produced_mu"]), ("used_locally", "deduction", s["used_locally_mu"]),
             ("reserved_rural", "deduction", s["reserved_rural_mu"]),
             ("turnover_owed", "deduction", s["turnover_owed_mu"]), ("net", "total", s["net_mu"]),
             ("not_saleable", "deduction", s["not_saleable_mu"]), ("saleable", "total", s["saleable_mu"]),
             ("sold", "sold", s["sold_mu"]), ("unsold", "left", s["unsold_saleable_mu"])]
    rows, running = [], 0.0
    for i, (key, kind, amount) in enumerate(steps):
        if kind in ("total", "left"):
            start, end = 0.0, amount
        else:
            start, end = running, running - amount
        running = end
        sign = "−" if kind in ("deduction", "sold") and amount >= 0.005 else ""
        rows.append({"step": t(f"qledger.flow.{key}", lang), "kind": kind, "start": start, "end": end,
                     "amount": amount, "label": sign + fmt_number(amount, 2), "order": i,
                     "kind_label": t(f"qledger.flow_kind.{kind}", lang)})
    df = pd.DataFrame(rows)
    df["top"] = df[["start", "end"]].max(axis=1)
    return df


def flow_chart(rec: pd.DataFrame, lang: str) -> alt.Chart | None:
    df = flow_frame(rec, lang)
    if df.empty or float(df["amount"].abs().sum()) <= 0:
        return None
    order = df["step"].tolist()
    kinds = list(dict.fromkeys(df["kind"]))
    labels = [df.loc[df["kind"] == k, "kind_label"].iloc[0] for k in kinds]
    x = alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelFontSize=12, labelOverlap=False,
                                                               labelLimit=140))
    bars = alt.Chart(df).mark_bar(size=44).encode(
        x=x, y=alt.Y("start:Q", title=t("qledger.axis.mu", lang)), y2="end:Q",
        color=alt.Color("kind_label:N", scale=alt.Scale(domain=labels, range=[FLOW_COLORS[k] for k in kinds]),
                        title=None, legend=top_legend()),
        tooltip=[alt.Tooltip("step:N", title=t("qledger.axis.step", lang)),
                 alt.Tooltip("label:N", title=t("qledger.axis.mu", lang))])
    text = alt.Chart(df).mark_text(dy=-8, fontSize=12, color="#212529").encode(x=x, y="top:Q", text="label:N")
    links = df.iloc[:-1].assign(step_next=df["step"].iloc[1:].to_numpy())
    links = links[links["kind"] != "left"]
    connectors = alt.Chart(links).mark_rule(color="#adb5bd", strokeDash=[3, 3]).encode(x=x, x2="step_next:N",
                                                                                         y="end:Q")
    return alt.layer(connectors, bars, text).properties(height=360)


# --------------------------------------------------------------------------- the years


def timeline_frame(tl: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Long format: per year, quota becoming ready by status and quota sold (bars), remaining at year end."""
    rows = []
    for r in tl.to_dict("records"):
        year = str(int(r["year"]))
        for status in schema.LOT_STATUSES:
            rows.append({"year": year, "series": "ready", "part": status, "mu": float(r[f"ready_{status}_mu"]),
                         "label": t("qledger.series.ready", lang, status=choice_label("lot_status", status, lang))})
        if not any(float(r[f"ready_{s}_mu"]) for s in schema.LOT_STATUSES) and float(r["saleable_ready_mu"]):
            rows.append({"year": year, "series": "ready", "part": "county", "mu": float(r["saleable_ready_mu"]),
                         "label": t("qledger.series.county_supply", lang)})
        rows.append({"year": year, "series": "sold", "part": "sold", "mu": float(r["sold_mu"]),
                     "label": t("qledger.series.sold", lang)})
    df = pd.DataFrame(rows, columns=["year", "series", "part", "mu", "label"])
    df["series_label"] = [t(f"qledger.series_kind.{s}", lang) for s in df["series"]]
    df["text"] = [fmt_number(v, 2) for v in df["mu"]]
    return df[df["mu"] > 0.005]


def timeline_chart(tl: pd.DataFrame, lang: str) -> alt.Chart | None:
    if tl.empty:
        return None
    df = timeline_frame(tl, lang)
    parts = ["planned", "reclaiming", "accepted", "confirmed", "county", "sold"]
    present = [p for p in parts if p in set(df["part"])]
    labels = [df.loc[df["part"] == p, "label"].iloc[0] for p in present]
    colors = [SOLD_COLOR if p == "sold" else STATUS_COLORS.get(p, "#1c7ed6") for p in present]
    df = df.assign(order=[parts.index(p) for p in df["part"]])
    years = [str(int(y)) for y in tl["year"]]
    x = alt.X("year:N", sort=years, title=t("qledger.axis.year", lang), axis=alt.Axis(labelAngle=0))
    bars = alt.Chart(df).mark_bar().encode(
        x=x, xOffset=alt.XOffset("series_label:N"), y=alt.Y("sum(mu):Q", title=t("qledger.axis.mu", lang)),
        color=alt.Color("label:N", scale=alt.Scale(domain=labels, range=colors), title=None,
                        legend=top_legend(columns=3)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("year:N", title=t("qledger.axis.year", lang)),
                 alt.Tooltip("label:N", title=t("qledger.axis.part", lang)),
                 alt.Tooltip("text:N", title=t("qledger.axis.mu", lang))])
    left = pd.DataFrame({"year": years, "mu": tl["remaining_mu"].astype(float).to_numpy(),
                         "text": [fmt_number(v, 2) for v in tl["remaining_mu"]],
                         "what": t("qledger.series.remaining", lang)})
    line = alt.Chart(left).mark_line(point=True, color="#495057", strokeDash=[5, 3]).encode(
        x=x, y="mu:Q", shape=alt.Shape("what:N", title=None, legend=top_legend()),
        tooltip=[alt.Tooltip("year:N", title=t("qledger.axis.year", lang)),
                 alt.Tooltip("text:N", title=t("qledger.series.remaining", lang))])
    return alt.layer(bars, line).properties(height=340)


__all__ = ["header", "localised", "lots_view", "deals_view", "payments_view", "ledger_csv", "number_formats",
           "status_frame", "status_chart", "flow_frame", "flow_chart", "timeline_frame", "timeline_chart"]
