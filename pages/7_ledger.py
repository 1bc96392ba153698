"""指标台账 Quota ledger (article 14): lots and their status, what each county produced, kept, sold and has left,
deals and their filing (article 16), payments, the years and what is unsold when the measures expire (article 27)."""
from __future__ import annotations

import streamlit as st

from planner import ledger
from ui import cache, state, widgets
from ui.i18n import lang, tr
from ui.views import ledger as view


def main() -> None:
    scn = widgets.page_header("qledger.title")
    if scn is None:
        return
    st.caption(tr("qledger.intro", name=scn.name or tr("common.unnamed")))
    widgets.pending_edits_note()
    result = view.solve_result(scn)
    if result is None:
        return
    lots = cache.shared(ledger.lot_ledger, scn, result)
    rec = cache.shared(ledger.county_reconciliation, scn, result)
    expiry = cache.shared(ledger.unsold_at_expiry, scn, result)
    residue = cache.shared(ledger.unsold_at_expiry, scn, result, residue=True)
    if lots.empty:
        st.info(tr("qledger.no_lots"), icon=":material/info:")
    view.headline(rec, expiry, residue)
    view.expiry_warnings(expiry, residue)
    view.flow(rec)
    tabs = st.tabs([tr("qledger.tab_lots"), tr("qledger.tab_years"), tr("qledger.tab_deals"),
                    tr("qledger.tab_payments"), tr("qledger.tab_reconciliation")])
    with tabs[0]:
        view.lots_tab(scn, result, lots)
    with tabs[1]:
        view.years_tab(cache.shared(ledger.timeline, scn, result))
    with tabs[2]:
        view.deals_tab(cache.shared(ledger.deal_ledger, scn, result, lang()))
    with tabs[3]:
        view.payments_tab(cache.shared(ledger.payment_ledger, scn, result))
    with tabs[4]:
        view.reconciliation_tab(rec)


state.require_app()
main()
