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
    tree = ast.parse(module.read_text())
    settings_names = {"settings"} | {  # `from django.conf import settings as conf` too
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.conf"
        for alias in node.names
        if alias.name == "settings" and alias.asname
    }
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "configure"
        and ast.unparse(node.func.value).split(".")[-1] in settings_names
    ]
    assert module.name in OWN_INTERPRETER or not calls


def test_the_runner_names_the_benchmarks_and_refuses_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks.__main__ import main

    with pytest.raises(SystemExit) as asked:
        main(["--help"])
    assert asked.value.code == 0 and "construction" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["constructoin"])
    assert refused.value.code == 2
    assert "no benchmark named constructoin" in capsys.readouterr().err
