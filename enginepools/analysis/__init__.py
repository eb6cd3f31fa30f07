"""Statistics and what is decided from them: benchstat-style comparison,
the tables that print it, and the keep/remove verdicts."""
