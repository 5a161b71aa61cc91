"""Pure business nouns: customers, contracts, projects, workers, time; no I/O."""
