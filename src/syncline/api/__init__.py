"""The HTTP API (`/v1`): translates requests into service calls; errors map in one place."""
