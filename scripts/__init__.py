"""Developer scripts (run from the repository's root)."""
