"""Tables, charts and CSV bytes built from plain data in the language given, without Streamlit (testable headlessly)."""

import altair as alt


def top_legend(**kw) -> alt.Legend:
    """A legend above the chart that shows whole labels (Vega-Lite cuts them at 160 px: "Moved in from elsewhe")."""
    return alt.Legend(orient="top", labelLimit=400, **kw)
