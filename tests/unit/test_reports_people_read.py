"""Reports people read: the pool's line in the chart, the table's first header, the
newest report by default, and a reports folder that keeps git clean."""

from __future__ import annotations

import dataclasses
import html
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._output import reports
from leakbench._output.reports import chart, markdown
from leakbench._output.reports import json as report_json
from leakbench._output.table import name_header
from leakbench._results import LeakKind, PoolReading, PoolStats, RowResult, Verdict
from leakbench._verdict.outcome import judge
from leakbench.errors import UsageError
from tests.factories import row, run_result

runner = CliRunner()


# -- the chart: the pool's checked-out count beside the server's counts ----------------------


def checked_out_idle_row() -> RowResult:
    """Three connections kept checked out after their commit: PostgreSQL sees them idle."""
    base = row("engine-connect-kept", "/ok", Verdict.LEAKED, peak=0, after=0, total=5)
    assert base.findings is not None
    findings = dataclasses.replace(base.findings, leak_kind=LeakKind.CHECKED_OUT_IDLE)
    return dataclasses.replace(
        base,
        findings=findings,
        pool_baseline=PoolStats(connects=1, capacity=12),
        pool_readings=(PoolReading(0.5, 4), PoolReading(1.0, 6), PoolReading(1.5, 5)),
        pool_after_settle=PoolStats(connects=5, checkouts=100, checkins=97, capacity=12),
    )


def _pool_path_ys(svg: str, css: str) -> list[float]:
    """The y coordinates a pool path visits (each ``V`` of its step line, and its start)."""
    match = re.search(rf'class="line {css}" d="([^"]+)"', svg)
    assert match, f"no {css} path in the chart"
    return [float(y) for y in re.findall(r"(?:M[\d.]+,|V)([\d.]+)", match[1])]


def test_a_checked_out_idle_leak_is_a_line_that_stays_up() -> None:
    leaky = checked_out_idle_row()
    svg = chart.render(leaky)
    # The server's idle-in-transaction line is flat at 0 throughout: nothing to see there.
    assert all(s.in_transaction == 0 for s in leaky.samples)
    during = _pool_path_ys(svg, "line-pool")
    after = _pool_path_ys(svg, "line-pool-settle")
    # Lower y is higher on the chart: the load's readings and what the settle left sit
    # above the baseline's zero.
    assert max(during) > min(during)
    assert after[-1] < during[0]
    assert "3 still checked out" in svg
    assert html.escape(chart.POOL_LABEL) in chart.legend()


def test_a_pool_back_at_its_baseline_is_not_called_out() -> None:
    clean = dataclasses.replace(
        row("try-finally", "/ok"), pool_readings=(PoolReading(0.5, 8), PoolReading(1.0, 12))
    )
    svg = chart.render(clean)
    assert "line-pool" in svg
    assert "still checked out" not in svg
    assert [(t, n) for t, n in chart.pool_points(clean)][-1] == (4.0, 0)


def test_no_pool_view_draws_no_pool_line() -> None:
    attached = dataclasses.replace(row(), pool_baseline=None, pool_after_settle=None)
    assert chart.pool_points(attached) == []
    assert "line-pool" not in chart.render(attached)


def test_the_chart_scale_makes_room_for_the_pool() -> None:
    many = dataclasses.replace(
        row(peak=2), pool_readings=tuple(PoolReading(t / 10, 40) for t in range(5, 30))
    )
    svg = chart.render(many)
    ticks = [int(n) for n in re.findall(r'class="tick"[^>]*text-anchor="end">(\d+)<', svg)]
    assert max(ticks) >= 40


def test_pool_readings_survive_report_json(tmp_path: Path) -> None:
    result = run_result(checked_out_idle_row())
    path = tmp_path / "report.json"
    report_json.write_json(result, judge(result), path)
    assert report_json.read_json(path).rows[0].pool_readings == result.rows[0].pool_readings


# -- the first column: Target for an app, Pattern for a scenario -----------------------------


@pytest.mark.parametrize(
    ("rows", "settings", "expected"),
    [
        (("with-session", "try-finally"), {}, "Pattern"),
        (("shop.main:app",), {}, "Target"),
        (("with-session", "items/main.py:app"), {}, "Target"),
        (("http://127.0.0.1:8000",), {"attach_url": "http://127.0.0.1:8000"}, "Target"),
        (("watch",), {"watched": True}, "Target"),
    ],
)
def test_the_first_column_names_what_was_run(
    rows: tuple[str, ...], settings: dict[str, object], expected: str
) -> None:
    result = run_result(*(row(name) for name in rows), **settings)
    assert name_header(result) == expected
    assert markdown.render(result, judge(result)).splitlines()[4].startswith(f"| {expected} |")


# -- leakbench report: the newest report by default -----------------------------------------


def _saved(folder: Path, pattern: str, mtime: float) -> Path:
    result = run_result(row(pattern))
    path = folder / "report.json"
    folder.mkdir(parents=True)
    report_json.write_json(result, judge(result), path)
    os.utime(path, (mtime, mtime))
    return path


def test_report_without_a_path_renders_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _saved(Path("reports/20260101T000000Z"), "with-session", 1_000_000)
    newest = _saved(Path("reports/ci"), "try-finally", 2_000_000)
    _saved(Path("reports/20260102T000000Z"), "all-of-them", 1_500_000)
    assert reports.newest_report() == newest
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    assert "try-finally" in result.output
    assert "with-session" not in result.output
    assert f"report: {newest} (the newest)" in result.output


def test_report_without_any_report_is_one_usage_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"No report\.json was found in reports"):
        reports.newest_report()
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "run leakbench run first" in result.output


# -- a reports folder leakbench made keeps git clean ----------------------------------------


def test_the_folder_leakbench_creates_holds_a_gitignore_of_everything(tmp_path: Path) -> None:
    reports.prepare_dir(tmp_path / "reports" / "20260101T000000Z")
    ignore = tmp_path / "reports" / ".gitignore"
    assert ignore.read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert not (tmp_path / "reports" / "20260101T000000Z" / ".gitignore").exists()


def test_a_folder_that_was_there_is_left_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    reports.prepare_dir(tmp_path / "out" / "run-1")
    assert not (tmp_path / "out" / ".gitignore").exists()
    assert (tmp_path / "out" / "run-1" / ".gitignore").exists()
    reports.prepare_dir(tmp_path / "out" / "run-1")  # again: nothing new, nothing broken
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run-1"]
