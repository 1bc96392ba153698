"""Citations that say what the text says (issue 11 item 3, DESIGN section 1).

Every article citation in the code base (第X条, 第X条（Y）, 第X条第Y款, article N, art. N, in planner/**/*.py, the locale
files, ui/**/*.py, pages/*.py, app.py, README.md, and the `article` of each schema Param) is checked against the one
table of allowed uses, `planner.policy.ARTICLES`: the article must be in it, and the words around the citation (the
message key and its sentence, or the line) must be about something the article says. Where the policy is silent the
text says 规划选择 instead. A failure names file, line, citation and why.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from planner import i18n, policy, schema

ROOT = Path(__file__).resolve().parents[1]
POLICY_TEXT = ROOT.parent / "shared" / "policy" / "jilin_linkage_poverty_measures.txt"
# A sentence ends at 。 and ". "; in a message also at ；/; (a message's clauses carry their own citations).
SENTENCE_END = re.compile(r"[。！？]|(?<!No)(?<!\be\.g)(?<!\bi\.e)\.(?:\s|$)|\n\s*\n")
CLAUSE_END = re.compile(SENTENCE_END.pattern + r"|[；;]")
WINDOW = 240  # characters either side a sentence may reach


def _sources() -> list[Path]:
    files = [*sorted((ROOT / "planner").rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
             *sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py", ROOT / "README.md"]
    # planner/policy.py is the table itself: its rules are checked below (test_every_rule_...).
    return [f for f in files if f.exists() and "__pycache__" not in f.parts and f.name != "policy.py"]


def _sentence(text: str, start: int, end: int, bounds: re.Pattern = SENTENCE_END) -> str:
    """The sentence around text[start:end], at most WINDOW characters either side."""
    lo = max(0, start - WINDOW)
    ends = [m.end() for m in bounds.finditer(text, lo, start)]
    lo = ends[-1] if ends else lo
    m = bounds.search(text, end, min(len(text), end + WINDOW))
    hi = m.start() if m else min(len(text), end + WINDOW)
    return text[lo:hi]


_CODE_LINE = re.compile(r"^\s*(?:[\w.\[\]\"']+\s*=[^=]|def |class |return |Param\(|Column\(|@)|[=(\[{,]\s*$|"
                        r"^\s*(?:if|for|while|with|elif|else|try|except)\b.*:\s*$")


def _prose_block(lines: list[str], i: int) -> tuple[str, int]:
    """For a .py or .md line: the line joined with neighbouring prose lines (a comment or docstring running on, a
    wrapped README list item), so a citation's sentence can be read whole; a code line stands alone."""
    def item(k: int) -> bool:
        return lines[k].lstrip().startswith(("- ", "* "))

    def prose(k: int) -> bool:
        s = lines[k].strip()
        return bool(s) and not _CODE_LINE.search(lines[k]) and not item(k) and not s.startswith(("|", "```", "#!"))
    if not prose(i) and not item(i) and not lines[i].lstrip().startswith("#"):
        return lines[i], 0
    lo, hi = i, i
    while lo > 0 and not item(lo) and i - lo < 3 and (prose(lo - 1) or item(lo - 1)):
        lo -= 1
    while hi + 1 < len(lines) and prose(hi + 1) and hi - i < 3:
        hi += 1
    block = "\n".join(lines[lo:hi + 1])
    offset = sum(len(x) + 1 for x in lines[lo:i])
    return block, offset


def _clean(context: str) -> str:
    return re.sub(r"\s*\n\s*(?:#\s*)?", " ", context).strip()


def citations() -> list[tuple[str, int, policy.Citation, str]]:
    """(file, line, citation, context) for every citation of this policy in the code base."""
    out = []
    for path in _sources():
        rel = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        for i, line in enumerate(lines):
            block, offset = _prose_block(lines, i)
            for c in policy.find_citations(line):
                if c.external:
                    continue
                start = offset + c.start
                context = _clean(_sentence(block, start, start + len(c.text)))
                out.append((rel, i + 1, c, context))
    for path in sorted(i18n.LOCALE_DIR.glob("*.json")):
        rel = str(path.relative_to(ROOT))
        raw = path.read_text(encoding="utf-8")
        for key, value in json.loads(raw).items():
            line = next((n + 1 for n, x in enumerate(raw.split("\n")) if f'"{key}"' in x), 0)
            for c in policy.find_citations(str(value)):
                if not c.external:
                    out.append((rel, line, c, f"{key} {_sentence(str(value), c.start, c.end, CLAUSE_END)}"))
    return out


def _param_context(p: schema.Param) -> str:
    keys = (f"param.{p.section}.{p.key}", f"param_help.{p.section}.{p.key}")
    return " ".join([f"{p.section}.{p.key}", *(i18n.t(k, lang) for k in keys for lang in i18n.LANGS
                                                if i18n.has_key(k, lang))])


def _problems(found) -> list[str]:
    bad = []
    for rel, line, c, context in found:
        for ref in c.refs:
            ok, why = policy.allowed(ref, context, spirit=c.spirit)
            if not ok:
                bad.append(f"{rel}:{line}: {c.text!r}: {why}\n    context: {context[:200]}")
    return bad


# --------------------------------------------------------------------------- the check itself

def test_every_citation_in_the_code_base_is_an_allowed_use():
    found = citations()
    assert len(found) > 50  # the scan sees the locale files and the code
    bad = _problems(found)
    assert not bad, f"{len(bad)} citation(s) that do not say what the text says:\n" + "\n".join(bad)


def test_every_schema_parameter_cites_an_allowed_article_or_says_planning_choice():
    bad = []
    for p in schema.PARAMS:
        if not p.article:
            continue
        found = policy.find_citations(p.article)
        rest = re.sub(r"（[^）]*〔[^）]*）", "", p.article)  # a note such as （财综〔2016〕36号）
        for c in found:
            rest = rest.replace(c.text, "")
        rest = re.sub(r"[、，,\s]", "", rest.replace(policy.PLANNING_CHOICE, "").replace(f"（{policy.SPIRIT}）", ""))
        if rest:
            bad.append(f"planner/schema.py {p.section}.{p.key}: article={p.article!r} is neither citations nor "
                       f"{policy.PLANNING_CHOICE}")
        if policy.is_planning_choice(p.article) and any(not c.spirit for c in found):
            bad.append(f"planner/schema.py {p.section}.{p.key}: {p.article!r}: a planning choice cites an article "
                       f"only as （{policy.SPIRIT}…）")
        context = _param_context(p)
        bad += _problems([("planner/schema.py", 0, c, f"{p.section}.{p.key} {context}") for c in found])
    assert not bad, "\n".join(bad)


# --------------------------------------------------------------------------- the checker catches misreadings

@pytest.mark.parametrize("text,ref", [
    ("proceeds.collective_share 村集体分成比例（第二十二条）", "22"),
    ("param_help.pricing.guide_floor 省级指导价格区间下限（第十五条）", "15"),
    ("rules.objective 优化目标：贫困县流转收益最大（第十七条）", "17"),
    ("rules.min_sale_share 最低出让比例（第二条）", "2"),
    ("rules.priority_weight_national_key 国家重点县优先权重（第二十三条）", "23"),
    ("rules.priority 优先支持贫困地区：优先权重（第三条）", "3"),
    ("proceeds.params_title 分配参数（第二十二条）", "22"),
    ("kpi.proceeds 流转收益（第十九条）", "19"),
])
def test_known_misreadings_are_refused(text, ref):
    c = next(c for c in policy.find_citations(text))
    assert ref in c.refs
    assert not policy.allowed(ref, text, spirit=c.spirit)[0], text


@pytest.mark.parametrize("text", [
    "rules.priority_weight_national_key 优先权重：规划选择（参照第二十三条）",
    "agreement.pricing 由双方县级人民政府协商确定（第十五条）",
    "colhelp.reclaimed_quality_grade 复垦耕地质量等别（第十二条）",
    "Transfer proceeds return promptly to the producing county (article 17)",
    "a plan adjustment (article 6 ¶2, article 10(5))",
])
def test_true_readings_pass(text):
    for c in policy.find_citations(text):
        for ref in c.refs:
            assert policy.allowed(ref, text, spirit=c.spirit)[0], (text, ref, policy.allowed(ref, text, c.spirit))


def test_the_parser_reads_every_citation_form():
    read = [(c.text, c.refs, c.spirit, c.external) for c in policy.find_citations(
        "第六条第二款、第十条（五）；第四条（二）；articles 17-18; article 6 ¶2, 10(5); art. 15; "
        "《吉林省城乡建设用地增减挂钩试点管理办法》第三十三条、三十四条；规划选择（参照第二十三条）")]
    assert [r[1] for r in read] == [("6¶2", "10(5)"), ("4(2)",), ("17", "18"), ("6¶2", "10(5)"), ("15",),
                                    ("33", "34"), ("23",)]
    assert [r for r in read if r[3]] == [("第三十三条、三十四条", ("33", "34"), False, True)]
    assert [r[1] for r in read if r[2]] == [("23",)]
    assert policy.cite("第六条第二款、第十条（五）", "en") == "articles 6 ¶2, 10(5)"
    assert policy.cite("规划选择（参照第二十三条）", "en") == "article 23"
    assert policy.cite("第四条（二）、第十二条", "zh") == "第四条（二）、第十二条"


# --------------------------------------------------------------------------- the table and the rule lists

def test_the_table_holds_only_articles_of_the_policy_text():
    if not POLICY_TEXT.exists():
        pytest.skip(f"policy text not found at {POLICY_TEXT}")
    text = POLICY_TEXT.read_text(encoding="utf-8")
    for ref in policy.ARTICLES:
        number = int(re.split(r"[(¶]", ref)[0])
        assert f"第{policy.int_to_cn(number)}条" in text, ref
    for use, (about, words) in policy.USES.items():
        assert about and re.compile(words), use


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_rule_has_its_text_and_an_allowed_basis(lang):
    for rule in policy.RULES:
        assert i18n.has_key(rule.key, lang), rule.key
        line = policy.rule_line(rule, lang, i18n.t)
        assert i18n.t(rule.key, lang) in line
        assert not policy.find_citations(i18n.t(rule.key, lang)), f"{rule.key}: the basis comes from planner.policy"
        if policy.is_planning_choice(rule.basis):
            assert i18n.t("policy.choice", lang).split("{")[0] in line or \
                i18n.t("policy.choice_spirit", lang).split("{")[0] in line, line
        else:
            assert policy.cite(rule.basis, lang) in line
    context = {r.key: " ".join([r.key, i18n.t(r.key, "zh"), i18n.t(r.key, "en")]) for r in policy.RULES}
    bad = _problems([("planner/policy.py RULES", 0, c, context[r.key]) for r in policy.RULES
                     for c in policy.find_citations(r.basis)])
    assert not bad, "\n".join(bad)


def test_readme_lists_every_rule_with_its_citation():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Policy rules applied" in text
    section = text.split("## Policy rules applied", 1)[1].split("\n## ", 1)[0]
    for rule in policy.RULES:
        basis = rule.basis if policy.basis_kind(rule.basis) != "spirit" else rule.basis
        assert basis in section, f"README 'Policy rules applied' lacks {rule.key}'s basis {basis}"
    cited = {ref for c in policy.find_citations(section) for ref in c.refs}
    in_rules = {ref for r in policy.RULES for c in policy.find_citations(r.basis) for ref in c.refs}
    assert in_rules <= cited, sorted(in_rules - cited)


def test_the_overview_page_lists_the_rules_from_the_one_table():
    source = (ROOT / "ui" / "views" / "overview.py").read_text(encoding="utf-8")
    assert "policy.RULES" in source and "rule_line" in source
    assert not re.search(r'"rules\.\w+"', source), "the rule list lives in planner.policy.RULES only"
