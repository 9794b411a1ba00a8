"""``--app``, ``--app-env`` and ``--setup-sql``: bad values are one-line usage errors;
every placeholder renders."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings import EnvTemplate
from leakbench._targets.env import database_environment
from leakbench.errors import UsageError
from tests.user_app_sources import write_leaky_app

runner = CliRunner()


def run_cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", "--report-dir", str(tmp_path / "reports"), *args])
    return result.exit_code, result.output


def flat(output: str) -> str:
    """The output with the console's line wrapping undone, to assert on whole sentences."""
    return " ".join(output.split())


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("X={nope}", "--app-env 'X={nope}' has an unknown placeholder {nope}"),
        ("X={url", "--app-env 'X={url' has unbalanced braces"),
        ("X={url!r}", "placeholders take no format or conversion"),
        ("X={port:05}", "placeholders take no format or conversion"),
        ("X={}", "has an empty placeholder"),
        ("1X={url}", "has an invalid variable name '1X'"),
        ("LEAKBENCH_POOL_SIZE=9", "are leakbench's own"),
        ("ORDERS_DB", "is malformed; write NAME=TEMPLATE"),
        ("X={url+Psycopg}", "unknown placeholder {url+Psycopg}"),
    ],
)
def test_bad_app_env_is_a_one_line_usage_error(tmp_path: Path, option: str, message: str) -> None:
    main = write_leaky_app(tmp_path)
    code, output = run_cli(tmp_path, "--app", f"{main}:app", "-e", "/orders", "--app-env", option)
    assert code == 2, output
    text = flat(output)
    assert message in text
    assert len(output.strip().splitlines()) == 1, output


def test_usage_errors_of_app_and_setup_sql(tmp_path: Path) -> None:
    main = write_leaky_app(tmp_path)
    cases = [
        (["--app", f"{main}:app"], "give --endpoint 'POST /path'"),
        (["--app", f"{tmp_path}/absent.py:app", "-e", "/orders"], "absent.py does not exist"),
        (["--app", f"{main}:app", "-e", "/o", "--setup-sql", "no.sql"], "no.sql: no such file"),
        (
            ["--app", f"{main}:app", "-e", "/o", "--app-env", "A={url}", "--app-env", "A=x"],
            "--app-env A is given twice",
        ),
    ]
    for args, message in cases:
        code, output = run_cli(tmp_path, *args)
        assert code == 2, output
        assert message in flat(output)


def test_every_placeholder_renders_from_the_database_parameters() -> None:
    params = {
        "host": "127.0.0.1",
        "port": "5433",
        "user": "app user",
        "password": "p@ss:w/rd",
        "dbname": "leakbench_x_0",
    }
    templates = tuple(
        EnvTemplate.parse(text)
        for text in (
            "PLAIN={url}",
            "SYNC={url+psycopg}",
            "ASYNC={url+asyncpg}",
            "LIBPQ={dsn}",
            "PARTS={user}|{password}|{host}|{port}|{dbname}",
            "BRACES={{literal}}",
            "DATABASE_URL={url+psycopg2}",
        )
    )
    env = database_environment(params, templates)
    quoted = "app%20user:p%40ss%3Aw%2Frd@127.0.0.1:5433/leakbench_x_0"
    assert env["PLAIN"] == f"postgresql://{quoted}"
    assert env["SYNC"] == f"postgresql+psycopg://{quoted}"
    assert env["ASYNC"] == f"postgresql+asyncpg://{quoted}"
    assert "password='p@ss:w/rd'" in env["LIBPQ"] or "password=p@ss:w/rd" in env["LIBPQ"]
    assert "dbname=leakbench_x_0" in env["LIBPQ"] and "port=5433" in env["LIBPQ"]
    assert env["PARTS"] == "app user|p@ss:w/rd|127.0.0.1|5433|leakbench_x_0"
    assert env["BRACES"] == "{literal}"
    # An --app-env may replace the standard variable with another URL form.
    assert env["DATABASE_URL"] == f"postgresql+psycopg2://{quoted}"
    assert env["PGPASSWORD"] == "p@ss:w/rd" and env["PGDATABASE"] == "leakbench_x_0"


def test_app_env_errors_name_the_bad_value() -> None:
    with pytest.raises(UsageError, match=r"--app-env 'URL=\{url\}/\{schema\}'.*\{schema\}"):
        EnvTemplate.parse("URL={url}/{schema}")
