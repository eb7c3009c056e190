"""compendium.bench without timing anything: the page, the ratios and targets, the staged page, injection."""

import json

from compendium import bench
from compendium.project import Project
from compendium.render import stage_files

from conftest import FIXTURE_NOTEBOOKS, make_book


def sample(cold_ours=40.0, force=90.0, overhead_cold=None):
    """A bench.json dict as :func:`compendium.bench.measure` writes it, with made-up seconds."""
    data = {
        "measured_at": "2026-12-04T21:00:00Z", "bench_seconds": 600.0, "profile": "ci", "repeats": 3,
        "machine": {"cores": 2, "memory_gib": 23.5, "processor": "Test CPU", "python": "3.11.7", "system": "Linux"},
        "chapters": {"makespan": {"execution_s": 30.0, "threads": 1, "alone_all_cores_s": 15.0,
                                  "peak_memory_mib": 420.0},
                     "daq": {"execution_s": 20.0, "threads": 1, "alone_all_cores_s": 19.0, "peak_memory_mib": None}},
        "cold": bench._with_ratios({"ours": cold_ours, "jupyter_book_force": force, "jupyter_book_cache": 95.0,
                                    "papermill_loop": 80.0}),
        "no_change": {"ours": {"median_s": 1.0, "runs_s": [1.0, 1.1, 0.9]},
                      "jupyter_book_cache": {"median_s": 2.0, "runs_s": [2.0, 2.0, 2.0]},
                      "jupyter_book_force": {"median_s": 2.5, "runs_s": [2.5, 2.5, 2.5]},
                      "jupyter_book_force_all": 88.0,
                      "ratios": {"jupyter_book_cache": 2.0, "jupyter_book_force": 2.5, "jupyter_book_force_all": 88.0}},
        "changed_parameter": {"chapter": "daq", "parameter": "seed", "papermill_loop": 80.0,
                              "ours": {"median_s": 25.0, "runs_s": [25.0]},
                              "jupyter_book_cache": {"median_s": 24.0, "runs_s": [24.0]},
                              "jupyter_book_force": {"median_s": 24.0, "runs_s": [24.0]},
                              "ratios": {"jupyter_book_cache": 1.0, "jupyter_book_force": 1.0}},
        "floor": {"render_s": 5.0, "chapter_sum_s": 50.0, "cores": 2, "floor_s": 30.0, "longest_chapter_s": 30.0,
                  "schedule_s": 30.0, "longest_first_schedule_s": 30.0, "other_s": cold_ours - 35.0,
                  "overhead_percent": round(100 * (cold_ours - 30.0) / 30.0, 1)},
    }
    data["targets"] = bench._targets(data)
    return data


def test_ratios_are_alternative_over_ours():
    assert bench._with_ratios({"ours": 40.0, "papermill_loop": 80.0})["ratios"] == {"papermill_loop": 2.0}


def test_list_schedule_fills_free_slots():
    assert bench.list_schedule([23.0, 33.0, 48.0], 2) == 71.0


def test_list_schedule_longest_first():
    assert bench.list_schedule([48.0, 33.0, 23.0], 2) == 56.0


def test_phased_schedule_runs_all_core_chapter_alone():
    assert bench.phased_schedule({"a": 13.0, "b": 10.0, "c": 22.0}, {"a": 1, "b": 1, "c": 2}, 2) == 35.0


def test_core_floor_weights_threads():
    data = sample()
    data["chapters"]["daq"]["threads"] = 2
    assert bench.core_floor(data) == (30.0 + 40.0) / 2 + 5.0


def test_targets_met_and_missed():
    targets = sample(cold_ours=40.0, force=90.0)["targets"]
    assert [targets[key]["met"] for key in ("cold_vs_force", "no_change_vs_force", "overhead_percent")] == \
        [True, True, False]


def test_page_not_measured_yet():
    assert "Not measured yet: run `make bench`" in bench.bench_markdown(None)


def test_page_states_machine_and_noise():
    page = bench.bench_markdown(sample())
    assert "on 2 cores and 23.5 GiB of memory" in page
    assert "noisy" in page
    assert "medians of 3 runs" in page


def test_page_gives_ratio_and_chapters():
    page = bench.bench_markdown(sample(cold_ours=40.0, force=90.0))
    assert "| 90.0 s | 2.2× |" in page
    assert "| makespan | 30.0 s | 1 | 15.0 s | 420 MiB |" in page


def test_page_missed_target_margin():
    page = bench.bench_markdown(sample(cold_ours=60.0, force=90.0))
    assert "**missed** (by 0.3×" in page
    assert "**missed** (by 85 points" in page
    assert "start-up, planning and bookkeeping take 25.0 s" in page
    assert "makespan ran with 1 thread(s) in 30.0 s but alone on all 2 cores in 15.0 s" in page


def test_page_includes_daq_sweep_when_measured():
    data = {**sample(), "daq_sweep": {"vectorised_per_s": 100000.0, "loop_per_s": 50.0, "n": 10000, "n_loop": 300}}
    assert "100,000 configurations per second" in bench.bench_markdown(data)


def test_bench_page_staged_from_bench_json(tmp_path, monkeypatch):
    root = make_book(tmp_path / "book", ["hello"], toc_extra=("generated/ledger", "generated/status",
                                                               "generated/bench"))
    monkeypatch.setenv("COMPENDIUM_BUILD_DIR", str(tmp_path / "build"))
    project = Project.load(root)
    assert "Not measured yet" in stage_files(project, {"chapters": {}})["generated/bench.md"].decode()
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "bench.json").write_text(json.dumps(sample()))
    assert "## Cold build" in stage_files(project, {"chapters": {}})["generated/bench.md"].decode()


def test_no_bench_page_outside_toc(tmp_path):
    project = Project.load(make_book(tmp_path / "book", ["hello"]))
    assert "generated/bench.md" not in stage_files(project, {"chapters": {}})


def test_parameters_injected_after_parameters_cell():
    notebook = json.loads(bench.parameterised(FIXTURE_NOTEBOOKS / "hello.ipynb", {"seed": 4}))
    injected = notebook["cells"][2]
    assert injected["metadata"]["tags"] == ["injected-parameters"]
    assert "seed = 4" in "".join(injected["source"])
