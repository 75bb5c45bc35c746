"""The benchmarks' wording and independence (they are run, not tested, by `make bench`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from benchmarks.harness import relative

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("measured", "baseline", "words"),
    [
        (130.0, 100.0, "1.30x slower"),
        (77.0, 100.0, "1.30x faster"),
        (100.2, 100.0, "as fast"),
        (0.0, 100.0, "-"),
    ],
)
def test_ratios_say_faster_or_slower(measured: float, baseline: float, words: str) -> None:
    assert relative(measured, baseline) == words


@pytest.mark.parametrize("module", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_benchmarks_do_not_import_the_tests(module: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {name for name in imported if name.split(".")[0] == "tests"}


#: Modules that configure Django in an interpreter of their own (the uvicorn app, the
#: fresh-interpreter import timing), and the harness, whose setup_django the others share.
OWN_INTERPRETER = {"harness.py", "asgi_app.py"}


@pytest.mark.parametrize("module", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_benchmarks_share_one_django_configuration(module: Path) -> None:
    """`make bench` runs every module in one process, where the first configure wins: a module
    configuring its own CACHES breaks the modules after it."""
    calls = [
        node
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "configure"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "settings"
    ]
    assert module.name in OWN_INTERPRETER or not calls
