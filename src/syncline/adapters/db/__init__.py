"""SQLAlchemy 2 persistence: tables, engine, migrations."""
