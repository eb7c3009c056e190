"""The CMS DAQ as a SystemFlow graph, built from parameters set in code: Run 3, HL-LHC and the improvements.

Topology: 19 sub-detectors feed four category merge nodes (Tracking, Timing,
Calorimetry, Muon).  These feed the Level-1 trigger ("Intermediate"), then the
high-level trigger ("Global"), then storage ("Disk").  The
node names are those of the authors' parameter sheets, so a system built here
and one read by :mod:`lib.costmodels.daq_sheets` compare node by node.
Parameter values are those of the SystemFlow sheets at commit b9af6d5 of
github.com/wilkieolin/system_flow (arXiv 2407.00123).
"""

import dataclasses
import itertools

import numpy as np
import pandas as pd

from lib.costmodels import daq
from lib.costmodels.daq_classifiers import GaussianClassifier
from lib.costmodels.daq_power import MEGABYTE, CubicComplexity, LinearComplexity
from lib.units import Q_

L1T, HLT, STORAGE = "Intermediate", "Global", "Disk"
CATEGORIES = ("Tracking", "Timing", "Calorimetry", "Muon")
INNER_TRACKER = "Inner Tracker"

# Sub-detector, category, event size at pile-up 140 and 200 (MB/event): the
# per-subsystem sizes of the CMS Phase-2 DAQ and HLT TDR as entered in the sheets.
EVENT_SIZE_TABLE = (
    ("Inner Tracker", "Tracking", 1.01, 1.44),
    ("Outer Tracker PS", "Tracking", 0.50, 0.72),
    ("Outer Tracker 2S", "Tracking", 0.30, 0.43),
    ("Track Finder TPG", "Tracking", 0.01, 0.01),
    ("MIP Timing BTL", "Timing", 0.17, 0.24),
    ("MIP Timing ETL", "Timing", 0.31, 0.44),
    ("ECAL Barrel", "Calorimetry", 0.42, 0.60),
    ("HCAL Barrel", "Calorimetry", 0.24, 0.24),
    ("HCAL HO", "Calorimetry", 0.03, 0.03),
    ("HCAL HF", "Calorimetry", 0.06, 0.06),
    ("HGCAL", "Calorimetry", 2.10, 3.00),
    ("HGCAL TPG Stage1", "Calorimetry", 0.11, 0.15),
    ("HGCAL TPG Stage2", "Calorimetry", 0.04, 0.05),
    ("Muon DT", "Muon", 0.11, 0.15),
    ("Muon CSC", "Muon", 0.33, 0.47),
    ("Muon GEM GE1", "Muon", 0.002, 0.003),
    ("Muon GEM GE2", "Muon", 0.001, 0.002),
    ("Muon GEM ME0", "Muon", 0.08, 0.12),
    ("Muon RPC", "Muon", 0.01, 0.01),
)
PHASE2_ONLY = ("HGCAL", "HGCAL TPG Stage1", "HGCAL TPG Stage2")

BUNCH_CROSSING_RATE = Q_(40e6, "Hz")
L1T_RECORD = Q_(0.26 * MEGABYTE, "B/event")
DETECTOR_LINK = Q_(2.22e-11, "J/bit")
PROCESSOR_LINK = Q_(2.5e-11, "J/bit")
L1T_OP_EFFICIENCY = Q_(120e3 / 40e6, "J/op")  # 120 kW Level-1 trigger at 40 MHz
HLT_OP_EFFICIENCY = Q_(1.6e6 / 100e3, "J/op")  # 1.6 MW Run-3 HLT farm at 100 kHz
L1T_COMPLEXITY = LinearComplexity(bytes_per_op=2.0 * MEGABYTE)

# The authors' least-squares fit of relative HLT wall time to event size
# (S in MB): refit from the wall-time sheet by daq_sheets.walltime_model.
HLT_WALLTIME = CubicComplexity(k3=2.22744374e-2, k2=1.88331368e-1, k1=1.41173228e-1)
HLT_SKILL = GaussianClassifier(mean=4.0, std=1.0)

# Deterministic stand-in for the empirical Level-1 trigger: a binormal model
# calibrated to the authors' F1 at L1T ratios 400 and 53.3.  Its "L1T tracking"
# is a mean shift of 2.789, which gives their F1 of 0.8395 at ratio 53.3; the
# empirical model's boost of 0.4 is a shift on a different score scale.
SURROGATE_L1T = GaussianClassifier(mean=2.032, std=1.300)
SURROGATE_TRACKING_BOOST = 2.789

RUN3 = dict(pileup=60.0, l1t_reduction=400.0, hlt_reduction=100.0)
HL_LHC = dict(pileup=200.0, l1t_reduction=53.3, hlt_reduction=100.0)


@dataclasses.dataclass(frozen=True)
class Improvements:
    """The three technology levers of the study and their strengths.

    Attributes
    ----------
    gpu_hlt : bool
        Accelerate the HLT: its work per event is divided by ``hlt_speedup``.
    hlt_speedup : float
        HLT speed-up factor (2 in the study).
    smart_pixels : bool
        Filter on the pixel chip: the inner-tracker payload shrinks by ``pixel_reduction``.
    pixel_reduction : float
        Fraction of inner-tracker bytes removed (0.54 in the study).
    l1t_tracking : bool
        Track-based Level-1 trigger: ``tracking_boost`` is added to relevant L1T scores.
    tracking_boost : float
        L1T score boost (0.4 in the study; score units).
    """

    gpu_hlt: bool = False
    hlt_speedup: float = 2.0
    smart_pixels: bool = False
    pixel_reduction: float = 0.54
    l1t_tracking: bool = False
    tracking_boost: float = 0.4

    def __post_init__(self):
        if np.any(np.asarray(self.hlt_speedup) <= 0):
            raise daq.DaqInputError(f"hlt_speedup must be > 0 (factor), got {self.hlt_speedup!r}")
        reduction = np.asarray(self.pixel_reduction)
        if np.any(reduction < 0) or np.any(reduction >= 1):
            raise daq.DaqInputError(f"pixel_reduction must lie in [0, 1) (fraction), got {self.pixel_reduction!r}")

    @property
    def label(self):
        """Short name of the switched-on levers, e.g. ``"GPU HLT + smart pixels"``."""
        names = [name for name, on in (("GPU HLT", self.gpu_hlt), ("smart pixels", self.smart_pixels),
                                       ("L1T tracking", self.l1t_tracking)) if on]
        return " + ".join(names) if names else "baseline"


def event_sizes(pileup, phase2=True):
    """Return sub-detector event sizes at mean pile-up ``pileup`` (array-aware).

    Each size follows the straight line through its pile-up 140 and 200 values,
    clipped at 0: the rule the authors used to extrapolate to pile-up 60.

    Parameters
    ----------
    pileup : float or numpy.ndarray
        Mean collisions per bunch crossing, >= 0.
    phase2 : bool
        False sets the Phase-2-only systems (HGCAL and its trigger primitives) to 0,
        as in the Run-3 reference.

    Returns
    -------
    dict
        Sub-detector name to event size (B/event).

    Raises
    ------
    DaqInputError
        If ``pileup`` is negative or not finite.
    """
    pileup = np.asarray(pileup, dtype=float)
    if np.any(~np.isfinite(pileup)) or np.any(pileup < 0):
        raise daq.DaqInputError(f"pileup must be finite and >= 0 (collisions per crossing), got {pileup!r}")

    sizes = {}
    for name, _, at_140, at_200 in EVENT_SIZE_TABLE:
        megabytes = np.maximum(0.0, at_140 + (pileup - 140.0) * (at_200 - at_140) / 60.0)
        if not phase2 and name in PHASE2_ONLY:
            megabytes = np.zeros_like(megabytes)
        sizes[name] = Q_(megabytes * MEGABYTE, "B/event")
    return sizes


def cms_system(sizes, l1t_classifier, *, l1t_reduction, hlt_reduction, hlt_classifier=HLT_SKILL,
               hlt_complexity=HLT_WALLTIME, rate=BUNCH_CROSSING_RATE, detector_link=DETECTOR_LINK,
               processor_link=PROCESSOR_LINK):
    """Build the CMS DAQ graph for given sub-detector sizes, trigger ratios and classifiers.

    Parameters
    ----------
    sizes : dict
        Sub-detector name (all of :data:`EVENT_SIZE_TABLE`) to event size (B/event).
    l1t_classifier, hlt_classifier : object
        Score models of the two trigger levels.
    l1t_reduction, hlt_reduction : float or numpy.ndarray
        Reduction ratios (input events per output event), >= 1.
    hlt_complexity : CubicComplexity
        HLT operations per event.
    rate : pint.Quantity
        Bunch-crossing rate (Hz).
    detector_link, processor_link : pint.Quantity
        Link energies (J/bit) out of detectors and out of processors.

    Returns
    -------
    daq.System
    """
    missing = [name for name, *_ in EVENT_SIZE_TABLE if name not in sizes]
    if missing:
        raise daq.DaqInputError(f"event sizes missing for sub-detectors: {', '.join(missing)}")

    nodes, links = [], []
    for name, category, *_ in EVENT_SIZE_TABLE:
        nodes.append(daq.Detector(name, event_size=sizes[name], rate=rate))
        links.append(daq.Link(name, category, detector_link))

    for category in CATEGORIES:
        nodes.append(daq.Processor(category))
        links.append(daq.Link(category, L1T, processor_link))

    nodes.append(daq.Processor(L1T, reduction_ratio=l1t_reduction, classifier=l1t_classifier,
                               complexity=L1T_COMPLEXITY, op_efficiency=L1T_OP_EFFICIENCY, added_size=L1T_RECORD))
    nodes.append(daq.Processor(HLT, reduction_ratio=hlt_reduction, classifier=hlt_classifier,
                               complexity=hlt_complexity, op_efficiency=HLT_OP_EFFICIENCY))
    nodes.append(daq.Storage(STORAGE))
    links += [daq.Link(L1T, HLT, processor_link), daq.Link(HLT, STORAGE, processor_link)]
    return daq.System(nodes, links)


def improved_system(l1t_classifier, improvements=Improvements(), *, pileup=HL_LHC["pileup"],
                    l1t_reduction=HL_LHC["l1t_reduction"], hlt_reduction=HL_LHC["hlt_reduction"],
                    phase2=True, hlt_complexity=HLT_WALLTIME, **options):
    """Build the CMS DAQ at a pile-up with the chosen improvements applied.

    Parameters
    ----------
    l1t_classifier : object
        Level-1 score model before any tracking boost.
    improvements : Improvements
        Levers and strengths.
    pileup : float or numpy.ndarray
        Mean pile-up; sets the event sizes through :func:`event_sizes`.
    l1t_reduction, hlt_reduction : float or numpy.ndarray
        Trigger reduction ratios.
    phase2 : bool
        Include the Phase-2-only sub-detectors.
    hlt_complexity : CubicComplexity
        HLT work per event before the GPU speed-up.
    **options
        Passed to :func:`cms_system` (classifier of the HLT, rates, link energies).
    """
    sizes = event_sizes(pileup, phase2=phase2)
    if improvements.smart_pixels:
        sizes[INNER_TRACKER] = sizes[INNER_TRACKER] * (1.0 - np.asarray(improvements.pixel_reduction))
    if improvements.gpu_hlt:
        hlt_complexity = hlt_complexity.with_speedup(hlt_complexity.speedup * np.asarray(improvements.hlt_speedup))
    if improvements.l1t_tracking:
        l1t_classifier = l1t_classifier.boosted(improvements.tracking_boost)
    return cms_system(sizes, l1t_classifier, l1t_reduction=l1t_reduction, hlt_reduction=hlt_reduction,
                      hlt_complexity=hlt_complexity, **options)


def run3_reference(l1t_classifier, **options):
    """Build the Run-3 reference: pile-up 60, L1T ratio 400, HLT ratio 100, no Phase-2 sub-detectors."""
    settings = {**RUN3, **options}
    return improved_system(l1t_classifier, Improvements(), phase2=False, **settings)


def hl_lhc_baseline(l1t_classifier, **options):
    """Build the HL-LHC baseline: pile-up 200, L1T ratio 53.3, HLT ratio 100, CPU HLT."""
    settings = {**HL_LHC, **options}
    return improved_system(l1t_classifier, Improvements(), **settings)


def all_combinations(strengths=Improvements()):
    """Return the eight switch combinations of the three levers at the given strengths, baseline first."""
    combos = []
    for gpu, tracking, pixels in itertools.product((False, True), repeat=3):
        combos.append(dataclasses.replace(strengths, gpu_hlt=gpu, l1t_tracking=tracking, smart_pixels=pixels))
    return sorted(combos, key=lambda item: (item.gpu_hlt + item.l1t_tracking + item.smart_pixels,
                                            not item.gpu_hlt, not item.l1t_tracking))


TABLE_COLUMNS = ("configuration", "pileup", "l1t_reduction", "power_MW", "precision", "recall", "f1",
                 "productivity_per_kJ", "energy_per_relevant_sample_kJ")


def summary_row(configuration, flow, pileup, l1t_reduction):
    """Return one results-table row (see :data:`TABLE_COLUMNS`) for an evaluated scalar system."""
    return {
        "configuration": configuration,
        "pileup": float(pileup),
        "l1t_reduction": float(l1t_reduction),
        "power_MW": float(flow.total_power.to("MW").magnitude),
        "precision": float(flow.precision),
        "recall": float(flow.recall),
        "f1": float(flow.f1),
        "productivity_per_kJ": float(flow.productivity.to("relevant_sample/kJ").magnitude),
        "energy_per_relevant_sample_kJ": float(flow.energy_per_relevant_sample.to("kJ/relevant_sample").magnitude),
    }


def configuration_table(l1t_classifier, strengths=Improvements(), *, year=daq.DEFAULT_YEAR,
                        run3=None, hl_lhc=None, **options):
    """Evaluate the Run-3 reference, the HL-LHC baseline and every combination of the three levers.

    Parameters
    ----------
    l1t_classifier : object
        Level-1 score model (without tracking boost).
    strengths : Improvements
        Lever strengths; the switches in it are ignored.
    year : float
        Technology projection year of every row, Run 3 included.
    run3, hl_lhc : dict, optional
        Overrides of :data:`RUN3` and :data:`HL_LHC` (pileup, l1t_reduction, hlt_reduction).
    **options
        Passed to :func:`cms_system`.

    Returns
    -------
    pandas.DataFrame
        One row per configuration with :data:`TABLE_COLUMNS`.
    """
    run3 = {**RUN3, **(run3 or {})}
    hl_lhc = {**HL_LHC, **(hl_lhc or {})}

    flow = daq.evaluate(run3_reference(l1t_classifier, **run3, **options), year)
    rows = [summary_row("Run-3 reference", flow, run3["pileup"], run3["l1t_reduction"])]
    for improvements in all_combinations(strengths):
        system = improved_system(l1t_classifier, improvements, **hl_lhc, **options)
        label = "HL-LHC baseline" if improvements.label == "baseline" else improvements.label
        rows.append(summary_row(label, daq.evaluate(system, year), hl_lhc["pileup"], hl_lhc["l1t_reduction"]))
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
