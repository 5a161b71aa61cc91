"""A process keeps the published rate cards from one batch to the next
(`messaging/card_cache.py`, migration 0025): what it hands a batch is always what reading
them in that transaction gives — after commits by others, SQL by hand, a rolled-back write,
a database recreated at the same address — and across batches that change nothing it reads
them once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.messaging import card_cache, unit_of_work
from syncline.services.messaging.unit_of_work import load_cards
from tests.conftest import fixed_clock


def _engine(db: Path) -> Engine:
    system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=fixed_clock,
                       durable=False)
    return system.engine


def _with_a_card(db: Path) -> Engine:
    """A migrated database with one card (``std`` version 1) published."""
    engine = _engine(db)
    with engine.begin() as conn:
        _publish(conn, "std", 1, "150.00")
    return engine


def _publish(conn: Any, card: str, version: int, rate: str, role: str = "consultant") -> None:
    conn.execute(text(
        "INSERT INTO rate_cards (card_id, version, scope, scope_key, currency, effective_from,"
        " effective_to, increment_hours, rounding, name, inbox_id) VALUES (:c, :v, 'default',"
        " NULL, 'USD', '2026-01-01', NULL, '0.25', 'up', NULL, 'inb_test')"),
        {"c": card, "v": version})
    conn.execute(text("INSERT INTO rate_card_entries (card_id, version, role, rate) "
                      "VALUES (:c, :v, :r, :rate)"),
                 {"c": card, "v": version, "r": role, "rate": rate})


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    loads: list[int] = []

    def load(conn: Any, **kw: Any) -> Any:
        loads.append(1)
        return load_cards(conn, **kw)

    monkeypatch.setattr(unit_of_work, "load_cards", load)
    return loads


def _batch_cards(engine: Engine) -> Any:
    with engine.begin() as conn:
        return unit_of_work.Batch(conn=conn, ref=None, now=fixed_clock()).cards()  # type: ignore[arg-type]


def _read(engine: Engine) -> Any:
    with engine.begin() as conn:
        return load_cards(conn)


def test_batches_that_change_nothing_read_the_cards_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _with_a_card(tmp_path / "c.db")
    loads = _counted(monkeypatch)
    first = _batch_cards(engine)
    for _ in range(5):
        assert _batch_cards(engine) is first
    assert len(loads) == 1


def test_sql_by_hand_is_seen_by_the_next_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _with_a_card(tmp_path / "c.db")
    before = _batch_cards(engine)
    other = _engine(tmp_path / "c.db")  # another engine (process) on the same database
    with other.begin() as conn:
        conn.execute(text("UPDATE rate_card_entries SET rate = '175.00'"))
    after = _batch_cards(engine)
    assert after != before
    assert after == _read(engine)
    with other.begin() as conn:
        conn.execute(text("DELETE FROM rate_card_entries"))
    assert _batch_cards(engine) == _read(engine)


def test_a_rolled_back_write_is_not_kept(tmp_path: Path) -> None:
    engine = _with_a_card(tmp_path / "c.db")
    conn = engine.connect()
    transaction = conn.begin()
    _publish(conn, "std", 2, "999.00")
    seen = card_cache.cards(conn, load_cards)  # kept with the generation of this transaction
    assert any(c.version == 2 for cs in seen.values() for c in cs)
    transaction.rollback()
    conn.close()
    cards = _batch_cards(engine)
    assert not any(c.version == 2 for cs in cards.values() for c in cs)


def test_a_database_recreated_at_the_same_address_is_read_again(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    engine = _engine(db)
    with engine.begin() as conn:
        _publish(conn, "std", 1, "150.00")
    assert _batch_cards(engine)
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    again = _engine(db)
    with again.begin() as conn:
        _publish(conn, "std", 1, "90.00")
    assert _batch_cards(again) == _read(again)


_STEPS = st.lists(st.tuples(
    st.sampled_from(["publish", "reprice", "withdraw", "rolled_back", "read"]),
    st.integers(min_value=1, max_value=4),
    st.sampled_from(["100.00", "150.00", "175.50"])), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS)
def test_what_a_batch_gets_is_what_it_would_read(
        steps: list[tuple[str, int, str]], tmp_path_factory: pytest.TempPathFactory) -> None:
    db = tmp_path_factory.mktemp("cards") / "c.db"
    engine, other = _engine(db), _engine(db)
    versions: set[int] = set()
    for action, version, rate in steps:
        if action == "publish" and version not in versions:
            with other.begin() as conn:
                _publish(conn, "std", version, rate)
            versions.add(version)
        elif action == "reprice":
            with other.begin() as conn:
                conn.execute(text("UPDATE rate_card_entries SET rate = :r WHERE version = :v"),
                             {"r": rate, "v": version})
        elif action == "withdraw":
            with other.begin() as conn:
                conn.execute(text("DELETE FROM rate_card_entries WHERE version = :v"),
                             {"v": version})
                conn.execute(text("DELETE FROM rate_cards WHERE version = :v"), {"v": version})
            versions.discard(version)
        elif action == "rolled_back" and version not in versions:
            conn = engine.connect()
            transaction = conn.begin()
            _publish(conn, "std", version, rate)
            card_cache.cards(conn, load_cards)
            transaction.rollback()
            conn.close()
        with engine.begin() as conn:
            assert card_cache.cards(conn, load_cards) == load_cards(conn)
    engine.dispose()
    other.dispose()


@pytest.mark.postgres
def test_the_generation_on_postgresql_too() -> None:
    """The PL/pgSQL trigger (one a statement): a write by another session is seen by the
    next batch; a batch that writes nothing reads the cards once."""
    from syncline.adapters.db.scratch import throwaway_database
    from tests.conftest import pg_admin

    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_card_cache") as url:
            engine = bootstrap(Settings(database_url=url), clock=fixed_clock,
                               durable=False).engine
            try:
                with engine.begin() as conn:
                    _publish(conn, "std", 1, "150.00")
                first = _batch_cards(engine)
                assert _batch_cards(engine) is first
                with engine.begin() as conn:
                    conn.execute(text("UPDATE rate_card_entries SET rate = '175.00'"))
                after = _batch_cards(engine)
                assert after != first and after == _read(engine)
                with engine.begin() as conn:
                    _publish(conn, "std", 2, "190.00")
                    assert card_cache.cards(conn, load_cards) == load_cards(conn)
                    conn.rollback()
                assert _batch_cards(engine) == _read(engine) == after
            finally:
                engine.dispose()
    finally:
        admin.dispose()
