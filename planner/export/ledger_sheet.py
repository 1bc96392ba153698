"""The workbook sheet 指标台账 (article 14): the ledger by lot, the per-county check, the transfer agreements with
their filing status (article 16), the payments and the quota unsold at expiry (article 27), one block under the
other. The tables come from planner.ledger; here they are only written."""
from __future__ import annotations

import pandas as pd

from planner import ledger as core
from planner.export.sheet import COLORS, FMT, LANG, Sheet
from planner.i18n import choice_label, has_key, t

KINDS = {"year": "int", "ready_year": "int", "due_year": "int", "end_year": "int", "lots": "int", "share": "ratio",
         "scheduled_share": "ratio", "price_wan_per_mu": "price"}


def _kind(field: str) -> str:
    if field in KINDS:
        return KINDS[field]
    if field.endswith("_wan"):
        return "wan"
    return "mu" if field.endswith("_mu") else "text"


def _header(field: str) -> str:
    if field.startswith("sold_") and field[5:9].isdigit():
        return t("qledger.col.sold_year", LANG, year=field[5:9])
    key = f"qledger.col.{field}"
    return t(key, LANG) if has_key(key, LANG) else field


def _block(sh: Sheet, row: int, title: str, df: pd.DataFrame, total: bool = True) -> int:
    """A titled table from `row`: title, header, data, an optional totals row; returns the next free row + 1."""
    sh.put(row, 1, title, bold=True, size=12, color=COLORS["title"])
    row += 1
    fields = list(df.columns)
    for j, f in enumerate(fields, 1):
        text = _header(f)
        c = sh.put(row, j, text, bold=True, fill=COLORS["header"], wrap=True, align="center")
        c.border = sh.Border(bottom=sh.thin, top=sh.thin)
        sh._fit(j, text, header=True)
    row += 1
    if df.empty:
        sh.put(row, 1, t("qledger.none", LANG), italic=True, color=COLORS["note"])
        return row + 2
    for rec in df.to_dict("records"):
        for j, f in enumerate(fields, 1):
            value = rec.get(f)
            value = None if value is pd.NA else value
            sh.put(row, j, value, fmt=FMT.get(_kind(f)))
            sh._fit(j, value, kind=_kind(f))
        row += 1
    if total:
        sums = {f: round(float(pd.to_numeric(df[f], errors="coerce").sum()), 6) for f in fields if _kind(f) in ("mu", "wan")}
        for j, f in enumerate(fields, 1):
            value = t("qledger.total", LANG) if j == 1 else sums.get(f)
            c = sh.put(row, j, value, fmt=FMT.get(_kind(f)), bold=True, fill=COLORS["total"])
            c.border = sh.Border(top=sh.thin, bottom=sh.thin)
        row += 1
    return row + 1


def _labels(df: pd.DataFrame, choices: dict[str, str], flags: tuple[str, ...] = ()) -> pd.DataFrame:
    out = df.copy()
    for col, kind in choices.items():
        out[col] = [choice_label(kind, v, LANG) for v in out[col]]
    for col in flags:
        out[col] = [t("qledger.yes" if bool(v) else "qledger.no", LANG) for v in out[col]]
    return out


def sheet_quota_ledger(wb, scn, result) -> None:
    """Adds the 指标台账 sheet (lots, per-county check, agreements, payments, unsold at expiry) when the scenario has
    lots, agreements or payments; without them the county ledger (台账) says it all."""
    lots = core.lot_ledger(scn, result)
    deals = core.deal_ledger(scn, result, LANG).drop(columns=["status"])
    pay = core.payment_ledger(scn, result)
    if lots.empty and deals.empty and pay.rows.empty:
        return
    sh = Sheet(wb, t("qledger.sheet", LANG))
    sh.put(1, 1, t("qledger.sheet_title", LANG, scenario=scn.name), bold=True, size=13, color=COLORS["title"])
    row = 3
    if len(lots):
        row = _block(sh, row, t("qledger.sheet_lots", LANG), _labels(lots, {"status": "lot_status"}, ("saleable",)))
    row = _block(sh, row, t("qledger.sheet_reconciliation", LANG), core.county_reconciliation(scn, result))
    row = _block(sh, row, t("qledger.sheet_deals", LANG), _labels(deals, {}, ("in_plan",)))
    rows = _labels(pay.rows, {"milestone": "milestone"}, ("overdue", "deal_found"))
    row = _block(sh, row, t("qledger.sheet_payments", LANG, year=pay.as_of_year), rows)
    expiry = core.unsold_at_expiry(scn, result)
    horizon = getattr(result, "horizon", None)
    if horizon is not None:
        row = _block(sh, row, t("qledger.sheet_expiry", LANG, year=horizon[1]), expiry)
        note = core.residue_note(core.unsold_at_expiry(scn, result, residue=True), LANG)
        if note:
            sh.put(row - 1, 1, note, italic=True, color=COLORS["note"])
    sh.ws.freeze_panes = "A2"
    sh.finish()


__all__ = ["sheet_quota_ledger"]
