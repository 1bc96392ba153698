"""节余指标流转规划 · Quota transfer planner — the Streamlit entry point.

Run with `./run_app.sh` (or `.venv/bin/python -m streamlit run app.py`). This file only sets up the page, the
language switch and the shared sidebar, and hands over to the page the user picked. Each page lives in `pages/`
and stays thin: it reads the session state (`ui.state`), calls the planner core (`planner/`) and draws with `ui/`.
"""
from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from planner.i18n import LANGS, t
from ui import banner, sidebar, state
from ui.i18n import lang

ROOT = Path(__file__).resolve().parent

# The navigation, in order: (file, title key in planner/locales, URL path). A page is shown only when its file
# exists, so later pages (proceeds, compare, sensitivity) appear as soon as their files are added; to add another,
# add its file, a line here and its title key to planner/locales/zh.json and en.json.
# No page icons: Streamlit turns the current page's icon into the favicon, and a ":material/...:" favicon is
# fetched from fonts.gstatic.com — the app must make no outside request.
PAGES = [
    ("pages/1_overview.py", "page.overview", "overview"),
    ("pages/2_editor.py", "page.editor", "editor"),
    ("pages/3_pairings.py", "page.pairings", "pairings"),
    ("pages/7_ledger.py", "page.ledger", "ledger"),
    ("pages/4_proceeds.py", "page.proceeds", "proceeds"),
    ("pages/5_compare.py", "page.compare", "compare"),
    ("pages/6_sensitivity.py", "page.sensitivity", "sensitivity"),
    ("pages/9_export.py", "page.export", "export"),
]


def build_pages(lang_code: str) -> list:
    pages = []
    for path, title_key, url in PAGES:
        if (ROOT / path).is_file():
            pages.append(st.Page(path, title=t(title_key, lang_code), url_path=url, default=not pages))
    return pages


# Streamlit's own English texts that CSS can replace (issue 16): (selector whose text is hidden, locale key of
# the text shown instead). Streamlit has no locale option; these selectors follow its 1.67 markup (checked in a
# browser) and are harmless when it changes: the English text then simply shows again.
BUILTIN_TEXTS = [
    ('[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p', "st.upload"),
    ('[data-testid="stFileUploaderDropzoneInstructions"] span', "st.per_file"),
    # shown only while a file is dragged over the drop zone
    ('[data-testid="stFileUploaderDropzone"] > input + div', "st.drop_here"),
    ('[data-testid="stSelectboxVirtualDropdown"] [role="listbox"][data-empty="true"] [role="option"] span',
     "st.no_results"),
    # the multiselect's empty list says either "No results" or "You can only select up to N options"
    ('[data-testid="stMultiSelectDropdown"] [role="listbox"][data-empty="true"] [role="option"] span',
     "st.no_options"),
    ('[data-testid="InputInstructions"]', "st.enter_apply"),
    ('[data-testid="stTextArea"] [data-testid="InputInstructions"]', "st.ctrl_enter_apply"),
    ('[data-testid="stForm"] [data-testid="InputInstructions"]', "st.enter_submit"),
]
# The table toolbar's tooltips live in a floating box that does not say which button it belongs to: replace its
# text while the pointer is on (or the keyboard focus in) that button. (aria-label, locale key)
TOOLBAR_TIPS = [("Show/hide columns", "st.tip.columns"), ("Download as CSV", "st.tip.download"),
                ("Search", "st.tip.search"), ("Fullscreen", "st.tip.fullscreen"),
                ("Close fullscreen", "st.tip.close_fullscreen"), ("Add row", "st.tip.add_row"),
                ("Delete row(s)", "st.tip.delete_rows"), ("Show data", "st.tip.show_data"),
                ("Download as PNG", "st.tip.download_png"), ("Copy Vega-Lite spec", "st.tip.copy_spec")]


def builtin_texts_css(lang_code: str) -> str:
    """CSS that hides Streamlit's English texts and shows the locale's instead (nothing for English)."""
    if lang_code == "en":
        return ""

    def text(key: str, **fmt) -> str:
        return json.dumps(t(key, lang_code, **fmt), ensure_ascii=False)  # a JSON string is a valid CSS string

    rules = []
    for selector, key in BUILTIN_TEXTS:
        size = text("st.per_file", mb=st.get_option("server.maxUploadSize")) if key == "st.per_file" else text(key)
        rules.append(f"{selector}{{font-size:0!important}}"
                     f"{selector}::after{{content:{size};font-size:0.875rem;line-height:1.6}}")
    tip = '[data-testid="stTooltipContent"] [data-testid="stMarkdownContainer"] p'
    for label, key in TOOLBAR_TIPS:
        near = (f'body:has([data-testid="stBaseButton-elementToolbar"][aria-label="{label}"]:hover) {tip}, '
                f'body:has([data-testid="stBaseButton-elementToolbar"][aria-label="{label}"]:focus-visible) {tip}')
        rules.append(f"{near}{{font-size:0!important}}"
                     + ", ".join(f"{n.strip()}::after" for n in near.split(", "))
                     + f"{{content:{text(key)};font-size:0.875rem}}")
    return "\n".join(rules)


def main() -> None:
    state.app_started()
    try:
        run()
    finally:
        state.app_finished()


def run() -> None:
    state.leave_legacy_pages_mode()
    lang_now = lang()
    # No page_icon, for the same reason as the page list (Streamlit's own favicon is served locally).
    st.set_page_config(page_title=t("app.title", lang_now), layout="wide")
    state.init()
    css = builtin_texts_css(lang())
    if css:
        st.html(f"<style>{css}</style>")  # style only: Streamlit puts it where it takes no space
    with st.sidebar:
        # Both languages in the label, each language's name in itself: findable whichever is shown.
        st.radio(t("ui.language"), LANGS, key="lang", format_func=lambda code: t("ui.language_name", code),
                 horizontal=True)
    lang_now = lang()
    page = st.navigation(build_pages(lang_now), position="sidebar")
    with st.sidebar:
        st.divider()
        slot = st.container()
    # Every page, above its title, while the working scenario's quantities are the baseline's made-up ones; filled
    # after the page ran, like the sidebar, so a scenario opened on this run counts.
    top = st.container()
    page.run()
    # Filled after the page ran, so it shows the outcome of this run's edits.
    with slot:
        sidebar.working_status()
    with top:
        banner.illustrative_banner()


main()
