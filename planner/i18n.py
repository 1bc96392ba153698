"""Translations and number formatting for the user interface (Chinese first, English second).

`t(key, lang, **fmt)` looks a key up in `planner/locales/<lang>.json` (plus every `<lang>.<part>.json`) and fills
`{placeholders}`; an unknown key returns the key itself, so a missing translation is visible but never breaks a page.
Every user-visible label lives in those files only, schema labels included (`col.<table>.<name>`,
`param.<section>.<key>`, `param_help.<section>.<key>` in `<lang>.schema.json`). Importable without Streamlit.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LOCALE_DIR = Path(__file__).resolve().parent / "locales"


@lru_cache(maxsize=None)
def messages(lang: str) -> dict[str, str]:
    """All messages of one language: `<lang>.json` plus any `<lang>.<part>.json` (one per page or feature)."""
    out: dict[str, str] = {}
    for path in [LOCALE_DIR / f"{lang}.json", *sorted(LOCALE_DIR.glob(f"{lang}.*.json"))]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.update({str(k): str(v) for k, v in data.items()})
    return out


def t(key: str, lang: str = DEFAULT_LANG, **fmt) -> str:
    """The message for `key` in `lang`, with `{placeholders}` filled; the key itself when unknown."""
    text = messages(lang if lang in LANGS else DEFAULT_LANG).get(key)
    if text is None:
        return key
    if fmt:
        try:
            text = text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
        if lang == "en":
            text = _EN_PLURAL.sub(_en_plural, text)
    return text


# English messages write a counted noun as "{n} error(s)"; once n is known it reads "1 error" or "3 errors" (Chinese
# has no plural). Only right after a number: "Delete row(s)" on a button stays as written.
_EN_PLURAL = re.compile(r"\b(\d[\d,]*(?:\.\d+)?) ((?:[A-Za-z-]+ )?[A-Za-z-]+)\(s\)")


def _en_plural(match: re.Match) -> str:
    number, word = match.groups()
    return f"{number} {word}" if number == "1" else f"{number} {word}s"


def both(key: str, /, **fmt) -> tuple[str, str]:
    """The message in Chinese and in English, for outputs that carry both (message_zh / message_en). A (zh, en)
    tuple as a placeholder value fills each language with its own part (e.g. a label inside a message)."""
    return tuple(t(key, lang, **{k: v[i] if isinstance(v, tuple) else v for k, v in fmt.items()})
                 for i, lang in enumerate(LANGS))


def has_key(key: str, lang: str) -> bool:
    return key in messages(lang)


# --------------------------------------------------------------------------- schema labels

def _schema_key(item) -> str:
    """Locale key of a schema Column (col.<table>.<name>) or Param (param.<section>.<key>); '' when neither."""
    if hasattr(item, "section") and hasattr(item, "key"):
        return f"param.{item.section}.{item.key}"
    name, table = getattr(item, "name", ""), getattr(item, "table", "")
    return f"col.{table}.{name}" if name and table else ""


def label(item, lang: str) -> str:
    """Label of a schema Column or Param in `lang` (falls back to the other language, then the code name)."""
    key = _schema_key(item)
    other = "zh" if lang == "en" else "en"
    for each in (lang if lang in LANGS else DEFAULT_LANG, other):
        if key and has_key(key, each):
            return t(key, each)
    return getattr(item, "name", None) or getattr(item, "key", "")


def column_label(col, lang: str) -> str:
    """Column label with its unit, e.g. 节余指标（亩） / Surplus quota (亩)."""
    text = label(col, lang)
    unit = getattr(col, "unit", "")
    if unit and unit not in text:
        text += f"（{unit}）" if lang == "zh" else f" ({unit})"
    return text


def param_help(param, lang: str) -> str:
    """Help text of a schema Param with the policy article it comes from."""
    key = f"param_help.{param.section}.{param.key}"
    other = "zh" if lang == "en" else "en"
    text = next((t(key, each) for each in (lang if lang in LANGS else DEFAULT_LANG, other) if has_key(key, each)), "")
    if param.article:
        from planner import policy  # a leaf: the one table of what each article may be cited for

        basis = policy.basis_text(param.article, lang, t)
        text = f"{text}{'' if lang == 'zh' else ' '}{basis}".strip()
    return text


def field_label(name: str, lang: str) -> str:
    """Header of a result-table field (`field.<name>`, e.g. quota_mu); the key itself when unknown."""
    return t("field." + name, lang)


def choice_label(kind: str, value, lang: str) -> str:
    """Label of a coded value (poverty class, resettlement mode, objective, ...); the code when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return ""
    key = f"choice.{kind}.{value}"
    text = t(key, lang)
    return str(value) if text == key else text


# --------------------------------------------------------------------------- numbers with units

def fmt_number(value, decimals: int = 1) -> str:
    """Thousands separators, at most `decimals` decimals, no trailing zeros; '—' for blank."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(x):
        return "∞" if x > 0 else ("—" if math.isnan(x) else "−∞")
    text = f"{x:,.{decimals}f}"
    if decimals > 0:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "−0"):
        text = "0"
    return text


def _adaptive(value) -> int:
    """One decimal for small quantities, none from 1,000 up (headline figures stay short)."""
    try:
        return 0 if abs(float(value)) >= 1000 else 1
    except (TypeError, ValueError):
        return 1


def fmt_mu(value, lang: str = DEFAULT_LANG) -> str:
    return f"{fmt_number(value, _adaptive(value))} 亩"


def fmt_wan(value, lang: str = DEFAULT_LANG) -> str:
    return f"{fmt_number(value, _adaptive(value))} 万元"


def fmt_price(value, lang: str = DEFAULT_LANG) -> str:
    return f"{fmt_number(value, 2)} 万元/亩"


__all__ = ["LANGS", "DEFAULT_LANG", "t", "messages", "has_key", "label", "column_label", "param_help",
           "field_label", "choice_label", "both", "fmt_number", "fmt_mu", "fmt_wan", "fmt_price"]
