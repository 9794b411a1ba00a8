"""The four report files of one real run, and ``leakbench report`` rebuilding them.

One short run through the CLI (a clean twin and the leaking
global-session-cache) feeds every test here: the verdicts it reports,
report.json against docs/report-schema.md, junit.xml failing exactly the
LEAKED rows, the Markdown table, and the HTML page loaded in headless Chromium.
"""

from __future__ import annotations

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

from leakbench._cli import app
from leakbench._output.table import REPORT_COLUMNS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DOC = ROOT / "docs" / "report-schema.md"
REPORT_FILES = ("report.json", "report.md", "report.html", "junit.xml")


# A clean twin and a real leak, one endpoint each, loaded briefly; the short
# pool and request timeouts keep the exhausted leaking app from stalling the row.
LEAK_AND_TWIN_ARGS = (
    "-p", "try-finally", "-p", "global-session-cache", "-e", "/ok",
    "-c", "30", "-d", "1", "--settle", "2", "--pool-timeout", "1", "--request-timeout", "3",
)  # fmt: skip


@dataclass(frozen=True)
class ReportRun:
    """A finished ``leakbench run`` with its exit code, output and report folder."""

    exit_code: int
    output: str
    directory: Path

    def text(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.text("report.json"))
        return data


@pytest.fixture(scope="module")
def leak_and_twin(embedded_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    """One short CLI run of a real leak and its fixed twin, with all four report files."""
    directory = tmp_path_factory.mktemp("reports") / "run"
    result = runner.invoke(
        app, ["run", *LEAK_AND_TWIN_ARGS, "--dsn", embedded_dsn, "--report-dir", str(directory)]
    )
    return ReportRun(result.exit_code, result.output, directory)


def test_a_real_leak_is_leaked_and_its_fixed_twin_clean(leak_and_twin: ReportRun) -> None:
    assert leak_and_twin.exit_code == 1, leak_and_twin.output
    rows = {r["pattern"]: r for r in leak_and_twin.json()["rows"]}
    leaked, clean = rows["global-session-cache"], rows["try-finally"]
    assert leaked["verdict"] == "LEAKED"
    assert leaked["idle_in_transaction"] == 12  # the whole pool: pool_size 2 + max_overflow 10
    assert leaked["leak_kind"] == "held_by_reference"
    assert leaked["pool_after_settle"]["checkouts"] - leaked["pool_after_settle"]["checkins"] == 12
    assert clean["verdict"] == "CLEAN"
    assert clean["idle_in_transaction"] == 0
    assert "Overall: LEAKED" in leak_and_twin.output

    replay = runner.invoke(app, ["report", str(leak_and_twin.directory / "report.json")])
    assert replay.exit_code == 1
    assert "LEAKED" in replay.output


def test_a_run_writes_the_four_files_and_fails_on_the_leak(leak_and_twin: ReportRun) -> None:
    assert leak_and_twin.exit_code == 1, leak_and_twin.output
    for name in REPORT_FILES:
        assert (leak_and_twin.directory / name).stat().st_size > 0, name
    verdicts = {(r["pattern"], r["verdict"]) for r in leak_and_twin.json()["rows"]}
    assert verdicts == {("try-finally", "CLEAN"), ("global-session-cache", "LEAKED")}
    # A leak reads as a leak, not as a limit the user set.
    output = " ".join(leak_and_twin.output.split())
    assert "leak: global-session-cache /ok is LEAKED, so the run fails" in output
    assert "threshold failed" not in output
    assert f"Reports: {leak_and_twin.directory}" in leak_and_twin.output


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
        elif line.startswith("#"):
            current = None  # another section (matrix.json's): its table is no type's
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


def test_report_json_matches_the_documented_schema(leak_and_twin: ReportRun) -> None:
    schema = documented_schema()
    assert {"Report", "Row", "Sample", "Settings", "ThresholdFailure"} <= set(schema)
    data = leak_and_twin.json()
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
    leak_and_twin: ReportRun,
) -> None:
    schema = documented_schema()
    damaged = leak_and_twin.json()
    del damaged["rows"][0]["verdict"]
    damaged["settings"]["concurrency"] = "30"
    damaged["rows"][1]["samples"][0]["surprise"] = 1
    problems = _violations(damaged, "Report", schema, "$")
    assert "$.rows[0].verdict: required by Row but missing" in problems
    assert "$.settings.concurrency: '30' is not integer" in problems
    assert "$.rows[1].samples[0].surprise: not documented in Sample" in problems


# -- junit.xml, report.md, report.html ------------------------------------------------------


def test_junit_fails_exactly_the_leaked_rows(leak_and_twin: ReportRun) -> None:
    suites = ET.fromstring(leak_and_twin.text("junit.xml"))  # noqa: S314 - our own file
    cases = suites.findall("./testsuite/testcase")
    rows = leak_and_twin.json()["rows"]
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
    assert properties["version.sqlalchemy"] == leak_and_twin.json()["versions"]["sqlalchemy"]
    assert properties["threshold.fail-on-leak"].endswith("failed: global-session-cache /ok")


def test_markdown_has_the_pull_request_table_and_the_reasons(leak_and_twin: ReportRun) -> None:
    text = leak_and_twin.text("report.md")
    assert text.startswith("## leakbench: ❌ LEAKED\n")
    # Scenarios only: the first column names them as patterns (an app's run says Target).
    headers = ["Pattern", *(column.report_header or "" for column in REPORT_COLUMNS[1:])]
    assert "| " + " | ".join(headers) + " |" in text
    for row in leak_and_twin.json()["rows"]:
        load = row["load"]
        mark = "✅" if row["verdict"] == "CLEAN" else "❌"
        cells = [
            row["pattern"],
            row["endpoint"],
            f"{row['requests']:,}",
            f"{row['unanswered']:,}",
            f"{row['left']:,}",
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
    assert "SQLAlchemy " + leak_and_twin.json()["versions"]["sqlalchemy"] in text


def test_html_is_one_self_contained_file_with_a_chart_per_row(leak_and_twin: ReportRun) -> None:
    page = leak_and_twin.text("report.html")
    assert "Content-Security-Policy" in page
    # Nothing to fetch: every href is an in-page anchor, and nothing has a src.
    assert re.findall(r"\ssrc=", page) == []
    assert all(href.startswith("#") for href in re.findall(r'\shref="([^"]*)"', page))
    assert "<script" not in page
    assert page.count('<svg class="chart"') == len(leak_and_twin.json()["rows"])
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
    leak_and_twin: ReportRun, tmp_path: Path
) -> None:
    dom, console = load_in_chromium(leak_and_twin.directory / "report.html", tmp_path / "profile")
    assert console == []
    assert dom.count('<svg class="chart"') == 2
    assert "global-session-cache" in dom
    # The check is not blind: an external image breaks the page's policy, and says so.
    broken = tmp_path / "broken.html"
    broken.write_text(
        leak_and_twin.text("report.html").replace(
            "<main>", '<main><img src="https://example.invalid/x.png" alt="">'
        ),
        encoding="utf-8",
    )
    _, console = load_in_chromium(broken, tmp_path / "profile2")
    assert any("Content Security Policy" in line for line in console), console


# -- leakbench report: re-rendering a saved run ---------------------------------------------


def test_report_rebuilds_every_file_from_the_saved_json(
    leak_and_twin: ReportRun, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    result = runner.invoke(
        app, ["report", str(leak_and_twin.directory / "report.json"), "--report-dir", str(again)]
    )
    assert result.exit_code == 1, result.output
    assert "global-session-cache" in result.output
    for name in REPORT_FILES:
        assert (again / name).read_text(encoding="utf-8") == leak_and_twin.text(name), name


def test_report_format_prints_one_format_to_stdout(leak_and_twin: ReportRun) -> None:
    saved = str(leak_and_twin.directory / "report.json")
    markdown = runner.invoke(app, ["report", saved, "--format", "md"])
    assert markdown.exit_code == 1
    assert markdown.output == leak_and_twin.text("report.md")
    junit = runner.invoke(app, ["report", saved, "-f", "junit"])
    assert junit.output == leak_and_twin.text("junit.xml")
    two = runner.invoke(app, ["report", saved, "--format", "md", "--format", "html"])
    assert two.exit_code == 2
    assert "give one format for stdout, or --report-dir DIR" in two.output


def test_report_dir_with_formats_writes_only_those(
    leak_and_twin: ReportRun, tmp_path: Path
) -> None:
    saved = str(leak_and_twin.directory / "report.json")
    result = runner.invoke(
        app, ["report", saved, "--report-dir", str(tmp_path), "-f", "html", "-f", "junit"]
    )
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html"]


# -- the report folder ------------------------------------------------------------------


def test_a_run_that_fails_leaves_no_empty_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["run", "-p", "try-finally", "--dsn", "postgresql://postgres@127.0.0.1:1/postgres"]
    )
    assert result.exit_code == 3, result.output
    # Nor the reports/ folder (and its .gitignore) made for it.
    assert list(tmp_path.iterdir()) == []
