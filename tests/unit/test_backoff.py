"""Backoff after relay failures: exponential, capped, jittered, never zero once failing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge.sync.backoff import BASE_S, CAP_S, backoff_s


def test_no_failure_means_no_wait() -> None:
    assert backoff_s(0, 0.5) == 0.0


def test_the_ceiling_doubles_until_the_cap() -> None:
    ceilings = [backoff_s(n, 0.999999) for n in range(1, 10)]
    assert ceilings[0] < ceilings[1] < ceilings[2]
    assert max(ceilings) <= CAP_S
    assert round(backoff_s(1, 0.999999), 3) == round(BASE_S * 0.999999, 3)


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=0.999999))
def test_a_wait_is_always_positive_and_never_beyond_the_cap(failures: int, jitter: float) -> None:
    wait = backoff_s(failures, jitter)
    assert 0 < wait <= CAP_S
