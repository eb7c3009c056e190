"""Every real chapter at its ``ci`` profile: it runs, records its claims with every field, writes its tables."""

import csv
import json

import pytest

from compendium.project import Project

pytestmark = pytest.mark.slow

EXPECTED_CLAIMS = {
    "makespan": ["reactive_mean", "preemptive_mean", "reduction", "successes_per_arm", "significance",
                 "closed_form_matches_simulation"],
    "daq": ["power_reduction", "productivity_baseline", "productivity_best", "improvement_factor",
            "power_baseline", "precision_equals_recall"],
    "nowcasting": ["vh_compute_reduction", "vh_error_change", "drift_compute_reduction", "drift_error_change",
                   "combined_normalised_error"],
}
CLAIM_FIELDS = {"id", "value", "paper", "kind", "tolerance", "unit", "source", "note", "expect", "status"}
CHAPTERS = [chapter.name for chapter in Project.find().chapters()]


@pytest.fixture(scope="module")
def ci_record(ci_book):
    return json.loads((ci_book / "record.json").read_text())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_at_ci_profile(ci_record, chapter):
    entry = ci_record["chapters"][chapter]
    assert entry["status"] == "ok"
    assert entry["profile"] == "ci"
    assert entry["seed"] is not None


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_records_its_claims(ci_record, chapter):
    recorded = {claim["id"]: claim for claim in ci_record["chapters"][chapter]["claims"]}
    for name in EXPECTED_CLAIMS.get(chapter, []):
        assert f"{chapter}.{name}" in recorded
    for claim in recorded.values():
        assert set(claim) == CLAIM_FIELDS, claim["id"]
        assert claim["source"], claim["id"]
        assert claim["status"] in ("holds", "direction holds", "fails"), claim["id"]
        if claim["status"] == "fails" and claim["expect"] == "mismatch":
            assert claim["note"], claim["id"]


def test_daq_writes_configuration_table(ci_book):
    path = ci_book / "outputs" / "daq" / "table_configurations.csv"
    with open(path) as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["configuration", "pileup", "l1t_reduction", "power_MW", "precision", "recall", "f1",
                             "productivity_per_kJ", "energy_per_relevant_sample_kJ"]
    assert len(rows) >= 9


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_rendered(ci_book, chapter):
    page = (ci_book / "html" / "chapters" / f"{chapter}.html").read_text()
    assert "How this page was run" in page
    assert "(profile ci)" in page


def test_ledger_lists_every_claim(ci_book, ci_record):
    ledger = (ci_book / "html" / "generated" / "ledger.html").read_text()
    for entry in ci_record["chapters"].values():
        for claim in entry["claims"]:
            assert claim["id"] in ledger
