"""One row loop for every kind of target: spawned, attached and watched alike.

``run`` hands each kind to the same loop (:func:`leakbench._runner.loop.run_rows`),
and the loop, run here on fake targets and pollers, does alike for any kind:
it measures each row, skips the rest of a target that cannot start, marks the
row under way when interrupted, and lets :mod:`leakbench._verdict.rows` decide
what hidden sessions mean.
"""

from __future__ import annotations

import pytest

from leakbench import scenarios
from leakbench._load.driver import LoadPlan, LoadProgress
from leakbench._progress.events import RunObserver
from leakbench._results import ExternalLoad, Phase, RowResult, RunResult, Verdict
from leakbench._runner import loop
from leakbench._runner import pipeline as run_module
from leakbench._runner.phases import LoadStep
from leakbench._settings import (
    AttachTarget,
    Endpoint,
    LoadCommand,
    RunConfig,
    VerdictSettings,
    WatchTarget,
)
from leakbench._settings.target_names import scenario_target
from leakbench._targets.attached import AttachedTargets
from leakbench._targets.handle import TargetHandle, Targets
from leakbench._targets.spawned import SpawnedTargets
from leakbench._targets.watched import WatchedTargets
from tests.unit.row_fakes import FakePoller, FakeTargets

DSN = "postgresql://u@127.0.0.1:5/app"
SPAWNED = RunConfig(targets=(scenario_target(scenarios.SCENARIOS[0]),))
ATTACHED = RunConfig(
    targets=(),
    attach=AttachTarget("http://127.0.0.1:8000"),
    dsn=DSN,
    endpoints=(Endpoint("GET", "/items"),),
)
WATCHED = RunConfig(
    targets=(), watch=WatchTarget(), dsn=DSN, load_command=LoadCommand(("wrk", "http://127.0.0.1"))
)


@pytest.mark.parametrize(
    ("config", "kind"),
    [(SPAWNED, SpawnedTargets), (ATTACHED, AttachedTargets), (WATCHED, WatchedTargets)],
    ids=["spawned", "attached", "watched"],
)
def test_every_kind_of_target_runs_through_the_one_row_loop(
    monkeypatch: pytest.MonkeyPatch, config: RunConfig, kind: type[Targets]
) -> None:
    seen: list[Targets] = []

    def the_loop(given: RunConfig, targets: Targets, observer: RunObserver) -> RunResult:
        del observer
        assert given is config
        seen.append(targets)
        raise _Stop

    monkeypatch.setattr(run_module, "run_rows", the_loop)
    with pytest.raises(_Stop):
        run_module.run(config)
    assert len(seen) == 1
    assert isinstance(seen[0], kind)


class _Stop(Exception):
    pass


FAST = RunConfig(
    targets=(scenario_target(scenarios.SCENARIOS[0]),),
    verdict=VerdictSettings(settle=0.3, quiet_period=0.0),
    poll_interval=0.01,
)


def _touching(plan: LoadPlan, progress: LoadProgress) -> ExternalLoad:
    del plan, progress
    return ExternalLoad(command="fake", elapsed_seconds=0.01, exit_code=0, requests=5)


@pytest.fixture(autouse=True)
def _fake_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def driver(config: RunConfig, handle: TargetHandle) -> LoadStep:
        del config, handle
        return _touching

    monkeypatch.setattr(loop, "_driver", driver)


class _Rows(RunObserver):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[RowResult] = []
        self.warnings: list[str] = []

    def row_started(self, pattern: str, endpoint: str, duration: float | None) -> None:
        del duration
        self.started.append(f"{pattern} {endpoint}")

    def row_finished(self, row: RowResult) -> None:
        self.finished.append(row)

    def warning(self, text: str) -> None:
        self.warnings.append(text)


def _leaking(phase: Phase) -> dict[str, int]:
    return {"idle": 1} if phase is Phase.BASELINE else {"idle": 1, "idle_in_transaction": 1}


def test_the_loop_measures_each_row_on_its_own_target_and_judges_it() -> None:
    targets = FakeTargets(
        rows_of=[("clean", "/a", 0), ("leaky", "/b", 1)],
        make_poller=lambda name: FakePoller(_leaking if name == "leaky" else lambda _: {"idle": 1}),
    )
    observer = _Rows()
    result = loop.run_rows(FAST, targets, observer)
    assert [(r.target, r.endpoint, r.verdict) for r in result.rows] == [
        ("clean", "GET /a", Verdict.CLEAN),
        ("leaky", "GET /b", Verdict.LEAKED),
    ]
    assert observer.started == ["clean GET /a", "leaky GET /b"]
    assert observer.finished == list(result.rows)
    assert observer.warnings == ["checked"]  # shown; "kept" is kept only
    assert result.warnings == ("checked", "kept")


def test_the_result_records_the_apps_versions_when_its_kind_of_target_knows_them() -> None:
    app = {"python": "3.10.4", "fastapi": "0.110.0", "sqlalchemy": "2.0.25"}
    known = loop.run_rows(FAST, FakeTargets(rows_of=[("a", "/a", 0)], app_versions=app), _Rows())
    assert (known.versions.python, known.versions.fastapi) == ("3.10.4", "0.110.0")
    assert known.versions.sqlalchemy == "2.0.25"
    assert known.versions.sqlmodel == "not installed"  # what the app's interpreter lacks
    unknown = loop.run_rows(FAST, FakeTargets(rows_of=[("a", "/a", 0)]), _Rows())
    assert unknown.versions.leakbench == known.versions.leakbench  # leakbench's own, as ever


def test_a_target_that_cannot_start_is_not_started_again_for_its_other_rows() -> None:
    targets = FakeTargets(
        rows_of=[("broken", "/a", 0), ("broken", "/b", 0), ("fine", "/a", 1)],
        fail_start=frozenset({"broken"}),
    )
    result = loop.run_rows(FAST, targets, _Rows())
    assert targets.opened_rows == ["broken /a", "fine /a"]
    first, skipped, fine = result.rows
    assert first.verdict is Verdict.FAILED and first.start_failed
    assert first.error == "broken did not start."
    assert skipped.verdict is Verdict.FAILED and skipped.start_failed
    assert skipped.error == "Not attempted: the target did not start for GET /a (see there)."
    assert fine.verdict is Verdict.CLEAN


def test_sessions_hidden_from_the_role_make_a_clean_row_inconclusive() -> None:
    targets = FakeTargets(rows_of=[("app", "/a", 0)], hidden="2 sessions are hidden.")
    (row,) = loop.run_rows(FAST, targets, _Rows()).rows
    assert row.verdict is Verdict.INCONCLUSIVE
    assert row.findings is not None
    assert row.findings.reasons[0] == "2 sessions are hidden."


def test_an_interrupted_run_keeps_its_rows_and_marks_the_one_under_way() -> None:
    def interrupting(name: str) -> FakePoller:
        poller = FakePoller()
        if name == "second":

            def stop(_phase: Phase) -> dict[str, int]:
                raise KeyboardInterrupt

            poller.state = stop
        return poller

    targets = FakeTargets(
        rows_of=[("first", "/a", 0), ("second", "/a", 1)], make_poller=interrupting
    )
    result = loop.run_rows(FAST, targets, _Rows())
    assert result.interrupted
    assert [(r.target, r.verdict) for r in result.rows] == [
        ("first", Verdict.CLEAN),
        ("second", Verdict.INTERRUPTED),
    ]
