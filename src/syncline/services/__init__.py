"""Use cases: receive, apply (handlers in their table), billing runs, queries."""
