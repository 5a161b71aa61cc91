"""Adapters: the database (tables, unit of work, inbox/outbox) and other infrastructure."""
