"""The four report files of one real run, and ``leakbench report`` rebuilding them.

One short run (a clean twin and the leaking global-session-cache) feeds
every test here: report.json against docs/report-schema.md, junit.xml
failing exactly the LEAKED rows, the Markdown table, and the HTML page
loaded in headless Chromium.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from leakbench.cli import app
from leakbench.output import reports
from leakbench.output.reports.summary import COLUMNS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DOC = ROOT / "docs" / "report-schema.md"
REPORT_FILES = ("report.json", "report.md", "report.html", "junit.xml")
# A clean twin and a real leak, one endpoint each, loaded briefly; the short
# pool and request timeouts keep the exhausted leaking app from stalling the row.
RUN_ARGS = (
    "-p", "try-finally", "-p", "global-session-cache", "-e", "/ok",
    "-c", "30", "-d", "1.5", "--settle", "3", "--pool-timeout", "1", "--request-timeout", "3",
)  # fmt: skip


@dataclass(frozen=True)
class ReportRun:
    exit_code: int
    output: str
    directory: Path

    def text(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.text("report.json"))
        return data


@pytest.fixture(scope="module")
def leaky_run(embedded_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    directory = tmp_path_factory.mktemp("reports") / "run"
    result = runner.invoke(
        app, ["run", *RUN_ARGS, "--dsn", embedded_dsn, "--report-dir", str(directory)]
    )
    return ReportRun(result.exit_code, result.output, directory)


def test_a_run_writes_the_four_files_and_fails_on_the_leak(leaky_run: ReportRun) -> None:
    assert leaky_run.exit_code == 1, leaky_run.output
    for name in REPORT_FILES:
        assert (leaky_run.directory / name).stat().st_size > 0, name
    verdicts = {(r["pattern"], r["verdict"]) for r in leaky_run.json()["rows"]}
    assert verdicts == {("try-finally", "CLEAN"), ("global-session-cache", "LEAKED")}
    assert "threshold failed: --fail-on-leak: global-session-cache /ok is LEAKED." in (
        leaky_run.output
    )
    assert f"Reports: {leaky_run.directory}" in leaky_run.output


# -- report.json against the documented schema ---------------------------------------------

_TYPE_HEADING = re.compile(r"^### `(\w+)`\s*$")
_FIELD_ROW = re.compile(r"^\| `(\w+)` \| ([^|]+) \| (yes|no) \|")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
Schema = dict[str, dict[str, tuple[str, bool]]]


def documented_schema() -> Schema:
    """Each object type of docs/report-schema.md: field -> (type expression, required)."""
    types: Schema = {}
    current: dict[str, tuple[str, bool]] | None = None
    for line in SCHEMA_DOC.read_text(encoding="utf-8").splitlines():
        if heading := _TYPE_HEADING.match(line):
            current = types.setdefault(heading[1], {})
        elif current is not None and (field := _FIELD_ROW.match(line)):
            current[field[1]] = (field[2].strip(), field[3] == "yes")
    return types


def _violations(value: object, expr: str, schema: Schema, path: str) -> list[str]:
    """What is wrong with ``value`` as the documented type ``expr`` (empty when it fits)."""
    problems: list[str] = []
    for alternative in expr.split(" or "):
        found = _one(value, alternative.strip(), schema, path)
        if not found:
            return []
        problems = found if len(found) > len(problems) else problems
    return problems or [f"{path}: {value!r} is not {expr}"]


def _one(value: object, expr: str, schema: Schema, path: str) -> list[str]:
    if expr in _PRIMITIVES:
        # bool is an int to Python, never to JSON.
        ok = isinstance(value, _PRIMITIVES[expr]) and (
            expr == "boolean" or not isinstance(value, bool)
        )
        return [] if ok else [f"{path}: {value!r} is not {expr}"]
    for prefix, container in (("array of ", list), ("map of string to ", dict)):
        if expr.startswith(prefix):
            if not isinstance(value, container):
                return [f"{path}: expected {expr}"]
            items = value.items() if isinstance(value, dict) else enumerate(value)
            inner = expr.removeprefix(prefix)
            return [p for k, v in items for p in _violations(v, inner, schema, f"{path}[{k}]")]
    return _object(value, expr, schema, path)


def _object(value: object, expr: str, schema: Schema, path: str) -> list[str]:
    if expr not in schema:
        return [f"{path}: the schema names an undocumented type {expr!r}"]
    if not isinstance(value, dict):
        return [f"{path}: expected a {expr} object, got {value!r}"]
    fields = schema[expr]
    problems = [f"{path}.{k}: not documented in {expr}" for k in value if k not in fields]
    for name, (field_expr, required) in fields.items():
        if name not in value:
            if required:
                problems.append(f"{path}.{name}: required by {expr} but missing")
            continue
        problems += _violations(value[name], field_expr, schema, f"{path}.{name}")
    return problems


def test_report_json_matches_the_documented_schema(leaky_run: ReportRun) -> None:
    schema = documented_schema()
    assert {"Report", "Row", "Sample", "Settings", "ThresholdFailure"} <= set(schema)
    data = leaky_run.json()
    assert _violations(data, "Report", schema, "$") == []
    assert data["schema_version"] == 2
    leaked = next(r for r in data["rows"] if r["verdict"] == "LEAKED")
    # The time series and percentiles the issue asks for are really there.
    assert len(leaked["samples"]) > 10
    assert {s["phase"] for s in leaked["samples"]} >= {"baseline", "load", "settle", "final"}
    assert leaked["latency_ms"]["p95"] >= leaked["latency_ms"]["p50"] > 0
    assert data["thresholds"]["passed"] is False
    assert [f["threshold"] for f in data["thresholds"]["failures"]] == ["fail-on-leak"]


def test_the_schema_check_catches_a_missing_field_a_wrong_type_and_an_extra_one(
    leaky_run: ReportRun,
) -> None:
    schema = documented_schema()
    damaged = leaky_run.json()
    del damaged["rows"][0]["verdict"]
    damaged["settings"]["concurrency"] = "30"
    damaged["rows"][1]["samples"][0]["surprise"] = 1
    problems = _violations(damaged, "Report", schema, "$")
    assert "$.rows[0].verdict: required by Row but missing" in problems
    assert "$.settings.concurrency: '30' is not integer" in problems
    assert "$.rows[1].samples[0].surprise: not documented in Sample" in problems


# -- junit.xml, report.md, report.html ------------------------------------------------------


def test_junit_fails_exactly_the_leaked_rows(leaky_run: ReportRun) -> None:
    suites = ET.fromstring(leaky_run.text("junit.xml"))  # noqa: S314 - our own file
    cases = suites.findall("./testsuite/testcase")
    rows = leaky_run.json()["rows"]
    assert len(cases) == len(rows)
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    leaked = {
        (f"leakbench.{r['pattern']}", r["endpoint"]) for r in rows if r["verdict"] == "LEAKED"
    }
    assert failed == leaked == {("leakbench.global-session-cache", "/ok")}
    assert all(c.find("error") is None and c.find("skipped") is None for c in cases)
    failure = next(c for c in cases if c.find("failure") is not None).find("failure")
    assert failure is not None
    assert "still idle in transaction" in failure.get("message", "")
    assert suites.get("tests") == "2"
    assert suites.get("failures") == "1"
    properties = {p.get("name"): p.get("value") for p in suites.iter("property")}
    assert properties["version.sqlalchemy"] == leaky_run.json()["versions"]["sqlalchemy"]
    assert properties["threshold.fail-on-leak"].endswith("failed: global-session-cache /ok")


def test_markdown_has_the_pull_request_table_and_the_reasons(leaky_run: ReportRun) -> None:
    text = leaky_run.text("report.md")
    assert text.startswith("## leakbench: ❌ LEAKED\n")
    assert "| " + " | ".join(COLUMNS) + " |" in text
    for row in leaky_run.json()["rows"]:
        load = row["load"]
        mark = "✅" if row["verdict"] == "CLEAN" else "❌"
        cells = [
            row["pattern"],
            row["endpoint"],
            f"{row['requests']:,}",
            f"{row['requests'] / load['elapsed_seconds']:,.0f}",
            f"{row['latency_ms']['p95']:,.1f}",
            str(row["peak_idle_in_transaction"]),
            str(row["idle_in_transaction"]),
            str(row["total_connections"]),
            f"{mark} {row['verdict']}",
        ]
        assert "| " + " | ".join(cells) + " |" in text, cells
    assert "**global-session-cache /ok** (LEAKED): 12 connection(s) were still idle" in text
    assert "| `--fail-on-leak` |" in text
    assert "❌ failed: global-session-cache /ok" in text
    assert "SQLAlchemy " + leaky_run.json()["versions"]["sqlalchemy"] in text


def test_html_is_one_self_contained_file_with_a_chart_per_row(leaky_run: ReportRun) -> None:
    page = leaky_run.text("report.html")
    assert "Content-Security-Policy" in page
    # Nothing to fetch: every href is an in-page anchor, and nothing has a src.
    assert re.findall(r"\ssrc=", page) == []
    assert all(href.startswith("#") for href in re.findall(r'\shref="([^"]*)"', page))
    assert "<script" not in page
    assert page.count('<svg class="chart"') == len(leaky_run.json()["rows"])
    assert page.count('class="band-load"') == page.count('class="band-settle"') == 2
    assert "12 still in transaction" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def load_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after the page loaded, and every console message it caused."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="the chromium binary is not installed")
def test_html_loads_in_headless_chromium_without_console_errors(
    leaky_run: ReportRun, tmp_path: Path
) -> None:
    dom, console = load_in_chromium(leaky_run.directory / "report.html", tmp_path / "profile")
    assert console == []
    assert dom.count('<svg class="chart"') == 2
    assert "global-session-cache" in dom
    # The check is not blind: an external image breaks the page's policy, and says so.
    broken = tmp_path / "broken.html"
    broken.write_text(
        leaky_run.text("report.html").replace(
            "<main>", '<main><img src="https://example.invalid/x.png" alt="">'
        ),
        encoding="utf-8",
    )
    _, console = load_in_chromium(broken, tmp_path / "profile2")
    assert any("Content Security Policy" in line for line in console), console


# -- leakbench report: re-rendering a saved run ---------------------------------------------


def test_report_rebuilds_every_file_from_the_saved_json(
    leaky_run: ReportRun, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    result = runner.invoke(
        app, ["report", str(leaky_run.directory / "report.json"), "--report-dir", str(again)]
    )
    assert result.exit_code == 1, result.output
    assert "global-session-cache" in result.output
    for name in REPORT_FILES:
        assert (again / name).read_text(encoding="utf-8") == leaky_run.text(name), name


def test_report_format_prints_one_format_to_stdout(leaky_run: ReportRun) -> None:
    saved = str(leaky_run.directory / "report.json")
    markdown = runner.invoke(app, ["report", saved, "--format", "md"])
    assert markdown.exit_code == 1
    assert markdown.output == leaky_run.text("report.md")
    junit = runner.invoke(app, ["report", saved, "-f", "junit"])
    assert junit.output == leaky_run.text("junit.xml")
    two = runner.invoke(app, ["report", saved, "--format", "md", "--format", "html"])
    assert two.exit_code == 2
    assert "give one format for stdout, or --report-dir DIR" in two.output


def test_report_dir_with_formats_writes_only_those(leaky_run: ReportRun, tmp_path: Path) -> None:
    saved = str(leaky_run.directory / "report.json")
    result = runner.invoke(
        app, ["report", saved, "--report-dir", str(tmp_path), "-f", "html", "-f", "junit"]
    )
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html"]


# -- the report folder ------------------------------------------------------------------


def test_an_unwritable_report_dir_is_a_usage_error_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = runner.invoke(
        app, ["run", "-p", "try-finally", "--report-dir", str(blocker / "reports")]
    )
    assert result.exit_code == 2, result.output
    assert f"--report-dir {blocker / 'reports'} cannot be written" in result.output
    assert result.output.strip().count("\n") == 0
    assert "database:" not in result.output  # nothing was started


def test_the_default_report_dir_is_a_utc_timestamp_that_never_collides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    moment = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    first = reports.prepare_dir(reports.default_dir(moment))
    assert first == Path("reports/20250102T030405Z")
    second = reports.prepare_dir(reports.default_dir(moment))
    assert second == Path("reports/20250102T030405Z-2")
    assert first.is_dir() and second.is_dir()


def test_a_run_that_fails_leaves_no_empty_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["run", "-p", "try-finally", "--dsn", "postgresql://postgres@127.0.0.1:1/postgres"]
    )
    assert result.exit_code == 3, result.output
    assert (tmp_path / "reports").is_dir()
    assert list((tmp_path / "reports").iterdir()) == []
