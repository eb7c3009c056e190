"""Energy side of the DAQ flow model: processing complexity, node and link power, technology scaling.

A processor does ``f(S)`` operations per event of size ``S`` at ``eta`` joules
per operation, so it draws ``eta f(S) R`` watts at input rate ``R``.  A link
carrying ``S`` bytes per event at ``R`` events per second costs ``lambda 8 S R``
watts at ``lambda`` joules per bit.  Totals are projected to a target year by
dividing by the CMOS density-scaling factor ``D(year)``.
"""

import dataclasses

import numpy as np

from lib.units import Q_

# D(year) = exp(DENSITY_GROWTH_PER_YEAR (year - DENSITY_REFERENCE_YEAR)): the slope
# of the authors' fit (SystemFlow, arXiv 2407.00123) to projected logic density
# (TOPS/mm^2) for 2022-2037; the fit's intercept (factor 0.82) is left out, as
# in their model.  D(2032) = 6.4996.
DENSITY_GROWTH_PER_YEAR = 0.18717361
DENSITY_REFERENCE_YEAR = 2022

MEGABYTE = 1e6  # bytes; decimal megabytes, as in the authors' sheets


def density_scale(year):
    """Return the technology-scaling factor ``D(year)`` (dimensionless, array-aware).

    Raises
    ------
    ValueError
        If ``year`` is not finite.
    """
    year = np.asarray(year, dtype=float)
    if np.any(~np.isfinite(year)):
        raise ValueError(f"projection year must be finite, got {year!r}")
    return np.exp(DENSITY_GROWTH_PER_YEAR * (year - DENSITY_REFERENCE_YEAR))


@dataclasses.dataclass(frozen=True)
class LinearComplexity:
    """Operations per event proportional to event size: ``f(S) = S / bytes_per_op``.

    The CMS Level-1 trigger uses one op per 2 MB, i.e. one op per Run-3-sized event.

    Attributes
    ----------
    bytes_per_op : float
        Event bytes that make one operation (B/op).
    """

    bytes_per_op: float = 2.0 * MEGABYTE

    def ops(self, size):
        """Return operations per event for event sizes ``size`` (bytes, array magnitudes)."""
        return np.asarray(size, dtype=float) / self.bytes_per_op

    def __call__(self, size):
        """Return operations per event (op/event) for ``size`` (a quantity in B/event)."""
        return Q_(self.ops(size.to("B/event").magnitude), "op/event")


@dataclasses.dataclass(frozen=True)
class CubicComplexity:
    """Operations per event as a cubic in event size through the origin, divided by a speed-up.

    ``f(S) = (k3 S^3 + k2 S^2 + k1 S) / speedup`` with ``S`` in MB.  For the
    CMS high-level trigger ``f`` is the reconstruction wall time relative to a
    2 MB event, so one op is one Run-3 event's worth of HLT work.

    Attributes
    ----------
    k3, k2, k1 : float
        Coefficients for ``S`` in MB (op/MB^3, op/MB^2, op/MB).
    speedup : float or numpy.ndarray
        Divides the work, e.g. 2 for a GPU-accelerated HLT.
    """

    k3: float
    k2: float
    k1: float
    speedup: object = 1.0

    def __post_init__(self):
        if np.any(np.asarray(self.speedup) <= 0):
            raise ValueError(f"HLT speed-up must be > 0, got {self.speedup!r}")

    def with_speedup(self, speedup):
        """Return the same complexity function with a different speed-up."""
        return dataclasses.replace(self, speedup=speedup)

    def ops(self, size):
        """Return operations per event for event sizes ``size`` (bytes, array magnitudes)."""
        megabytes = np.asarray(size, dtype=float) / MEGABYTE
        work = ((self.k3 * megabytes + self.k2) * megabytes + self.k1) * megabytes
        return work / np.asarray(self.speedup, dtype=float)

    def __call__(self, size):
        """Return operations per event (op/event) for ``size`` (a quantity in B/event)."""
        return Q_(self.ops(size.to("B/event").magnitude), "op/event")


def fit_walltime(size, walltime):
    """Least-squares fit of ``T(S) = k3 S^3 + k2 S^2 + k1 S`` (no intercept) to wall-time points.

    Parameters
    ----------
    size : pint.Quantity
        Event sizes (B/event or B), shape ``(n,)``.
    walltime : array_like
        Wall time relative to a 2 MB event (dimensionless), shape ``(n,)``.

    Returns
    -------
    CubicComplexity
        Coefficients for ``S`` in MB, speed-up 1.

    Raises
    ------
    ValueError
        If fewer than three points are given or the shapes differ.
    """
    megabytes = _as_bytes(size) / MEGABYTE
    walltime = np.asarray(walltime, dtype=float)
    if megabytes.shape != walltime.shape or megabytes.size < 3:
        raise ValueError(f"wall-time fit needs >= 3 matching points, got {megabytes.shape} and {walltime.shape}")

    # Fitting in MB keeps the three columns of similar magnitude; in bytes the
    # design matrix is too badly conditioned for the linear term.
    design = np.stack([megabytes**3, megabytes**2, megabytes], axis=1)
    (k3, k2, k1), *_ = np.linalg.lstsq(design, walltime, rcond=None)
    return CubicComplexity(k3=float(k3), k2=float(k2), k1=float(k1))


def _as_bytes(size):
    if size.dimensionless:
        return np.asarray(size.to("B").magnitude, dtype=float)
    return np.asarray(size.to("B/event").magnitude, dtype=float)


def node_power(op_efficiency, ops_per_event, rate):
    """Return processing power ``eta f(S) R`` in W.

    Parameters
    ----------
    op_efficiency : pint.Quantity
        Energy per operation (J/op).
    ops_per_event : pint.Quantity
        Operations per event (op/event).
    rate : pint.Quantity
        Input event rate (event/s).
    """
    return (op_efficiency * ops_per_event * rate).to("W")


def link_power(link_efficiency, size, rate):
    """Return link power ``lambda 8 S R`` in W (pint supplies the 8 bit/B).

    Parameters
    ----------
    link_efficiency : pint.Quantity
        Energy per transmitted bit (J/bit).
    size : pint.Quantity
        Message size (B/event).
    rate : pint.Quantity
        Message rate (event/s).
    """
    return (link_efficiency * size * rate).to("W")

