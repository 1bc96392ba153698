"""One source of every label: the locale files (planner/locales/<lang>.json and <lang>.<part>.json).

The two languages must hold the same keys file by file, no key may live in two files, a message's {placeholders}
must be the same in both languages, and every schema column and parameter must have its label (and its help where
it has one) in both.
"""
from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from planner import i18n, schema
from planner.scenario import parse_category

LOCALES = i18n.LOCALE_DIR
PLANNER = Path(i18n.__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")
# Parameters that have a help text (beyond the policy article the help line adds).
PARAMS_WITH_HELP = {("pricing", "guide_floor"), ("pricing", "guide_ceiling"), ("pricing", "bargaining_weight"),
                    ("rules", "objective"), ("rules", "quality_rule"), ("rules", "min_lot_mu"),
                    ("rules", "max_partners_per_seller"), ("rules", "max_partners_per_buyer"),
                    ("rules", "saleable_status"), ("horizon", "start_year"), ("horizon", "end_year")}
# Placeholders one language uses and the other does not, on purpose (the caller passes both): key -> the difference.
# Chinese numbers an article part with a Chinese numeral ({cn}), English with a digit ({n}).
LANGUAGE_SPECIFIC_PLACEHOLDERS = {"agreement.part9_label": {"cn", "n"}, "agreement.m5_adjust": {"seller"}}


def _load(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path.name
    return data


def _parts(lang: str) -> dict[str, Path]:
    """Part name ('' for <lang>.json) -> file."""
    out = {"": LOCALES / f"{lang}.json"}
    for path in LOCALES.glob(f"{lang}.*.json"):
        out[path.name[len(lang) + 1:-len(".json")]] = path
    return out


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_languages_have_the_same_part_files():
    assert set(_parts("zh")) == set(_parts("en"))


@pytest.mark.parametrize("part", sorted(_parts("zh")))
def test_zh_and_en_hold_the_same_keys(part):
    zh, en = _load(_parts("zh")[part]), _load(_parts("en")[part])
    assert sorted(zh.keys() - en.keys()) == [], f"only in zh{'.' + part if part else ''}.json"
    assert sorted(en.keys() - zh.keys()) == [], f"only in en{'.' + part if part else ''}.json"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_key_is_defined_in_two_files(lang):
    seen: dict[str, str] = {}
    twice = []
    for part, path in sorted(_parts(lang).items()):
        for key in _load(path):
            if key in seen:
                twice.append((key, seen[key], path.name))
            seen[key] = path.name
    assert twice == []


@pytest.mark.parametrize("part", sorted(_parts("zh")))
def test_placeholders_match_between_languages(part):
    zh, en = _load(_parts("zh")[part]), _load(_parts("en")[part])
    bad = []
    for key in zh.keys() & en.keys():
        try:
            a, b = _fields(zh[key]), _fields(en[key])
        except ValueError as exc:  # an unbalanced brace
            bad.append((key, str(exc)))
            continue
        if a ^ b != LANGUAGE_SPECIFIC_PLACEHOLDERS.get(key, set()):
            bad.append((key, sorted(a ^ b)))
    assert bad == []


def test_messages_are_non_empty():
    for lang in i18n.LANGS:
        for part, path in _parts(lang).items():
            assert [k for k, v in _load(path).items() if not str(v).strip()] == [], path.name


# --------------------------------------------------------------------------- schema labels

def _columns():
    return [c for _, columns, _ in schema.TABLES.values() for c in columns]


def test_every_column_knows_its_table():
    for table, (_, columns, _) in schema.TABLES.items():
        assert all(c.table == table for c in columns)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_column_and_parameter_has_a_label(lang):
    missing = [f"col.{c.table}.{c.name}" for c in _columns() if not i18n.has_key(f"col.{c.table}.{c.name}", lang)]
    missing += [f"param.{p.section}.{p.key}" for p in schema.PARAMS
                if not i18n.has_key(f"param.{p.section}.{p.key}", lang)]
    assert missing == []
    for item in (*_columns(), *schema.PARAMS):
        text = i18n.label(item, lang)
        assert text and text not in (getattr(item, "name", None), getattr(item, "key", None)) or lang == "en"
        assert bool(CJK.search(text)) == (lang == "zh") or item in schema.PARAMS, (lang, text)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_parameters_with_help_have_it_in_both_languages(lang):
    for p in schema.PARAMS:
        key = f"param_help.{p.section}.{p.key}"
        assert i18n.has_key(key, lang) == ((p.section, p.key) in PARAMS_WITH_HELP), key
        if (p.section, p.key) in PARAMS_WITH_HELP:
            assert i18n.t(key, lang) in i18n.param_help(p, lang)


def test_schema_keys_name_real_columns_and_parameters():
    known = {f"col.{c.table}.{c.name}" for c in _columns()}
    known |= {f"param.{p.section}.{p.key}" for p in schema.PARAMS}
    known |= {f"param_help.{p.section}.{p.key}" for p in schema.PARAMS}
    for lang in i18n.LANGS:
        assert sorted(_load(LOCALES / f"{lang}.schema.json").keys() - known) == []


def test_labels_and_help_read_the_locale_files():
    surplus = next(c for c in schema.COUNTY_COLUMNS if c.name == "surplus_mu")
    assert i18n.column_label(surplus, "zh") == "节余指标（亩）"
    assert i18n.column_label(surplus, "en") == "Surplus quota (亩)"
    theta = schema.PARAMS_BY_KEY[("pricing", "bargaining_weight")]
    assert i18n.label(theta, "zh") == "议价系数 θ"
    assert "第十五条" in i18n.param_help(theta, "zh") and "θ=0" in i18n.param_help(theta, "en")
    assert i18n.field_label("quota_mu", "zh") == i18n.t("field.quota_mu", "zh")
    assert not hasattr(surplus, "label_zh") and not hasattr(theta, "help_en")


# --------------------------------------------------------------------------- choices as input

@pytest.mark.parametrize("column,kind", [("poverty_class", "poverty_class"),
                                         ("resettlement_mode", "resettlement_mode")])
def test_every_shown_choice_label_reads_back_as_its_code(column, kind):
    col = next(c for c in _columns() if c.name == column)
    for code in col.allowed:
        for lang in i18n.LANGS:
            shown = i18n.choice_label(kind, code, lang)
            assert shown != code or lang == "en"
            assert parse_category(shown, col) == code, (lang, shown)
            assert parse_category(f"  {shown.upper()} ", col) == code


# --------------------------------------------------------------------------- no labels left in core code

CORE_MODULES = ("compare.py", "explain.py", "proceeds.py", "sensitivity.py", "validate.py", "store.py", "audit.py")


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_modules_hold_no_chinese_text(module):
    """Chinese in a string literal (docstrings aside) is a label that belongs in the locale files."""
    tree = ast.parse((PLANNER / module).read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found = [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and id(n) not in docstrings and CJK.search(n.value)]
    assert found == []


def test_english_counts_read_as_plurals_only_when_more_than_one():
    """'1 error(s) found', '1 input difference(s)' (found trying the app as a user): the count decides the noun."""
    from planner.i18n import t

    assert t("editor.table_errors", "en", file="Lots", n=1) == "Lots: 1 error"
    assert t("editor.table_errors", "en", file="Lots", n=12) == "Lots: 12 errors"
    summary = t("cmp.summary", "en", inputs=1, pairings=63, kpis=0)
    assert "1 input difference," in summary and "63 pairing changes" in summary and "0 headline figures" in summary
    assert t("editor.table_errors", "zh", file="批次", n=1) == "批次：1 个错误"
    assert "(s)" not in t("editor.table_errors_rows", "en", file="Lots", n=1, rows="1")
