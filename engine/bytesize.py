"""Exchange's ByteQuantifiedSize text: ``378 MB (396,346,184 bytes)``.

Exchange Online shows every size of a migration (BytesTransferred, EstimatedTotalTransferSize)
and of a mailbox (TotalItemSize) this way, and administrators' scripts parse it (the usual
idiom strips everything but the digits inside the parentheses), so imsh writes exactly this
form. The one formatter for it, below the shell and the cmdlets.

The rule, as Exchange's output reads: the largest binary unit (B, KB, MB, GB, TB; 1 KB = 1024
bytes) that the size reaches, the value in that unit to four significant digits with trailing
zeros dropped (``1.229 GB``, ``4.524 MB``, ``49.5 GB``, ``378 MB`` for 377.985 MB), then the
exact byte count with thousands separators. Zero is ``0 B (0 bytes)``.
"""

from __future__ import annotations

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def byte_quantified_size(size: int) -> str:
    """``size`` bytes as Exchange's ByteQuantifiedSize text."""
    if size < 0:
        raise ValueError(f"a size can't be negative: {size}")
    unit = 0
    while unit + 1 < len(_UNITS) and size >= 1024 ** (unit + 1):
        unit += 1
    value = size / 1024 ** unit
    text = f"{value:.4g}" if value < 10_000 else f"{value:.0f}"
    if "e" in text:  # .4g of a value of 1000 or more: never scientific
        text = f"{value:.0f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {_UNITS[unit]} ({size:,} bytes)"
