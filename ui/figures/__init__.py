"""Tables, charts and CSV bytes built from plain data in the language given, without Streamlit (testable headlessly)."""
