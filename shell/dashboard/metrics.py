"""``/metrics``: what the façade can give cheaply, in Prometheus' text format.

A fresh ``CollectorRegistry`` per scrape, filled from one read of the façade, so a scrape is a
consistent snapshot and nothing is kept between requests. The item and byte figures are the
runner's recorded statistics (the same numbers as Get-MigrationUserStatistics), exposed as
gauges: they can go down when a user is removed, which a Prometheus counter may not.
Pass durations, retries and throttling waits come from the recorded passes
(engine/store/passes.py, every finished one): a histogram of durations per batch and kind, and
the retries and throttling waits added up per batch. A removed user's passes go with it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

from engine.model import MigrationUserStatus
from engine.service import Engine

# a pass takes seconds (an incremental one with nothing new) to hours (a big first copy)
PASS_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, float("inf"))


def exposition(engine: Engine) -> bytes:
    """The text a Prometheus scrape of ``/metrics`` receives."""
    registry = CollectorRegistry()
    users = Gauge("imsh_migration_users", "Migration users by batch and status.",
                  ["batch", "status"], registry=registry)
    items = Gauge("imsh_items_synced", "Items copied to the target (SyncedItemCount).",
                  ["batch"], registry=registry)
    skipped = Gauge("imsh_items_skipped", "Items skipped (SkippedItemCount).", ["batch"],
                    registry=registry)
    source_items = Gauge("imsh_items_in_source", "Items counted in the source mailboxes.",
                         ["batch"], registry=registry)
    moved = Gauge("imsh_bytes_transferred", "Bytes copied to the target.", ["batch"],
                  registry=registry)
    batches = Gauge("imsh_migration_batches", "Migration batches by status.", ["status"],
                    registry=registry)
    runners = Gauge("imsh_runner_leases", "Runners holding a live lease on this state.",
                    registry=registry)
    for batch in engine.get_batches():
        batches.labels(str(batch.status)).inc()
        for gauge in (items, skipped, source_items, moved):
            gauge.labels(batch.name).set(0)  # a batch without users still shows 0
    for user in engine.get_users():
        if user.status == MigrationUserStatus.Removing:
            continue
        stats, name = user.statistics, user.batch_name
        users.labels(name, str(user.status)).inc()
        items.labels(name).inc(stats.synced_item_count)
        skipped.labels(name).inc(stats.skipped_item_count)
        source_items.labels(name).inc(stats.total_items_in_source)
        moved.labels(name).inc(stats.bytes_transferred)
    runners.set(engine.count_active_runners())
    durations = Histogram("imsh_pass_duration_seconds", "How long finished sync passes ran.",
                          ["batch", "kind"], buckets=PASS_BUCKETS, registry=registry)
    retries = Gauge("imsh_pass_retries", "Retries after a transient failure.",
                    ["batch"], registry=registry)
    throttled = Gauge("imsh_throttle_wait_seconds",
                      "Seconds users waited because a server throttled imsh.", ["batch"],
                      registry=registry)
    for run in engine.get_finished_passes():
        durations.labels(run.batch_name, run.kind).observe(run.seconds or 0.0)
        retries.labels(run.batch_name).inc(1 if run.retries else 0)
        throttled.labels(run.batch_name).inc(run.throttle_wait_seconds)
    return generate_latest(registry)
