"""GitHub's annotations and GitLab's code quality report, from hand-made results."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._invoke import repository_root
from leakbench._output import ci
from leakbench._results import (
    CheckoutSite,
    EngineSite,
    LeakKind,
    MadeEngines,
    Reclaims,
    RowResult,
    Verdict,
)
from tests.codequality import validate_codequality
from tests.factories import failed_row, row, run_result

ROOT = Path("/repo")
SERVICE = ROOT / "services" / "shop"


def leaked(
    name: str, *sites: CheckoutSite, kind: LeakKind = LeakKind.HELD_BY_REFERENCE
) -> RowResult:
    base = row(name, "POST /orders", Verdict.LEAKED, after=3, total=5)
    assert base.findings is not None
    findings = dataclasses.replace(base.findings, leak_sites=sites, leak_kind=kind)
    return dataclasses.replace(base, findings=findings)


def folder_of(_row: RowResult) -> Path:
    return SERVICE


def test_escaping_follows_githubs_rules() -> None:
    line = ci.command("error", "50% of 2\r\nrows", file="a:b,c.py", line=3, title="t: x")
    assert line == "::error file=a%3Ab%2Cc.py,line=3,title=t%3A x::50%25 of 2%0D%0Arows"
    assert ci.command("warning", "plain") == "::warning::plain"


def test_an_error_at_each_leak_site_a_warning_per_doubt() -> None:
    result = run_result(
        row("shop.main:app", "GET /ok"),
        leaked(
            "shop.main:app",
            CheckoutSite("shop/orders.py", 42, "create_order", 3),
            CheckoutSite("/opt/vendor/jobs.py", 7, "poll", 2),
            CheckoutSite("unknown code", 0, "?", 1),
        ),
        dataclasses.replace(
            row("shop.main:app", "GET /audit", Verdict.INCONCLUSIVE),
            findings=dataclasses.replace(
                row().findings,  # type: ignore[arg-type]
                verdict=Verdict.INCONCLUSIVE,
                reasons=("Nothing touched the database: check --endpoint.",),
            ),
        ),
        leaked("http://127.0.0.1:8000"),  # attach mode: no site
        failed_row("shop.main:app", "GET /boom"),
    )
    lines = ci.github_annotations(result, folder_of, ROOT)
    assert lines[0].startswith(
        "::error file=services/shop/shop/orders.py,line=42,"
        "title=leakbench%3A connection leak (shop.main%3Aapp POST /orders)::"
        "3 connection(s) checked out here in create_order were never returned"
    )
    # Outside the repository, or nowhere in the app's code: the place goes in the text.
    assert lines[1].startswith("::error title=")
    assert "::/opt/vendor/jobs.py:7: 2 connection(s)" in lines[1]
    assert "::/repo/services/shop/unknown code:0: 1 connection(s)" in lines[2]
    doubt = "::warning title=leakbench%3A shop.main%3Aapp GET /audit INCONCLUSIVE"
    assert lines[3].startswith(doubt)
    assert "Nothing touched the database" in lines[3]
    assert lines[4].startswith("::error title=leakbench%3A http%3A//127.0.0.1%3A8000 POST /orders")
    assert lines[5].startswith("::error title=leakbench%3A shop.main%3Aapp GET /boom FAILED::")
    assert len(lines) == 6
    assert all("\n" not in line for line in lines)


def test_the_collectors_and_the_engines_sites_are_annotated_too() -> None:
    base = leaked("shop.main:app", CheckoutSite("shop/orders.py", 42, "create_order", 3))
    assert base.findings is not None
    findings = dataclasses.replace(
        base.findings,
        reclaims=Reclaims(
            4,
            sites=(
                CheckoutSite("shop/orders.py", 42, "create_order", 1),  # the same line: once
                CheckoutSite("shop/report.py", 8, "summary", 4),
            ),
        ),
        made_engines=MadeEngines(
            made=9,
            alive=9,
            holding=9,
            connections=9,
            sites=(EngineSite("shop/db.py", 5, "get_engine", 9, 9),),
        ),
    )
    lines = ci.github_annotations(
        run_result(dataclasses.replace(base, findings=findings)), folder_of, ROOT
    )
    assert [line.split(",title=")[0] for line in lines] == [
        "::error file=services/shop/shop/orders.py,line=42",
        "::error file=services/shop/shop/report.py,line=8",
        "::error file=services/shop/shop/db.py,line=5",
    ]
    assert "given back only by the garbage collector" in lines[1]
    assert "9 engine(s) made here in get_engine during the row were never disposed" in lines[2]


def test_a_clean_run_has_no_annotation_and_an_empty_code_quality_report() -> None:
    result = run_result(row("with-session"), row("try-finally"))
    assert ci.github_annotations(result, folder_of, ROOT) == []
    assert json.loads(ci.codequality_json(result, folder_of, ROOT)) == []


def test_gitlab_code_quality_has_the_shape_gitlab_reads() -> None:
    sites = (
        CheckoutSite("shop/orders.py", 42, "create_order", 3),
        CheckoutSite("shop/jobs.py", 9, "poll", 1),
    )
    result = run_result(
        leaked("shop.main:app", *sites, kind=LeakKind.AWAITING_GC),
        dataclasses.replace(leaked("shop.main:app", *sites[:1]), endpoint="GET /orders"),
    )
    issues = json.loads(ci.codequality_json(result, folder_of, ROOT))
    assert validate_codequality(issues) == []
    assert [issue["location"] for issue in issues] == [
        {"path": "services/shop/shop/orders.py", "lines": {"begin": 42}},
        {"path": "services/shop/shop/jobs.py", "lines": {"begin": 9}},
        {"path": "services/shop/shop/orders.py", "lines": {"begin": 42}},
    ]
    assert "returned only by a forced garbage collection" in issues[0]["description"]
    # The same leak is the same issue in the next pipeline, whatever its count.
    recounted = dataclasses.replace(sites[0], count=12)
    again = ci.codequality_issues(run_result(leaked("shop.main:app", recounted)), folder_of, ROOT)
    assert again[0]["fingerprint"] == issues[0]["fingerprint"]


def test_the_validator_catches_what_gitlab_would_refuse() -> None:
    bad = [
        {"description": "", "check_name": "x", "fingerprint": "f", "severity": "high"},
        {
            "description": "d",
            "check_name": "x",
            "fingerprint": "f",
            "severity": "minor",
            "location": {"path": "a.py", "lines": {"begin": 0}},
        },
    ]
    problems = validate_codequality(bad)
    assert "issue 0: description is not a non-empty string" in problems
    assert "issue 0: severity 'high' is not one of GitLab's" in problems
    assert "issue 0: location.path is not a non-empty string" in problems
    assert "issue 1: fingerprint f is not unique" in problems
    assert "issue 1: location.lines.begin is not a line number" in problems
    assert validate_codequality({"issues": []}) == ["the report is not a JSON array"]


def test_the_repository_root_is_githubs_or_gitlabs_else_here(tmp_path: Path) -> None:
    assert repository_root({"GITHUB_WORKSPACE": str(tmp_path)}) == tmp_path.resolve()
    assert repository_root({"CI_PROJECT_DIR": str(tmp_path)}) == tmp_path.resolve()
    assert repository_root({}) == Path.cwd()


def test_codequality_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "gl-code-quality-report.json"
    result = CliRunner().invoke(app, ["run", "-p", "try-finally", "--codequality", str(target)])
    assert result.exit_code == 2, result.output
    assert f"--codequality {target}: the folder" in result.output
    assert result.output.strip().count("\n") == 0


@pytest.mark.parametrize("command", ["run", "watch"])
def test_codequality_is_an_option_of_run_and_watch(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "--codequality" in result.output
