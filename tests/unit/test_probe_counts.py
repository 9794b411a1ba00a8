"""The probe's pool counts: a check-in counts only when it returns a counted checkout."""

from __future__ import annotations

import pytest
import typer

from leakbench._cli.options import finite_number
from leakbench._targets.pool_counters import PoolCounters


def test_a_checkin_without_a_checkout_is_not_a_return() -> None:
    # SQLAlchemy's _checkin_failed fires "checkin" for a connection whose reconnect
    # failed inside a checkout, with no "checkout" event before it (a database restart).
    counters = PoolCounters()
    record, failed = object(), object()
    counters.checked_out(record, holder=record)
    counters.checked_in(failed)
    counters.checked_in(record)
    counters.checked_in(record)  # a second event for the same return
    assert counters.counts["checkout"] == 1
    assert counters.counts["checkin"] == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e30", "-1e10", "ten"])
def test_every_float_option_refuses_what_is_not_a_sensible_number(value: str) -> None:
    with pytest.raises(typer.BadParameter):
        finite_number(value)


def test_a_sensible_number_passes() -> None:
    assert finite_number("2.5") == 2.5
    assert finite_number(30.0) == 30.0
