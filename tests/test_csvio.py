"""planner.csvio: the one CSV reader and writer (encodings, formula-safe cells), a leaf of the import graph."""
from __future__ import annotations

import ast
import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from planner import csvio


def test_csvio_imports_nothing_from_the_planner():
    tree = ast.parse((ROOT / "planner" / "csvio.py").read_text(encoding="utf-8"))
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m and m.split(".")[0] == "planner"], modules


def test_no_import_cycle_in_the_planner():
    """Every planner module's planner imports, followed transitively, never lead back to the module."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "planner").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner"):
                if node.module != "planner":  # `from planner import schema` needs schema, not the whole package
                    deps.add(node.module)
                deps |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("planner")}
        graph[name] = deps
    graph = {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo.extend(graph.get(m, ()))
        return False

    cycles = [m for m in graph if reaches(m, m)]
    assert not cycles, cycles


def test_scenario_no_longer_imports_export():
    text = (ROOT / "planner" / "scenario.py").read_text(encoding="utf-8")
    assert "planner.export" not in text.split('"""', 2)[2].split("\n\n\n")[0]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_decode_and_parse_in_every_excel_encoding(encoding):
    data = "代码,名称\n001,甲县\n".encode(encoding)
    text, found = csvio.decode_bytes(data)
    df = csvio.parse_csv_text(text)
    assert list(df.columns) == ["代码", "名称"] and df.loc[0, "代码"] == "001" and df.loc[0, "名称"] == "甲县"
    assert found in ("utf-8", "utf-8-sig", "gb18030")


@pytest.mark.parametrize("data", [b"PK\x03\x04rest", b"a,b\n\x00\x00"])
def test_binary_files_are_refused_with_both_languages(data):
    with pytest.raises(csvio.FileReadError) as info:
        csvio.decode_bytes(data)
    assert info.value.message_zh and info.value.message_en


def test_read_csv_file_round_trips_what_csv_bytes_wrote(tmp_path):
    df = pd.DataFrame({"code": ["001", "=1+1"], "name": ["@x", "-2-丁区"], "v": [1.5, np.nan]})
    path = tmp_path / "t.csv"
    csvio.write_csv(df, path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    back, encoding = csvio.read_csv_file(path)
    assert encoding == "utf-8-sig"
    assert list(back["code"]) == ["001", "=1+1"] and list(back["name"]) == ["@x", "-2-丁区"]
    assert list(back["v"]) == ["1.5", ""]


def test_audit_columns_trail_in_either_language():
    audit = {"scenario_name": "甲", "scenario_hash": "abc", "planner_version": "1", "solver": "highs",
             "created_at": "now"}
    for lang, i in (("zh", 0), ("en", 1)):
        rows = list(csv.reader(io.StringIO(csvio.csv_bytes(pd.DataFrame({"a": [1]}), audit, lang).decode("utf-8-sig"))))
        assert rows[0] == ["a"] + [h[i] for h in csvio.AUDIT_COLUMNS.values()]
        assert rows[1] == ["1", "甲", "abc", "1", "highs", "now"]
    # issue 11: the record is the generation information and the hash the plan's check code, not "audit" wording
    zh = [h[0] for h in csvio.AUDIT_COLUMNS.values()]
    assert "方案校验码" in zh and all(h == "方案校验码" or h.startswith("生成信息_") for h in zh)
    assert not [h for h in zh if "审计" in h]


def test_write_json_handles_numpy(tmp_path):
    path = tmp_path / "s.json"
    csvio.write_json({"n": np.int64(3), "x": np.float64(1.5), "b": np.bool_(True), "名": "甲"}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": 3, "x": 1.5, "b": True, "名": "甲"}


def test_export_and_scenario_reach_the_same_functions():
    from planner import export, scenario

    assert export.csv_bytes is csvio.csv_bytes and export.safe_cell is csvio.safe_cell
    assert scenario.decode_bytes is csvio.decode_bytes and scenario.FileReadError is csvio.FileReadError
