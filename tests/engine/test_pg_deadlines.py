"""Every wait on the network has a deadline (engine/store/pg.py): libpq's connection deadlines
unless the URL sets its own, and the server-side settings each session takes, read back from a
real PostgreSQL. What they are for — a host cut off from PostgreSQL — is tested across network
namespaces in tests/integration/test_multihost_runners.py."""

from __future__ import annotations

from engine.store.pg import PgDatabase, client_timeouts


def test_the_connection_deadlines_apply_unless_the_url_sets_its_own() -> None:
    assert client_timeouts("postgresql://imsh@db.example.org/imsh") == {
        "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 10,
        "keepalives_interval": 5, "keepalives_count": 3, "tcp_user_timeout": 20_000}
    given = client_timeouts("postgresql://imsh@db.example.org/imsh?connect_timeout=3"
                            "&tcp_user_timeout=60000")
    assert "connect_timeout" not in given and "tcp_user_timeout" not in given
    assert given["keepalives_idle"] == 10


def test_a_session_ends_a_transaction_left_idle_before_other_writers_give_up(
    postgres_url: str,
) -> None:
    db = PgDatabase.connect(postgres_url)
    try:
        shown = {name: db.query_one(f"SHOW {name}")[0]  # type: ignore[index]
                 for name in ("idle_in_transaction_session_timeout", "lock_timeout")}
    finally:
        db.close()
    assert shown["idle_in_transaction_session_timeout"] == "5s"
    assert shown["lock_timeout"] == "30s"  # longer: a stalled writer's lock is freed first
