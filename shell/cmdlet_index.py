"""Which module provides each cmdlet, written down so that a session starts without them.

The session's registry (shell/wiring.py) is built from these providers: a cmdlet's module is
imported the first time the cmdlet is looked up (cmdlets/registry.py), so ``imsh -c '$x=1'``
imports neither the engine nor the general-purpose cmdlets it does not call. The names and
aliases here must be those the modules declare; tests/shell/test_startup_imports.py checks
that they are, and prints the corrected entry when a cmdlet is added or renamed.
"""

from __future__ import annotations

from cmdlets.registry import Provider

PROVIDERS: tuple[Provider, ...] = (
    Provider("shell.builtins.pipeline", "PIPELINE_CMDLETS", (
        ("Where-Object", ("?", "where")),
        ("ForEach-Object", ("%", "foreach")),
        ("Select-Object", ("select",)),
    )),
    Provider("shell.builtins.aggregate", "AGGREGATE_CMDLETS", (
        ("Sort-Object", ("sort",)),
        ("Group-Object", ("group",)),
        ("Measure-Object", ("measure",)),
    )),
    Provider("shell.builtins.formatting", "FORMATTING_CMDLETS", (
        ("Format-Table", ("ft",)),
        ("Format-List", ("fl",)),
        ("Out-String", ()),
        ("Out-File", ()),
        ("Out-Host", ("oh",)),
        ("Out-Null", ()),
    )),
    Provider("shell.builtins.csvjson", "CSV_JSON_CMDLETS", (
        ("Export-Csv", ("epcsv",)),
        ("ConvertTo-Csv", ()),
        ("Import-Csv", ("ipcsv",)),
        ("ConvertFrom-Csv", ()),
        ("ConvertTo-Json", ()),
        ("ConvertFrom-Json", ()),
    )),
    Provider("shell.builtins.io", "IO_CMDLETS", (
        ("Get-Content", ("gc", "cat", "type")),
        ("Set-Content", ()),
        ("Add-Content", ()),
        ("Write-Host", ()),
        ("Write-Output", ("echo", "write")),
        ("Write-Warning", ()),
        ("Write-Error", ()),
        ("Get-Date", ()),
        ("New-TimeSpan", ()),
        ("Start-Sleep", ("sleep",)),
        ("Get-Location", ("pwd", "gl")),
    )),
    Provider("shell.builtins.objects", "OBJECT_CMDLETS", (
        ("New-Object", ()),
        ("ConvertTo-SecureString", ()),
        ("Get-Credential", ()),
    )),
    Provider("shell.builtins.explore", "EXPLORE_CMDLETS", (
        ("Get-Member", ("gm",)),
    )),
    Provider("shell.builtins.everyday", "EVERYDAY_CMDLETS", (
        ("Set-Location", ("cd", "sl", "chdir")),
        ("Test-Path", ()),
        ("Get-ChildItem", ("gci", "ls", "dir")),
        ("Select-String", ("sls",)),
        ("Tee-Object", ("tee",)),
        ("ConvertTo-Html", ()),
        ("Compare-Object", ("compare", "diff")),
        ("Read-Host", ()),
        ("Clear-Host", ("cls", "clear")),
        ("Write-Verbose", ()),
        ("Write-Debug", ()),
        ("Write-Progress", ()),
        ("Get-History", ("h", "history", "ghy")),
        ("Start-Transcript", ()),
        ("Stop-Transcript", ()),
    )),
    Provider("shell.builtins.help", "HELP_CMDLETS", (
        ("Get-Command", ("gcm",)),
        ("Get-Help", ("help", "man")),
    )),
    Provider("cmdlets.migration.endpoints", "ENDPOINT_CMDLETS", (
        ("New-MigrationEndpoint", ()),
        ("Get-MigrationEndpoint", ()),
        ("Set-MigrationEndpoint", ()),
        ("Remove-MigrationEndpoint", ()),
        ("Test-MigrationServerAvailability", ()),
    )),
    Provider("cmdlets.migration.batches", "BATCH_CMDLETS", (
        ("New-MigrationBatch", ()),
        ("Get-MigrationBatch", ()),
        ("Set-MigrationBatch", ()),
        ("Start-MigrationBatch", ()),
        ("Stop-MigrationBatch", ()),
        ("Complete-MigrationBatch", ()),
        ("Remove-MigrationBatch", ()),
        ("Wait-MigrationBatch", ()),
    )),
    Provider("cmdlets.migration.users", "USER_CMDLETS", (
        ("Get-MigrationUser", ()),
        ("Set-MigrationUser", ()),
        ("Start-MigrationUser", ()),
        ("Stop-MigrationUser", ()),
        ("Remove-MigrationUser", ()),
        ("Get-MigrationUserStatistics", ()),
        ("Get-MigrationStatistics", ()),
    )),
    Provider("cmdlets.migration.config", "CONFIG_CMDLETS", (
        ("Get-MigrationConfig", ()),
        ("Set-MigrationConfig", ()),
    )),
    Provider("cmdlets.migration.proofs", "PROOF_CMDLETS", (
        ("Test-MigrationUser", ()),
        ("Test-MigrationBatch", ()),
    )),
    Provider("shell.dashboard.cmdlet", "DASHBOARD_CMDLETS", (
        ("Start-MigrationDashboard", ()),
    )),
)
