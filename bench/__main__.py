"""Run every benchmark module that is present and print its figures."""

from __future__ import annotations

import importlib
import sys

MODULES = ("bench.pipeline", "bench.ingest", "bench.http", "bench.revenue", "bench.billing",
           "bench.staffing", "bench.postgres", "bench.close", "bench.broker")


def main() -> int:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:
                continue
            raise
        print(f"\n== {name} ==", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
