"""The writer's memo: values kept per collection, dropped when a source collection changes."""

from __future__ import annotations

from collections.abc import Callable

from edge.store.memo import Memo


def counter() -> tuple[list[int], Callable[[], int]]:
    """A computation that counts its calls."""
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


def test_a_value_is_computed_once_until_its_collection_is_forgotten() -> None:
    memo = Memo()
    calls, compute = counter()
    assert memo.get("items", "latte", compute) == 1
    assert memo.get("items", "latte", compute) == 1
    memo.forget("categories")
    assert memo.get("items", "latte", compute) == 1
    memo.forget("items")
    assert memo.get("items", "latte", compute) == 2
    assert len(calls) == 2


def test_a_value_read_from_several_collections_goes_when_any_of_them_changes() -> None:
    memo = Memo()
    sources = ("items", "tax_rates")
    for changed in sources:
        calls, compute = counter()
        memo.get(sources, "line", compute)
        memo.get("settings", "store", lambda: "kept")
        memo.forget("discounts")
        assert "line" in memo.bucket(sources)
        memo.forget(changed)
        assert "line" not in memo.bucket(sources)
        assert "store" in memo.bucket("settings")  # other collections keep their values
        memo.get(sources, "line", compute)
        assert len(calls) == 2
        memo.forget("items")
        memo.forget("tax_rates")  # forgetting twice is harmless


def test_clear_forgets_everything() -> None:
    memo = Memo()
    memo.get(("items", "tax_rates"), "line", lambda: 1)
    memo.get("settings", "store", lambda: 2)
    memo.clear()
    assert "line" not in memo.bucket(("items", "tax_rates"))
    assert "store" not in memo.bucket("settings")
