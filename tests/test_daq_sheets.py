"""Tests of the "cms-daq" sheet readers and of sheet-built against code-built systems."""

import shutil

import numpy as np
import openpyxl
import pytest

from lib import datasets
from lib.costmodels import daq, daq_scenarios, daq_sheets

SURROGATE = daq_scenarios.SURROGATE_L1T


@pytest.fixture(scope="module")
def folder():
    return datasets.fetch("cms-daq")


@pytest.fixture(scope="module")
def data(folder):
    return daq_sheets.read_dataset(folder)


@pytest.fixture(scope="module")
def walltime(data):
    return daq_sheets.walltime_model(data["walltime"])


def _both(data, walltime, stem, code_system):
    from_sheet = daq.evaluate(daq_sheets.cms_from_workbook(data["systems"][stem], SURROGATE, walltime))
    from_code = daq.evaluate(code_system)
    return from_sheet, from_code


def test_walltime_fit_matches_authors(walltime):
    fitted = [walltime.k3, walltime.k2, walltime.k1]
    published = [daq_scenarios.HLT_WALLTIME.k3, daq_scenarios.HLT_WALLTIME.k2, daq_scenarios.HLT_WALLTIME.k1]
    np.testing.assert_allclose(fitted, published, rtol=1e-5)


def test_walltime_has_34_points(data):
    assert len(data["walltime"]) == 34


def test_hl_lhc_sheet_power_matches_code(data, walltime):
    sheet, code = _both(data, walltime, "cms_system_200", daq_scenarios.hl_lhc_baseline(SURROGATE))
    assert sheet.total_power.magnitude == pytest.approx(code.total_power.magnitude, rel=1e-6)


def test_hl_lhc_sheet_f1_matches_code(data, walltime):
    sheet, code = _both(data, walltime, "cms_system_200", daq_scenarios.hl_lhc_baseline(SURROGATE))
    assert sheet.f1 == pytest.approx(code.f1, rel=1e-9)


def test_hl_lhc_sheet_link_powers_match_code(data, walltime):
    sheet, code = _both(data, walltime, "cms_system_200", daq_scenarios.hl_lhc_baseline(SURROGATE))
    for link, power in code.link_power.items():
        assert sheet.link_power[link].magnitude == pytest.approx(power.magnitude, rel=1e-9), link


def test_run3_sheet_power_matches_code(data, walltime):
    sheet, code = _both(data, walltime, "cms_system_60", daq_scenarios.run3_reference(SURROGATE))
    assert sheet.total_power.magnitude == pytest.approx(code.total_power.magnitude, rel=1e-6)


def test_run3_sheet_f1_matches_code(data, walltime):
    sheet, code = _both(data, walltime, "cms_system_60", daq_scenarios.run3_reference(SURROGATE))
    assert sheet.f1 == pytest.approx(code.f1, rel=1e-9)


def test_smart_pixel_sheet_matches_code(data, walltime):
    levers = daq_scenarios.Improvements(smart_pixels=True)
    sheet, code = _both(data, walltime, "cms_system_200_smartpx",
                        daq_scenarios.improved_system(SURROGATE, levers))
    assert sheet.total_power.magnitude == pytest.approx(code.total_power.magnitude, rel=1e-6)


def test_run4_sheet_matches_code(data, walltime):
    code = daq_scenarios.improved_system(SURROGATE, pileup=140.0, l1t_reduction=80.0)
    sheet, code = _both(data, walltime, "cms_system_140", code)
    assert sheet.total_power.magnitude == pytest.approx(code.total_power.magnitude, rel=1e-6)


def test_breakdown_matches_code_sizes(data):
    sizes = daq_scenarios.event_sizes(200.0)
    for row in data["breakdown"].itertuples():
        assert sizes[row.detector].to("B/event").magnitude == pytest.approx(row.pileup_200), row.detector


def test_run3_sizes_match_breakdown(data):
    sizes = daq_scenarios.event_sizes(60.0, phase2=False)
    for row in data["breakdown"].itertuples():
        assert sizes[row.detector].to("B/event").magnitude == pytest.approx(row.pileup_60, abs=1e-6), row.detector


def test_menu_has_twelve_rows(data):
    assert data["trigger_menu"].shares.size == 12


def test_menu_shares_sum_to_one(data):
    assert data["trigger_menu"].shares.sum() == pytest.approx(1.0)


def test_menu_thresholds(data):
    assert data["trigger_menu"].thresholds == {"jet": 320.0, "muon": 22.0, "egamma": 30.0, "tau": 38.0}


def test_smoothed_f1_shape(data):
    assert data["smoothed_f1"].shape == (101, 101)


def test_read_one_part(folder):
    assert set(daq_sheets.read_dataset(folder, part="turn_on_curves")) == {"jet", "muon", "egamma", "tau"}


def test_unknown_part_rejected(folder):
    with pytest.raises(ValueError, match="unknown part 'nothing'"):
        daq_sheets.read_dataset(folder, part="nothing")


def test_missing_column_names_sheet_and_column(folder, tmp_path):
    target = tmp_path / "cms_system_200.xlsx"
    shutil.copy(folder / "cms_system_200.xlsx", target)
    workbook = openpyxl.load_workbook(target)
    sheet = workbook["Triggers"]
    for column in range(1, sheet.max_column + 1):
        if sheet.cell(1, column).value == "Op Efficiency (J/op)":
            sheet.delete_cols(column)
            break
    workbook.save(target)
    with pytest.raises(daq_sheets.SheetError, match="sheet 'Triggers': missing column 'Op Efficiency \\(J/op\\)'"):
        daq_sheets.read_system_workbook(target)


def test_missing_curve_column_names_file(folder, tmp_path):
    shutil.copytree(folder / "l1t_data", tmp_path / "l1t_data")
    (tmp_path / "l1t_data" / "egamma.csv").write_text("energy,y\n1,0\n2,1\n")
    with pytest.raises(daq_sheets.SheetError, match="l1t_data/egamma.csv: missing column 'x'"):
        daq_sheets.read_turn_on_curves(tmp_path)


def test_l1t_row_without_classifier_rejected(data, walltime):
    with pytest.raises(daq_sheets.SheetError, match="'Intermediate': classifier 'L1T' is not in the sheet"):
        daq_sheets.system_from_workbook(data["systems"]["cms_system_200"])
