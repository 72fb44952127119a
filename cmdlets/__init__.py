"""cmdlets package."""
