"""Tests of the DAQ flow model: propagation, power, metrics, array evaluation and input errors."""

import numpy as np
import pytest

from lib.costmodels import daq, daq_power, daq_scenarios
from lib.costmodels.daq_classifiers import GaussianClassifier
from lib.units import Q_

SURROGATE = daq_scenarios.SURROGATE_L1T


@pytest.fixture(scope="module")
def baseline():
    return daq.evaluate(daq_scenarios.hl_lhc_baseline(SURROGATE))


def _tiny_system(*, ratio=10.0, link=Q_(1e-11, "J/bit"), compression=0.0):
    nodes = [
        daq.Detector("pixels", event_size=Q_(1000, "B/event"), rate=Q_(1e6, "Hz"), compression=compression),
        daq.Detector("calorimeter", event_size=Q_(500, "B/event"), rate=Q_(1e6, "Hz")),
        daq.Processor("trigger", reduction_ratio=ratio, classifier=GaussianClassifier(3.0, 1.0),
                      complexity=daq_power.LinearComplexity(bytes_per_op=100.0), op_efficiency=Q_(1e-6, "J/op")),
        daq.Storage("disk"),
    ]
    links = [daq.Link("pixels", "trigger", link), daq.Link("calorimeter", "trigger", link),
             daq.Link("trigger", "disk", link)]
    return daq.System(nodes, links)


def test_baseline_total_power(baseline):
    assert baseline.total_power.to("MW").magnitude == pytest.approx(51.599, rel=1e-4)


def test_baseline_hlt_power_before_scaling(baseline):
    assert baseline.node_power["Global"].to("MW").magnitude == pytest.approx(334.74, rel=1e-4)


def test_baseline_l1t_power_before_scaling(baseline):
    assert baseline.node_power["Intermediate"].to("kW").magnitude == pytest.approx(505.5, rel=1e-3)


def test_baseline_link_power_before_scaling(baseline):
    links = sum(power.to("kW").magnitude for power in baseline.link_power.values())
    assert links == pytest.approx(124.6, rel=1e-3)


def test_gpu_and_smart_pixels_power():
    improvements = daq_scenarios.Improvements(gpu_hlt=True, smart_pixels=True)
    flow = daq.evaluate(daq_scenarios.improved_system(SURROGATE, improvements))
    assert flow.total_power.to("MW").magnitude == pytest.approx(20.461, rel=1e-4)


def test_l1t_message_size(baseline):
    assert baseline.size["Intermediate"].to("MB/event").magnitude == pytest.approx(8.425)


def test_storage_sees_l1t_size(baseline):
    assert baseline.size["Disk"].magnitude == pytest.approx(baseline.size["Intermediate"].magnitude)


def test_level1_accept_rate(baseline):
    assert baseline.rate_out["Intermediate"].to("event/s").magnitude == pytest.approx(40e6 / 53.3)


def test_stage_keeps_exact_fraction(baseline):
    kept = baseline.contingency["Intermediate"][1].sum()
    assert kept == pytest.approx(40e6 / 53.3, rel=1e-10)


def test_precision_equals_recall(baseline):
    assert abs(baseline.precision - baseline.recall) < 1e-9


def test_f1_equals_precision(baseline):
    assert baseline.f1 == pytest.approx(baseline.precision, rel=1e-9)


def test_productivity_definition(baseline):
    expected = baseline.f1 * baseline.rate_in["Disk"] / baseline.total_power
    assert baseline.productivity.to("relevant_sample/J").magnitude == pytest.approx(expected.to("event/J").magnitude)


def test_energy_per_sample_inverts_productivity(baseline):
    product = baseline.productivity.to("relevant_sample/kJ").magnitude * \
        baseline.energy_per_relevant_sample.to("kJ/relevant_sample").magnitude
    assert product == pytest.approx(1.0)


def test_detector_global_ratio():
    system = daq_scenarios.hl_lhc_baseline(SURROGATE)
    assert system.global_ratio("Inner Tracker") == pytest.approx(5330.0)


def test_density_scale_2032():
    assert daq_power.density_scale(2032) == pytest.approx(6.49957, rel=1e-5)


def test_projection_year_divides_power(baseline):
    later = daq.evaluate(daq_scenarios.hl_lhc_baseline(SURROGATE), year=2037)
    ratio = (baseline.total_power / later.total_power).magnitude
    assert ratio == pytest.approx(np.exp(0.18717361 * 5))


def test_power_table_sums_to_total(baseline):
    table = baseline.power_table()
    assert table["power_W"].sum() == pytest.approx(baseline.total_power.to("W").magnitude)


def test_compression_shrinks_downstream_size():
    flow = daq.evaluate(_tiny_system(compression=0.5))
    assert flow.size["trigger"].to("B/event").magnitude == pytest.approx(1000.0)


def test_link_charges_uncompressed_bytes():
    flow = daq.evaluate(_tiny_system(compression=0.5))
    expected = 1e-11 * 8 * 1000 * 1e6
    assert flow.link_power[("pixels", "trigger")].to("W").magnitude == pytest.approx(expected)


def test_node_power_of_tiny_system():
    flow = daq.evaluate(_tiny_system())
    assert flow.node_power["trigger"].to("W").magnitude == pytest.approx(1e-6 * 15.0 * 1e6)


def test_array_parameters_match_scalar_runs():
    ratios = np.array([40.0, 120.0, 400.0])
    batch = daq.evaluate(daq_scenarios.improved_system(SURROGATE, l1t_reduction=ratios))
    singles = [daq.evaluate(daq_scenarios.improved_system(SURROGATE, l1t_reduction=ratio)) for ratio in ratios]
    np.testing.assert_allclose(batch.f1, [single.f1 for single in singles], rtol=1e-12)


def test_array_power_matches_scalar_runs():
    pileups = np.array([60.0, 140.0, 200.0])
    batch = daq.evaluate(daq_scenarios.improved_system(SURROGATE, pileup=pileups))
    singles = [daq.evaluate(daq_scenarios.improved_system(SURROGATE, pileup=pileup)).total_power.magnitude
               for pileup in pileups]
    np.testing.assert_allclose(batch.total_power.magnitude, singles, rtol=1e-12)


def test_reduction_ratio_below_one_names_node():
    with pytest.raises(daq.DaqInputError, match="'trigger'.*reduction_ratio must be >= 1"):
        _tiny_system(ratio=0.5)


def test_reduction_ratio_below_one_in_builder():
    with pytest.raises(daq.DaqInputError, match="'Intermediate'"):
        daq_scenarios.hl_lhc_baseline(SURROGATE, l1t_reduction=0.9)


def test_negative_pileup_rejected():
    with pytest.raises(daq.DaqInputError, match="pileup must be finite and >= 0"):
        daq_scenarios.event_sizes(-5.0)


def test_negative_rate_names_detector():
    with pytest.raises(daq.DaqInputError, match="detector 'pixels': rate must be finite and >= 0 Hz"):
        daq.Detector("pixels", event_size=Q_(1, "B/event"), rate=Q_(-1, "Hz"))


def test_negative_event_size_names_detector():
    with pytest.raises(daq.DaqInputError, match="detector 'pixels': event_size"):
        daq.Detector("pixels", event_size=Q_(-1, "B/event"), rate=Q_(1, "Hz"))


def test_watts_for_link_efficiency_rejected():
    with pytest.raises(daq.DaqInputError, match="link 'a' -> 'b': efficiency must be a quantity in J/bit"):
        daq.Link("a", "b", Q_(3.0, "W"))


def test_watts_for_op_efficiency_rejected():
    with pytest.raises(daq.DaqInputError, match="processor 'hlt': op_efficiency must be a quantity in J/op"):
        daq.Processor("hlt", op_efficiency=Q_(3.0, "W"))


def test_bare_number_for_rate_rejected():
    with pytest.raises(daq.DaqInputError, match="rate must be a quantity in Hz"):
        daq.Detector("pixels", event_size=Q_(1, "B/event"), rate=40e6)


def test_seconds_for_event_size_rejected():
    with pytest.raises(daq.DaqInputError, match="event_size must be a quantity in B/event"):
        daq.Detector("pixels", event_size=Q_(1, "s"), rate=Q_(1, "Hz"))


def test_size_per_message_in_bytes_accepted():
    detector = daq.Detector("pixels", event_size=Q_(2, "MB"), rate=Q_(1, "Hz"))
    assert detector.event_size.to("B").magnitude == pytest.approx(2e6)


def test_filtering_without_classifier_rejected():
    with pytest.raises(daq.DaqInputError, match="'trigger': a reduction_ratio above 1 needs a classifier"):
        daq.Processor("trigger", reduction_ratio=5.0)


def test_cycle_rejected():
    nodes = [daq.Detector("d", event_size=Q_(1, "B/event"), rate=Q_(1, "Hz")), daq.Processor("a"),
             daq.Processor("b"), daq.Storage("disk")]
    links = [daq.Link("d", "a"), daq.Link("a", "b"), daq.Link("b", "a"), daq.Link("b", "disk")]
    with pytest.raises(daq.DaqInputError, match="cycle"):
        daq.System(nodes, links)


def test_two_sinks_rejected():
    nodes = [daq.Detector("d", event_size=Q_(1, "B/event"), rate=Q_(1, "Hz")), daq.Storage("disk"),
             daq.Storage("tape")]
    with pytest.raises(daq.DaqInputError, match="exactly one sink.*'disk', 'tape'"):
        daq.System(nodes, [daq.Link("d", "disk"), daq.Link("d", "tape")])


def test_unknown_node_in_link_rejected():
    nodes = [daq.Detector("d", event_size=Q_(1, "B/event"), rate=Q_(1, "Hz")), daq.Storage("disk")]
    with pytest.raises(daq.DaqInputError, match="unknown node 'ghost'"):
        daq.System(nodes, [daq.Link("d", "disk"), daq.Link("ghost", "disk")])


def test_sink_must_be_storage():
    nodes = [daq.Detector("d", event_size=Q_(1, "B/event"), rate=Q_(1, "Hz")), daq.Processor("merge")]
    with pytest.raises(daq.DaqInputError, match="sink 'merge' must be a Storage"):
        daq.System(nodes, [daq.Link("d", "merge")])


def test_duplicate_node_rejected():
    nodes = [daq.Storage("disk"), daq.Storage("disk")]
    with pytest.raises(daq.DaqInputError, match="duplicate node name 'disk'"):
        daq.System(nodes, [])


def test_improvement_strength_checked():
    with pytest.raises(daq.DaqInputError, match="pixel_reduction must lie in"):
        daq_scenarios.Improvements(smart_pixels=True, pixel_reduction=1.2)


def test_required_speedup_meets_budget(baseline):
    from lib.costmodels import daq_budget

    factor = daq_budget.required_speedup(baseline, "Global", Q_(10, "MW"))
    faster = daq_scenarios.improved_system(
        SURROGATE, hlt_complexity=daq_scenarios.HLT_WALLTIME.with_speedup(factor))
    assert daq.evaluate(faster).total_power.to("MW").magnitude == pytest.approx(10.0)


def test_required_year_meets_budget(baseline):
    from lib.costmodels import daq_budget

    year = daq_budget.required_year(baseline, Q_(10, "MW"))
    later = daq.evaluate(daq_scenarios.hl_lhc_baseline(SURROGATE), year=year)
    assert later.total_power.to("MW").magnitude == pytest.approx(10.0)


def test_budget_in_wrong_unit_rejected(baseline):
    from lib.costmodels import daq_budget

    with pytest.raises(ValueError, match="budget must be a quantity in W"):
        daq_budget.required_year(baseline, Q_(10, "J"))
