"""Readers for the authors' SystemFlow sheets (registered data set "cms-daq") and builders that turn them into systems.

The data set contains the parameter workbooks ``cms_system_*.xlsx`` (sheets
"Detectors", "Triggers", "Global"), the sub-detector size table
``breakdown.xlsx``, the HLT wall-time points ``wall_time_scaling.xlsx``, the
Level-1 turn-on curves ``l1t_data/*.csv`` with the menu composition
``l1t_data/trigger_rates.xlsx``, and the authors' committed results table
``experimental_table.xlsx``.  Every reader checks the columns it uses and
raises :class:`SheetError` naming the file, sheet and missing column.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from lib.costmodels import daq, daq_l1t, daq_scenarios
from lib.costmodels.daq_classifiers import GaussianClassifier
from lib.costmodels.daq_power import fit_walltime
from lib.units import Q_

SYSTEM_WORKBOOKS = ("cms_system_60", "cms_system_140", "cms_system_200", "cms_system_200_smartpx",
                    "cms_system_200_smartpx_uled")
TURN_ON_FILES = {"jet": "jet_energy.csv", "muon": "single_muon.csv", "egamma": "egamma.csv",
                 "tau": "isolated_tau.csv"}
MENU_COLUMNS = {"jet": "Jet / Jet energy", "muon": "Muon", "egamma": "Egamma", "tau": "Tau"}
MENU_LABELS = {"jet": "Jet", "muon": "Muon", "egamma": "Egamma", "tau": "Tau"}

DETECTOR_COLUMNS = ("Category", "Detector", "Data (bytes)", "Sample Rate", "Compression",
                    "Link Efficiency (J/bit)", "Op Efficiency (J/op)")
TRIGGER_COLUMNS = ("Name", "Output", "Data (bytes)", "Reduction Ratio", "Skill mean", "Skill variance",
                   "Link Efficiency (J/bit)", "Op Efficiency (J/op)", "Compression")
# Older workbooks call the reduction ratio "Reduction".
COLUMN_ALIASES = {"Reduction": "Reduction Ratio"}


class SheetError(ValueError):
    """Raised when a workbook sheet lacks a column the model needs, or contains an unusable value."""


def require_columns(frame, columns, source):
    """Check that ``frame`` has every column in ``columns``.

    Raises
    ------
    SheetError
        Naming ``source`` (file and sheet) and the first missing column.
    """
    for column in columns:
        if column not in frame.columns:
            raise SheetError(f"{source}: missing column {column!r} (found: {', '.join(map(str, frame.columns))})")
    return frame


def read_system_workbook(path):
    """Read one ``cms_system_*.xlsx`` workbook.

    Returns
    -------
    dict
        ``"detectors"`` and ``"triggers"`` (DataFrames with checked columns) and ``"year"`` (int).
    """
    path = Path(path)
    sheets = pd.read_excel(path, sheet_name=None)
    for name in ("Detectors", "Triggers", "Global"):
        if name not in sheets:
            raise SheetError(f"{path.name}: missing sheet {name!r}")

    detectors = require_columns(sheets["Detectors"].dropna(how="all"), DETECTOR_COLUMNS,
                                f"{path.name} sheet 'Detectors'")
    triggers = sheets["Triggers"].rename(columns=COLUMN_ALIASES).dropna(how="all")
    require_columns(triggers, TRIGGER_COLUMNS, f"{path.name} sheet 'Triggers'")
    year = require_columns(sheets["Global"], ("Year",), f"{path.name} sheet 'Global'")["Year"].dropna()
    return {"detectors": detectors, "triggers": triggers, "year": int(year.iloc[0])}


def read_turn_on_curves(folder):
    """Read the four Level-1 turn-on curves (``x`` = energy in GeV, ``y`` = efficiency) as TurnOnCurves."""
    curves = {}
    for name, file in TURN_ON_FILES.items():
        frame = pd.read_csv(Path(folder) / "l1t_data" / file, skipinitialspace=True)
        frame.columns = [column.strip() for column in frame.columns]
        require_columns(frame, ("x", "y"), f"l1t_data/{file}")
        frame = frame.sort_values("x").drop_duplicates("x")
        curves[name] = daq_l1t.TurnOnCurve(frame["x"].to_numpy(), frame["y"].to_numpy())
    return curves


def read_trigger_menu(folder):
    """Read ``l1t_data/trigger_rates.xlsx`` into a :class:`~lib.costmodels.daq_l1t.TriggerMenu`."""
    source = "l1t_data/trigger_rates.xlsx sheet 'Sheet1'"
    frame = pd.read_excel(Path(folder) / "l1t_data" / "trigger_rates.xlsx")
    rate_columns = [f"{label} Rate" for label in MENU_LABELS.values()]
    threshold_columns = [f"{label} Threshold" for label in MENU_LABELS.values()]
    require_columns(frame, ("Proportion", *MENU_COLUMNS.values(), *rate_columns, *threshold_columns), source)

    rows = frame.dropna(subset=["Proportion"])
    fires = rows[[MENU_COLUMNS[name] for name in daq_l1t.OBJECTS]].to_numpy(dtype=float) > 0
    first = frame.iloc[0]
    return daq_l1t.TriggerMenu(
        thresholds={name: float(first[f"{MENU_LABELS[name]} Threshold"]) for name in daq_l1t.OBJECTS},
        shares=rows["Proportion"].to_numpy(dtype=float),
        fires=fires,
        rate_targets={name: float(first[f"{MENU_LABELS[name]} Rate"]) for name in daq_l1t.OBJECTS},
    )


def read_walltime(folder):
    """Read the HLT wall-time points (sheet "Data": Pileup, Size in bytes, Wall Time, Wall Time GPU)."""
    frame = pd.read_excel(Path(folder) / "wall_time_scaling.xlsx", sheet_name="Data")
    return require_columns(frame.dropna(how="all"), ("Pileup", "Size", "Wall Time", "Wall Time GPU"),
                           "wall_time_scaling.xlsx sheet 'Data'")


def walltime_model(walltime):
    """Fit the cubic HLT work model to the wall-time points (CPU column)."""
    return fit_walltime(Q_(walltime["Size"].to_numpy(dtype=float), "B/event"), walltime["Wall Time"].to_numpy())


def read_dataset(folder, part=None):
    """Read the "cms-daq" data set (the registry's reader).

    Parameters
    ----------
    folder : str or pathlib.Path
        The verified local folder that :func:`lib.datasets.fetch` returns.
    part : str, optional
        Return only this entry of the dictionary below.

    Returns
    -------
    dict
        ``systems`` (workbook stem to :func:`read_system_workbook` result),
        ``breakdown`` (sub-detector sizes at pile-up 60/140/200, B/event),
        ``walltime``, ``turn_on_curves``, ``trigger_menu``, ``results``
        (the authors' committed table) and ``smoothed_f1`` (101 x 101 array).
    """
    folder = Path(folder)
    readers = {
        "systems": lambda: {stem: read_system_workbook(folder / f"{stem}.xlsx") for stem in SYSTEM_WORKBOOKS},
        "breakdown": lambda: read_breakdown(folder),
        "walltime": lambda: read_walltime(folder),
        "turn_on_curves": lambda: read_turn_on_curves(folder),
        "trigger_menu": lambda: read_trigger_menu(folder),
        "results": lambda: pd.read_excel(folder / "experimental_table.xlsx"),
        "smoothed_f1": lambda: np.load(folder / "smoothed_f1.npz")["arr_0"],
    }
    if part is not None:
        if part not in readers:
            raise ValueError(f"unknown part {part!r}; expected one of {', '.join(readers)}")
        return readers[part]()
    return {name: read() for name, read in readers.items()}


def read_breakdown(folder):
    """Read ``breakdown.xlsx``: one row per sub-detector, columns ``pileup_60``, ``pileup_140``, ``pileup_200`` (B/event)."""
    frame = pd.read_excel(Path(folder) / "breakdown.xlsx", header=None)
    header = frame.iloc[0]
    if str(header.iloc[0]).strip() != "pileup":
        raise SheetError("breakdown.xlsx sheet 'Sheet1': missing column 'pileup' in the first row")
    rows = frame.iloc[1:, :4].dropna(subset=[0])
    rows.columns = ["detector", "pileup_60", "pileup_140", "pileup_200"]
    return rows.fillna({"pileup_60": 0.0}).reset_index(drop=True)


def system_from_workbook(workbook, classifiers=None, complexities=None):
    """Build a :class:`~lib.costmodels.daq.System` from a workbook read by :func:`read_system_workbook`.

    Every detector row becomes a detector linked to its category node with the
    row's link efficiency.  Every trigger row becomes a processor linked to its
    "Output" node, except the row without an output, which becomes storage.

    Parameters
    ----------
    workbook : dict
        Result of :func:`read_system_workbook`.
    classifiers : dict, optional
        Node name to classifier.  Filtering rows not named here use the
        sheet's "Classifier" column.  "Gaussian", or a sheet without that
        column, builds a GaussianClassifier from "Skill mean" and "Skill
        variance".  An "L1T" classifier must be supplied here.
    complexities : dict, optional
        Node name to complexity function; the sheets hold op efficiencies but
        not the functions, which live in code.

    Raises
    ------
    SheetError
        If a filtering row needs a classifier the sheet cannot give.
    """
    classifiers = classifiers or {}
    complexities = complexities or {}
    nodes, links = [], []

    for row in workbook["detectors"].itertuples(index=False):
        record = dict(zip(workbook["detectors"].columns, row))
        nodes.append(daq.Detector(record["Detector"], event_size=Q_(float(record["Data (bytes)"]), "B/event"),
                                  rate=Q_(float(record["Sample Rate"]), "Hz"),
                                  compression=float(record["Compression"])))
        links.append(daq.Link(record["Detector"], record["Category"],
                              Q_(float(record["Link Efficiency (J/bit)"]), "J/bit")))

    for row in workbook["triggers"].itertuples(index=False):
        record = dict(zip(workbook["triggers"].columns, row))
        name = record["Name"]
        if pd.isna(record["Output"]):
            nodes.append(daq.Storage(name))
            continue

        ratio = float(record["Reduction Ratio"])
        classifier = classifiers.get(name) if ratio > 1 else None
        if ratio > 1 and classifier is None:
            classifier = _sheet_classifier(record)
        nodes.append(daq.Processor(name, reduction_ratio=ratio, classifier=classifier,
                                   complexity=complexities.get(name),
                                   op_efficiency=Q_(float(record["Op Efficiency (J/op)"]), "J/op"),
                                   added_size=Q_(float(record["Data (bytes)"]), "B/event"),
                                   compression=float(record["Compression"])))
        links.append(daq.Link(name, record["Output"], Q_(float(record["Link Efficiency (J/bit)"]), "J/bit")))

    return daq.System(nodes, links)


def _sheet_classifier(record):
    kind = record.get("Classifier", "Gaussian")
    if kind != "Gaussian":
        raise SheetError(f"Triggers row {record['Name']!r}: classifier {kind!r} is not in the sheet; "
                         f"pass it in classifiers={{{record['Name']!r}: ...}}")
    variance = float(record["Skill variance"])
    if variance <= 0:
        raise SheetError(f"Triggers row {record['Name']!r}: 'Skill variance' must be > 0, got {variance}")
    return GaussianClassifier(mean=float(record["Skill mean"]), std=float(np.sqrt(variance)))


def cms_from_workbook(workbook, l1t_classifier, hlt_complexity):
    """Build the CMS system of a workbook with the code-side pieces: L1T classifier and both complexity functions."""
    return system_from_workbook(
        workbook,
        classifiers={daq_scenarios.L1T: l1t_classifier},
        complexities={daq_scenarios.L1T: daq_scenarios.L1T_COMPLEXITY, daq_scenarios.HLT: hlt_complexity},
    )
