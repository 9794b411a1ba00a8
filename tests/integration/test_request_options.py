"""Headers from the environment, forms, query strings, {n}/{uuid} and a mix, as the app sees them.

The app writes down every request it gets; the test reads that record after
a real run on the shared embedded server.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()
SECRET = "s3cret-token-4f1e"

RECORDING_APP = """
import json
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, pool_size=2, max_overflow=2)
app = FastAPI()


@app.api_route("/record/{tail:path}", methods=["GET", "POST"])
async def record(tail: str, request: Request):
    body = await request.body()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    seen = {
        "method": request.method,
        "target": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        "key": request.headers.get("x-api-key"),
        "type": request.headers.get("content-type"),
        "body": body.decode(),
    }
    with open(os.environ["SEEN_FILE"], "a") as out:
        out.write(json.dumps(seen) + "\\n")
    if request.headers.get("x-api-key") != os.environ["API_KEY"]:
        return JSONResponse({"detail": "bad key"}, status_code=401)
    return {"ok": True}
"""


@pytest.mark.slow
def test_headers_forms_variations_and_a_mix_reach_the_app(
    embedded_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "recorder").mkdir()
    main = tmp_path / "recorder" / "main.py"
    main.write_text(textwrap.dedent(RECORDING_APP))
    seen_file = tmp_path / "seen.jsonl"
    monkeypatch.setenv("SEEN_FILE", str(seen_file))
    monkeypatch.setenv("API_KEY", SECRET)
    result = runner.invoke(
        app,
        [
            "run",
            "--app", f"{main}:app",
            "--dsn", embedded_dsn,
            "--header", "X-Api-Key: ${API_KEY}",
            "--endpoint", "POST /record/form?src=cli",
            "--form", "name=a b",
            "--form", "n={n}",
            "--mix", "2 GET /record/list?page={n}",
            "--mix", 'POST /record/create {"id": "{uuid}", "n": {n}}',
            "--requests", "60", "-c", "4", "--settle", "1", "--no-live",
            "--report-dir", str(tmp_path / "reports"),
        ],
    )  # fmt: skip
    output = result.output
    assert result.exit_code == 0, output
    assert "mix (2 routes)" in output
    flat = " ".join((tmp_path / "reports" / "report.md").read_text().split())
    # Each route's count, answers by class and its own p95.
    assert re.search(
        r"Routes: GET /record/list\?page=\{n\} \(weight 2\): 40 \(2xx 40, p95 [\d.,]+ ms\)", flat
    )
    assert re.search(r"POST /record/create \(weight 1\): 20 \(2xx 20, p95 [\d.,]+ ms\)", flat)

    seen = [json.loads(line) for line in seen_file.read_text().splitlines()]
    assert len(seen) == 120
    assert {s["key"] for s in seen} == {SECRET}  # read from the environment by leakbench
    forms = [s for s in seen if s["target"].startswith("/record/form")]
    assert len(forms) == 60
    assert {s["target"] for s in forms} == {"/record/form?src=cli"}
    assert {s["type"] for s in forms} == {"application/x-www-form-urlencoded"}
    fields = [parse_qs(s["body"]) for s in forms]
    assert {f["name"][0] for f in fields} == {"a b"}
    assert len({f["n"][0] for f in fields}) == 60  # {n} differs on every request
    pages = [s for s in seen if s["target"].startswith("/record/list")]
    assert len({parse_qs(urlsplit(s["target"]).query)["page"][0] for s in pages}) == 40
    assert {s["body"] for s in pages} == {""}
    created = [json.loads(s["body"]) for s in seen if s["target"] == "/record/create"]
    assert len({c["id"] for c in created}) == 20 and len({c["n"] for c in created}) == 20
    assert Counter(s["type"] for s in seen if s["target"] == "/record/create") == {
        "application/json": 20
    }

    report_dir = tmp_path / "reports"
    report = json.loads((report_dir / "report.json").read_text())
    assert report["settings"]["request_headers"] == ["X-Api-Key: ***"]
    mix_row = next(row for row in report["rows"] if row["endpoint"] == "mix (2 routes)")
    routes = mix_row["load"]["routes"]
    assert [(r["label"], r["weight"]) for r in routes] == [
        ("GET /record/list?page={n}", 2),
        ("POST /record/create", 1),
    ]
    assert sum(count for r in routes for count in r["status_counts"].values()) == 60
    # The secret is in no report and not in the output.
    assert SECRET not in output
    for path in report_dir.rglob("*"):  # the reports and the target's saved output
        if path.is_file():
            assert SECRET not in path.read_text(), path.name
