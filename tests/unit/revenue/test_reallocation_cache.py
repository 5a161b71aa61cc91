"""A reassessment that moves a variable amount to another obligation, with the amount itself
unchanged, must re-allocate (ASC 606-10-32-40: variable consideration allocated entirely to
one obligation when its terms relate to it). Regression: the allocation cache was keyed by
amounts only."""

from __future__ import annotations

from datetime import date

import yaml

from syncline.revenue import compute_schedule
from syncline.services.revenue.files import parse

CONTRACT = """
format: syncline.revenue/v1
contract:
  id: VC-MOVE
  customer: Contoso
  currency: USD
  start: 2025-01-01
  obligations:
    - {id: design, description: Design, start: 2025-01-01, end: 2025-12-31,
       price: "60000.00", ssp: {method: observable, amount: "60000.00"},
       method: {kind: ratable}}
    - {id: build, description: Build, start: 2025-01-01, end: 2025-12-31,
       price: "40000.00", ssp: {method: observable, amount: "40000.00"},
       method: {kind: ratable}}
  variable:
    - {id: bonus, effective: 2025-01-01, method: most_likely,
       scenarios: [{amount: "10000.00", probability: "1"}], allocate_to: [design]}
    - {id: bonus, effective: 2025-07-01, method: most_likely,
       scenarios: [{amount: "10000.00", probability: "1"}], allocate_to: [build]}
"""


def test_moving_a_variable_amount_to_another_obligation_reallocates() -> None:
    f = parse(yaml.safe_load(CONTRACT))
    before = compute_schedule(f.contract, f.policy, as_of=date(2025, 6, 30))
    after = compute_schedule(f.contract, f.policy, as_of=date(2025, 12, 31))

    def allocated(s, ob):  # type: ignore[no-untyped-def]
        o = next(o for o in s.obligations if o.obligation_id == ob)
        return o.allocated[s.as_of_index]

    # the fixed 100,000.00 goes by SSP net of the bonus allocated entirely (32-40, 32-41):
    # bonus on design: weights 50,000 / 40,000 → 55,555.56 + 10,000 and 44,444.44;
    # bonus moved to build: weights 60,000 / 30,000 → 66,666.67 and 33,333.33 + 10,000
    assert (allocated(before, "design"), allocated(before, "build")) == (6_555_556, 4_444_444)
    assert (allocated(after, "design"), allocated(after, "build")) == (6_666_667, 4_333_333)
