"""The Excel workbook (.xlsx): parameters, pairings, per-county summary with explanations, proceeds allocation,
ledger, comparison, an audit sheet and one sheet per pairing agreement.

No cell is ever a formula: text is written as string cells (formula-like text also gets Excel's quote prefix);
totals are computed here and written as numbers. Every word comes from the locale files (`workbook.*`,
`field.*`, `agreement.*`); the workbook is written in Chinese, as staff file it.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd

import planner.export.ledger_sheet as ledger_sheet  # the module, not the package: no import cycle
from planner.export.agreements import Block, agreement_blocks
from planner.export.common import (TOL, Facts, county_info, document_date, fixed, grade, is_deal, now, text,
                                   total_price, uses_plan_adjustment)
from planner.export.headers import header
from planner.export.sheet import COLORS, FONT_NAME, LANG, UNIT_FMT, XML_ILLEGAL, Sheet
from planner.i18n import choice_label, has_key, t
from planner.ledger import LEDGER_COLUMNS, ledger, plan_adjustment_sentence

SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET = 31
MAX_AGREEMENT_SHEETS = 200
SHEET_KEYS = ("params", "pairings", "counties", "proceeds", "proceeds_counties", "ledger", "comparison",
              "cmp_inputs", "cmp_pairings", "cmp_counties", "cmp_benefit", "audit")


def say(key: str, **kw) -> str:
    return t(f"workbook.{key}", LANG, **kw)


def sheet_name(key: str) -> str:
    return say(f"sheet.{key}")


def fixed_sheets() -> tuple[str, ...]:
    return tuple(sheet_name(k) for k in SHEET_KEYS)


def agreement_sheet_names(pairings: pd.DataFrame, taken=None) -> list[str]:
    """协议-<seller>-<buyer> per pairing: at most 31 characters, none of []:*?/\\, no leading/trailing apostrophe,
    unique (case-insensitive, as Excel compares sheet names)."""
    used = {n.lower() for n in (fixed_sheets() if taken is None else taken)}
    prefix = say("agreement_sheet_prefix")
    out = []
    for s_name, s_code, b_name, b_code in zip(pairings["seller_name"], pairings["seller_code"],
                                              pairings["buyer_name"], pairings["buyer_code"]):
        s = text(s_name) or text(s_code)
        b = text(b_name) or text(b_code)
        room = MAX_SHEET - len(prefix) - 1  # long names share the room, so both counties stay recognisable
        if len(s) + len(b) > room:
            keep_s = min(len(s), max(room - len(b), room // 2))
            s, b = s[:keep_s], b[:room - keep_s]
        base = SHEET_ILLEGAL.sub("_", XML_ILLEGAL.sub("", f"{prefix}{s}-{b}")).strip("'")
        base = re.sub(r"\s+", " ", base)
        name = base[:MAX_SHEET].rstrip("'")
        k = 2
        while name.lower() in used:
            suffix = f"~{k}"
            name = base[:MAX_SHEET - len(suffix)].rstrip("'") + suffix
            k += 1
        used.add(name.lower())
        out.append(name)
    return out


def _param_value(p, value):
    if value is None:
        return say("not_set")
    if p.kind == "bool":
        return say("yes" if value else "no")
    if p.kind == "choice":
        label = choice_label(p.key, value, LANG)
        return f"{label}（{value}）" if label != str(value) else str(value)
    if p.kind in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return str(value)


def _sheet_params(wb, scn) -> None:
    from planner import schema
    from planner.i18n import label

    sh = Sheet(wb, sheet_name("params"))
    rows = []
    for p in schema.PARAMS:
        help_key = f"param_help.{p.section}.{p.key}"
        section_key = f"workbook.section.{p.section}"
        rows.append({"section": t(section_key, LANG) if has_key(section_key, LANG) else p.section,
                     "label": label(p, LANG), "value": _param_value(p, scn.param(p.section, p.key)),
                     "key": f"{p.section}.{p.key}", "article": p.article,
                     "help": t(help_key, LANG) if has_key(help_key, LANG) else ""})
    fields = ["section", "label", "value", "key", "article", "help"]
    heads = {f: say(f"params_col.{f}") for f in fields}
    kinds = {"section": "text", "label": "text", "value": "mixed", "key": "text", "article": "text", "help": "long"}
    sh.table(say("params_title", scenario=scn.name), fields, pd.DataFrame(rows), headers=heads, kinds=kinds)
    sh.finish()


def _sheet_pairings(wb, scn, result, sheet_names: list[str], facts: Facts) -> None:
    from openpyxl.worksheet.hyperlink import Hyperlink

    sh = Sheet(wb, sheet_name("pairings"))
    p = result.pairings.reset_index(drop=True)
    info = county_info(scn)
    df = p.copy()
    df.insert(0, "seq", range(1, len(df) + 1))
    df["seller_prefecture"] = [text(info.get(str(c), {}).get("prefecture")) for c in df["seller_code"]]
    df["buyer_prefecture"] = [text(info.get(str(c), {}).get("prefecture")) for c in df["buyer_code"]]
    df["agreed"] = [say("yes") if bool(v) else "" for v in df["agreed"]]
    records = p.to_dict("records")
    quality = [facts.quality(r) for r in records]
    df["deal"] = [t("report.deal_yes", LANG) if is_deal(r) else "" for r in records]
    df["reclaimed_grade"] = [grade(r.get("reclaimed_grade")) for r in records]
    df["occupied_grade"] = [grade(r.get("occupied_grade")) for r in records]
    df["quality_check"] = [t(f"report.quality_short_{q}", LANG) for q in quality]
    df["note"] = [_pairing_note(r, q, facts) for r, q in zip(records, quality)]
    df["agreement_sheet"] = sheet_names
    fields = ["seq", "seller_name", "seller_code", "seller_prefecture", "buyer_name", "buyer_code", "buyer_prefecture",
              *(["year"] if "year" in p else []), "quota_mu", "price_wan_per_mu", "amount_wan", "plan_adjustment_mu",
              "lo_price", "hi_price", "agreed", "deal", "reclaimed_grade", "occupied_grade", "quality_check", "note",
              "agreement_sheet"]
    quota, amount = float(p["quota_mu"].sum()), float(p["amount_wan"].sum())
    total = {"seq": None, "seller_name": say("total"), "seller_code": say("n_pairs", n=len(p)), "quota_mu": quota,
             "amount_wan": amount, "plan_adjustment_mu": float(p["plan_adjustment_mu"].sum()),
             "price_wan_per_mu": total_price(quota, amount), "note": say("total_price_note")}
    end = sh.table(say("pairings_title", scenario=scn.name), fields, df, total=total, freeze_cols=2)
    col = fields.index("agreement_sheet") + 1
    for i, name in enumerate(sheet_names):
        if not name:
            continue
        cell = sh.ws.cell(row=3 + i, column=col)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location="'" + name.replace("'", "''") + "'!A1",
                                   display=name)
        cell.font = sh.Font(name=FONT_NAME, size=10.5, color="0563C1", underline="single")
    for i, (v, q) in enumerate(zip(p["plan_adjustment_mu"], quality)):
        flagged = ((["plan_adjustment_mu", "note"] if uses_plan_adjustment(v) else [])
                   + (["reclaimed_grade", "occupied_grade", "quality_check", "note"] if q != "ok" else []))
        for f in flagged:
            sh.ws.cell(row=3 + i, column=fields.index(f) + 1).fill = sh.PatternFill("solid", fgColor=COLORS["flag"])
    if not len(p):
        sh.put(end, 1, say("no_pairings") if result.has_solution else say("failed", message=result.message),
               italic=True)
    sh.finish()


def _pairing_note(row: dict, quality: str, facts: Facts) -> str:
    """What an official must know about one pairing: the plan-indicator change, a signed deal, a quality flag."""
    notes = []
    if uses_plan_adjustment(row.get("plan_adjustment_mu")):
        change = plan_adjustment_sentence(text(row.get("seller_name")) or text(row.get("seller_code")),
                                          text(row.get("buyer_name")) or text(row.get("buyer_code")),
                                          row.get("plan_adjustment_mu"), LANG)
        notes.append(say("pairing_adjust_note", change=change))
    if is_deal(row):
        notes.append(say("deal_note"))
    if quality != "ok":
        notes.append(t(f"agreement.quality_{quality}", LANG, buyer=text(row.get("buyer_name")),
                       reclaimed_grade=grade(row.get("reclaimed_grade")), occupied_grade=grade(row.get("occupied_grade")),
                       average=fixed(facts.average_grade(row))))
    return say("note_sep").join(notes)


def county_report_or_blank(scn, result, report: pd.DataFrame | None = None) -> pd.DataFrame:
    """explain.county_report, or the bare county table when explaining fails: the figures still go out."""
    if report is not None:
        return report
    try:
        from planner.explain import county_report

        return county_report(scn, result)
    except Exception:  # noqa: BLE001 - explanations are secondary
        return result.counties.assign(reason_zh="", reason_en="")


def _sheet_counties(wb, scn, result, report: pd.DataFrame | None = None) -> None:
    sh = Sheet(wb, sheet_name("counties"))
    df = county_report_or_blank(scn, result, report).copy()
    df["poverty_class"] = [choice_label("poverty_class", text(v), LANG) for v in df["poverty_class"]]
    df["role"] = [choice_label("role", text(v), LANG) for v in df["role"]]
    df["reason"] = df.get("reason_zh", "")
    fields = ["code", "name", "prefecture", "poverty_class", "role", "surplus_mu", "sold_mu", "unsold_mu",
              "proceeds_wan", "demand_mu", "bought_mu", "unmet_mu", "paid_wan", "plan_adjustment_mu", "reason"]
    total = {"code": say("total"), "name": say("n_counties", n=len(df))}
    for f in fields[5:-1]:
        total[f] = float(df[f].sum())
    sh.table(say("counties_title", scenario=scn.name), fields, df, total=total, freeze_cols=2)
    sh.finish()


def _sheet_proceeds(wb, scn, allocation) -> None:
    g = allocation.groups.copy()
    g["resettlement_mode"] = [choice_label("resettlement_mode", text(v), LANG) for v in g["resettlement_mode"]]
    rule = choice_label("rule", allocation.params.rule, LANG)
    sh = Sheet(wb, sheet_name("proceeds"))
    fields = ["county_name", "county_code", "group_id", "village", "resettlement_mode", "destination_name",
              "destination_code", "households", "persons", "reclaimed_mu", "household_wan", "collective_wan",
              "total_wan", "per_person_wan", "per_household_wan"]
    persons, hh = float(g["persons"].sum()), float(g["households"].sum())
    total = {"county_name": say("total"), "group_id": say("n_groups", n=len(g)), "households": hh,
             "persons": persons, "reclaimed_mu": float(g["reclaimed_mu"].sum()),
             "household_wan": float(g["household_wan"].sum()), "collective_wan": float(g["collective_wan"].sum()),
             "total_wan": float(g["total_wan"].sum()),
             "per_person_wan": float(g["household_wan"].sum()) / persons if persons > 0 else None,
             "per_household_wan": float(g["household_wan"].sum()) / hh if hh > 0 else None}
    sh.table(say("proceeds_title", rule=rule), fields, g, total=total, freeze_cols=3)
    sh.finish()
    c = allocation.counties.copy()
    sh = Sheet(wb, sheet_name("proceeds_counties"))
    fields = ["county_name", "county_code", "sold_mu", "gross_wan", "reclamation_wan", "financing_wan",
              "collective_wan", "household_wan", "unallocated_wan", "groups", "persons", "per_person_wan"]
    total = {"county_name": say("total"), "county_code": say("n_counties", n=len(c))}
    for f in fields[2:-1]:
        total[f] = float(c[f].sum())
    total["per_person_wan"] = total["household_wan"] / total["persons"] if total["persons"] > 0 else None
    p = allocation.params
    note = say("proceeds_note", cost=fixed(p.reclamation_cost_per_mu), financing=fixed(p.financing_repayment_share, 3),
               collective=fixed(p.collective_share, 3), rule=rule)
    sh.table(say("proceeds_counties_title"), fields, c, total=total, note=note)
    sh.finish()


def _sheet_ledger(wb, scn, result) -> None:
    df = ledger(scn, result, LANG, sep="\n")
    body, total = df.iloc[:-1].copy(), df.iloc[-1].to_dict()
    body["poverty_class"] = [choice_label("poverty_class", text(v), LANG) for v in body["poverty_class"]]
    sh = Sheet(wb, sheet_name("ledger"))
    sh.table(say("ledger_title"), LEDGER_COLUMNS, body, total=total, freeze_cols=2)
    sh.finish()


def _cmp_head(f: str) -> str:
    key = f"workbook.cmp_col.{f}"
    if has_key(key, LANG):
        return t(key, LANG)
    if f in ("code", "name", "county_code", "seller_code", "seller_name", "buyer_code", "buyer_name"):
        return header(f, LANG)
    if f.startswith("change:"):
        return say("change_col", name=f[len("change:"):])
    return f


def _sheet_comparison(wb, comparison) -> None:
    names = list(comparison.names)
    k = comparison.kpis.copy()
    sh = Sheet(wb, sheet_name("comparison"))
    heads = {"label_zh": say("cmp_kpi"), **{n: n for n in names}}
    kinds = {"label_zh": "text", **{n: "num" for n in names}}
    sh.table(say("cmp_title", base=names[0] if names else ""), ["label_zh", *names], k, headers=heads, kinds=kinds,
             freeze_cols=1)
    sh.finish()
    blocks = [("cmp_inputs", comparison.inputs), ("cmp_pairings", comparison.pairings),
              ("cmp_counties", comparison.counties), ("cmp_benefit", comparison.benefit)]
    for key, df in blocks:
        if df is None or df.empty:
            continue
        df = df.copy()
        if "change" in df.columns:
            df["change"] = [t(f"workbook.change.{v}", LANG) if has_key(f"workbook.change.{v}", LANG) else v
                            for v in df["change"]]
        fields = list(df.columns)
        kinds = {f: ("mu" if f.endswith("_mu") else "price" if "price" in f else
                     "text" if df[f].dtype == object else "num") for f in fields}
        s2 = Sheet(wb, sheet_name(key))
        s2.table(say(f"{key}_title"), fields, df, headers={f: _cmp_head(f) for f in fields}, kinds=kinds)
        s2.finish()


def _r4(x):
    return None if x is None else round(float(x), 4) + 0.0


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _sheet_audit(wb, scn, result, generated: str, extra: dict | None, scenario_hash: str) -> None:
    import openpyxl

    from planner import __version__

    sh = Sheet(wb, sheet_name("audit"))
    h = scenario_hash
    same = h == result.scenario_hash
    tot = result.totals
    a = {k: say(f"audit.{k}") for k in ("scenario_name", "scenario_description", "scenario_hash", "result_hash",
                                         "version", "solver", "status", "message", "is_mip", "objective", "build_s",
                                         "solve_s", "generated", "generated_date", "openpyxl", "pairings", "quota",
                                         "proceeds",
                                         "plan_adjustment", "unmet")}
    rows = [
        (a["scenario_name"], scn.name), (a["scenario_description"], scn.description),
        *([(say("audit.illustrative"), t("banner.illustrative", LANG))] if scn.illustrative else []),
        (a["scenario_hash"], h),
        (a["result_hash"], result.scenario_hash + say("audit.hash_same" if same else "audit.hash_differs")),
        (a["version"], f"planner {__version__}"),
        (a["solver"], say("audit.solver_value", solver=result.solver, algorithm=result.algorithm)),
        (a["status"], result.status), (a["message"], result.message),
        (a["is_mip"], say("yes" if result.is_mip else "no")),
        (a["objective"], _r4(result.objective)), (a["build_s"], round(result.seconds_build, 4)),
        (a["solve_s"], round(result.seconds_solve, 4)), (a["generated"], generated),
        (a["generated_date"], document_date(generated, LANG)),
        (a["openpyxl"], openpyxl.__version__),
        (a["pairings"], tot.get("pairings")), (a["quota"], _r4(tot.get("quota_matched_mu"))),
        (a["proceeds"], _r4(tot.get("proceeds_wan"))), (a["plan_adjustment"], _r4(tot.get("plan_adjustment_mu"))),
        (a["unmet"], _r4(tot.get("unmet_demand_mu"))),
    ]
    for k, v in (extra or {}).items():
        rows.append((str(k), v if isinstance(v, (int, float, str)) else _dump(v)))
    for section, values in scn.settings.items():
        if section == "scenario":
            continue  # name and description are above
        if isinstance(values, dict):
            for key, value in values.items():
                rows.append((say("audit.setting", name=f"{section}.{key}"), _dump(value)))
        else:
            rows.append((say("audit.setting", name=section), _dump(values)))
    df = pd.DataFrame(rows, columns=["item", "value"])
    sh.table(say("audit_title"), ["item", "value"], df, headers={"item": say("audit_col.item"),
                                                                  "value": say("audit_col.value")},
             kinds={"item": "text", "value": "mixed"})
    if not same:
        sh.ws.cell(row=6, column=2).fill = sh.PatternFill("solid", fgColor=COLORS["flag"])
    sh.finish(landscape=False)


def _sheet_agreement(wb, title: str, blocks: list[Block]) -> None:
    """An agreement sheet: A = check box, B = item, C = content; portrait A4, one page wide."""
    sh = Sheet(wb, title)
    ws = sh.ws
    r = 1
    for bl in blocks:
        if bl.kind == "title":
            sh.put(r, 1, bl.text, bold=True, size=14, color=COLORS["title"])
        elif bl.kind == "note":
            sh.put(r, 2, bl.text, wrap=True, color=COLORS["note"], italic=True)
            ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=3)
        elif bl.kind == "heading":
            r += 1
            for j in (1, 2, 3):
                sh.put(r, j, bl.text if j == 1 else None, bold=True, fill=COLORS["heading"])
        elif bl.kind == "field":
            sh.put(r, 2, bl.label, bold=True, wrap=True)
            if bl.number is not None:
                sh.put(r, 3, bl.number, fmt=UNIT_FMT[bl.unit], align="left")
            else:
                sh.put(r, 3, bl.text, wrap=True)
        elif bl.kind == "check":
            if bl.level == 1:
                sh.put(r, 1, "☐", size=12, align="center")
                sh.put(r, 2, bl.label, bold=True, wrap=True)
            else:
                sh.put(r, 2, "　☐ " + bl.label, wrap=True)
            sh.put(r, 3, bl.text, wrap=True)
        r += 1
    ws.sheet_view.showGridLines = False
    sh.finish(landscape=False, fixed={1: 5, 2: 24, 3: 72}, one_page=True)  # one A4 page per agreement


def workbook_bytes(scn, result, allocation=None, comparison=None, *, generated: str | None = None,
                   audit_extra: dict | None = None, max_agreement_sheets: int = MAX_AGREEMENT_SHEETS,
                   report: pd.DataFrame | None = None, facts: Facts | None = None) -> bytes:
    """The Excel workbook (.xlsx): 参数, 配对, 县汇总, 收益分配 (+ 收益分配-县; when relocation data exist), 台账,
    比较 (+ details; when a comparison is given), 生成信息 (the generation record), and one 协议-<seller>-<buyer>
    sheet per pairing — up to
    `max_agreement_sheets` pairings; a plan with more (a national-sized one) gets no agreement sheets, and the
    audit sheet points to the agreements zip instead (thousands of sheets would make the workbook unusable).

    `report` is explain.county_report(scn, result) and `facts` Facts.of(scn, result.pairings) when the caller has
    them already (they are computed otherwise)."""
    import openpyxl

    from planner import __version__

    generated = generated or now()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wb.properties.creator = say("creator", version=__version__)
    wb.properties.title = say("title", scenario=scn.name)
    if allocation is None and len(scn.relocation):
        from planner.proceeds import allocate

        allocation = allocate(scn, result.pairings)
    p = result.pairings
    many = len(p) > max_agreement_sheets
    names = [""] * len(p) if many else agreement_sheet_names(p)
    extra = dict(audit_extra or {})
    if many:
        extra[header("agreement_sheet", LANG)] = say("agreements_omitted", n=len(p), limit=max_agreement_sheets)
    facts = facts or Facts.of(scn, p)
    _sheet_params(wb, scn)
    _sheet_pairings(wb, scn, result, names, facts)
    _sheet_counties(wb, scn, result, report)
    if allocation is not None:
        _sheet_proceeds(wb, scn, allocation)
    _sheet_ledger(wb, scn, result)
    ledger_sheet.sheet_quota_ledger(wb, scn, result)  # 指标台账: lots, deals, quota unsold at expiry (art. 14, 16, 27)
    if comparison is not None:
        _sheet_comparison(wb, comparison)
    _sheet_audit(wb, scn, result, generated, extra, facts.hash)
    if not many:
        for name, row in zip(names, p.to_dict("records")):
            _sheet_agreement(wb, name, agreement_blocks(scn, row, LANG, text, generated, facts))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_workbook(scn, result, path: Path, allocation=None, comparison=None, **kw) -> None:
    Path(path).write_bytes(workbook_bytes(scn, result, allocation, comparison, **kw))


__all__ = ["workbook_bytes", "write_workbook", "agreement_sheet_names", "fixed_sheets", "MAX_AGREEMENT_SHEETS",
           "county_report_or_blank"]
