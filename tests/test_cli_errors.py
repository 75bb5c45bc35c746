"""The console command as a user runs it (a subprocess): version, help, one-line errors, regions.

Every failure is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
import pytest

import serverless_cache
from serverless_cache.cli import build_parser
from serverless_cache.errors import DISTRIBUTION
from tests.aws.test_cloudfront import _distribution
from tests.fixtures.dynamodb_servers import LocalDynamoDB

ROOT = Path(__file__).resolve().parent.parent
COMMAND = Path(sys.executable).parent / "serverless-cache"  # the installed console script


def aws_environ(endpoint: str | None = None, **extra: str) -> dict[str, str]:
    """os.environ without any AWS configuration, plus throw-away credentials and ``extra``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        **extra,
    )
    if endpoint:
        environ["AWS_ENDPOINT_URL"] = endpoint
    return environ


def cli(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Any:
    return subprocess.run(
        [str(COMMAND), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def assert_one_line_error(result: Any, command: str, text: str, status: int) -> None:
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"serverless-cache {command}: error: ")
    assert text in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


# -- the package -------------------------------------------------------------------------------
def test_version_names_the_distribution() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"serverless-cache {serverless_cache.__version__} ({DISTRIBUTION})\n"
    assert metadata.version(DISTRIBUTION) == serverless_cache.__version__


def test_metadata_and_licence() -> None:
    meta = metadata.metadata(DISTRIBUTION)
    assert meta["Name"] == DISTRIBUTION
    assert meta["License"] == "BSD-3-Clause"
    assert meta["Author"]
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()
    requires = metadata.requires(DISTRIBUTION) or []
    assert any(r.startswith(f"{DISTRIBUTION}[test]") for r in requires)


def test_every_option_has_help_text() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, subparser in commands.choices.items():
        for action in subparser._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.dest} has no help text"
        if name == "create-table":
            assert "(default: PAY_PER_REQUEST)" in subparser.format_help()


# -- one-line errors ---------------------------------------------------------------------------
def test_missing_extra_names_the_pip_install() -> None:
    script = (
        "import sys\n"
        "sys.modules['boto3'] = sys.modules['botocore'] = None  # as if not installed\n"
        "from serverless_cache.cli import main\n"
        "sys.exit(main(['create-table', '--region', 'eu-west-1']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert_one_line_error(
        result, "create-table", f"pip install '{DISTRIBUTION}[dynamodb]'", status=2
    )


def test_unimportable_django_settings_is_one_line(tmp_path: Path) -> None:
    result = cli("apigw-config", "--django", "nosuchproject.settings", cwd=tmp_path)
    assert_one_line_error(result, "apigw-config", "cannot import 'nosuchproject'", status=2)
    assert "--pythonpath" in result.stderr


def test_pythonpath_finds_a_project_outside_the_current_directory(tmp_path: Path) -> None:
    argv = [
        "apigw-config",
        "--django",
        "tests.django_settings",
        "--urlconf",
        "tests.django.edge_urls",
    ]
    assert cli(*argv, cwd=tmp_path).returncode == 2  # `tests` is not importable from there
    result = cli(*argv, "--pythonpath", str(ROOT), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MethodSettings" in result.stdout


def test_aws_error_is_one_line(moto_endpoint: str) -> None:
    result = cli("cloudfront-invalidate", "ENOSUCHDIST", "/a", env=aws_environ(moto_endpoint))
    assert_one_line_error(result, "cloudfront-invalidate", "NoSuchDistribution", status=1)


def test_connection_failure_is_one_line() -> None:
    environ = aws_environ(AWS_REGION="eu-west-1")
    result = cli("create-table", "--endpoint-url", "http://127.0.0.1:9", env=environ)
    assert_one_line_error(result, "create-table", "Could not connect to the endpoint", status=1)


# -- regions -----------------------------------------------------------------------------------
def test_cloudfront_invalidate_needs_no_region(moto_endpoint: str) -> None:
    distribution = _distribution(
        boto3.client(
            "cloudfront",
            region_name="us-east-1",
            endpoint_url=moto_endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    )
    result = cli("cloudfront-invalidate", distribution, "/a", env=aws_environ(moto_endpoint))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 1


def test_create_table_uses_aws_region(moto_dynamodb: LocalDynamoDB) -> None:
    name = f"region-{uuid.uuid4().hex[:8]}"
    environ = aws_environ(AWS_REGION="eu-west-3")
    result = cli(
        "create-table",
        "--table-name",
        name,
        "--endpoint-url",
        moto_dynamodb.endpoint_url,
        env=environ,
    )
    assert result.returncode == 0, result.stderr
    assert f"{name!r} created" in result.stdout

    def tables(region: str) -> list[str]:
        client = boto3.client(
            "dynamodb", region_name=region, endpoint_url=moto_dynamodb.endpoint_url
        )
        return client.list_tables()["TableNames"]  # type: ignore[no-any-return]

    assert name in tables("eu-west-3")  # moto keeps tables per region
    assert name not in tables("us-east-1")


def test_create_table_without_any_region_says_how_to_give_one() -> None:
    result = cli("create-table", "--endpoint-url", "http://127.0.0.1:9", env=aws_environ())
    assert_one_line_error(result, "create-table", "give a region (--region", status=2)


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_create_table_function_reads_the_region_variables(
    moto_dynamodb: LocalDynamoDB, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    from serverless_cache.aws.dynamodb_table import create_table

    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv(variable, "ap-south-1")
    name = f"region-{uuid.uuid4().hex[:8]}"
    assert create_table(name, endpoint_url=moto_dynamodb.endpoint_url).created
    client = boto3.client(
        "dynamodb", region_name="ap-south-1", endpoint_url=moto_dynamodb.endpoint_url
    )
    assert name in client.list_tables()["TableNames"]
