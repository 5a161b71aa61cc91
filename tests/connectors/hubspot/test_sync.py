"""A sync into the inbox: cursors after commit, failures mid-run, the 10,000-result window,
refusals and duplicates (connectors.md §9.3 items 4, 5)."""

from __future__ import annotations

import json

from sqlalchemy import select

from syncline.adapters.db.tables import inbox
from syncline.bootstrap import Syncline
from syncline.connectors.hubspot.fake import FakeHubSpot
from syncline.connectors.runs import run_stream
from syncline.connectors.sdk.errors import VendorError
from syncline.schemas import validate_event
from syncline.services.connectors import cursors
from tests.conftest import fixed_clock
from tests.connectors.hubspot.conftest import DEAL, TOKEN, Make, add_deal, search_bodies, seeded


def rows(system: Syncline) -> list[dict[str, object]]:
    with system.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(inbox.c.event_id, inbox.c.status, inbox.c.reason, inbox.c.raw)
            .order_by(inbox.c.seq))]


def cursor(system: Syncline) -> str | None:
    with system.engine.connect() as conn:
        return cursors.read(conn, "crm", "deals")


def sync(system: Syncline, connector: object) -> object:
    stream = connector.streams()[0]  # type: ignore[attr-defined]
    return run_stream(system.engine, "crm", stream, clock=fixed_clock)


def test_a_sync_stores_valid_events_and_the_newest_modified_date(
        system: Syncline, make: Make) -> None:
    result = sync(system, make(seeded()))
    assert result.ok and result.accepted == 1  # type: ignore[attr-defined]
    (row,) = rows(system)
    assert validate_event(json.loads(str(row["raw"]))) == []
    assert cursor(system) == "2026-06-30T14:05:31.402Z"


def test_a_second_sync_re_reads_the_boundary_deal_as_a_duplicate(
        system: Syncline, make: Make) -> None:
    fake = seeded()
    connector = make(fake)
    sync(system, connector)
    again = sync(system, connector)
    assert again.accepted == 0 and again.duplicates == 1  # type: ignore[attr-defined]
    assert search_bodies(fake)[-1]["filterGroups"][0]["filters"][0]["value"] == "1782828331402"
    fake.touch(DEAL, "2026-07-02T09:00:00.000Z")  # a new version is a new event
    assert sync(system, connector).accepted == 1  # type: ignore[attr-defined]
    assert [r["event_id"] for r in rows(system)] == [
        f"hubspot-deal/{DEAL}@1782828331402", f"hubspot-deal/{DEAL}@1782982800000"]


def test_a_vendor_error_on_page_2_keeps_page_1_and_its_cursor(
        system: Syncline, make: Make) -> None:
    fake = seeded()
    for i in range(3):
        add_deal(fake, f"90{i}", f"2026-07-0{i + 1}T00:00:00Z")
    fake.fail_search = (2, 400)
    result = sync(system, make(fake, page_size=2))
    assert not result.ok and "VALIDATION_ERROR" in str(result.error)  # type: ignore[attr-defined]
    assert len(rows(system)) == 2
    assert cursor(system) == "2026-07-01T00:00:00.000Z"  # the last deal of page 1
    fake.fail_search = None
    assert sync(system, make(fake, page_size=2)).ok  # type: ignore[attr-defined]
    assert len(rows(system)) == 4 and cursor(system) == "2026-07-03T00:00:00.000Z"


def test_the_search_window_cap_restarts_from_the_last_modified_date(
        system: Syncline, make: Make) -> None:
    fake = seeded(FakeHubSpot(token=TOKEN, search_cap=4))
    for i in range(9):
        add_deal(fake, f"90{i}", f"2026-07-0{i + 1}T00:00:00Z")
    connector = make(fake, page_size=2, search_window=4)
    result = sync(system, connector)
    assert result.ok and result.accepted == 10  # type: ignore[attr-defined]
    # 10 deals, 4 a window: each restart begins at the last date seen (that deal re-read as
    # a duplicate), and no page at or past the cap is ever asked for (the fake answers 400)
    assert connector.deals.searches == 3 and result.duplicates == 2  # type: ignore[attr-defined]
    starts = [b["filterGroups"][0]["filters"][0]["value"] for b in search_bodies(fake)
              if "after" not in b]
    assert starts == ["0", "1783036800000", "1783296000000"]  # 0, 3 July, 6 July
    assert all("after" not in b or b["after"] for b in search_bodies(fake))
    assert cursor(system) == "2026-07-09T00:00:00.000Z"


def test_a_window_full_of_one_millisecond_stops_rather_than_loops(make: Make) -> None:
    fake = FakeHubSpot(token=TOKEN, search_cap=2)
    seeded(fake)
    for i in range(3):
        add_deal(fake, f"90{i}", "2026-07-01T00:00:00Z")
    stream = make(fake, page_size=1, search_window=2).deals
    try:
        list(stream.read("2026-07-01T00:00:00.000Z"))
    except VendorError as err:
        assert "cannot move" in str(err)
    else:
        raise AssertionError("expected the read to stop")


def test_refusals_are_kept_naming_the_deal_and_its_link_once(
        system: Syncline, make: Make) -> None:
    fake = seeded()
    add_deal(fake, "777", "2026-07-01T00:00:00Z", syncline_billing_type=None)
    fake.add_deal("778", modified="2026-07-02T00:00:00Z", companies=("6100042",),
                  dealname="no lines")
    connector = make(fake)
    result = sync(system, connector)
    assert result.accepted == 1 and result.rejected == 2  # type: ignore[attr-defined]
    refused = {r["event_id"]: str(r["reason"]) for r in rows(system) if r["status"] == "rejected"}
    link = "https://app.hubspot.com/contacts/62515/record/0-3/"
    assert f"{link}777" in refused["hubspot-deal/777@1782864000000"]
    assert "syncline_billing_type" in refused["hubspot-deal/777@1782864000000"]
    assert "no line items" in refused["hubspot-deal/778@1782950400000"]
    assert cursor(system) == "2026-07-02T00:00:00.000Z"  # refusals are stored: passed
    again = sync(system, connector)
    assert again.rejected == 0 and again.duplicates == 1  # type: ignore[attr-defined]


def test_a_keyset_read_does_not_miss_a_deal_when_another_moves_mid_run(make: Make) -> None:
    """A deal modified while the search is paged moves to the end; with offset paging the
    deal on the next page boundary is skipped. search_window == page_size restarts every
    page from the last date seen, so nothing is skipped (docs: Unconfirmed, last item)."""
    def run(window: int) -> set[str]:
        fake = FakeHubSpot(token=TOKEN)
        seeded(fake)
        for i in range(3):
            add_deal(fake, f"90{i}", f"2026-07-0{i + 1}T00:00:00Z")

        def moving(request: object) -> object:
            answer = fake(request)  # type: ignore[arg-type]
            if fake.searches == 1:
                fake.touch(DEAL, "2026-07-20T00:00:00Z")  # the first deal read changes
            return answer

        connector = make(moving, page_size=2, search_window=window)
        return {e["data"]["deal_id"] for b in connector.deals.read(None) for e in b.events}

    assert "901" not in run(10_000)  # offset paging skipped it (the documented gap)
    assert run(2) == {DEAL, "900", "901", "902"}


def test_the_default_restarts_every_page_so_nothing_is_skipped(make: Make) -> None:
    """The safe setting is the default: without search_window, each page is a new search
    from the last date seen (no `after`)."""
    fake = FakeHubSpot(token=TOKEN)
    seeded(fake)
    for i in range(3):
        add_deal(fake, f"90{i}", f"2026-07-0{i + 1}T00:00:00Z")
    connector = make(fake, page_size=2)
    assert connector.settings.search_window == 2
    list(connector.deals.read(None))
    assert all("after" not in body for body in search_bodies(fake))
