"""Names an admin may give a batch, through a real ``imsh dashboard`` process over a state
made by the façade (no IMAP server needed: nothing is migrated)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from engine.model import EndpointType
from engine.paths import resolve_state_paths
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.endpoints import EndpointRequest
from tests.dashboard.support import Dashboard, start_dashboard
from tests.support.ports import free_port

NAME = 'Lot Überweisung "1"/<b>'
CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw-of-ann\r\n"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    state = tmp_path_factory.mktemp("names") / "state"
    with Engine.open(resolve_state_paths(state, env={})) as engine:
        engine.new_endpoint(EndpointRequest(name="Source", kind=EndpointType.IMAP,
                                            remote_server="127.0.0.1", port=9,
                                            skip_verification=True))
        engine.new_batch(BatchRequest(name=NAME, source_endpoint="Source", csv_data=CSV))
    running = start_dashboard(state, free_port())
    running.log_in()
    yield running
    running.stop()


def test_a_batch_with_any_name_downloads_under_a_safe_file_name(dashboard: Dashboard) -> None:
    answer = dashboard.request("/report.csv?batch=" + quote(NAME, safe=""))
    assert answer.status == 200
    assert answer.headers["content-disposition"] == (
        'attachment; filename="Lot__berweisung__1___b_-statistics.csv"')
    assert b"ann@contoso.com" in answer.body and b"pw-of-ann" not in answer.body


def test_a_batch_name_is_text_in_the_page_never_markup(dashboard: Dashboard) -> None:
    page = dashboard.request("/")
    assert page.status == 200
    assert "Lot Überweisung &#34;1&#34;/&lt;b&gt;" in page.text
    assert "<b>" not in page.text
    batch = dashboard.request("/batches/" + quote(NAME, safe=""))
    assert batch.status == 200 and "ann@contoso.com" in batch.text


def test_a_batch_name_is_text_in_its_chart_never_markup(dashboard: Dashboard) -> None:
    chart = dashboard.request("/chart/throughput.svg?batch=" + quote(NAME, safe=""))
    assert chart.status == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert 'Lot Überweisung "1"/&lt;b&gt;' in chart.text  # no pass yet: an empty chart
    assert "<b>" not in chart.text and "0 passes, 0 running" in chart.text
    assert "<script" not in chart.text
