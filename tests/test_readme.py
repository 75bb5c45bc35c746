"""The README documents every option the code accepts, and only those.

The options the code accepts are the fields of the settings dataclasses (every ``*Settings``
class of the ``serverless_cache.tiers`` package, found by walking it so that the test follows
modules as they move, and of ``codec``, ``resilience`` and ``stampede``) plus the keys the Flask
backends take out of ``CACHE_OPTIONS`` in their ``tier_config`` before the tier sees them. The
README's are the backticked names in the first column of its tables whose header's first cell
is "option".
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import serverless_cache

README = Path(__file__).resolve().parent.parent / "README.md"
FLASK_BACKENDS = Path(serverless_cache.__file__).parent / "flask"
OPTION_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def settings_modules() -> list[ModuleType]:
    from serverless_cache import codec, resilience, stampede, tiers

    walked = pkgutil.walk_packages(tiers.__path__, "serverless_cache.tiers.")
    modules = [codec, resilience, stampede, tiers]
    return [*modules, *(importlib.import_module(i.name) for i in walked)]


def settings_classes() -> set[type]:
    found: set[type] = set()
    for module in settings_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__name__.endswith("Settings")
                and value.__module__.startswith("serverless_cache.")
            ):
                found.add(value)
    return found


def code_options() -> set[str]:
    names = {f.name.upper() for cls in settings_classes() for f in dataclasses.fields(cls)}
    return names | flask_adapter_keys()


def flask_adapter_keys() -> set[str]:
    """Keys taken with ``pop_option(options, "...")`` in the Flask backends' ``tier_config``."""
    keys: set[str] = set()
    for path in FLASK_BACKENDS.glob("*.py"):
        for function in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(function, ast.FunctionDef) and function.name == "tier_config"):
                continue
            for call in ast.walk(function):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "pop_option"
                    and len(call.args) >= 2
                    and isinstance(call.args[0], ast.Name)
                    and call.args[0].id == "options"
                    and isinstance(call.args[1], ast.Constant)
                ):
                    keys.add(str(call.args[1].value).upper())
    return keys


def readme_options() -> set[str]:
    names: set[str] = set()
    in_options_table = False
    for line in README.read_text().splitlines():
        if not line.startswith("|"):
            in_options_table = False
            continue
        first_cell = line.split("|")[1].strip()
        if first_cell.lower() == "option":
            in_options_table = True
        elif in_options_table and not set(first_cell) <= set("-: "):
            names |= {name.upper() for name in OPTION_NAME.findall(first_cell)}
    return names


def test_the_settings_classes_and_flask_keys_are_found() -> None:
    names = {cls.__name__ for cls in settings_classes()}
    assert {"CodecSettings", "ResilienceSettings", "MemorySettings", "RedisSettings"} <= names
    assert {"DynamoDBSettings", "LayeredSettings", "StampedeSettings"} <= names
    assert {"NAME", "LOCATION"} <= flask_adapter_keys()
    assert {"PICKLE_PROTOCOL", "LEASE_POLL_INTERVAL", "MAX_BYTES"} <= readme_options()


def test_every_option_of_the_code_is_in_the_readme() -> None:
    assert code_options() - readme_options() == set()


def test_every_option_in_the_readme_exists() -> None:
    assert readme_options() - code_options() == set()
