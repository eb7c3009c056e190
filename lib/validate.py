"""Checks that chapters run on their parameters before any computation starts.

Each check raises :class:`ParameterError` with the parameter's name, the value
received and what is allowed, so a reader who re-runs a chapter with a wrong
value learns what to change.
"""

import numbers


class ParameterError(ValueError):
    """Raised when a chapter parameter has a value outside its allowed range or set."""


def check_range(name, value, *, low=None, high=None, low_inclusive=True, high_inclusive=True, unit=""):
    """Check that ``low <= value <= high`` (or strict, as set) and return ``value``.

    Parameters
    ----------
    name : str
        Parameter name, used in the message.
    value : int or float
        Value to check.
    low, high : float, optional
        Bounds; ``None`` leaves that side open.
    low_inclusive, high_inclusive : bool
        Whether each bound itself is allowed.
    unit : str
        Unit shown in the message.

    Returns
    -------
    int or float
        ``value``, unchanged.

    Raises
    ------
    ParameterError
        If ``value`` is not a real number or lies outside the range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"parameter {name!r} must be a number, got {value!r}")

    below = low is not None and (value < low if low_inclusive else value <= low)
    above = high is not None and (value > high if high_inclusive else value >= high)
    if below or above or value != value:
        raise ParameterError(
            f"parameter {name!r} = {value!r} is out of range; "
            f"allowed: {_describe_range(name, low, high, low_inclusive, high_inclusive, unit)}"
        )
    return value


def check_choice(name, value, choices):
    """Check that ``value`` is one of ``choices`` and return it.

    Raises
    ------
    ParameterError
        If ``value`` is not among ``choices``; the message lists them.
    """
    if value not in choices:
        raise ParameterError(
            f"parameter {name!r} = {value!r} is not a valid choice; expected one of: "
            + ", ".join(repr(choice) for choice in choices)
        )
    return value


def check_subset(name, values, choices, *, allow_empty=False):
    """Check that every item of the list ``values`` is one of ``choices`` and return the list.

    Raises
    ------
    ParameterError
        If ``values`` is not a list, is empty while ``allow_empty`` is false,
        or contains an item outside ``choices``.
    """
    if not isinstance(values, (list, tuple)):
        raise ParameterError(f"parameter {name!r} must be a list, got {values!r}")
    if not values and not allow_empty:
        raise ParameterError(f"parameter {name!r} must not be empty; choose from: " + ", ".join(map(repr, choices)))
    for item in values:
        if item not in choices:
            raise ParameterError(
                f"parameter {name!r} contains {item!r}, which is not a valid choice; expected items from: "
                + ", ".join(repr(choice) for choice in choices)
            )
    return list(values)


def _describe_range(name, low, high, low_inclusive, high_inclusive, unit):
    parts = []
    if low is not None:
        parts.append(f"{low} {'<=' if low_inclusive else '<'} ")
    parts.append(name)
    if high is not None:
        parts.append(f" {'<=' if high_inclusive else '<'} {high}")
    text = "".join(parts)
    return f"{text} ({unit})" if unit else text
