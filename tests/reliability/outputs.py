"""Everything a run showed or wrote, to look for secrets in and to check the reports."""

from __future__ import annotations

from pathlib import Path

REPORT_FILES = ("report.json", "report.md", "report.html", "junit.xml")


def every_output(stdout: str, *folders: Path) -> dict[str, str]:
    """The terminal's text and every file under ``folders``, by where they were found."""
    found = {"stdout": stdout}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found[str(path)] = path.read_text(errors="replace")
    return found


def assert_never_shown(secret: str, outputs: dict[str, str]) -> None:
    for where, text in outputs.items():
        assert secret not in text, f"the secret {secret!r} is shown in {where}:\n{text[:3000]}"


def assert_reports_written(folder: Path) -> None:
    missing = [name for name in REPORT_FILES if not (folder / name).is_file()]
    assert not missing, f"{folder} lacks {missing}: {sorted(p.name for p in folder.iterdir())}"
