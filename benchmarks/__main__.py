"""Run every benchmark module in turn: ``python -m benchmarks [name ...]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import benchmarks

HELPERS = {"harness", "servers", "asgi_app", "__main__"}


def available() -> list[str]:
    """The benchmark modules, without the helpers they share."""
    return sorted(
        info.name for info in pkgutil.iter_modules(benchmarks.__path__) if info.name not in HELPERS
    )


def main(argv: list[str]) -> None:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Side-by-side benchmarks, as ratios."
    )
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"default: all ({', '.join(names)})"
    )
    chosen = parser.parse_args(argv).names
    unknown = [name for name in chosen if name not in names]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(names)}")
    for name in chosen or names:
        print(f"\n=== benchmarks.{name} ===")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
