"""Requirements for a DAQ system to fit a power budget: the speed-up of one node, or a later technology year."""

import numpy as np

from lib.costmodels import daq_power


def _watts(quantity, name):
    if not quantity.check("[power]"):
        raise ValueError(f"{name} must be a quantity in W, got {quantity.units:~P}")
    return float(np.asarray(quantity.to("W").magnitude))


def _raw_power(flow):
    nodes = sum(float(np.asarray(power.to("W").magnitude)) for power in flow.node_power.values())
    links = sum(float(np.asarray(power.to("W").magnitude)) for power in flow.link_power.values())
    return nodes + links


def required_speedup(flow, node, budget):
    """Return the factor by which ``node``'s work must shrink for the projected total to meet ``budget``.

    Everything else (other nodes, links, the projection year) stays as in
    ``flow``, which must hold one configuration.

    Parameters
    ----------
    flow : daq.Flow
        An evaluated scalar system.
    node : str
        Node whose processing power is divided by the factor.
    budget : pint.Quantity
        Power budget (W).

    Returns
    -------
    float
        The speed-up factor (1 if already within budget), or ``inf`` if the
        rest of the system alone exceeds the budget.
    """
    if node not in flow.node_power:
        raise ValueError(f"unknown node {node!r}; expected one of {', '.join(flow.node_power)}")
    allowed = _watts(budget, "budget") * float(flow.scale)
    node_power = float(np.asarray(flow.node_power[node].to("W").magnitude))
    rest = _raw_power(flow) - node_power
    if rest >= allowed:
        return float("inf")
    return max(1.0, node_power / (allowed - rest))


def required_year(flow, budget):
    """Return the technology year at which ``flow``'s unscaled power, divided by ``D(year)``, meets ``budget``."""
    ratio = _raw_power(flow) / _watts(budget, "budget")
    return daq_power.DENSITY_REFERENCE_YEAR + np.log(ratio) / daq_power.DENSITY_GROWTH_PER_YEAR


def budget_gap(flow, budget):
    """Return the projected total power of ``flow`` divided by ``budget`` (dimensionless)."""
    return float(np.asarray(flow.total_power.to("W").magnitude)) / _watts(budget, "budget")

