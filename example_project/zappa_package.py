"""The ``zappa_settings`` module Zappa's packaging writes into the deployment zip, generated
by Zappa's own CLI from ``example_project/zappa_settings.json``, so that the demo and the tests
run the apps through ``zappa.handler.lambda_handler`` exactly as a deployed function does.

``python -m example_project.zappa_package STAGE DIRECTORY`` writes ``DIRECTORY/zappa_settings.py``.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

SETTINGS = Path(__file__).with_name("zappa_settings.json")
#: The stages of zappa_settings.json, and the handler each deploys.
STAGES = {
    "production": "example_project.flask_app.zappa_handler",
    "django": "example_project.django_app.zappa_handler",
}
#: The demo's Zappa functions and their stages.
FUNCTION_STAGES = {"zappa-django": "django", "zappa-flask": "production"}


def settings_module(stage: str) -> str:
    """What ``zappa package`` writes as ``zappa_settings.py`` for ``stage``."""
    import boto3
    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    cli.api_stage = stage
    # Zappa builds boto3 clients here; nothing is called, so no credentials are needed.
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="unused", aws_secret_access_key="unused"
    )
    cli.load_settings(str(SETTINGS), session=session)
    return str(cli.get_zappa_settings_string())


def write(stage: str, directory: Path) -> Path:
    """Write ``zappa_settings.py`` for ``stage`` into ``directory`` (put it on sys.path)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "zappa_settings.py"
    path.write_text(settings_module(stage))
    return path


def demonstrate(
    plan: Any, stack: list[str], environ: dict[str, str], ports: dict[int, str], progress: Any
) -> str:
    """The demo's Zappa stacks: both apps through zappa.handler.lambda_handler, with the
    zappa_settings module Zappa generates, Zappa's keep-warm among the warm-ups."""
    from concurrent.futures import ThreadPoolExecutor

    from example_project import fleet
    from example_project.fleet_report import _table, summary_rows

    with tempfile.TemporaryDirectory(prefix="zappa-") as directory:

        def run(function: str) -> Any:
            package = Path(directory) / function
            write(FUNCTION_STAGES[function], package)
            zappa_environ = {
                **environ,
                "PYTHONPATH": str(package),
                "EXAMPLE_CACHE_PREFIX": f"zappa-{uuid.uuid4().hex[:8]}",
            }
            return fleet.run_fleet(function, stack, plan, zappa_environ, ports, progress)

        with ThreadPoolExecutor(len(FUNCTION_STAGES)) as pool:
            totals = list(pool.map(run, FUNCTION_STAGES))
    headers = ["function", "tiers", "requests", "warm-ups", "cold starts", "hit rate"]
    headers += ["p50 ms", "p95 ms", "db queries", "connections"]
    return (
        "\nZappa: the same apps through zappa.handler.lambda_handler (Zappa 0.63) and the"
        " zappa_settings module Zappa's packaging writes, wrapped in serverless_handler; Zappa's"
        " keep-warm among the warm-ups (passed to Zappa, then the tiers warmed).\n\n"
        + _table(headers, summary_rows(totals))
    )


if __name__ == "__main__":
    print(write(sys.argv[1], Path(sys.argv[2])))
