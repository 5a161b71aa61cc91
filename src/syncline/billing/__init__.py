"""Pure billing engine: rate resolution, billable items, invoice assembly. No I/O."""
