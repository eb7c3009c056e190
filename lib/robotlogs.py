"""Read the peg-in-hole force/torque logs and measure makespan from them.

The data set ``peg-in-hole`` contains the raw logs that Watson and Correll
recorded for "Optimal decision making in robotic assembly and other
trial-and-error tasks" (arXiv 2301.10846): one CSV file per attempt of a robot
inserting a large bearing with a twisting motion.  Each file has no header row
and these columns:

=========  ===========================================================
column     meaning
=========  ===========================================================
timestamp  wall-clock time of the sample, ISO 8601 with a UTC offset
Fx Fy Fz   force (N)
Tx Ty Tz   torque (N·m)
label      outcome of the whole attempt: 1 success, 0 failure
detector   the failure detector's latest output, ``(P(success), P(failure))``
           or ``[P(success), P(failure)]``; ``-50`` or ``(-50.0, -50.0)``
           where no detector ran or it has not output anything yet
=========  ===========================================================

The logs state no units.  The magnitudes fit newtons and newton-metres, and
the registry entry records them as such.  Samples come at about 50 per second.
The detector value is held between outputs, so it repeats on every row until
the next output.  In the preemptive set an attempt whose detector output
reached P(failure) >= 0.9 was aborted at that output, and its label is 0
whatever it would have become.
"""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from lib.costmodels.makespan import makespans_from_attempts

SPLITS = {
    "training": "Twist-Training",
    "reactive": "Twist-Reactive-Verification",
    "preemptive": "Twist-Preemptive-Verification",
}
"""Split name accepted by :func:`read_episodes` -> folder of the data set."""

FORCE_COLUMNS = ("fx", "fy", "fz")
TORQUE_COLUMNS = ("tx", "ty", "tz")
SENSOR_COLUMNS = FORCE_COLUMNS + TORQUE_COLUMNS

UNITS = {
    "time": "s",
    "fx": "N", "fy": "N", "fz": "N",
    "tx": "N·m", "ty": "N·m", "tz": "N·m",
    "p_success": "", "p_failure": "",
    "duration": "s", "first_output": "s", "abort_time": "s",
}
"""Unit of every numeric column that :func:`read_episodes` and :func:`episode_table` return."""

ABORT_THRESHOLD = 0.9
"""P(failure) at or above which the deployed detector aborted an attempt."""

_FILE_PATTERN = re.compile(r"_(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})\.csv$")
_RAW_COLUMNS = ["timestamp", *SENSOR_COLUMNS, "label", "detector"]
_NO_OUTPUT = -50.0


def read_episodes(folder, split="training"):
    """Read every attempt of one split into a tidy DataFrame, one row per sample.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder of the data set, as :func:`lib.datasets.fetch` returns it
        (holding ``Twist-Training/``, ``Twist-Reactive-Verification/`` and
        ``Twist-Preemptive-Verification/``).
    split : str
        ``"training"``, ``"reactive"`` or ``"preemptive"`` (see :data:`SPLITS`).

    Returns
    -------
    pandas.DataFrame
        One row per sample, attempts in chronological order (the order of the
        time stamp in the file name) and samples in time order.  Columns:

        - ``episode`` (int): 0, 1, ... in chronological order;
        - ``file`` (category): the CSV file name;
        - ``timestamp`` (datetime64, UTC; the logs give local time with its offset);
        - ``time`` (s): time since the attempt's first sample;
        - ``fx``, ``fy``, ``fz`` (N) and ``tx``, ``ty``, ``tz`` (N·m);
        - ``label`` (int8): 1 if the attempt ended in success, else 0;
        - ``p_success``, ``p_failure``: the detector's latest output, NaN
          before the first output and in sets without a detector;
        - ``detector_update`` (bool): True on the rows where a new detector
          output appeared.

        :func:`episode_table` condenses it to one row per attempt.

    Raises
    ------
    ValueError
        If ``split`` is not one of :data:`SPLITS`, or a file has an
        unexpected number of columns or a label other than 0 or 1.
    FileNotFoundError
        If the split's folder is missing or contains no log files.
    """
    if split not in SPLITS:
        raise ValueError(f"invalid split {split!r}; expected one of: {', '.join(map(repr, SPLITS))}")
    directory = Path(folder) / SPLITS[split]
    files = sorted(directory.glob("*.csv"), key=_file_time)
    if not files:
        raise FileNotFoundError(f"no CSV logs in {directory}; fetch the data set 'peg-in-hole' first")

    frames = [_read_file(path) for path in files]
    lengths = np.array([len(frame) for frame in frames])
    samples = pd.concat(frames, ignore_index=True)

    timestamp = pd.to_datetime(samples["timestamp"], format="ISO8601", utc=True)
    ticks = timestamp.dt.tz_localize(None).to_numpy()
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    elapsed = ticks - ticks[starts]
    p_success, p_failure = _parse_detector(samples["detector"])

    # A detector output is held until the next one, so a new output is a change of the text.
    detector_text = samples["detector"].to_numpy()
    update = np.ones(len(samples), dtype=bool)
    update[1:] = detector_text[1:] != detector_text[:-1]
    update[np.cumsum(lengths) - lengths] = True
    update &= ~np.isnan(p_failure)

    names = [path.name for path in files]
    result = pd.DataFrame({
        "episode": np.repeat(np.arange(len(files), dtype=np.int32), lengths),
        "file": pd.Categorical.from_codes(np.repeat(np.arange(len(files)), lengths), categories=names),
        "timestamp": timestamp,
        "time": elapsed / np.timedelta64(1, "s"),
        **{column: samples[column].to_numpy(dtype=float) for column in SENSOR_COLUMNS},
        "label": samples["label"].to_numpy(dtype=np.int8),
        "p_success": p_success,
        "p_failure": p_failure,
        "detector_update": update,
    })
    _check_labels(result)
    return result


def episode_table(samples, abort_threshold=ABORT_THRESHOLD):
    """Condense the samples of :func:`read_episodes` to one row per attempt.

    Parameters
    ----------
    samples : pandas.DataFrame
        Output of :func:`read_episodes`.
    abort_threshold : float
        P(failure) at or above which a detector output counts as an abort.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``episode``, in chronological order.  Columns:

        - ``file``, ``started`` (timestamp of the first sample);
        - ``duration`` (s): last minus first sample time;
        - ``succeeded`` (bool), ``n_samples``;
        - ``n_outputs``: number of detector outputs;
        - ``first_output`` (s): time of the first detector output, NaN without one;
        - ``max_p_failure``;
        - ``aborted`` (bool): some output reached ``abort_threshold``;
        - ``abort_time`` (s): time of that output, NaN if not aborted;
        - ``gap`` (s): time from this attempt's last sample to the next
          attempt's first sample, NaN for the last attempt.
    """
    groups = samples.groupby("episode", sort=True)
    table = pd.DataFrame({
        "file": groups["file"].first().astype(str),
        "started": groups["timestamp"].first(),
        "duration": groups["time"].last(),
        "succeeded": groups["label"].last() == 1,
        "n_samples": groups.size(),
        "n_outputs": groups["detector_update"].sum().astype(int),
        "max_p_failure": groups["p_failure"].max(),
    })

    outputs = samples.loc[samples["detector_update"], ["episode", "time", "p_failure"]]
    table["first_output"] = outputs.groupby("episode")["time"].first().reindex(table.index)
    fired = outputs[outputs["p_failure"] >= abort_threshold]
    table["abort_time"] = fired.groupby("episode")["time"].first().reindex(table.index)
    table["aborted"] = table["abort_time"].notna()

    ended = table["started"] + pd.to_timedelta(table["duration"], unit="s")
    table["gap"] = (table["started"].shift(-1) - ended).dt.total_seconds()
    return table[["file", "started", "duration", "succeeded", "n_samples", "n_outputs", "first_output",
                  "max_p_failure", "aborted", "abort_time", "gap"]]


def makespans_from_logs(table, reset=0.0):
    """Measure the makespan of every success: the attempt durations summed in order up to it.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`episode_table` (columns ``duration`` and
        ``succeeded``), in chronological order.
    reset : pint.Quantity or float
        Time added once per attempt (s), for example the reset between
        attempts; 0 reproduces the makespan of the logs alone.

    Returns
    -------
    pint.Quantity
        Array of makespans (s), one per success, in order.  Attempts after
        the last success belong to no makespan and are dropped.
    """
    return makespans_from_attempts(table["duration"].to_numpy(), table["succeeded"].to_numpy(), reset=reset)


def _file_time(path):
    match = _FILE_PATTERN.search(path.name)
    if match is None:
        raise ValueError(f"log file name {path.name!r} has no time stamp 'YYYY-MM-DD_HH-MM-SS.csv'")
    return match.group(1)


def _read_file(path):
    frame = pd.read_csv(path, header=None, names=_RAW_COLUMNS, dtype={"timestamp": str, "detector": str},
                        engine="c", skipinitialspace=True)
    if frame[list(SENSOR_COLUMNS)].isna().any().any():
        raise ValueError(f"log {path} has rows with fewer than 9 columns or non-numeric sensor values")
    return frame


def _parse_detector(text):
    """Return P(success) and P(failure) arrays, NaN where the detector gave no output."""
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    pairs = np.full((len(uniques), 2), np.nan)
    for index, value in enumerate(uniques):
        numbers = [float(part) for part in str(value).strip("()[] ").split(",")]
        if len(numbers) == 2 and numbers[1] != _NO_OUTPUT:
            pairs[index] = numbers
        elif numbers[0] != _NO_OUTPUT:
            raise ValueError(f"unexpected detector output {value!r}; expected '(P(success), P(failure))' or -50")
    return pairs[codes, 0], pairs[codes, 1]


def _check_labels(samples):
    labels = samples.groupby("episode")["label"].agg(["min", "max"])
    bad = labels[(labels["min"] != labels["max"]) | ~labels["max"].isin([0, 1])]
    if len(bad):
        files = samples.loc[samples["episode"].isin(bad.index), "file"].unique()
        raise ValueError(f"logs with a label that changes or is not 0/1: {', '.join(map(str, files))}")
