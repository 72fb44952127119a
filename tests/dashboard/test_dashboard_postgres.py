"""``imsh dashboard --database URL``: the dashboard over a state kept in PostgreSQL (a real
throwaway cluster, tests/support/postgres.py), made by the façade (nothing is migrated)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import psycopg
import pytest

from engine.model import EndpointType
from engine.paths import resolve_state_paths
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.endpoints import EndpointRequest
from tests.dashboard.support import imsh_argv, imsh_env, start_dashboard
from tests.support.ports import free_port

CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw-of-ann\r\n"


def test_the_dashboard_shows_the_batches_of_a_postgresql_state(
        tmp_path: Path, postgres_url: str) -> None:
    state = tmp_path / "state"
    paths = dataclasses.replace(resolve_state_paths(state, env={}), database=postgres_url)
    with Engine.open(paths) as engine:
        engine.new_endpoint(EndpointRequest(name="Source", kind=EndpointType.IMAP,
                                            remote_server="127.0.0.1", port=9,
                                            skip_verification=True))
        engine.new_batch(BatchRequest(name="PgBatch", source_endpoint="Source", csv_data=CSV))
    dashboard = start_dashboard(state, free_port(), "--database", postgres_url)
    try:
        dashboard.log_in()
        [batch] = json.loads(dashboard.request("/api/overview.json").body)["batches"]
        assert (batch["identity"], batch["total_count"]) == ("PgBatch", 1)
        users = json.loads(dashboard.request("/api/batches/PgBatch").body)["users"]
        assert [u["identity"] for u in users] == ["ann@contoso.com"]
        assert b"pw-of-ann" not in dashboard.request("/report.csv").body
        assert dashboard.request("/metrics").status == 200
        assert "PgBatch" in dashboard.request("/batches/PgBatch").text
    finally:
        dashboard.stop()
    assert not (state / "state.db").exists()  # it read PostgreSQL, not a file of its own


def test_a_postgresql_database_without_migration_state_is_refused_and_left_empty(
        tmp_path: Path, postgres_url: str) -> None:
    result = subprocess.run([*imsh_argv(), "--state", str(tmp_path / "state"), "dashboard",
                             "--database", postgres_url], env=imsh_env(), capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert "no migration state in the database" in result.stderr
    assert "Traceback" not in result.stderr
    with psycopg.connect(postgres_url) as db:
        tables = db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)  # the dashboard created nothing


@pytest.mark.parametrize("url", ["mysql://db/imsh", "postgresql://u:p@[::1/db"])
def test_a_bad_database_url_is_a_usage_error(tmp_path: Path, url: str) -> None:
    result = subprocess.run([*imsh_argv(), "--state", str(tmp_path), "dashboard",
                             "--database", url], env=imsh_env(), capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2 and "--database" in result.stderr
    assert "Traceback" not in result.stderr and "u:p" not in result.stderr
