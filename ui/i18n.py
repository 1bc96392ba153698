"""The one translation helper of the UI: `tr(key, **fmt)` in the session's language, built on planner.i18n.t.

Builders in `ui/figures` take the language as an argument (they run without Streamlit) and call planner.i18n
directly; everything that draws calls `tr`.
"""
from __future__ import annotations

import streamlit as st

from planner.i18n import DEFAULT_LANG, LANGS, t


def lang() -> str:
    """The language picked in the sidebar (key `lang`), Chinese until then."""
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def tr(key: str, **fmt) -> str:
    """The message for `key` in the session's language, `{placeholders}` filled from `fmt`."""
    return t(key, lang(), **fmt)


__all__ = ["lang", "tr"]
