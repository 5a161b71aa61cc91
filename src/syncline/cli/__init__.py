"""The `syncline` command line: translates arguments into service calls, never decides."""
