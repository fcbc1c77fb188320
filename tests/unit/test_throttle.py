"""The waits after failed logins (shared.throttle): pure rules, checked without a server."""

from __future__ import annotations

from shared.throttle import Backoff, Lockout, retry_after_s


def test_a_lockout_frees_an_attempt_when_the_oldest_failure_ages_out() -> None:
    rule = Lockout(attempts=3, window_s=60)
    assert rule.wait_ms([1_000, 2_000], now_ms=3_000) == 0
    assert rule.wait_ms([1_000, 2_000, 3_000], now_ms=4_000) == 57_000
    # More failures than the limit (reserved at once): the one that frees a place counts.
    assert rule.wait_ms([1_000, 2_000, 3_000, 4_000], now_ms=5_000) == 57_000
    assert rule.wait_ms([1_000, 2_000, 3_000], now_ms=61_000) == 1  # never 0 while locked


def test_a_backoff_is_free_at_first_then_doubles_up_to_its_cap() -> None:
    rule = Backoff(free=2, base_s=1.0, max_s=5.0)
    assert rule.wait_ms(1, last_ms=1_000, now_ms=1_000) == 0
    waits = [rule.wait_ms(n, last_ms=1_000, now_ms=1_000) for n in (2, 3, 4, 5, 30)]
    assert waits == [1_000, 2_000, 4_000, 5_000, 5_000]
    assert rule.wait_ms(3, last_ms=1_000, now_ms=3_500) == 0  # the wait has passed


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert [retry_after_s(ms) for ms in (1, 999, 1_000, 1_001)] == ["1", "1", "1", "2"]
