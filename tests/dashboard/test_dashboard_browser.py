"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against
the real migration and dashboard process of tests/dashboard/conftest.py.

Chromium is Debian's (/usr/bin/chromium, scripts/servers/install-system-packages.sh), never a
browser Playwright downloads; it runs with a new empty profile and its background network
features off, so the test talks to 127.0.0.1 only. Screenshots of the pages (docs/dashboard-*.png)
are written only when IMSH_DASHBOARD_SCREENSHOTS names a directory:
``IMSH_DASHBOARD_SCREENSHOTS=docs python -m pytest tests/dashboard/test_dashboard_browser.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.corpus import generate
from tests.adversity.runner_support import CliMigration
from tests.dashboard.support import Migrated, start_dashboard
from tests.support.ports import free_port
from tests.support.servers import ImapServer
from tests.support.tcp_proxy import Fault, every_connection

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
# the live test's mailbox and a source link slow enough (about 27 kB/s) for its pass to last
# several of the page's 2 s polls
LIVE_CORPUS = generate(41, 60, max_size=12 * 1024)
LIVE_THROTTLE = Fault("trickle", after=40_000, chunk=4096, interval=0.15)
SETTLED = ("Synced", "SyncedWithErrors", "Failed")
WATCH = """() => [
  Number(document.querySelector("#summary progress").value),
  document.querySelector("[data-field='batch.status']").textContent,
  document.querySelector("[data-field='chart.running']").textContent,
  document.querySelector("#throughput-chart").getAttribute("data-version")]"""
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1440, "height": 720})
        try:
            yield context
        finally:
            context.close()


def open_page(browser: Any, migrated: Migrated, path: str) -> tuple[Any, list[str]]:
    """A new tab on ``path`` after the first visit with the token; the console's errors."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    base = migrated.dashboard.url.split("/?", 1)[0]
    page.goto(f"{base}{path}?token={migrated.dashboard.token}")
    return page, errors


def test_the_batch_list_shows_the_batch_and_updates_itself(browser: Any,
                                                          migrated: Migrated) -> None:
    page, errors = open_page(browser, migrated, "/")
    assert "token=" not in page.url  # the token left the address bar
    row = page.locator("#batches tbody tr", has_text="B1")
    assert row.locator("[data-field=status]").inner_text() == "SyncedWithErrors"
    assert row.locator("[data-field=total_count]").inner_text() == "2"
    page.locator("body[data-updated]").wait_for(state="attached", timeout=10_000)  # it polled
    assert errors == []  # the live script ran under the page's Content-Security-Policy
    shots = os.environ.get("IMSH_DASHBOARD_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "dashboard-batches.png"))
    page.close()


def test_a_user_page_shows_its_folders_and_report(browser: Any, migrated: Migrated) -> None:
    page, errors = open_page(browser, migrated, "/batches/B1")
    failed = page.locator("#users tbody tr", has_text="bob@contoso.com")
    assert failed.locator("[data-field=status]").inner_text() == "Failed"
    assert failed.locator("[data-field=error]").inner_text() != ""
    shots = os.environ.get("IMSH_DASHBOARD_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "dashboard-batch.png"))
    page.get_by_role("link", name="ann@contoso.com").click()
    page.wait_for_url("**/users/ann%40contoso.com")
    assert page.locator("h1").inner_text() == "ann@contoso.com"
    assert "INBOX" in page.locator("#folders").inner_text()
    assert page.locator("#report tbody tr").count() >= 1
    if shots:
        page.screenshot(path=str(Path(shots) / "dashboard-user.png"))
    assert errors == []
    page.close()


def test_the_csv_the_browser_downloads_is_what_export_csv_writes(
        browser: Any, migrated: Migrated, tmp_path: Path) -> None:
    page, errors = open_page(browser, migrated, "/batches/B1")
    with page.expect_download() as download:
        page.get_by_role("link", name="statistics (CSV)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "B1-statistics.csv"
    assert saved.read_bytes() == migrated.export_csv
    assert errors == []
    page.close()


def test_the_browser_without_the_token_is_refused(browser: Any, migrated: Migrated) -> None:
    page = browser.new_page()
    base = migrated.dashboard.url.split("/?", 1)[0]
    page.context.clear_cookies()  # the other tests' visits with the token set one
    answer = page.goto(f"{base}/batches/B1")
    assert answer is not None and answer.status == 401
    assert "ann@contoso.com" not in page.content()
    page.close()


def test_the_batch_page_moves_its_progress_and_chart_while_the_pass_runs(
        browser: Any, tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    m = CliMigration.create(tmp_path, dovecot, dovecot_target, LIVE_CORPUS, proxy_source=True)
    assert m.source_proxy is not None
    m.source_proxy.set_faults(every_connection(down=LIVE_THROTTLE))
    dashboard = None
    try:
        m.setup_batch(autostart=False)
        m.ok("Set-MigrationConfig -AutomaticProofs $false")  # no proof reading the slow link
        dashboard = start_dashboard(m.state, free_port())
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" else None)
        page.goto(f"{dashboard.url.split('/?', 1)[0]}/batches/B?token={dashboard.token}")
        m.ok("Start-MigrationBatch -Identity B")
        seen: list[list[Any]] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            now = page.evaluate(WATCH)
            if not seen or seen[-1] != now:
                seen.append(now)
            if now[1] in SETTLED:
                break
            page.wait_for_timeout(200)
        progress = [s[0] for s in seen]
        assert seen[-1][1] == "Synced" and progress[-1] == 100, seen
        assert progress == sorted(progress), seen  # it only moves forward
        assert any(0 < p < 100 for p in progress), seen  # and moved while the pass ran
        assert any(s[2] == "1" for s in seen), seen  # the pass was shown running
        assert len({s[3] for s in seen}) >= 3, seen  # the chart was redrawn as it went
        page.wait_for_function("() => { const i = document.querySelector('#throughput-chart');"
                               " return i.complete && i.naturalWidth > 0; }", timeout=10_000)
        assert errors == []  # the image and the script under the Content-Security-Policy
        page.close()
    finally:
        if dashboard is not None:
            dashboard.stop()
        m.close()
