"""Run every benchmark module in turn: ``python -m benchmarks [name ...]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main(argv: list[str]) -> None:
    names = argv or sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name not in {"harness", "servers", "asgi_app", "__main__"}  # helpers
    )
    for name in names:
        print(f"\n=== benchmarks.{name} ===")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
