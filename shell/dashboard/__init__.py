"""The migration dashboard: a read-only web face of imsh, beside the shell (``imsh dashboard``).

What the Exchange admin center's migration dashboard shows, in a browser: the batches with
their status and counts, a batch's users, a user's folders, skipped items and report, the CSV
report (byte for byte what ``Get-MigrationUserStatistics | Export-Csv`` writes) and ``/metrics``
for Prometheus.

Design decisions:

* It reads through the same engine façade the cmdlets use (``engine.service.Engine``), never
  the store; the records and the CSV come from the cmdlets' own record builders
  (cmdlets/migration/records.py) and the shell's CSV writer, so the page and the shell cannot
  disagree. The engine stays free of HTTP.
* One façade per request, opened and closed in the worker thread that serves it (the store's
  one-thread rule); SQLite's WAL lets it read while the runner writes.
* Secure by default (shell/dashboard/app.py): 127.0.0.1, a token printed once at start,
  a cookie after the first visit, GET only, no secret ever rendered, no access log (the first
  URL carries the token).
"""
