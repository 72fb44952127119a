"""``imsh dashboard`` over HTTP, against the real migration and dashboard process of
tests/dashboard/conftest.py (ann synced, bob failed)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest
from markupsafe import escape
from prometheus_client.parser import text_string_to_metric_families

from tests.dashboard.support import MESSAGES, Migrated

pytestmark = [pytest.mark.servers, pytest.mark.slow]

PAGES = ("/", "/batches/B1", "/users/ann@contoso.com", "/users/bob@contoso.com",
         "/api/overview.json", "/api/batches/B1", "/report.csv", "/report.csv?batch=B1",
         "/metrics", "/static/dashboard.js", "/chart/throughput.svg?batch=B1")


@pytest.mark.parametrize("path", PAGES)
def test_a_request_without_the_token_is_refused(migrated: Migrated, path: str) -> None:
    dashboard = migrated.dashboard
    name = f"imsh_dashboard_{dashboard.port}"
    for cookie in ("", f"{name}=wrong", f"{name}={dashboard.token[:-1]}",
                   f"imsh_dashboard={dashboard.token}",  # another port's name
                   f"imsh_dashboard_1={dashboard.token}"):
        answer = dashboard.request(path, cookie=cookie)
        assert answer.status == 401, (path, cookie, answer.status)
        assert b"ann@contoso.com" not in answer.body
    assert dashboard.request(path + ("&" if "?" in path else "?") + "token=nope",
                             cookie="").status == 401


def test_the_printed_token_lets_the_admin_in_once_and_leaves_the_address(
        migrated: Migrated) -> None:
    dashboard = migrated.dashboard
    assert dashboard.url.startswith("http://127.0.0.1:")
    answer = dashboard.request(f"/batches/B1?token={dashboard.token}", cookie="")
    assert answer.status == 303
    assert answer.headers["location"] == "/batches/B1"  # the token left the URL
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert cookie.startswith(f"imsh_dashboard_{dashboard.port}=")
    assert dashboard.request("/batches/B1", cookie=cookie.split(";", 1)[0]).status == 200


def test_the_batch_list_shows_what_get_migrationbatch_shows(migrated: Migrated) -> None:
    page = migrated.dashboard.request("/")
    assert page.status == 200
    assert "SyncedWithErrors" in migrated.batch_text  # ann synced, bob failed
    overview = json.loads(migrated.dashboard.request("/api/overview.json").body)
    [batch] = overview["batches"]
    facts = dict(line.split(" : ", 1) for line in migrated.batch_text.splitlines()
                 if " : " in line)
    facts = {k.strip(): v.strip() for k, v in facts.items()}
    assert batch["identity"] == facts["Identity"] == "B1"
    assert batch["status"] == facts["Status"]
    assert str(batch["total_count"]) == facts["TotalCount"] == "2"
    assert str(batch["synced_count"]) == facts["SyncedCount"]
    assert str(batch["failed_count"]) == facts["FailedCount"] == "1"
    assert batch["synced_items"] == MESSAGES
    assert 'href="/batches/B1"' in page.text and ">SyncedWithErrors<" in page.text


def test_the_batch_page_lists_every_user_with_status_items_and_error(
        migrated: Migrated) -> None:
    page = migrated.dashboard.request("/batches/B1")
    assert page.status == 200
    data = json.loads(migrated.dashboard.request("/api/batches/B1").body)
    users = {u["identity"]: u for u in data["users"]}
    assert set(users) == {"ann@contoso.com", "bob@contoso.com"}
    ann, bob = users["ann@contoso.com"], users["bob@contoso.com"]
    assert (ann["status"], ann["synced_items"], ann["percent"]) == ("Synced", MESSAGES, 100)
    assert ann["last_sync"] and ann["error"] is None
    assert bob["status"] == "Failed" and bob["error"]
    for value in (ann["bytes_transferred"], bob["error"]):
        assert str(escape(value)) in page.text
    assert '<progress max="100" value="100"' in page.text


def test_the_user_page_shows_folders_and_report(migrated: Migrated) -> None:
    page = migrated.dashboard.request("/users/ann@contoso.com")
    assert page.status == 200
    assert "INBOX" in page.text
    assert "<td>Archive/2019</td>" in page.text  # a path, as the admin names it
    assert "&amp;ZeVnLIqe-" not in page.text  # decoded, not modified UTF-7
    assert "<h2>Report</h2>" in page.text and "Nothing reported yet." not in page.text
    missing = migrated.dashboard.request("/users/nobody@contoso.com")
    assert missing.status == 404 and "nobody@contoso.com" in missing.text


def test_the_csv_download_is_what_export_csv_writes(migrated: Migrated) -> None:
    answer = migrated.dashboard.request("/report.csv")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.body == migrated.export_csv
    assert migrated.dashboard.request("/report.csv?batch=B1").body == migrated.export_csv
    assert migrated.dashboard.request("/report.csv?batch=Nope").status == 404


def test_no_password_or_token_appears_in_any_page(migrated: Migrated) -> None:
    dashboard = migrated.dashboard
    for path in PAGES:
        answer = dashboard.request(path)
        assert answer.status == 200, path
        for secret in (*migrated.secrets, dashboard.token):
            assert secret.encode() not in answer.body, (path, "leaks a secret")
    assert b'"********"' in dashboard.request("/report.csv").body  # masked as Export-Csv does
    assert dashboard.log is not None
    log = dashboard.log.read_text(encoding="utf-8")  # no access log: the first URL has the token
    assert dashboard.token not in log and "GET /" not in log


def test_the_dashboard_changes_nothing(migrated: Migrated) -> None:
    def snapshot() -> dict[str, list[tuple[object, ...]]]:
        with sqlite3.connect(migrated.state / "state.db") as db:
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")]
            return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                    for t in tables}

    before = snapshot()
    for path in PAGES:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert migrated.dashboard.request(path, method).status in (405, 404), (method, path)
        assert migrated.dashboard.request(path).status == 200
    assert snapshot() == before


def test_the_page_follows_the_pass_while_it_runs(migrated: Migrated) -> None:
    seen = migrated.seen_while_running
    first, last = seen[0], seen[-1]
    assert first["synced_items"] == 0 and first["status"] in ("Created", "Syncing", "Starting")
    assert last["status"] == "SyncedWithErrors" and last["synced_items"] == MESSAGES
    assert len({(s["status"], s["synced_items"]) for s in seen}) >= 2, seen
    counts = [int(str(s["synced_items"])) for s in seen]
    assert counts == sorted(counts)  # progress only moves forward
    page = migrated.dashboard.request("/")
    assert 'data-live="/api/overview.json"' in page.text
    script = migrated.dashboard.request("/static/dashboard.js")
    assert script.status == 200 and b"setTimeout(poll" in script.body


def test_metrics_count_users_items_bytes_and_runners(migrated: Migrated) -> None:
    answer = migrated.dashboard.request("/metrics")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(answer.text)
               for s in family.samples}
    assert samples[("imsh_migration_users", (("batch", "B1"), ("status", "Synced")))] == 1
    assert samples[("imsh_migration_users", (("batch", "B1"), ("status", "Failed")))] == 1
    assert samples[("imsh_items_synced", (("batch", "B1"),))] == MESSAGES
    assert samples[("imsh_bytes_transferred", (("batch", "B1"),))] > 0
    assert samples[("imsh_migration_batches", (("status", "SyncedWithErrors"),))] == 1
    assert samples[("imsh_runner_leases", ())] == 0
    # the recorded passes: ann's and bob's initial passes, neither retried nor throttled
    initial = (("batch", "B1"), ("kind", "initial"))
    assert samples[("imsh_pass_duration_seconds_count", initial)] == 2
    assert samples[("imsh_pass_duration_seconds_sum", initial)] > 0
    assert samples[("imsh_pass_duration_seconds_bucket", (*initial, ("le", "+Inf")))] == 2
    assert samples[("imsh_pass_retries", (("batch", "B1"),))] == 0
    assert samples[("imsh_throttle_wait_seconds", (("batch", "B1"),))] == 0


def test_the_batch_page_charts_the_throughput_of_its_passes(migrated: Migrated) -> None:
    data = json.loads(migrated.dashboard.request("/api/batches/B1").body)
    assert {k: data["chart"][k] for k in ("passes", "running", "items_copied")} == {
        "passes": 2, "running": 0, "items_copied": MESSAGES}  # ann copied them all, bob none
    assert data["chart"]["peak_items_per_minute"] > 0
    page = migrated.dashboard.request("/batches/B1").text
    assert f'<span data-field="chart.items_copied">{MESSAGES}</span> items copied' in page
    assert '<img id="throughput-chart" src="/chart/throughput.svg?batch=B1&amp;v=' in page
    answer = migrated.dashboard.request("/chart/throughput.svg?batch=B1")
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    found = re.search(r'<path d="M([^"]+)" class="line reactive"', answer.text)
    assert found, answer.text
    numbers = found.group(1).replace("L", " ").split()
    heights = [float(y) for y in numbers[1::2]]
    assert len(heights) >= 10 and min(heights) < max(heights)  # the line rises somewhere
    assert migrated.dashboard.request("/chart/throughput.svg?batch=Nope").status == 404


def test_the_batch_page_shows_each_users_data_consistency_score(migrated: Migrated) -> None:
    data = json.loads(migrated.dashboard.request("/api/batches/B1").body)
    shown = {u["identity"]: u["data_consistency_score"] for u in data["users"]}
    exported = {row["Identity"]: row["DataConsistencyScore"] for row in
                csv.DictReader(io.StringIO(migrated.export_csv.decode("utf-8-sig")))}
    assert shown == exported  # what Get-MigrationUserStatistics says
    assert shown["ann@contoso.com"] == "Perfect"
