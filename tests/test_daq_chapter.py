"""Runs the DAQ chapter at its ci profile and checks its claims and its results table (slow)."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lib.claims import CLAIM_MIME
from lib.costmodels.daq_scenarios import TABLE_COLUMNS

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    papermill = pytest.importorskip("papermill")
    folder = tmp_path_factory.mktemp("daq")
    parameters = yaml.safe_load((CHAPTERS / "daq.ci.yml").read_text())
    output = folder / "daq.out.ipynb"

    # The kernel inherits these variables when it starts.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        patch.setenv("COMPENDIUM_OUTPUT_DIR", str(folder))
        papermill.execute_notebook(str(CHAPTERS / "daq.ipynb"), str(output), parameters=parameters,
                                   kernel_name="python3", cwd=str(CHAPTERS), progress_bar=False)
    return folder, json.loads(output.read_text())


def _claims(notebook):
    return [output["data"][CLAIM_MIME] for cell in notebook["cells"] for output in cell.get("outputs", [])
            if CLAIM_MIME in output.get("data", {})]


@pytest.mark.slow
def test_chapter_records_six_claims(executed):
    assert len(_claims(executed[1])) == 6


@pytest.mark.slow
def test_chapter_claims_hold(executed):
    failing = [claim["id"] for claim in _claims(executed[1]) if claim["status"] != "holds"]
    assert failing == []


@pytest.mark.slow
def test_chapter_table_columns(executed):
    table = pd.read_csv(executed[0] / "table_configurations.csv")
    assert list(table.columns) == list(TABLE_COLUMNS)


@pytest.mark.slow
def test_chapter_table_has_nine_rows(executed):
    table = pd.read_csv(executed[0] / "table_configurations.csv")
    assert len(table) == 9
