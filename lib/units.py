"""The project's single pint unit registry, set as pint's application registry.

Every quantity with a physical unit goes through ``ureg``.  Because the
registry is also pint's application registry, quantities pickle and unpickle
against it, so they survive a trip through a worker process and combine with
quantities created locally.
"""

import pint

ureg = pint.UnitRegistry()

# Counting units used by the cost models.  They are dimensionless counts with
# their own names, so that J/op x op/event x event/s reduces to watts.
ureg.define("op = [operation]")
ureg.define("event = [event]")
ureg.define("relevant_sample = [relevant_sample]")

pint.set_application_registry(ureg)

Q_ = ureg.Quantity


def to_magnitude(value, unit):
    """Return the magnitude of ``value`` expressed in ``unit``.

    Parameters
    ----------
    value : pint.Quantity or float
        A quantity, or a bare number that is taken to be in ``unit`` already.
    unit : str or pint.Unit
        Target unit.

    Returns
    -------
    float or numpy.ndarray
        The magnitude in ``unit``.

    Raises
    ------
    pint.DimensionalityError
        If ``value`` has a dimension other than that of ``unit``.
    """
    if isinstance(value, ureg.Quantity):
        return value.to(unit).magnitude
    return value
