"""Connectors to source and target systems: one package per vendor, plus the sandboxes."""
