"""Tests of the peg-in-hole log reader and of makespans measured from logs."""

import numpy as np
import pandas as pd
import pytest

from lib import datasets, robotlogs


def write_log(folder, name, start, durations_rows, label, detector):
    """Write one log in the upstream format: no header, 9 columns, local time with a UTC offset."""
    times = pd.Timestamp(start, tz="-07:00") + pd.to_timedelta(np.arange(durations_rows) * 0.02, unit="s")
    lines = []
    for row, stamp in enumerate(times):
        text = stamp.isoformat(sep=" ")  # like the logs, no fraction when the microseconds are 0
        values = [0.1 * row, -0.2, -5.0 - row, 0.01, 0.02, 0.03]
        lines.append(",".join([text, *map(repr, values), str(label), detector(row)]))
    (folder / name).write_text("\n".join(lines) + "\n")


def no_detector(row):
    return "-50"


def tuple_detector(row):
    if row < 3:
        return '"(-50.0, -50.0)"'
    if row < 6:
        return '"(0.8, 0.2)"'
    return '"[0.05, 0.95]"'


@pytest.fixture()
def log_folder(tmp_path):
    reactive = tmp_path / "Twist-Reactive-Verification"
    preemptive = tmp_path / "Twist-Preemptive-Verification"
    reactive.mkdir()
    preemptive.mkdir()
    # Written out of order: the reader must sort by the time stamp in the file name.
    write_log(reactive, "Lrg-Bearing_Twist-Insert_2022-09-13_10-02-00.csv", "2022-09-13 09:02:00.5", 11, 1, no_detector)
    write_log(reactive, "Lrg-Bearing_Twist-Insert_2022-09-13_10-00-00.csv", "2022-09-13 09:00:00.98", 21, 0, no_detector)
    write_log(reactive, "Lrg-Bearing_Twist-Insert_2022-09-13_10-01-00.csv", "2022-09-13 09:01:00.5", 6, 0, no_detector)
    write_log(reactive, "Lrg-Bearing_Twist-Insert_2022-09-13_10-03-00.csv", "2022-09-13 09:03:00.5", 5, 0, no_detector)
    write_log(preemptive, "Lrg-Bearing_Twist-Insert_2022-09-13_11-00-00.csv", "2022-09-13 10:00:00.5", 8, 0,
              tuple_detector)
    write_log(preemptive, "Lrg-Bearing_Twist-Insert_2022-09-13_11-01-00.csv", "2022-09-13 10:01:00.5", 4, 1,
              lambda row: '"(-50.0, -50.0)"' if row < 2 else '"[0.9, 0.1]"')
    return tmp_path


def test_read_episodes_columns_and_order(log_folder):
    samples = robotlogs.read_episodes(log_folder, "reactive")
    assert list(samples.columns) == ["episode", "file", "timestamp", "time", "fx", "fy", "fz", "tx", "ty", "tz",
                                     "label", "p_success", "p_failure", "detector_update"]
    files = samples.groupby("episode")["file"].first().astype(str).tolist()
    assert files == sorted(files)
    assert samples.groupby("episode").size().tolist() == [21, 6, 11, 5]
    assert samples["p_failure"].isna().all()
    assert not samples["detector_update"].any()


def test_read_episodes_time_in_seconds(log_folder):
    samples = robotlogs.read_episodes(log_folder, "reactive")
    first = samples[samples["episode"] == 0]
    assert first["time"].iloc[0] == 0.0
    # Row 1 falls on a whole second, so its time stamp has no fraction.
    np.testing.assert_allclose(first["time"].to_numpy(), np.arange(21) * 0.02, atol=1e-9)
    np.testing.assert_allclose(first["fz"].to_numpy(), -5.0 - np.arange(21))


def test_read_episodes_parses_detector(log_folder):
    samples = robotlogs.read_episodes(log_folder, "preemptive")
    first = samples[samples["episode"] == 0]
    assert first["p_failure"].isna().sum() == 3
    np.testing.assert_allclose(first["p_failure"].to_numpy()[3:], [0.2, 0.2, 0.2, 0.95, 0.95])
    np.testing.assert_allclose(first["p_success"].to_numpy()[3:], [0.8, 0.8, 0.8, 0.05, 0.05])
    assert np.flatnonzero(first["detector_update"]).tolist() == [3, 6]


def test_episode_table(log_folder):
    table = robotlogs.episode_table(robotlogs.read_episodes(log_folder, "preemptive"))
    assert table["succeeded"].tolist() == [False, True]
    assert table["aborted"].tolist() == [True, False]
    assert table["abort_time"].iloc[0] == pytest.approx(6 * 0.02)
    assert table["first_output"].tolist() == pytest.approx([3 * 0.02, 2 * 0.02])
    assert table["n_outputs"].tolist() == [2, 1]
    assert table["duration"].tolist() == pytest.approx([7 * 0.02, 3 * 0.02])
    assert table["gap"].iloc[0] == pytest.approx(60.0 - 7 * 0.02)
    assert np.isnan(table["gap"].iloc[1])


def test_makespans_from_logs(log_folder):
    table = robotlogs.episode_table(robotlogs.read_episodes(log_folder, "reactive"))
    makespans = robotlogs.makespans_from_logs(table).m_as("s")
    # Chronological: failure 0.4 s, failure 0.1 s, success 0.2 s, then a failure after the last success.
    np.testing.assert_allclose(makespans, [0.4 + 0.1 + 0.2])
    np.testing.assert_allclose(robotlogs.makespans_from_logs(table, reset=10.0).m_as("s"), [30.7])


def test_invalid_split_raises(log_folder):
    with pytest.raises(ValueError, match="invalid split 'test'"):
        robotlogs.read_episodes(log_folder, "test")


def test_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="Twist-Training"):
        robotlogs.read_episodes(tmp_path, "training")


def test_short_row_raises(log_folder):
    path = next((log_folder / "Twist-Reactive-Verification").glob("*.csv"))
    path.write_text(path.read_text() + "2022-09-13 09:00:01.000000-07:00,0.1,0.2\n")
    with pytest.raises(ValueError, match="fewer than 9 columns"):
        robotlogs.read_episodes(log_folder, "reactive")


@pytest.fixture(scope="module")
def real_tables():
    try:
        folder = datasets.fetch("peg-in-hole")
    except datasets.DatasetError as error:
        pytest.skip(f"peg-in-hole logs not available: {error}")
    return {split: robotlogs.episode_table(robotlogs.read_episodes(folder, split)) for split in robotlogs.SPLITS}


def test_real_logs_counts(real_tables):
    counts = {split: (len(table), int(table["succeeded"].sum())) for split, table in real_tables.items()}
    assert counts == {"training": (250, 141), "reactive": (241, 120), "preemptive": (330, 120)}
    assert int(real_tables["preemptive"]["aborted"].sum()) == 179
    assert not (real_tables["preemptive"]["aborted"] & real_tables["preemptive"]["succeeded"]).any()


def test_real_logs_makespans(real_tables):
    reactive = robotlogs.makespans_from_logs(real_tables["reactive"]).m_as("s")
    preemptive = robotlogs.makespans_from_logs(real_tables["preemptive"]).m_as("s")
    assert len(reactive) == len(preemptive) == 120
    assert reactive.mean() == pytest.approx(102.17, abs=0.01)
    assert preemptive.mean() == pytest.approx(83.92, abs=0.01)


def test_real_logs_detector_first_output(real_tables):
    first = real_tables["preemptive"]["first_output"]
    assert first.notna().all()
    assert first.median() == pytest.approx(16.93, abs=0.05)
