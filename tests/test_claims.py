"""Claim comparisons: relative, absolute, bound, direction and exact, and the recorded fields."""

import pytest

from lib import claims
from lib.units import Q_


@pytest.mark.parametrize("value, paper, kind, tolerance, status", [
    (102.2, 101, "relative", 0.03, "holds"),
    (110.0, 101, "relative", 0.03, "fails"),
    (18.3, 20, "absolute", 5, "holds"),
    (26.0, 20, "absolute", 5, "fails"),
    (0.12, "< 0.05", "bound", None, "fails"),
    (0.01, "< 0.05", "bound", None, "holds"),
    (7.5, "[0, 15]", "bound", None, "holds"),
    (-1.0, "[0, 15]", "bound", None, "fails"),
    (62.0, "> 50", "bound", None, "holds"),
    (30.0, "> 50", "direction", None, "direction holds"),
    (-3.0, "> 50", "direction", None, "fails"),
    (-4.0, -10, "direction", None, "direction holds"),
    (120, 120, "exact", None, "holds"),
    (119, 120, "exact", None, "fails"),
    (float("nan"), 1.0, "relative", 0.5, "fails"),
])
def test_compare_kinds(value, paper, kind, tolerance, status):
    assert claims.compare(value, paper, kind, tolerance) == status


def test_relative_needs_tolerance():
    with pytest.raises(claims.ClaimError):
        claims.compare(1.0, 1.0, "relative")


def test_bad_bound_rejected():
    with pytest.raises(claims.ClaimError):
        claims.compare(1.0, "about 2", "bound")


def test_record_converts_quantity():
    claim = claims.record("unit.makespan", Q_(1.7, "minute"), paper=101, kind="relative", tolerance=0.03,
                          unit="s", source="abstract", note="test")
    assert claim.value == pytest.approx(102.0)
    assert claim.status == "holds"
    assert set(claim.as_dict()) == {"id", "value", "paper", "kind", "tolerance", "unit", "source", "note",
                                    "expect", "status"}


def test_record_rejects_bad_id():
    with pytest.raises(claims.ClaimError):
        claims.record("NoDot", 1.0, paper=1.0, kind="exact")


def test_table_lists_recorded():
    claims.record("tabletest.one", 1.0, paper=1.0, kind="exact", source="test")
    frame = claims.table("tabletest.")
    assert list(frame["claim"]) == ["tabletest.one"]
    assert list(frame["status"]) == ["holds"]
