"""What each article of the policy may be cited for, and the rules the planner applies with their citations.

The policy is 《吉林省运用城乡建设用地增减挂钩政策支持脱贫攻坚实施办法》 (../shared/policy/, DESIGN section 1). A
citation must say what the text says: `ARTICLES` holds, per article (or item/paragraph), a one-line reading of the
text and the uses it may be cited for; `USES` says how a use is recognised in the words around a citation; `MISUSES`
names the readings that look plausible but are wrong. tests/test_citations.py checks every citation in the code
base against these tables, so this is the one place to change when a reading is corrected. Where the policy is
silent a setting is a planning choice (`PLANNING_CHOICE`), never an article.

A leaf module (no planner imports), so `planner.i18n` and the views may all use it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PLANNING_CHOICE = "规划选择"
SPIRIT = "参照"  # 规划选择（参照第二十三条）: a planning choice in the spirit of an article, not a rule of it

# --------------------------------------------------------------------------- what the text says, what it may cite

# use -> (what a citation for it is about, the words that show it in the citation's context: zh, en, code names)
USES: dict[str, tuple[str, str]] = {
    "basis": ("the measures' purpose, basis and interpretation",
              r"依据|制定|解释|实施办法|measures|basis|interpret"),
    "eligibility": ("who may transfer surplus quota province-wide: listed poverty counties, earlier unused quota too",
                    r"贫困县|重点县|片区县|非贫困|资格|可出让|可流转|省域|此前|尚未使用|eligib|poverty count|"
                    r"national key|provincial|province-wide|listed|may (sell|transfer)|not_eligible|supply|"
                    r"sells? no more|surplus"),
    "siting": ("which villages linkage projects should favour",
               r"项目|村庄|village|project|siting"),
    "quality": ("farmland balance in quantity and quality; grades of reclaimed and occupied farmland",
                r"质量|等别|等级|占补|quality|grade|farmland balance"),
    "proceeds_use": ("proceeds go wholly to poverty alleviation and reclamation and return to the producing county",
                     r"收益|资金|返还|价款|财综|复垦成本|扶贫开发|proceeds|money|fund|reclamation cost|financ|"
                     r"payment|repay|return"),
    "caps": ("the using county's cultivated-land retention and construction-land total",
             r"耕地保有量|建设用地总规模|建设用地规划|规划目标|规划管控|余量|retention|construction|cultivated|"
             r"headroom|planning caps?|planned total|\bcaps?\b"),
    "plan_adjust": ("adjusting the main plan indicators when planning space is truly short, agreed by both sides",
                    r"调整|调减|调增|承诺函|规划空间|adjust|commitment|plan indicator|plan-adjust|cede"),
    "lots": ("quota from approved project areas, verified and filed with the province; turnover quota returned",
             r"项目区|核定|备案|周转|批次|复垦|状态|lots?\b|verif|turnover|confirm|project area|reclaim|filed|"
             r"filing|saleable|status"),
    "plan_materials": ("the using county's new-construction plan and application materials",
                       r"实施规划|申请|材料|清单|承诺函|审查意见|报批|建新区|plan\b|material|application|checklist|"
                       r"commitment|documents?|\bpart|部分|\(1\)|（一）"),
    "reclamation": ("the producing county reclaims on schedule per the project plan; acceptance of the new farmland",
                    r"复垦|验收|整理|期限|按期|reclam|accept|deadline"),
    "ledger": ("the province's ledger of all surplus quota",
               r"台账|剩余|产生|流出|流入|登记|ledger|remaining|produced|transferred"),
    "price": ("the price is negotiated by the two county governments",
              r"价格|价款|协商|商定|议价|定价|price|negotiat|agreed|bargain|\bdeals?\b"),
    "agreement": ("the transfer agreement: duties, timely payment, reclamation on time; filed with prefecture and "
                  "province", r"协议|备案|签订|支付|资金及时|agreement|filed|filing|payment|deal|signed|on time"),
    "allocation": ("proceeds allocated and used by resettlement mode: money follows people, equal benefit",
                   r"钱随人走|同等受益|安置|分配|搬迁|流转收益|收益管理|统筹管理|money follows|equal benefit|resettle|allocat|relocat|"
                   r"proceeds|PROCEEDS_RULES|hybrid|per_capita"),
    "land_kept": ("freed land first serves resettlement, rural infrastructure and rural non-farm use",
                  r"安置|基础|公益|非农|留足|预留|保留|批次|kept|keep|rural use|infrastructure|non-farm|reserve|"
                  r"\blots?\b"),
    "ownership": ("reclaimed land stays owned by the village collective",
                  r"所有权|权属|集体经济组织|土地变更|不动产登记|ownership|owned|land title"),
    "turnover": ("turnover quota is coordinated by the province, favouring contiguous poor areas and key counties",
                 r"周转|统筹|turnover"),
    "priority_spirit": ("priority weights by poverty class: a planning choice in the spirit of the turnover rule",
                        r"优先|权重|priority|weight"),
    "validity": ("reclamation on time; the measures are valid four years from issue",
                 r"按时|期限|有效期|四年|年度|复垦|未按期|未能及时|处理|deadline|valid|expir|horizon|years?\b|"
                 r"on time|reclam|\blate\b"),
    "quota_use": ("the using county uses the quota per its new-construction plan",
                  r"使用节余指标|建新|uses? the quota|new[- ]construction"),
}


@dataclass(frozen=True)
class Article:
    """One article (or item / paragraph) as cited: `ref` like "2", "4(2)", "6¶2"; `reads` is what the text says."""

    ref: str
    reads: str
    uses: tuple[str, ...]
    spirit_uses: tuple[str, ...] = ()  # uses allowed only as 规划选择（参照…） / "in the spirit of"


ARTICLES: dict[str, Article] = {a.ref: a for a in (
    Article("1", "purpose and legal basis of the measures", ("basis",)),
    Article("2", "only listed poverty counties (national key, provincial) may transfer surplus quota province-wide, "
                 "including quota produced earlier and not yet used", ("eligibility",)),
    Article("3", "linkage projects should favour villages with relocation tasks (project siting only)", ("siting",)),
    Article("4", "principles: (一) government-led, voluntary; (二) farmland quantity and quality balance; "
                 "(三) proceeds wholly for poverty alleviation and reclamation", ("quality", "proceeds_use")),
    Article("4(2)", "strict farmland balance in quantity and quality", ("quality",)),
    Article("4(3)", "proceeds wholly for poverty alleviation and farmland reclamation (closed operation)",
            ("proceeds_use",)),
    Article("6", "¶1 using county's retention target and construction total; ¶2 plan adjustment when space is short",
            ("caps", "plan_adjust")),
    Article("6¶1", "the using county keeps cultivated land ≥ its target and construction land ≤ its planned total",
            ("caps",)),
    Article("6¶2", "only when planning space is truly short may both sides agree to adjust the main plan indicators",
            ("plan_adjust",)),
    Article("8", "the producing county forms project areas and has them approved by the province", ("lots",)),
    Article("9", "the using county's new-construction plan, items (一)-(七)", ("plan_materials",)),
    Article("9(2)", "the plan states the land to be occupied, including its farmland quality grade",
            ("plan_materials", "quality")),
    Article("9(4)", "the plan states the surplus quota's source, size and transfer price", ("plan_materials", "price")),
    Article("10", "the using county's application and its materials (一)-(五)", ("plan_materials", "plan_adjust")),
    Article("10(2)", "the prefecture's review opinion explains the occupied farmland's quality grade",
            ("plan_materials", "quality")),
    Article("10(5)", "the producing county's commitment letter; it covers plan adjustment where space is short",
            ("plan_materials", "plan_adjust")),
    Article("11", "the producing county reclaims the old sites per the project plan's schedule and standards",
            ("reclamation",)),
    Article("12", "acceptance of the new farmland; reclaimed farmland is graded for quality", ("quality", "reclamation")),
    Article("14", "the province keeps a ledger of all surplus quota; quota is verified and filed with the province; "
                  "turnover quota is returned; the using county uses quota per its plan",
            ("lots", "ledger", "reclamation", "quota_use")),
    Article("15", "the price is negotiated by the producing and using county governments", ("price",)),
    Article("16", "the two county governments sign a transfer agreement fixing duties, timely payment and "
                  "reclamation on time; it is filed with the prefecture and the province", ("agreement",)),
    Article("16¶2", "the agreement is filed with the prefecture and the province", ("agreement",)),
    Article("17", "proceeds return promptly to the producing county and are managed under 财综〔2016〕36号",
            ("proceeds_use",)),
    Article("18", "the producing county allocates and uses proceeds by resettlement mode: money follows people, "
                  "equal benefit", ("allocation",)),
    Article("20", "freed construction land first serves resettlement, rural infrastructure and non-farm use",
            ("land_kept",)),
    Article("22", "reclaimed land stays owned by the village collective (ownership, not a proceeds share)",
            ("ownership",)),
    Article("23", "turnover quota is coordinated by the province, favouring contiguous poor areas and key counties",
            ("turnover", "lots"), spirit_uses=("priority_spirit",)),
    Article("25", "the producing county completes reclamation on time", ("validity", "reclamation")),
    Article("26", "interpretation by the provincial land department", ("basis",)),
    Article("27", "the measures take effect on issue and are valid four years", ("validity",)),
)}

# Readings that look plausible and are wrong: (what the context is about, its words, articles it must not cite).
MISUSES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("the collective share of proceeds (a planning choice; article 22 is ownership)",
     r"collective_share|collective share|集体分成|集体.{0,4}(分成|比例|份额)", frozenset({"22"})),
    ("the provincial guidance band (a scenario assumption; article 15 is the negotiated price)",
     r"指导价|guide_(floor|ceiling)|guidance", frozenset({"15"})),
    ("the optimisation objective (a planning choice)",
     r"\bobjective\b|优化目标|目标函数", frozenset({"17", "18", "19"})),
    ("the minimum sale share (a planning choice)",
     r"min_sale|最低出让比例|最低流转比例|minimum sale", frozenset({"2", "23"})),
    ("priority weights (a planning choice; article 3 is project siting)",
     r"priority_weight|priority weight|优先权重", frozenset({"3"})),
    ("the minimum lot and partner limits (planning choices)",
     r"min_lot|max_partners|最小交易规模|最多配对数|minimum lot|partner limit", frozenset({"2", "15", "23"})),
)


def article(ref: str) -> Article | None:
    """The table entry for a cited ref: the item/paragraph when it has its own entry, else the whole article."""
    return ARTICLES.get(ref) or ARTICLES.get(re.split(r"[(¶]", ref)[0])


def misuse(ref: str, context: str) -> str:
    """Why citing `ref` in `context` is a known misreading; '' when it is not one."""
    number = re.split(r"[(¶]", ref)[0]
    for about, words, refs in MISUSES:
        if number in refs and re.search(words, context, re.I):
            return about
    return ""


def allowed(ref: str, context: str, spirit: bool = False) -> tuple[bool, str]:
    """Whether `ref` may be cited in `context` (the key or line and its sentence), and why not."""
    entry = article(ref)
    if entry is None:
        return False, f"article {ref} is not in planner.policy.ARTICLES (no feature rests on it)"
    bad = misuse(ref, context)
    if bad:
        return False, f"article {ref} ({entry.reads}) cited for {bad}"
    uses = entry.uses + (entry.spirit_uses if spirit else ())
    if any(re.search(USES[u][1], context, re.I) for u in uses):
        return True, ""
    if not spirit and any(re.search(USES[u][1], context, re.I) for u in entry.spirit_uses):
        return False, f"article {ref} may be cited here only as {PLANNING_CHOICE}（{SPIRIT}…） / 'in the spirit of'"
    return False, f"article {ref} reads: {entry.reads}; the context is about none of: " + \
        "; ".join(USES[u][0] for u in uses)


# --------------------------------------------------------------------------- finding citations in text

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "[一二三四五六七八九十百零〇两]+"
_CN_NUMERALS = "一二三四五六七八九十"


def cn_to_int(text: str) -> int:
    """Chinese numeral (up to the hundreds) or digits -> int: 二十三 -> 23."""
    if text.isdigit():
        return int(text)
    total, digit = 0, 0
    for ch in text:
        if ch == "百":
            total, digit = total + (digit or 1) * 100, 0
        elif ch == "十":
            total, digit = total + (digit or 1) * 10, 0
        else:
            digit = _CN_DIGITS[ch]
    return total + digit


def int_to_cn(n: int) -> str:
    """int (1..99) -> Chinese numeral: 23 -> 二十三."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _CN_NUMERALS[tens - 1] + "十")
    return head + ("" if ones == 0 else _CN_NUMERALS[ones - 1])


_ZH_PART = rf"(?:（(?:{_CN}|\d+)）(?:[、至—-]（(?:{_CN}|\d+)）)*|第(?:{_CN}|\d+)款)"
_ZH_ONE = rf"第?(?:{_CN}|\d+)条{_ZH_PART}?"
ZH_CITATION = re.compile(rf"第(?:{_CN}|\d+)条{_ZH_PART}?(?:[、，和及与至](?:{_ZH_ONE}))*")
_EN_PART = r"(?:\s?\((?:\d+|[一二三四五六七])\)(?:\s?[-–]\s?\((?:\d+|[一二三四五六七])\))?|\s?¶\s?\d)"
_EN_ONE = rf"\d{{1,2}}{_EN_PART}?"
EN_CITATION = re.compile(rf"\b(?:[Aa]rticles?|[Aa]rts?\.)\s*{_EN_ONE}"
                         rf"(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*[-–]\s*)(?:articles?\s+)?{_EN_ONE}(?![\d.%]))*")


@dataclass(frozen=True)
class Citation:
    """One citation found in a text: where, as written, the refs it names, and how it cites them."""

    start: int
    end: int
    text: str
    refs: tuple[str, ...]
    spirit: bool = False  # 参照 / in the spirit of: a planning choice, not the article's rule
    external: bool = False  # an article of another document (e.g. 《…试点管理办法》第三十三条)


def _part(text: str) -> str:
    """'（二）' / '(2)' / '第二款' / '¶2' -> '(2)' or '¶2'; ranges keep their first item."""
    text = text.strip()
    m = re.match(rf"第({_CN}|\d+)款", text) or re.match(r"¶\s?(\d+)", text)
    if m:
        return f"¶{cn_to_int(m.group(1))}"
    m = re.match(rf"[（(]({_CN}|\d+)[）)]", text)
    return f"({cn_to_int(m.group(1))})" if m else ""


def _refs(text: str, zh: bool) -> tuple[str, ...]:
    one = (rf"第?({_CN}|\d+)条({_ZH_PART})?" if zh else rf"(\d{{1,2}})({_EN_PART})?")
    out: list[str] = []
    matches = list(re.finditer(one, text))
    for i, m in enumerate(matches):
        n = cn_to_int(m.group(1))
        out.append(f"{n}{_part(m.group(2) or '')}")
        between = text[m.end():matches[i + 1].start()] if i + 1 < len(matches) else ""
        if re.fullmatch(r"\s*[-–至]\s*(?:articles?\s+)?第?", between):  # a range: 17-18, 第十七条至第十八条
            last = cn_to_int(matches[i + 1].group(1))
            out.extend(str(k) for k in range(n + 1, last))
    return tuple(dict.fromkeys(out))


def find_citations(text: str) -> list[Citation]:
    """Every article citation in `text` (Chinese 第X条, 第X条（Y）, 第X条第Y款; English article N, N(Y), N ¶Y,
    lists and ranges), marking those that only take an article as their spirit or that name another document."""
    found = []
    for pattern, zh in ((ZH_CITATION, True), (EN_CITATION, False)):
        for m in pattern.finditer(text):
            before, after = text[max(0, m.start() - 24):m.start()], text[m.end():m.end() + 48]
            spirit = bool(re.search(r"参照$|in the spirit of\s*$", before, re.I))
            external = bool(re.search(r"》\s*$|(办法|规定|通知)\s*$", before)) or \
                bool(re.match(r"\s+of\s+(?:the\s+)?(?:Jilin\s+)?(?:linkage\s+)?pilot", after, re.I))
            found.append(Citation(m.start(), m.end(), m.group(0), _refs(m.group(0), zh), spirit, external))
    return sorted(found, key=lambda c: c.start)


# --------------------------------------------------------------------------- citations as shown

def is_planning_choice(basis: str) -> bool:
    return basis.strip().startswith(PLANNING_CHOICE)


def _zh_ref(ref: str) -> str:
    m = re.fullmatch(r"(\d+)(?:\((\d+)\)|¶(\d+))?", ref)
    n, item, para = int(m.group(1)), m.group(2), m.group(3)
    return f"第{int_to_cn(n)}条" + (f"（{int_to_cn(int(item))}）" if item else "") + \
        (f"第{int_to_cn(int(para))}款" if para else "")


def _en_ref(ref: str) -> str:
    m = re.fullmatch(r"(\d+)(?:\((\d+)\)|¶(\d+))?", ref)
    return "article " + m.group(1) + (f"({m.group(2)})" if m.group(2) else "") + \
        (f" ¶{m.group(3)}" if m.group(3) else "")


def cite(basis: str, lang: str) -> str:
    """A citation written in Chinese (as in schema Params and RULES) in `lang`: 第六条第二款、第十条（五） ->
    'article 6 ¶2, article 10(5)'. Notes after the articles (（财综〔2016〕36号）) are kept. The planning-choice
    wording itself is a label (`policy.planning_choice*` in the locale files); this returns only its article."""
    if is_planning_choice(basis):
        spirit = [c for c in find_citations(basis)]
        basis = spirit[0].text if spirit else ""
    if lang == "zh" or not basis:
        return basis
    out, pos = [], 0
    for c in find_citations(basis):
        out.append(basis[pos:c.start])
        names = [_en_ref(r) for r in c.refs]
        out.append(names[0] if len(names) == 1 else "articles " + ", ".join(n[len("article "):] for n in names))
        pos = c.end
    out.append(basis[pos:])
    return "".join(out).replace("（", " (").replace("）", ")").strip()


def basis_kind(basis: str) -> str:
    """'article' (cites the policy), 'choice' (the policy is silent) or 'spirit' (a choice in an article's spirit)."""
    if not is_planning_choice(basis):
        return "article"
    return "spirit" if find_citations(basis) else "choice"


# Locale messages that say a basis: in the editor's help line, and after a rule in the rule lists.
PARAM_BASIS_KEYS = {"article": "editor.param_basis", "choice": "editor.param_choice",
                    "spirit": "editor.param_choice_spirit"}
RULE_BASIS_KEYS = {"choice": "policy.choice", "spirit": "policy.choice_spirit"}


def basis_text(basis: str, lang: str, t, keys: dict[str, str] = PARAM_BASIS_KEYS) -> str:
    """A basis as a reader sees it: 依据：第十五条。 / 规划选择（政策未作规定）。 (editor help) or 第十五条 / 规划选择
    (rule lists, with `keys=RULE_BASIS_KEYS`). `t` is planner.i18n.t, passed in so this module stays a leaf."""
    kind = basis_kind(basis)
    key = keys.get(kind)
    return t(key, lang, article=cite(basis, lang)) if key else cite(basis, lang)


# --------------------------------------------------------------------------- the rules the planner applies

@dataclass(frozen=True)
class Rule:
    """One rule as the Overview page and the README list it: its text (locale key `rules.<name>`) and its basis."""

    key: str
    basis: str  # 第X条… or 规划选择 / 规划选择（参照第X条）


RULES: tuple[Rule, ...] = (
    Rule("rules.sellers", "第二条"),
    Rule("rules.lots", "第八条、第十四条"),
    Rule("rules.land_kept", "第二十条"),
    Rule("rules.quality", "第四条（二）、第十二条"),
    Rule("rules.caps", "第六条第一款"),
    Rule("rules.adjust", "第六条第二款、第十条（五）"),
    Rule("rules.price", "第十五条"),
    Rule("rules.price_band", PLANNING_CHOICE),
    Rule("rules.agreement", "第十六条"),
    Rule("rules.materials", "第九条、第十条"),
    Rule("rules.proceeds", "第四条（三）、第十七条"),
    Rule("rules.allocation", "第十八条"),
    Rule("rules.ledger", "第十四条"),
    Rule("rules.horizon", "第二十五条、第二十七条"),
    Rule("rules.priority", f"{PLANNING_CHOICE}（{SPIRIT}第二十三条）"),
    Rule("rules.choices", PLANNING_CHOICE),
    Rule("rules.ties", PLANNING_CHOICE),
)


def rule_line(rule: Rule, lang: str, t) -> str:
    """One rule with its basis, as the Overview lists it: **流转价格**：……（第十五条）。"""
    return t("policy.rule_line", lang, rule=t(rule.key, lang), basis=basis_text(rule.basis, lang, t, RULE_BASIS_KEYS))


__all__ = ["PLANNING_CHOICE", "USES", "ARTICLES", "MISUSES", "Article", "Citation", "Rule", "RULES",
           "article", "allowed", "misuse", "find_citations", "cite", "cn_to_int", "int_to_cn", "is_planning_choice",
           "basis_kind", "basis_text", "rule_line", "PARAM_BASIS_KEYS", "RULE_BASIS_KEYS"]
