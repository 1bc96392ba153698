"""Agreement sheets as Markdown: the preview on the Export page, the agreements zip and an index.

Files are UTF-8 with BOM and CRLF, so Notepad on Chinese Windows opens them correctly; user text is escaped so a
county name can never become emphasis, a link, HTML, a table or a formula (Streamlit renders $...$).
"""
from __future__ import annotations

import re

import pandas as pd

from planner.export.agreements import Block, agreement_blocks
from planner.export.common import (Facts, document_date, fixed, is_deal, now, number, pairing_row, text,
                                   uses_plan_adjustment)
from planner.i18n import t

MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!$])")


def md_escape(value) -> str:
    """User text inside Markdown: no emphasis, links, HTML, tables or formulas."""
    return MD_SPECIAL.sub(r"\\\1", re.sub(r"\s*[\r\n]+\s*", " ", text(value)))


def blocks_markdown(blocks: list[Block], lang: str) -> str:
    colon = t("agreement.colon", lang)
    lines: list[str] = []
    for bl in blocks:
        if bl.kind == "title":
            lines += [f"# {bl.text}", ""]
        elif bl.kind in ("heading", "note"):
            if lines and lines[-1] != "":
                lines.append("")
            lines += [f"## {bl.text}" if bl.kind == "heading" else bl.text, ""]
        elif bl.kind == "field":
            lines.append(f"- **{bl.label}**{colon}{bl.text}")
        elif bl.kind == "check":
            indent = "  " * (bl.level - 1)
            lines.append(f"{indent}- [ ] **{bl.label}** {bl.text}")
    return "\n".join(lines).rstrip() + "\n"


def agreement_markdown(scn, result, seller_code: str, buyer_code: str, lang: str = "zh",
                       generated: str | None = None) -> str:
    """The transfer-agreement sheet of one recommended pairing (article 16) with the using county's application
    materials checklist (articles 9, 10), as Markdown; KeyError for a pairing the plan does not recommend."""
    row = pairing_row(result, seller_code, buyer_code)
    facts = Facts.of(scn, result.pairings)
    return blocks_markdown(agreement_blocks(scn, row, lang, md_escape, generated or now(), facts), lang)


def _file_part(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "_", str(value)).strip("_") or "x"


def agreement_filenames(pairings: pd.DataFrame, ext: str = ".md") -> list[str]:
    """ASCII file names, unique, in pairing order: 01_<seller code>_<buyer code><ext>."""
    width = max(2, len(str(len(pairings))))
    return [f"{i + 1:0{width}d}_{_file_part(s)}_{_file_part(b)}{ext}"
            for i, (s, b) in enumerate(zip(pairings["seller_code"], pairings["buyer_code"]))]


def md_bytes(value: str) -> bytes:
    return ("\ufeff" + value.replace("\r\n", "\n").replace("\n", "\r\n")).encode("utf-8")


def agreement_files(scn, result, lang: str = "zh", generated: str | None = None,
                    facts: Facts | None = None) -> dict[str, bytes]:
    """One Markdown file per recommended pairing plus index.md (`facts`: Facts.of(scn, result.pairings), when the
    caller has it)."""
    lang = "en" if lang == "en" else "zh"
    generated = generated or now()
    facts = facts or Facts.of(scn, result.pairings)
    p = result.pairings
    names = agreement_filenames(p)
    files: dict[str, bytes] = {}
    index = ["# " + t("agreement.index_title", lang, scenario=md_escape(scn.name)), "",
             t("agreement.index_meta", lang, hash=facts.hash, generated=document_date(generated, lang), n=len(p)),
             ""]
    if len(p):
        cols = ("file", "party_a", "party_b", "mu", "price", "wan", "adjust", "deal", "quality")
        index += ["| " + " | ".join(t(f"agreement.col_{c}", lang) for c in cols) + " |", "|" + "---|" * len(cols)]
    for name, row in zip(names, p.to_dict("records")):
        files[name] = md_bytes(blocks_markdown(agreement_blocks(scn, row, lang, md_escape, generated, facts), lang))
        adj = number(row["plan_adjustment_mu"])
        index.append(f"| [{name}]({name}) | {md_escape(row['seller_name'])} | {md_escape(row['buyer_name'])} | "
                     f"{fixed(row['quota_mu'])} | {fixed(row['price_wan_per_mu'])} | {fixed(row['amount_wan'])} | "
                     f"{fixed(adj) if uses_plan_adjustment(adj) else ''} | "
                     f"{t('report.deal_yes', lang) if is_deal(row) else ''} | "
                     f"{t('report.quality_short_' + facts.quality(row), lang)} |")
    if not len(p):
        index.append(t("agreement.index_none", lang))
    files["index.md"] = md_bytes("\n".join(index) + "\n")
    return files


__all__ = ["md_escape", "blocks_markdown", "agreement_markdown", "agreement_filenames", "agreement_files",
           "md_bytes"]
