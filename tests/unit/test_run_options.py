"""The run command's options become a checked RunConfig, or one UsageError naming the value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from leakbench._settings import defaults
from leakbench._settings.options import RunOptions
from leakbench.errors import UsageError


def test_no_target_is_a_usage_error_naming_what_to_give() -> None:
    """Never a default target: a CI step in the wrong folder must not run scenarios and pass."""
    with pytest.raises(UsageError) as caught:
        RunOptions().config()
    message = str(caught.value)
    assert message.startswith("Nothing to run: no leakbench.toml or pyproject.toml")
    assert "--app module:app" in message and "--pattern both" in message
    assert "[tool.leakbench]" in message
    with pytest.raises(UsageError, match=r"^Nothing to run: /x/pyproject.toml names no target"):
        RunOptions(settings_file=Path("/x/pyproject.toml")).config()


def test_the_pull_requests_pair_runs_eight_seconds_by_default() -> None:
    config = RunOptions(pattern=("both",)).config()
    assert [target.name for target in config.targets] == ["with-session", "try-finally"]
    assert config.load.duration == defaults.DURATION
    assert config.load.requests is None


def test_a_request_budget_replaces_the_default_duration() -> None:
    config = RunOptions(pattern=("both",), requests=500).config()
    assert (config.load.duration, config.load.requests) == (None, 500)
    both = RunOptions(pattern=("both",), requests=500, duration=2.0).config()
    assert (both.load.duration, both.load.requests) == (2.0, 500)


def test_options_map_onto_the_config() -> None:
    config = RunOptions(
        pattern=("global-session-cache",),
        endpoint=("GET /ok",),
        pool_size=3,
        max_overflow=0,
        max_error_rate="5%",
        fail_on_leak=False,
        body='{"a": 1}',
    ).config()
    assert [t.name for t in config.targets] == ["global-session-cache"]
    assert [e.label for e in config.endpoints] == ["GET /ok"]
    assert config.pool.capacity == 3
    assert config.thresholds.max_error_rate == 0.05
    assert config.thresholds.fail_on_leak is False
    assert config.load.body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RunOptions(allow_remote=True), "--application-name and --allow-remote belong to attach"),
        (RunOptions(url="http://127.0.0.1:8000"), "--url needs --dsn"),
        (RunOptions(max_error_rate="lots"), "--max-error-rate 'lots' is not a number"),
        (RunOptions(timeout=0), "--timeout 0 is invalid"),
        (RunOptions(json_path=Path("/no/such/folder/r.json")), "the folder /no/such/folder"),
    ],
)
def test_bad_options_are_one_usage_error(options: RunOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        options.check_command()
        options.config()


def test_every_option_of_the_run_command_has_a_field() -> None:
    """The command line builds RunOptions from its parsed parameters, one to one."""
    from typer.main import get_command  # noqa: PLC0415

    from leakbench._cli import app  # noqa: PLC0415 - the command line only for this check

    group = get_command(app)
    run = group.commands["run"]  # type: ignore[attr-defined]
    names = {param.name for param in run.params}
    # settings_file is the one field that is no option: `run` fills it from the settings it read.
    assert names == {field.name for field in dataclasses.fields(RunOptions)} - {"settings_file"}
