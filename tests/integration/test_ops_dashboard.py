"""Issue 21: ``newsflow dashboard`` end to end in headless Chromium (Debian's ``chromium``, deploy/ci/tools.sh,
driven by Playwright): a real worker processes articles streamed while the page is open; the numbers on the
page must equal what was sent. Saves docs/dashboard.png."""

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import topics
from pipeline.brokers.embedded import free_port, wait_for_port
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.clients import publish_raw
from schemas import RawArticle
from tests.conftest import collect, settings_for
from tests.integration.test_ops_worker import articles
from tests.services import skip_or_fail

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def chromium() -> str:
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if path and os.access(path, os.X_OK):
            return path
    skip_or_fail("chromium is not installed (apt-get install chromium; deploy/ci/tools.sh)")


async def test_dashboard_shows_what_was_streamed(broker, make_worker, seed_bytes, tmp_path):
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    exe = chromium()
    settings = settings_for(broker)
    await ensure_topics(settings)
    worker = make_worker("dashw").start()
    port = free_port()
    env = {**os.environ, "NEWSFLOW_BROKER": broker.address, "NEWSFLOW_PARTITIONS": "2", **broker.env()}
    log = open(tmp_path / "dashboard.log", "wb")
    dash = subprocess.Popen([sys.executable, "-m", "pipeline", "dashboard", "--port", str(port), "--interval", "1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=exe, headless=True,
                                               args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = await browser.new_page(viewport={"width": 1440, "height": 1400})
            await page.goto(f"http://127.0.0.1:{port}/")
            await page.wait_for_function("document.getElementById('conn').textContent === 'live'", timeout=30_000)
            assert await page.inner_text("[data-testid=count-enriched]") == "0"

            good = [RawArticle.from_bytes(seed_bytes, "feeds/seed.txt")] + articles(5, "dash")
            copies = [RawArticle.from_bytes(seed_bytes, "feeds/seed-syndicated.txt")]
            bad = [RawArticle.from_bytes(b'{"title": "broken', "feeds/broken.json"),
                   RawArticle.from_bytes(b"too short", "feeds/short.txt")]
            await publish_raw(settings, good + copies + bad)
            got = await collect(settings, wanted=9, timeout=150)
            assert {t: len(v) for t, v in got.items()} == {topics.ENRICHED: 6, topics.DUPLICATES: 1, topics.DLQ: 2}, \
                worker.log()[-3000:]

            # the page got them live (server-sent events), and its numbers are what was sent
            for testid, want in (("count-enriched", "6"), ("count-duplicates", "1"), ("count-dead", "2")):
                await page.wait_for_function(
                    f"document.querySelector('[data-testid={testid}]').textContent === '{want}'", timeout=30_000)
            assert await page.locator("[data-testid=article]").count() == 6
            titles = await page.locator("[data-testid=article] .t").all_inner_texts()
            assert any(t.endswith("Take Substantial Role in Initiative") for t in titles)
            seed_card = page.locator("[data-testid=article]", has_text="Substantial Role")
            chips = await seed_card.locator(".chip").all_inner_texts()
            assert "Donald Trump" in chips and "Vladimir Putin" in chips
            fixes = await seed_card.locator("[data-testid=correction]").all_inner_texts()
            assert any("Subsutantial" in f and "Substantial" in f for f in fixes)
            reasons = page.locator("[data-testid=dead-reason]")
            counts = [int(c) for c in await reasons.locator(".count").all_inner_texts()]
            assert sum(counts) == 2
            await reasons.first.locator("summary").click()  # its payloads
            payloads = await page.locator("#dead .ex pre").all_inner_texts()
            assert any('"title": "broken' in p or "too short" in p for p in payloads)
            ents = await page.locator("[data-testid=trending-entities] .row").all_inner_texts()
            assert any("Donald Trump" in e for e in ents)
            assert await page.locator("[data-testid=story]").count() >= 1
            # the status poll: the enrich stage wrote 6 in the last minute, and nothing is left to do
            await page.wait_for_function(
                "document.querySelector('[data-testid=throughput]').textContent === '6'", timeout=30_000)
            await page.wait_for_function(
                "document.querySelector('[data-testid=lag-total]').textContent === '0'", timeout=60_000)
            await asyncio.sleep(2.5)  # a few more points on the charts
            (ROOT / "docs").mkdir(exist_ok=True)
            await page.screenshot(path=str(ROOT / "docs" / "dashboard.png"), full_page=True)
            await browser.close()
    finally:
        dash.terminate()
        try:
            dash.wait(15)
        except subprocess.TimeoutExpired:
            dash.kill()
    assert "Traceback" not in (tmp_path / "dashboard.log").read_text(), (tmp_path / "dashboard.log").read_text()
