"""Resource planning: HR facts as of a date, staffing matches, over-allocation approvals,
utilization, forecast and bench reports (docs/workforce.md)."""
