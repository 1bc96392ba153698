"""Everything Streamlit besides app.py and pages/: session state, caches, shared widgets, the scenario library and
the view builders of each page. `planner/` (the core) never imports this package.

Layout: `i18n` (the one translation helper), `state` (the working scenario and the store), `cache` (the only place
that keeps solves and analysis results per session), `widgets` (kept widget values, the parameter form, tables and
downloads), `library` (save, history, clone, rename, delete), `sidebar`; `figures/` builds tables, charts and CSV
bytes from plain data without Streamlit (testable headlessly); `views/` draws each page's sections.
"""
