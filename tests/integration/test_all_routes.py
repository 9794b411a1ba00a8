"""--all-routes end to end: every route of a real app, each judged in its own row.

The shop app (routes_shop_app.py) leaks on an error path once in 20 requests on one
route of seven; with --all-routes and no request option at all, that route is the
LEAKED row and every other is CLEAN. The example service is judged route by route
from a subfolder (its settings are found above), CLEAN, and with its leaky setting
the item list is the LEAKED row.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()
HERE = Path(__file__).resolve().parent
SHOP = HERE / "routes_shop_app.py"
EXAMPLE = HERE.parents[1] / "examples" / "items-service"


def _report(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "report.json").read_text())
    return data


def _verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {row["endpoint"]: row["verdict"] for row in report["rows"]}


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_route_that_leaks_once_in_20_is_the_leaked_row(
    tmp_path: Path, embedded_dsn: str
) -> None:
    reports = tmp_path / "reports"
    result = runner.invoke(
        app,
        ["run", "--app", f"{SHOP}:app", "--all-routes", "--dsn", embedded_dsn,
         "--report-dir", str(reports), "--no-live"],
    )  # fmt: skip
    output = _flat(result.output)
    assert result.exit_code == 1, result.output
    report = _report(reports)
    assert report["settings"]["all_routes"] is True
    assert _verdicts(report) == {
        "POST /orders/": "CLEAN",
        "GET /orders/": "CLEAN",
        "GET /orders/count": "CLEAN",
        "GET /orders/{order_id}": "CLEAN",
        "PUT /orders/{order_id}": "CLEAN",
        "GET /orders/{order_id}/invoice": "LEAKED",
        "GET /me": "CLEAN",
    }, result.output
    assert "7 routes: 6 CLEAN, 1 LEAKED, 0 not exercised." in output
    rows = {row["endpoint"]: row for row in report["rows"]}
    # The created order's id fed the item routes: they answered 200, not 404.
    for label in ("GET /orders/{order_id}", "PUT /orders/{order_id}"):
        statuses = rows[label]["load"]["status_counts"]
        assert "200" in statuses and "404" not in statuses, rows[label]
    # The bearer route got a made-up token and answered 401 after looking it up: judged.
    assert set(rows["GET /me"]["load"]["status_counts"]) == {"401"}
    assert rows["GET /me"]["findings"]["pool_checkouts"] > 0
    # The leak did not poison the row after it: a fresh target, and the row says so.
    assert rows["GET /me"]["note"].startswith("On a fresh target process:")
    line = next(
        n for n, text in enumerate(SHOP.read_text().splitlines(), 1) if "session.get(Order" in text
        and "checks out" in text
    )  # fmt: skip
    assert f"checked out at routes_shop_app.py:{line} in invoice" in output


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example; the current folder is a subfolder of it (app/api)."""
    folder = tmp_path / "items-service"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", "reports"))
    (folder / ".git").mkdir()  # the copy is its own repository: the search stops there
    monkeypatch.chdir(folder / "app" / "api")
    monkeypatch.delenv("LEAKY_ITEMS", raising=False)
    return folder


EXAMPLE_ROUTES = {
    "POST /api/v1/items/",
    "POST /api/v1/login/access-token",
    "GET /api/v1/users/me",
    "GET /api/v1/items/",
    "GET /api/v1/items/{item_id}",
}


def _run_example(example: Path, embedded_dsn: str, *more: str) -> tuple[int, str, dict[str, Any]]:
    reports = example / "reports" / "routes"
    result = runner.invoke(
        app,
        ["run", "--all-routes", "-d", "1", "--dsn", embedded_dsn, "--report-dir", str(reports),
         *more],
    )  # fmt: skip
    if not (reports / "report.json").is_file():
        pytest.fail(f"no report (exit {result.exit_code}): {result.output}")
    return result.exit_code, result.output, _report(reports)


def test_every_route_of_the_example_is_clean_from_a_subfolder(
    example: Path, embedded_dsn: str
) -> None:
    code, output, report = _run_example(example, embedded_dsn)
    assert code == 0, output
    assert output.startswith(f"Settings from {example / 'pyproject.toml'};")
    assert set(_verdicts(report)) == EXAMPLE_ROUTES  # DELETE only with --destructive
    assert set(_verdicts(report).values()) == {"CLEAN"}, output
    for row in report["rows"]:
        statuses = set(row["load"]["status_counts"])
        proven = row["findings"]["pool_checkouts"] > 0
        assert statuses == {"200"} or proven, row
    # The login route got generated credentials: refused after the user lookup ran.
    login = next(r for r in report["rows"] if r["endpoint"] == "POST /api/v1/login/access-token")
    assert set(login["load"]["status_counts"]) == {"400"}
    assert "5 routes: 5 CLEAN, 0 LEAKED, 0 not exercised." in _flat(output)


def test_with_its_leaky_setting_the_item_list_is_the_leaked_row(
    example: Path, embedded_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKY_ITEMS", "1")
    # The items routes only (a tag), to keep the suite short: the leaky list, the create
    # before it and the item route after it, on the fresh target the leak calls for.
    code, output, report = _run_example(example, embedded_dsn, "--route-include", "items")
    assert code == 1, output
    assert _verdicts(report) == {
        "POST /api/v1/items/": "CLEAN",
        "GET /api/v1/items/": "LEAKED",
        "GET /api/v1/items/{item_id}": "CLEAN",
    }, output
    after = report["rows"][-1]
    assert after["note"] == "On a fresh target process: GET /api/v1/items/ before it leaked."
    assert "checked out at app/api/routes/items.py" in _flat(output)


def test_routes_that_cannot_be_called_meaningfully_are_reported_not_clean(
    tmp_path: Path, embedded_dsn: str
) -> None:
    reports = tmp_path / "reports"
    result = runner.invoke(
        app,
        ["run", "--app", f"{HERE / 'routes_refused_app.py'}:app", "--all-routes",
         "--dsn", embedded_dsn, "--report-dir", str(reports), "--no-live"],
    )  # fmt: skip
    assert result.exit_code == 4, result.output  # inconclusive: nothing leaked, nothing judged
    assert _verdicts(_report(reports)) == {
        "POST /coupons": "INCONCLUSIVE",
        "GET /admin": "INCONCLUSIVE",
    }
    # Up to 3 different requests are tried; two generated ones may be the same.
    summary = re.search(r"2 routes: .*?database\)\.", _flat(result.output))
    assert summary is not None, result.output
    assert re.fullmatch(
        r"2 routes: 0 CLEAN, 0 LEAKED, 2 not exercised \(POST /coupons: 422 on every request "
        r"tried \([123], from the schema's examples and generated values\); GET /admin: every "
        r"answer was 401 and nothing reached the database\)\.",
        summary.group(0),
    ), summary.group(0)
