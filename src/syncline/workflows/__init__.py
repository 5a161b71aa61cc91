"""Durable outbound workflows (DBOS Transact). The only package that imports the engine."""
