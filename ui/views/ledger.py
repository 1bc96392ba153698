"""What the quota ledger page (指标台账) draws: headline figures, the unsold-at-expiry warnings (article 27), the flow
from produced to remaining, lots by county and status, the years, deals with their filing status (article 16),
payments due, paid and overdue, and the per-county reconciliation. Tables come from planner.ledger; charts from
ui.figures.ledger; the solve is the pairings page's (ui.cache)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from planner import ledger as core
from planner.audit import audit_record
from planner.i18n import choice_label, fmt_number
from planner.ledger import fixed
from planner.scenario import Scenario
from ui import cache, state, widgets
from ui.figures import ledger as fig
from ui.i18n import lang, tr


def solve_result(scn: Scenario):
    """The pairings page's solve of the working scenario (solved now when there is none); None without a plan."""
    entry = cache.get_entry(scn)
    if entry is None:
        return None
    if entry.result.status != "optimal":
        widgets.solve_outcome(entry.result)
    return entry.result if entry.result.has_solution else None


def mu(value) -> str:
    """亩 to 0.01 as the ledger states them (a 0.01 亩 remainder must not read as 0)."""
    return f"{fixed(value)} 亩"


def wan(value) -> str:
    return f"{fixed(value)} 万元"


def table(df: pd.DataFrame, view: pd.DataFrame, key: str, height: int | None = None) -> None:
    cfg = widgets.number_columns(fig.number_formats(df.columns, lang()))
    kwargs = {"height": height} if height else {}
    st.dataframe(view, hide_index=True, column_config=cfg, key=key, **kwargs)


def headline(rec: pd.DataFrame, expiry: pd.DataFrame, residue: pd.DataFrame) -> None:
    unsold = sum(float(t["unsold_mu"].sum()) for t in (expiry, residue) if len(t))
    figures = [("qledger.kpi.produced", rec["produced_mu"].sum()), ("qledger.kpi.net", rec["net_mu"].sum()),
               ("qledger.kpi.saleable", rec["saleable_mu"].sum()), ("qledger.kpi.sold", rec["sold_mu"].sum()),
               ("qledger.kpi.unsold", unsold)]
    for box, (key, value) in zip(st.columns(len(figures)), figures):
        box.metric(tr(key), fmt_number(value, 0 if abs(float(value)) >= 1000 else 1), help=tr(f"{key}_help"))


def expiry_warnings(expiry: pd.DataFrame, residue: pd.DataFrame) -> None:
    """One warning per county with saleable quota still unsold when the measures expire (article 27); the counties
    left with a mere rounding residue in one line under them."""
    if expiry.empty and residue.empty:
        return
    st.subheader(tr("qledger.expiry_title"))
    for r in expiry.to_dict("records"):
        st.warning(tr("qledger.expiry_warning", county=r["county_name"], code=r["county_code"],
                      unsold=mu(r["unsold_mu"]), saleable=mu(r["saleable_mu"]), year=int(r["end_year"])),
                   icon=":material/hourglass_bottom:")
    if len(residue):
        st.caption(core.residue_note(residue, lang()))


def flow(rec: pd.DataFrame) -> None:
    st.subheader(tr("qledger.flow_title"))
    chart = cache.figure(fig.flow_chart, rec, lang())
    if chart is None:
        st.info(tr("qledger.nothing"))
        return
    st.caption(tr("qledger.flow_caption"))
    widgets.chart(st, chart)


def lots_tab(scn: Scenario, result, led: pd.DataFrame) -> None:
    if led.empty:
        st.info(tr("qledger.no_lots"))
        return
    chart = cache.figure(fig.status_chart, led, lang())
    if chart is not None:
        st.caption(tr("qledger.status_caption"))
        widgets.chart(st, chart)
    table(led, fig.lots_view(led, lang()), "ledger_lots")
    widgets.download(st, "qledger.download", lambda: fig.ledger_csv(led, lang(), audit_record(scn, result)),
                     f"{state.file_stem()}_ledger.csv", "download_ledger")


def years_tab(tl: pd.DataFrame) -> None:
    if tl.empty:
        st.info(tr("qledger.no_horizon"))
        return
    st.caption(tr("qledger.timeline_caption"))
    chart = cache.figure(fig.timeline_chart, tl, lang())
    if chart is not None:
        widgets.chart(st, chart)
    table(tl, fig.localised(tl, lang()), "ledger_years")


def deals_tab(deals: pd.DataFrame) -> None:
    if deals.empty:
        st.info(tr("qledger.no_deals"))
        return
    st.caption(tr("qledger.deals_caption"))
    table(deals, fig.deals_view(deals, lang()), "ledger_deals")
    unfiled = deals[deals["status"] == "signed"]
    if len(unfiled):
        st.info(tr("qledger.unfiled", n=len(unfiled)), icon=":material/assignment_late:")


def payments_tab(pay: core.PaymentLedger) -> None:
    if pay.rows.empty:
        st.info(tr("qledger.no_payments"))
        return
    due, paid = pay.deals["due_wan"].sum(), pay.deals["paid_wan"].sum()
    overdue = pay.rows[pay.rows["overdue"]]
    cols = st.columns(3)
    cols[0].metric(tr("qledger.kpi.due"), wan(due))
    cols[1].metric(tr("qledger.kpi.paid"), wan(paid))
    cols[2].metric(tr("qledger.kpi.overdue"), wan(overdue["outstanding_wan"].sum()))
    st.caption(tr("qledger.payments_caption", year=pay.as_of_year))
    for r in overdue.to_dict("records"):
        st.warning(tr("qledger.overdue_warning", buyer=r["buyer_name"], seller=r["seller_name"],
                      milestone=choice_label("milestone", r["milestone"], lang()),
                      year=r["due_year"], amount=wan(r["outstanding_wan"])), icon=":material/payments:")
    table(pay.rows, fig.payments_view(pay.rows, lang()), "ledger_payments")
    st.markdown(f"**{tr('qledger.per_deal')}**")
    table(pay.deals, fig.localised(pay.deals, lang()), "ledger_pay_deals")
    st.markdown(f"**{tr('qledger.per_county')}**")
    table(pay.counties, fig.localised(pay.counties, lang()), "ledger_pay_counties")


def reconciliation_tab(rec: pd.DataFrame) -> None:
    st.caption(tr("qledger.reconciliation_caption"))
    table(rec, fig.localised(rec, lang()), "ledger_reconciliation")


__all__ = ["solve_result", "headline", "expiry_warnings", "flow", "lots_tab", "years_tab", "deals_tab",
           "payments_tab", "reconciliation_tab"]
