"""One real-browser test: start the app with `streamlit run`, drive the system Chromium with Playwright, edit a value
in the scenario editor, run the optimisation, see the pairings and download the pairings CSV.

Skips (with the reason) when /usr/bin/chromium or the playwright package is missing. Never downloads a browser:
CI installs Debian's `chromium` and `fonts-noto-cjk` (see .ci/run). Screenshots of every page go to /tmp/shots/.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("PLANNER_SHOTS_DIR", "/tmp/shots"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip("no browser at /usr/bin/chromium (install Debian's chromium and fonts-noto-cjk to run this test)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scenarios_copy(tmp_path_factory) -> Path:
    """The server's scenario store: a temporary copy of scenarios/, so saves never touch the repository."""
    root = tmp_path_factory.mktemp("store") / "scenarios"
    shutil.copytree(ROOT / "scenarios", root, ignore=shutil.ignore_patterns(".*"))
    return root


@pytest.fixture(scope="module")
def server(scenarios_copy):
    port = _free_port()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", PLANNER_SCENARIOS_DIR=str(scenarios_copy))
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"planner_browser_test_{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early with code {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"streamlit did not answer on {url} within 60 s; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _settle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the script run finished (no running indicator) and the page painted."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_ms)
    page.wait_for_timeout(700)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)
    page.wait_for_timeout(500)


def _nav(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]', has_text=label).click()
    _settle(page)


def _metric_value(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()



@contextlib.contextmanager
def _zh_page(server: str, height: int):
    """A Chinese Chromium page on the app's start page, and the list of requests it made to any outside host."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1500, "height": height}, locale="zh-CN").new_page()
            outside = []
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((server, "data:", "blob:", "about:")) else None)
            page.goto(server)
            _settle(page)
            yield page, outside
        finally:
            browser.close()


def test_edit_solve_and_download_in_a_real_browser(server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1400}, accept_downloads=True,
                                          locale="zh-CN")
            page = context.new_page()
            outside = []
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((server, "data:", "blob:", "about:")) else None)
            page.goto(server)
            _settle(page)
            page.get_by_role("heading", name="概览").wait_for()
            surplus_before = _metric_value(page, "可流转节余指标")
            page.screenshot(path=str(SHOTS / "browser_1_overview.png"))

            # Scenario editor: 双辽市's only saleable lot (220382-01, the first row of the lot table; with lots.csv the
            # lots are the supply) shrinks to its deductions: area 80 亩 = 30 used locally + 50 kept for rural use.
            _nav(page, "情景编辑")
            page.get_by_role("heading", name="情景编辑").wait_for()
            page.get_by_role("tab", name="指标批次").click()
            page.wait_for_timeout(800)
            grid = page.locator('[data-testid="stDataFrame"]:visible').first
            grid.locator("canvas").first.wait_for()
            page.wait_for_timeout(500)
            box = grid.bounding_box()
            page.mouse.click(box["x"] + 160, box["y"] + 52)  # first data row, 批次编号 column (after 行, the row number)
            page.wait_for_timeout(300)
            for _ in range(6):  # 批次编号 → 县代码 → 项目区 → 批准文号 → 状态 → 可流转年份 → 面积
                page.keyboard.press("ArrowRight")
            page.keyboard.type("8")  # opens the cell editor with the key's character selected
            page.wait_for_timeout(300)
            page.keyboard.press("End")
            page.keyboard.type("0")
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / "browser_2a_typing.png"))
            page.keyboard.press("Enter")
            _settle(page)
            page.get_by_text("修改已生效").wait_for(timeout=20_000)
            page.screenshot(path=str(SHOTS / "browser_2_editor.png"))

            # Pairings: run the optimisation and see the result of the edit.
            _nav(page, "优化配对")
            page.get_by_role("button", name="运行优化").click()
            _settle(page)
            page.get_by_text("已找到最优方案").wait_for(timeout=30_000)
            surplus_after = _metric_value(page, "可流转节余指标")
            assert surplus_after != surplus_before
            assert float(surplus_before.replace(",", "")) - float(surplus_after.replace(",", "")) == 1100
            assert page.get_by_role("heading", name="推荐配对").is_visible()
            assert page.locator('[data-testid="stDataFrame"]').count() >= 1
            page.screenshot(path=str(SHOTS / "browser_3_pairings.png"))
            page.get_by_role("tab", name="地图").click()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "browser_4_map.png"))

            with page.expect_download(timeout=30_000) as info:
                page.get_by_role("button", name="下载配对结果（CSV）").click()
            target = tmp_path / "pairings.csv"
            info.value.save_as(target)
            data = target.read_bytes()
            assert data.startswith(b"\xef\xbb\xbf"), data[:20]
            lines = data.decode("utf-8-sig").splitlines()
            header = lines[0].split(",")
            assert header[:6] == ["产生县", "产生县代码", "使用县", "使用县代码", "年度", "流转指标（亩）"]
            assert {"协议状态", "质量核验"} <= set(header)  # a signed deal and article 4(二), as in the workbook
            assert len(lines) > 1
            assert not any(",220382," in line for line in lines[1:])  # 双辽市 has nothing left to sell

            # Proceeds: the allocation of the solve above, with the verdict on equal benefit (article 18).
            _nav(page, "收益分配")
            page.get_by_role("heading", name="收益分配").first.wait_for()
            page.get_by_text("符合“同等受益”").first.wait_for(timeout=30_000)
            page.screenshot(path=str(SHOTS / "browser_4b_proceeds.png"))

            _nav(page, "导出")
            page.get_by_role("heading", name="导出").wait_for()
            page.screenshot(path=str(SHOTS / "browser_5_export.png"))
            assert not outside, f"requests to outside hosts: {outside[:5]}"
        finally:
            browser.close()


def test_save_a_variant_and_compare_it_with_the_baseline(server, scenarios_copy, tmp_path):
    """Scenario store and compare page: change the guidance floor, save as a new scenario, compare with the baseline."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1400}, accept_downloads=True,
                                          locale="zh-CN")
            page = context.new_page()
            outside = []
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((server, "data:", "blob:", "about:")) else None)
            page.goto(server)
            _settle(page)
            _nav(page, "情景编辑")
            page.get_by_role("tab", name="参数").click()
            floor = page.get_by_role("spinbutton", name="省级指导价下限（万元/亩）")
            floor.fill("12")
            floor.press("Tab")
            page.get_by_role("button", name="应用参数").click()
            _settle(page)
            page.get_by_text("参数已生效").wait_for(timeout=20_000)
            assert page.get_by_role("button", name="保存", exact=True).is_disabled()  # the baseline is read-only

            page.get_by_role("button", name="另存为…").click()
            name = page.get_by_role("textbox", name="新情景名称")
            name.fill("指导价下限12")
            name.press("Enter")
            _settle(page)
            page.get_by_role("button", name="另存为新情景").click()
            _settle(page)
            page.get_by_text("已另存为“指导价下限12”").wait_for(timeout=20_000)
            page.screenshot(path=str(SHOTS / "browser_6_saved_as.png"))
            assert (scenarios_copy / "指导价下限12" / "scenario.toml").is_file()
            assert not (ROOT / "scenarios" / "指导价下限12").exists()

            # Compare: the baseline and the saved variant are picked by default.
            _nav(page, "情景比较")
            page.get_by_role("heading", name="情景比较").wait_for()
            page.get_by_text("与基准相比：1 处输入差异").wait_for(timeout=30_000)
            assert page.locator('[data-testid="stMultiSelect"]').get_by_text("指导价下限12").count() >= 1
            page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "browser_7_compare.png"), full_page=True)
            with page.expect_download(timeout=30_000) as info:
                page.get_by_role("button", name="下载比较结果（CSV）").click()
            target = tmp_path / "comparison.csv"
            info.value.save_as(target)
            lines = target.read_bytes().decode("utf-8-sig").splitlines()
            changed = [line for line in lines if line.startswith("输入差异,")]
            assert len(changed) == 1 and "省级指导价下限（万元/亩）,修改,10,12" in changed[0], changed
            assert not outside, f"requests to outside hosts: {outside[:5]}"
        finally:
            browser.close()


def test_ledger_page_in_a_real_browser(server):
    """The quota ledger (指标台账): the unsold-at-expiry warnings (article 27), the flow chart and the lot table."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with _zh_page(server, 2400) as (page, outside):
        _nav(page, "指标台账")
        page.get_by_role("heading", name="指标台账").first.wait_for()
        page.get_by_text("第二十七条").first.wait_for(timeout=30_000)
        page.get_by_role("heading", name="从产生到剩余").wait_for()
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)
        assert page.locator('[data-testid="stDataFrame"]').count() >= 1
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / "browser_8_ledger.png"), full_page=True)
        page.get_by_role("tab", name="付款").click()
        page.wait_for_timeout(800)
        assert page.get_by_text("逾期未付").first.is_visible()
        assert not outside, f"requests to outside hosts: {outside[:5]}"


def test_import_preview_draft_after_reload_and_discard_in_a_real_browser(server, scenarios_copy, tmp_path):
    """Issue 15: an uploaded table with a renamed header is shown as a preview (the column that would be blanked,
    with the uploaded header it probably is) and applied only on confirmation; after a reload (F5) the unsaved
    import is offered back as a draft; discarding everything asks first."""
    from planner import load_checked

    shutil.rmtree(scenarios_copy / ".drafts", ignore_errors=True)  # drafts left by the other browser tests' edits
    SHOTS.mkdir(parents=True, exist_ok=True)
    scn, _ = load_checked(ROOT / "scenarios" / "jilin-baseline")
    _, raw = scn.to_raw()
    upload = raw["counties"].rename(columns={"floor_price": "price_min"})
    path = tmp_path / "县表.csv"
    path.write_bytes(upload.to_csv(index=False).encode("gbk"))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1600}, locale="zh-CN")
            page = context.new_page()
            page.goto(server)
            _settle(page)
            _nav(page, "情景编辑")
            page.get_by_role("tab", name="导入数据").click()
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
            _settle(page)
            page.get_by_role("button", name="导入此表").click()
            _settle(page)
            page.get_by_text("导入预览").first.wait_for(timeout=20_000)
            # the column that would be blanked, with the uploaded header it probably is
            page.locator('[data-testid="stAlert"]', has_text="price_min").filter(has_text="将被清空").first.wait_for()
            assert not page.get_by_text("已导入").count()  # nothing applied yet
            page.screenshot(path=str(SHOTS / "browser_9_import_preview.png"), full_page=True)
            page.get_by_role("button", name="确认导入").click()
            _settle(page)
            page.get_by_text("已导入").first.wait_for(timeout=20_000)
            assert list((scenarios_copy / ".drafts" / "jilin-baseline").glob("*.json"))

            page.reload()  # F5: a new session; the unsaved import is offered back
            _settle(page)
            _nav(page, "情景编辑")
            page.get_by_text("发现未保存的修改").first.wait_for(timeout=20_000)
            page.screenshot(path=str(SHOTS / "browser_10_draft_offer.png"))
            page.get_by_role("button", name="恢复未保存的修改").click()
            _settle(page)
            page.get_by_text("已恢复未保存的修改").first.wait_for(timeout=20_000)

            page.get_by_role("button", name="放弃全部修改").click()
            _settle(page)
            page.get_by_text("确定放弃全部未保存的修改吗").wait_for(timeout=20_000)
            page.get_by_role("button", name="确认放弃").click()
            _settle(page)
            deadline = time.monotonic() + 30  # the discard's rerun may still be running on a busy machine
            while list((scenarios_copy / ".drafts").glob("*/*.json")) and time.monotonic() < deadline:
                time.sleep(0.25)
            assert not list((scenarios_copy / ".drafts").glob("*/*.json"))
        finally:
            browser.close()


def test_map_of_jilin_and_chinese_builtin_texts_in_a_real_browser(server):
    """The pairings page's map (issue 16): county shapes shaded green (sold) and blue (bought), orange flow lines,
    county names on hover, all without an outside request; the illustrative-data banner on the page; Streamlit's
    own uploader texts in Chinese."""
    import io

    from PIL import Image

    from planner import mapdata
    from planner.i18n import t

    SHOTS.mkdir(parents=True, exist_ok=True)
    with _zh_page(server, 1400) as (page, outside):
        _nav(page, "优化配对")
        page.get_by_role("heading", name="优化配对").first.wait_for()
        assert page.get_by_text("示意数据：").first.is_visible()  # the baseline is illustrative
        page.get_by_role("tab", name="地图").click()
        chart = page.locator('[data-testid="stVegaLiteChart"]:visible').first
        chart.wait_for(timeout=60_000)
        page.wait_for_timeout(2500)  # Vega parses the boundaries and draws
        shot = chart.screenshot(path=str(SHOTS / "browser_11_map.png"))
        img = Image.open(io.BytesIO(shot)).convert("RGB")
        colours = img.getcolors(maxcolors=1 << 20)

        def count(test) -> int:
            return sum(n for n, rgb in colours if test(*rgb))

        green = count(lambda r, g, b: g > r + 40 and g > b + 10)       # producing counties
        blue = count(lambda r, g, b: b > r + 60 and b > g + 20)        # using counties
        orange = count(lambda r, g, b: r > 200 and 70 < g < 170 and b < 90)  # flows
        assert green > 5_000 and blue > 5_000 and orange > 2_000, (green, blue, orange)
        assert img.size[0] > 900  # the main map and the two district insets side by side

        # county names on hover: sweep the main map until the tooltip names a county (a county's tooltip has
        # its prefecture; a flow's has not)
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        box = chart.bounding_box()
        names = {f["properties"]["name"] for f in mapdata.features("county")}
        prefecture = t("col.prefecture", "zh")
        seen = ""
        for fy, fx in ((0.1 + 0.1 * i, 0.05 + 0.08 * j) for i in range(7) for j in range(7)):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=2)
            page.wait_for_timeout(120)
            seen = page.evaluate("() => document.getElementById('vg-tooltip-element')?.textContent || ''")
            if prefecture in seen and any(name in seen for name in names):
                break
        assert prefecture in seen and any(name in seen for name in names), seen
        page.screenshot(path=str(SHOTS / "browser_12_map_hover.png"))

        # Streamlit's own uploader texts, replaced by CSS (app.py)
        _nav(page, "情景编辑")
        page.get_by_role("tab", name="导入数据").click()
        uploader = page.locator('[data-testid="stFileUploader"]:visible').first
        uploader.wait_for(timeout=30_000)
        after = uploader.evaluate("""e => [
            getComputedStyle(e.querySelector('button [data-testid="stMarkdownContainer"] p'), '::after').content,
            getComputedStyle(e.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span'),
                             '::after').content]""")
        assert after[0] == '"上传"' and "单个文件不超过" in after[1], after
        uploader.screenshot(path=str(SHOTS / "browser_13_uploader_zh.png"))
        assert not outside, f"requests to outside hosts: {outside[:5]}"
