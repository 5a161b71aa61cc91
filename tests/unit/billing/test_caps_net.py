"""Caps on net billed amounts and limits from a date (pure engine)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from syncline.billing.caps import Cap, CapChange, CapKind, CapScope, apply_caps, billed_against
from syncline.billing.items import ItemStatus

from .builders import hours, usd


def invoiced(result_items):  # type: ignore[no-untyped-def]
    return [replace(i, status=ItemStatus.INVOICED) for i in result_items]


def test_net_billed_counts_invoiced_items_less_write_offs_and_nothing_credited() -> None:
    """TE-1 1,200 + TE-2 1,200 against soft 2,000: TE-2#cap 800 billed, TE-2#over 400 and its
    write-off −400. Net 2,000. Crediting TE-1 (and nothing else) leaves 800."""
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("2000"), CapKind.SOFT)
    week = [hours("TE-1", "2026-03-02", "8"), hours("TE-2", "2026-03-03", "8")]
    billed = invoiced(apply_caps(week, [cap]).billable)
    assert billed_against([cap], billed) == {"NTE-1": usd("2000")}
    credited = [replace(i, status=ItemStatus.CREDITED) if i.key == "time:TE-1" else i
                for i in billed]
    assert billed_against([cap], credited) == {"NTE-1": usd("800")}
    opened = [replace(i, status=ItemStatus.GENERATED) for i in billed]
    assert billed_against([cap], opened) == {"NTE-1": usd("0")}


def test_the_ceiling_in_force_on_the_service_date_caps_the_item() -> None:
    """Hard 1,200 until March 3, 2,400 from then: TE-1 (Mar 2) 1,200 fills it; TE-2 (Mar 3)
    1,200 fits under the new ceiling; TE-3 (Mar 4, 600) is held — 2,400 consumed."""
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("1200"), CapKind.HARD,
              changes=(CapChange(date(2026, 3, 3), usd("2400")),))
    result = apply_caps([hours("TE-1", "2026-03-02", "8"), hours("TE-2", "2026-03-03", "8"),
                         hours("TE-3", "2026-03-04", "4")], [cap])
    assert [i.key for i in result.billable] == ["time:TE-1", "time:TE-2"]
    assert [h.item.key for h in result.held] == ["time:TE-3"]
    assert "ceiling 2,400.00 USD" in result.held[0].reason
    assert cap.limit_on(date(2026, 3, 2)) == usd("1200")
    assert cap.ceiling_on(date(2026, 3, 3)) == usd("2400")


def test_a_lowered_limit_holds_later_work_and_keeps_the_tolerance_unless_changed() -> None:
    cap = Cap("NTE-1", CapScope.CONTRACT, "C-1", usd("2000"), CapKind.HARD,
              tolerance=Decimal("0.1"),
              changes=(CapChange(date(2026, 4, 1), usd("1000")),))
    assert cap.ceiling_on(date(2026, 3, 31)) == usd("2200")
    assert cap.ceiling_on(date(2026, 4, 1)) == usd("1100")
