"""Every ``leakbench`` command shown in the README and docs/ is one the CLI accepts.

The commands are taken from fenced ``sh``/``console`` blocks, CI files in
``yaml`` blocks (the action's ``args``, a ``script`` line) and inline code
spans, split as a shell would, and parsed by the real command line (click's
``make_context`` on the typer app; typer vendors its click): an unknown option,
a misspelt one or a value of the wrong type fails here. A fenced ``run``
command is then checked as ``leakbench run`` checks it before anything starts
(``RunOptions.config()``), so a bad value fails too. A console block whose
output is an ``error:`` line is a command shown failing: it is run, and must
fail with that line. A few cheap commands are run for real.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
import typer.core
import yaml
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings.options import RunOptions
from leakbench.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_FENCE = re.compile(r"^```(sh|console|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ANY_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`(leakbench [^`]+)`")
_YAML = re.compile(r"^```ya?ml\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
_SEPARATORS = frozenset({"&&", "||", ";", "|"})


@dataclass(frozen=True)
class Shown:
    """One ``leakbench`` command as a document shows it."""

    where: str
    argv: tuple[str, ...]  # after "leakbench"
    error: str | None = None  # the error line shown under it, for a command shown failing
    inline: bool = False  # a code span in the text, perhaps with placeholders (DIR, <ts>)

    def __str__(self) -> str:
        return f"{self.where}: leakbench {shlex.join(self.argv)}"


def _commands_in(line: str) -> list[tuple[str, ...]]:
    """The leakbench commands of one shell line (after env assignments, between && ; |)."""
    words = shlex.split(line, comments=True)
    found: list[tuple[str, ...]] = []
    segment: list[str] = []
    for word in [*words, ";"]:
        if word not in _SEPARATORS:
            segment.append(word)
            continue
        while segment and _ASSIGNMENT.match(segment[0]):
            segment.pop(0)
        if segment and segment[0] == "leakbench":
            found.append(tuple(segment[1:]))
        segment = []
    return found


def _yaml_commands(node: object) -> list[tuple[str, ...]]:
    """leakbench commands in a CI file: the action's ``args`` (after ``leakbench run``) and
    the lines of a ``script`` or ``run`` that call leakbench."""
    found: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        given = node.get("with")
        if isinstance(given, dict) and isinstance(given.get("args"), str):
            found.append(("run", *shlex.split(given["args"])))
        for key, value in node.items():
            if key in {"script", "run"}:
                lines = value if isinstance(value, list) else str(value).splitlines()
                for line in lines:
                    found += _commands_in(str(line))
            else:
                found += _yaml_commands(value)
    elif isinstance(node, list):
        for item in node:
            found += _yaml_commands(item)
    return found


def shown_commands() -> list[Shown]:
    shown: list[Shown] = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for block in _FENCE.finditer(text):
            kind, body = block[1], block[2].replace("\\\n", " ")
            line_no = text[: block.start()].count("\n") + 1
            where = f"{document.relative_to(ROOT)}:{line_no}"
            lines = body.splitlines()
            for index, line in enumerate(lines):
                command, error = line, None
                if kind == "console":
                    if not line.startswith("$ "):
                        continue
                    command = line[2:]
                    following = lines[index + 1] if index + 1 < len(lines) else ""
                    error = following if following.startswith("error:") else None
                shown += [Shown(where, argv, error) for argv in _commands_in(command)]
        for block in _YAML.finditer(text):
            line_no = text[: block.start()].count("\n") + 1
            where = f"{document.relative_to(ROOT)}:{line_no}"
            shown += [Shown(where, argv) for argv in _yaml_commands(yaml.safe_load(block[1]))]
        prose = _ANY_FENCE.sub("", text)
        for span in _INLINE.finditer(prose):
            argv = _commands_in(span[1])[0]
            shown.append(Shown(f"{document.relative_to(ROOT)} (text)", argv, inline=True))
    return shown


SHOWN = shown_commands()
GROUP = typer.main.get_command(app)
assert isinstance(GROUP, typer.core.TyperGroup)


def test_the_documents_show_commands() -> None:
    # The README's first command tests an app; the pull request's comparison follows.
    readme = [s for s in SHOWN if s.where.startswith("README.md")]
    assert readme[0].argv[:2] == ("run", "--app")
    assert ("run", "--pattern", "both") in {s.argv for s in readme}
    assert len([s for s in SHOWN if not s.inline]) >= 16
    assert len([s for s in SHOWN if s.inline]) >= 30
    assert {s.argv[0] for s in SHOWN} >= {"run", "watch", "matrix", "report", "scenarios"}


@pytest.mark.parametrize("shown", [s for s in SHOWN if s.error is None], ids=str)
def test_each_command_parses(shown: Shown, monkeypatch: pytest.MonkeyPatch) -> None:
    # A ${NAME} in a header is read when the run starts: the docs tell the user to export it.
    for name in re.findall(r"\$\{(\w+)\}", " ".join(shown.argv)):
        monkeypatch.setenv(name, "set-by-the-user")
    if not shown.argv:  # `leakbench` alone: the help
        return
    name, *rest = shown.argv
    if name.startswith("-"):  # an option of leakbench itself (--version, -h)
        assert name in {"--version", "-V", "-h", "--help", "--install-completion"}, shown
        return
    assert name in GROUP.commands, f"{shown}: no command {name!r}"
    if {"-h", "--help"} & set(rest):
        return  # the command's help: its name is all there is to check
    command = GROUP.commands[name]
    try:
        context = command.make_context(name, list(rest))
    except typer.TyperException as exc:
        # Prose may name a command without the options it needs (`leakbench matrix`), or an
        # option without its value (`leakbench run --url`); a misspelt option still fails.
        named_only = type(exc).__name__ == "MissingParameter" or (
            type(exc).__name__ == "BadOptionUsage" and "requires an argument" in str(exc)
        )
        if not (shown.inline and named_only):
            pytest.fail(f"{shown}: {exc.format_message()}")
        return
    if name == "run" and not shown.inline:
        params = dict(context.params)
        if not (params["pattern"] or params["app_spec"] or params["url"]):
            # A bare `leakbench run` in the docs runs in a project: its settings name the app.
            params["app_spec"] = ("main:app",)
            if not (params["endpoint"] or params["mix"] or params["all_routes"]):
                params["endpoint"] = ("GET /items",)
        # The docs' apps live in the reader's project: a file-path app names a file there.
        Path("main.py").write_text("app = None\n", encoding="utf-8")
        try:
            RunOptions(**params).config()
        except UsageError as exc:
            pytest.fail(f"{shown}: {exc}")


@pytest.mark.parametrize("shown", [s for s in SHOWN if s.error is not None], ids=str)
def test_a_command_shown_failing_fails_as_shown(shown: Shown) -> None:
    result = CliRunner().invoke(app, list(shown.argv))
    assert result.exit_code == 2, result.output
    assert shown.error is not None
    assert result.output.strip() == shown.error


def test_cheap_commands_run_as_documented() -> None:
    runner = CliRunner()
    scenarios = runner.invoke(app, ["scenarios"])
    assert scenarios.exit_code == 0
    assert re.search(r"^with-session\s+CLEAN\s", scenarios.output, re.MULTILINE)
    reference = ROOT / "reports" / "reference" / "report.json"
    report = runner.invoke(app, ["report", str(reference), "--format", "md"])
    assert report.exit_code == 0, report.output
    assert report.output.startswith("## leakbench: ✅ CLEAN")
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("leakbench ")


def test_a_bad_option_in_a_document_would_be_caught() -> None:
    bad = _commands_in("leakbench run --app shop.main:app --concurency 5")[0]
    with pytest.raises(typer.TyperException, match="--concurency"):
        GROUP.commands["run"].make_context("run", list(bad[1:]))
    wrong_value = _commands_in("LEAKY=1 leakbench run -p both --max-error-rate lots && echo")[0]
    context = GROUP.commands["run"].make_context("run", list(wrong_value[1:]))
    with pytest.raises(UsageError, match="--max-error-rate"):
        RunOptions(**context.params).config()


def test_the_readme_links_to_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local, "the README links to its docs"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_the_readme_stays_short() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) < 300
