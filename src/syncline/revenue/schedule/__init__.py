"""The revenue schedule: the five steps run as one pipeline over monthly periods.

How a number is made. For each obligation and each period end, the measure of progress
(``measures``) gives ``num / den`` and the allocation (``allocation``) gives the amount in
force; cumulative revenue is ``base + round((alloc - extra_total) * num / den) + extra`` in
integer minor units, and the period's revenue is the difference of two cumulatives. That is
cumulative rounding: every period is rounded once, and the schedule sums exactly to the
allocation, whatever the currency's minor unit.

A contract lives in *segments*. The first starts at inception. A modification either opens
a separate contract (its own segment, alongside), or replaces the current segment from its
effective date: prospectively (the unrecognised consideration plus the new consideration is
allocated to what remains, progress rebased to the modification date, revenue already
recognised kept as ``base``) or by cumulative catch-up (the whole contract re-allocated and
re-measured from inception; the jump in the period of the modification is the catch-up). A
change in the estimate of variable consideration inside a segment re-allocates the price
and produces a catch-up the same way (32-42 to 32-45).

The package, in the order a schedule is made:

- ``compute``: ``compute_schedule``, the entry point (the contract as known, its segments in
  order, the result);
- ``segments``: opening a segment at inception, as a separate contract, or by a modification;
- ``context``: the working state (context, segments) and the allocation in force;
- ``progress``: cumulative revenue at each cut-off (the hot path);
- ``catch_ups``: catch-ups of a reassessed variable estimate, and the period of one;
- ``assemble``: each obligation's columns merged over the segments, each segment's info;
- ``result``: ``ScheduleResult`` and its parts.
"""
