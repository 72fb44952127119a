"""The Exchange migration cmdlets (New-MigrationBatch, Get-MigrationUserStatistics ...).

Each cmdlet binds its Exchange parameters, calls ONE method of the engine façade
(``engine.service.Engine``) and maps the result to a record (:mod:`.records`). Exchange
parameters imsh does not implement are declared ``unsupported`` so they parse and fail with
"... is not supported by imsh" (:mod:`.common`).
"""
