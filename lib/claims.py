"""Record a reproduced number next to the published one, with a tolerance and a verdict.

A chapter calls :func:`record` once per claim.  Inside a Jupyter kernel the
call displays a one-row table, glues the value under the claim id (for
``{glue:text}`` roles in the prose) and emits the claim as a JSON output with
the MIME type :data:`CLAIM_MIME`, which the runner collects into the build
record and the ledger page.
"""

import dataclasses
import html
import math
import re

import numpy as np

from lib.units import ureg

CLAIM_MIME = "application/vnd.price-of-performance.claim+json"

KINDS = ("relative", "absolute", "bound", "direction", "exact")
EXPECTATIONS = ("hold", "mismatch")

_BOUND_PATTERN = re.compile(r"^\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
_RANGE_PATTERN = re.compile(r"^\s*\[\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\]\s*$")

_recorded = []


class ClaimError(ValueError):
    """Raised when a claim is recorded with an invalid id, kind, tolerance or value."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A reproduced value compared with the published one.

    Attributes
    ----------
    id : str
        Dotted id, ``<chapter>.<name>``.
    value : float or bool
        Our value, as a magnitude in ``unit``.
    paper : float, bool or str
        The published value, or a bound such as ``"< 0.05"`` or ``"[0, 15]"``.
    kind : str
        How ``value`` is compared with ``paper``; one of :data:`KINDS`.
    tolerance : float or None
        Relative (fraction) or absolute tolerance, for those kinds.
    unit : str
        Unit of ``value`` and of a numeric ``paper``; empty if dimensionless.
    source : str
        Where the published value comes from (for example "abstract").
    note : str
        Why our value differs, or how it was computed.
    expect : str
        ``"hold"`` if the claim should reproduce, ``"mismatch"`` if a
        difference is known and explained in ``note``.
    status : str
        ``"holds"``, ``"direction holds"`` or ``"fails"``.
    """

    id: str
    value: object
    paper: object
    kind: str
    tolerance: object
    unit: str
    source: str
    note: str
    expect: str
    status: str

    def as_dict(self):
        """Return the claim as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def _ipython_display_(self):
        # record() has displayed the claim's row already; a cell ending in record(...) adds nothing.
        pass


def compare(value, paper, kind, tolerance=None):
    """Return the status of ``value`` against ``paper`` under the comparison ``kind``.

    Parameters
    ----------
    value : float or bool
        Our value.
    paper : float, bool or str
        Published value; for ``kind="bound"`` a string ``"> x"``, ``">= x"``,
        ``"< x"``, ``"<= x"`` or ``"[low, high]"``; for ``kind="direction"``
        a signed number or a bound whose sign the value must share.
    kind : str
        One of :data:`KINDS`.
    tolerance : float, optional
        Fraction of ``|paper|`` for ``"relative"``, same unit as ``value``
        for ``"absolute"``.

    Returns
    -------
    str
        ``"holds"``, ``"direction holds"`` or ``"fails"``.

    Raises
    ------
    ClaimError
        If ``kind`` is unknown, a tolerance is missing or negative, or a bound
        cannot be parsed.
    """
    if kind not in KINDS:
        raise ClaimError(f"unknown claim kind {kind!r}; expected one of {', '.join(KINDS)}")

    if kind == "exact":
        return "holds" if value == paper else "fails"

    if kind in ("relative", "absolute"):
        if tolerance is None or tolerance < 0:
            raise ClaimError(f"claim kind {kind!r} needs a tolerance >= 0, got {tolerance!r}")
        if not _is_finite(value):
            return "fails"
        allowed = tolerance * abs(paper) if kind == "relative" else tolerance
        return "holds" if abs(value - paper) <= allowed else "fails"

    if kind == "bound":
        return "holds" if _within_bound(value, paper) else "fails"

    paper_sign = _sign_of(paper)
    value_sign = np.sign(value) if _is_finite(value) else None
    return "direction holds" if value_sign == paper_sign and paper_sign != 0 else "fails"


def record(claim_id, value, *, paper, kind="relative", tolerance=None, unit="",
           source="", note="", expect="hold"):
    """Record a reproduced value against the published one and display the verdict.

    Parameters
    ----------
    claim_id : str
        ``<chapter>.<name>``, for example ``"makespan.reactive_mean"``.
    value : float, bool or pint.Quantity
        Our value.  A quantity is converted to ``unit`` first.
    paper : float, bool or str
        The published value or bound; see :func:`compare`.
    kind : str
        Comparison, one of :data:`KINDS`.
    tolerance : float, optional
        Needed for ``"relative"`` and ``"absolute"``.
    unit : str
        Unit of the value (pint syntax), empty for a dimensionless number.
    source : str
        Where the published number is stated.
    note : str
        What explains a difference, in one or two sentences.
    expect : str
        ``"hold"`` (default) or ``"mismatch"`` for a known, explained failure.

    Returns
    -------
    Claim
        The recorded claim with its status.

    Raises
    ------
    ClaimError
        If the id is not dotted, ``expect`` is unknown, or :func:`compare` rejects
        the kind, tolerance or bound.
    pint.DimensionalityError
        If ``value`` is a quantity whose dimension does not match ``unit``.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z0-9_.]+", claim_id):
        raise ClaimError(f"invalid claim id {claim_id!r}; expected '<chapter>.<name>' in lower case")
    if expect not in EXPECTATIONS:
        raise ClaimError(f"invalid expect={expect!r} for claim {claim_id}; expected 'hold' or 'mismatch'")

    magnitude = _magnitude(value, unit)
    status = compare(magnitude, paper, kind, tolerance)
    claim = Claim(id=claim_id, value=magnitude, paper=_plain(paper), kind=kind,
                  tolerance=None if tolerance is None else float(tolerance), unit=unit,
                  source=source, note=note, expect=expect, status=status)
    _recorded.append(claim)
    _publish(claim)
    return claim


def recorded():
    """Return the claims recorded in this process, oldest first."""
    return list(_recorded)


def format_value(value, unit=""):
    """Format a claim value for a table cell: 4 significant digits and the unit."""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, (int, float)):
        text = f"{value:.4g}"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit and not isinstance(value, bool) else text


def format_tolerance(claim):
    """Describe the comparison of a claim in words, for a table cell."""
    if claim["kind"] == "relative":
        return f"± {claim['tolerance'] * 100:g} %"
    if claim["kind"] == "absolute":
        return f"± {claim['tolerance']:g} {claim['unit']}".strip()
    if claim["kind"] == "bound":
        return f"within {claim['paper']}"
    if claim["kind"] == "direction":
        return "same sign"
    return "exact"


def _magnitude(value, unit):
    if isinstance(value, ureg.Quantity):
        value = value.to(unit).magnitude if unit else value.to("dimensionless").magnitude
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ClaimError(f"claim value must be a number, a bool or a quantity, got {value!r}") from error


def _plain(paper):
    if isinstance(paper, (np.floating, np.integer)):
        return paper.item()
    return paper


def _is_finite(value):
    return not isinstance(value, bool) and math.isfinite(value)


def _within_bound(value, bound):
    if not _is_finite(value):
        return False
    match = _BOUND_PATTERN.match(str(bound))
    if match:
        operator, limit = match.group(1), float(match.group(2))
        return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[operator]
    match = _RANGE_PATTERN.match(str(bound))
    if match:
        low, high = float(match.group(1)), float(match.group(2))
        return low <= value <= high
    raise ClaimError(f"invalid bound {bound!r}; expected '< x', '<= x', '> x', '>= x' or '[low, high]'")


def _sign_of(paper):
    if isinstance(paper, str):
        match = _BOUND_PATTERN.match(paper)
        if match:
            operator, limit = match.group(1), float(match.group(2))
            if operator.startswith(">") and limit >= 0:
                return 1.0
            if operator.startswith("<") and limit <= 0:
                return -1.0
        match = _RANGE_PATTERN.match(paper)
        if match:
            low, high = float(match.group(1)), float(match.group(2))
            if low >= 0 and high > 0:
                return 1.0
            if high <= 0 and low < 0:
                return -1.0
        raise ClaimError(f"cannot read a sign from paper value {paper!r}")
    return float(np.sign(paper))


def _publish(claim):
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:
        return

    from myst_nb import glue

    glue(claim.id, claim.value, display=False)
    data = claim.as_dict()
    row = (
        "<table class='claim'><tr><th>claim</th><th>paper</th><th>ours</th>"
        "<th>comparison</th><th>status</th></tr>"
        f"<tr><td>{html.escape(claim.id)}</td><td>{html.escape(format_value(claim.paper, claim.unit))}</td>"
        f"<td>{html.escape(format_value(claim.value, claim.unit))}</td>"
        f"<td>{html.escape(format_tolerance(data))}</td>"
        f"<td class='claim-{claim.status.replace(' ', '-')}'>{html.escape(claim.status)}</td></tr></table>"
    )
    text = (f"claim {claim.id}: ours {format_value(claim.value, claim.unit)}, "
            f"paper {format_value(claim.paper, claim.unit)}, {claim.status}")
    display({"text/html": row, "text/plain": text, CLAIM_MIME: data}, raw=True)


def table(prefix=""):
    """Return the claims recorded in this process as a pandas DataFrame, one row a claim.

    Parameters
    ----------
    prefix : str
        Keep only claims whose id starts with this (for example ``"makespan."``).
    """
    import pandas as pd

    rows = [
        {
            "claim": claim.id,
            "paper": format_value(claim.paper, claim.unit),
            "ours": format_value(claim.value, claim.unit),
            "comparison": format_tolerance(claim.as_dict()),
            "status": claim.status,
            "expected": claim.expect,
            "source": claim.source,
        }
        for claim in _recorded
        if claim.id.startswith(prefix)
    ]
    return pd.DataFrame(rows, columns=["claim", "paper", "ours", "comparison", "status", "expected", "source"])
