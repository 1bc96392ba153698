"""节余指标流转规划 · Quota transfer planner — the Streamlit entry point.

Run with `./run_app.sh` (or `.venv/bin/python -m streamlit run app.py`). This file only sets up the page, the
language switch and the shared sidebar, and hands over to the page the user picked. Each page lives in `pages/`
and stays thin: it reads the session state (`ui.state`), calls the planner core (`planner/`) and draws with `ui/`.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from planner.i18n import LANGS, t
from ui import sidebar, state
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
    with st.sidebar:
        # Both languages in the label, each language's name in itself: findable whichever is shown.
        st.radio(t("ui.language"), LANGS, key="lang", format_func=lambda code: t("ui.language_name", code),
                 horizontal=True)
    lang_now = lang()
    page = st.navigation(build_pages(lang_now), position="sidebar")
    with st.sidebar:
        st.divider()
        slot = st.container()
    page.run()
    # Filled after the page ran, so it shows the outcome of this run's edits.
    with slot:
        sidebar.working_status()


main()
