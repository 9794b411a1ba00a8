"""The axes of `leakbench matrix`: parsing, combinations, requirement lines, minimum versions."""

from __future__ import annotations

import pytest

from leakbench import scenarios
from leakbench._matrix.environments import one_line_error, parse_pins
from leakbench._settings.matrix import (
    MAX_COMBINATIONS,
    Combination,
    combinations,
    parse_axes,
    parse_axis,
    parse_extra_requirement,
    requirements,
    unmet_requirement,
)
from leakbench.errors import UsageError


def test_an_axis_keeps_its_versions_in_order_and_canonical_names() -> None:
    axis = parse_axis("FastAPI=0.104.1, 0.120.0,latest")
    assert axis.package == "fastapi"
    assert axis.versions == ("0.104.1", "0.120.0", "latest")
    assert parse_axis("sqlalchemy==2.0.36").versions == ("2.0.36",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fastapi", "malformed"),
        ("fastapi=", "names no version"),
        ("fastapi=abc", "'abc' is not a version"),
        ("fastapi=0.1,0.1", "names a version twice"),
        ("fastapi=<<1", "not a version specifier"),
    ],
)
def test_a_bad_axis_is_a_usage_error_naming_it(text: str, expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        parse_axis(text)


def test_an_axis_given_twice_or_none_at_all_is_refused() -> None:
    with pytest.raises(UsageError, match="given twice"):
        parse_axes(["fastapi=0.1", "FastAPI=0.2"])
    with pytest.raises(UsageError, match="at least one --versions"):
        parse_axes([])


def test_combinations_vary_the_first_axis_slowest() -> None:
    axes = parse_axes(["fastapi=0.104.1,latest", "sqlalchemy=2.0.36,2.1.0"])
    assert [c.pins for c in combinations(axes)] == [
        (("fastapi", "0.104.1"), ("sqlalchemy", "2.0.36")),
        (("fastapi", "0.104.1"), ("sqlalchemy", "2.1.0")),
        (("fastapi", "latest"), ("sqlalchemy", "2.0.36")),
        (("fastapi", "latest"), ("sqlalchemy", "2.1.0")),
    ]


def test_too_many_combinations_are_refused_before_anything_is_built() -> None:
    versions = ",".join(f"0.{n}.0" for n in range(MAX_COMBINATIONS + 1))
    with pytest.raises(UsageError, match=f"{MAX_COMBINATIONS + 1} combinations"):
        combinations(parse_axes([f"fastapi={versions}"]))


def test_requirements_pin_the_axes_and_keep_the_stack_extras() -> None:
    combination = Combination((("sqlalchemy", "2.0.36"), ("fastapi", "latest"), ("anyio", "<4")))
    lines = requirements(combination, ["httpx>=0.27"])
    assert "sqlalchemy[asyncio]==2.0.36" in lines
    assert "fastapi" in lines  # latest: not pinned
    assert "anyio<4" in lines  # an axis outside the stack is added
    assert "httpx>=0.27" in lines
    assert "psycopg[binary]" in lines
    assert "uvicorn[standard]" in lines


def test_a_bad_extra_requirement_is_a_usage_error() -> None:
    assert parse_extra_requirement(" httpx>=0.27 ") == "httpx>=0.27"
    with pytest.raises(UsageError, match="--with 'httpx>>1' is not a requirement"):
        parse_extra_requirement("httpx>>1")


def test_combination_labels_and_report_folders() -> None:
    combination = Combination((("fastapi", "0.104.1"), ("sqlalchemy", "<2.1")))
    assert combination.label == "fastapi 0.104.1, sqlalchemy <2.1"
    assert combination.slug == "fastapi-0.104.1_sqlalchemy-2.1"


def test_the_scope_scenarios_are_not_applicable_before_fastapi_0_121() -> None:
    scoped = scenarios.by_name("background-function-scope")
    assert scoped is not None
    old = {"fastapi": "0.120.0", "sqlalchemy": "2.0.36"}
    assert unmet_requirement(scoped.requires, old) == "needs fastapi>=0.121, has 0.120.0"
    assert unmet_requirement(scoped.requires, {**old, "fastapi": "0.121.0"}) is None
    plain = scenarios.by_name("with-session")
    assert plain is not None
    assert unmet_requirement(plain.requires, old) is None
    assert unmet_requirement(plain.requires, {**old, "fastapi": "0.94.1"}) == (
        "needs fastapi>=0.95, has 0.94.1"
    )
    assert unmet_requirement(plain.requires, {"fastapi": "0.104.1"}) == (
        "needs sqlalchemy>=2.0.14, not installed"
    )


def test_a_lock_is_read_as_sorted_canonical_pins() -> None:
    lock = (
        "# comment\nSQLAlchemy==2.0.36\n    # via x\nfastapi==0.104.1 ; python_version >= '3.8'\n"
    )
    assert parse_pins(lock) == (("fastapi", "0.104.1"), ("sqlalchemy", "2.0.36"))


def test_uv_errors_become_one_line() -> None:
    stderr = (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because there is no version of fastapi==9.9.9 and you require\n"
        "         fastapi==9.9.9, we can conclude that your requirements are unsatisfiable.\n"
        "hint: try something\n"
    )
    line = one_line_error(stderr)
    assert "\n" not in line
    assert line.startswith("Because there is no version of fastapi==9.9.9")
    assert "hint" not in line


def test_the_driver_axis_installs_the_driver_and_names_only_known_ones() -> None:
    (psycopg2,) = combinations(parse_axes(["driver=psycopg2"]))
    assert psycopg2.driver == "psycopg2"
    lines = requirements(psycopg2)
    assert "psycopg2-binary" in lines
    assert "psycopg[binary]" in lines  # the async engine stays on psycopg 3
    assert not any(line.startswith("driver") for line in lines)
    (psycopg,) = combinations(parse_axes(["driver=psycopg"]))
    assert [line for line in requirements(psycopg) if line.startswith("psycopg")] == [
        "psycopg[binary]"
    ]
    (asyncpg,) = combinations(parse_axes(["driver=asyncpg"]))
    assert "asyncpg" in requirements(asyncpg)
    with pytest.raises(
        UsageError, match="unknown driver 'pg8000'; choose among psycopg, psycopg2, asyncpg"
    ):
        parse_axis("driver=pg8000")


def test_only_the_sync_engine_scenarios_follow_the_driver_axis() -> None:
    installed = {"fastapi": "0.118.0", "sqlalchemy": "2.0.14"}
    for name, runs_on_psycopg2 in (
        ("with-session", True),
        ("never-closed-session", True),
        ("async-session", False),
        ("raw-connection-closed", False),
    ):
        scenario = scenarios.by_name(name)
        assert scenario is not None
        reason = unmet_requirement(
            scenario.requires, installed, driver="psycopg2", drivers=scenario.drivers
        )
        assert (reason is None) is runs_on_psycopg2, name
        assert (
            unmet_requirement(
                scenario.requires, installed, driver="psycopg", drivers=scenario.drivers
            )
            is None
        )
    async_session = scenarios.by_name("async-session")
    assert async_session is not None
    assert unmet_requirement((), {}, driver="psycopg2", drivers=async_session.drivers) == (
        "needs driver psycopg, not psycopg2"
    )
