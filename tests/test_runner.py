"""The runner end to end: real papermill runs of fixture chapters and real Jupyter Book builds."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import COMPENDIUM, compendium, read_notebook, read_record

pytestmark = pytest.mark.slow


def executed(root, name):
    return read_notebook(Path(root) / "_build" / "executed" / f"{name}.ipynb")


def source_of(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def started_count(process, name):
    return process.stderr.count(f"{name}: started")


def test_unknown_parameter_rejected_before_kernel(book):
    root = book("hello")
    result = compendium(root, "run", "hello", "-p", "scal", "3")
    assert result.returncode == 2
    assert "no parameter 'scal'; did you mean 'scale'?" in result.stderr
    assert "started" not in result.stderr
    assert not (root / "_build" / "executed").exists()


def test_wrong_type_rejected_before_kernel(book):
    root = book("hello")
    result = compendium(root, "run", "hello", "-p", "sizes", "[1, two]")
    assert result.returncode == 2
    assert "parameter 'sizes' expects list[int]" in result.stderr
    assert "started" not in result.stderr


def test_missing_parameters_tag_names_chapter(book):
    root = book("noparams")
    result = compendium(root, "build", "--no-render")
    assert result.returncode == 2
    assert "chapter 'noparams' has no code cell tagged 'parameters'" in result.stderr


def test_command_line_and_file_inject_same_cell(book, tmp_path):
    root = book("hello")
    first = compendium(root, "run", "hello", "--no-render", "-p", "label", "007", "-p", "sizes", "[4, 5]",
                       "-p", "scale", "1e-3")
    assert first.returncode == 0, first.stderr
    injected_p = [source_of(cell) for cell in executed(root, "hello")["cells"]
                  if "injected-parameters" in cell["metadata"].get("tags", [])]

    params = tmp_path / "params.yml"
    params.write_text("label: 007\nsizes: [4, 5]\nscale: 1e-3\n")
    second = compendium(root, "run", "hello", "--no-render", "--force", "-f", str(params))
    assert second.returncode == 0, second.stderr
    injected_f = [source_of(cell) for cell in executed(root, "hello")["cells"]
                  if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert injected_p == injected_f
    assert "label = \"007\"" in injected_f[0]


def test_failures_reported_and_others_built(book):
    root = book("hello", "raises", "magic", "sleepy", "dies")
    result = compendium(root, "build", "--jobs", "2")
    assert result.returncode == 1
    log = result.stderr
    assert "raises: failed in cell 3 (exception)" in log
    assert "ValueError: boom in fixture" in log
    assert "magic: failed in cell 2 (exception)" in log
    assert "sleepy: failed in cell 2 (cell timeout)" in log
    assert "dies: failed in cell 2 (dead kernel)" in log
    for name in ("raises", "magic", "sleepy", "dies"):
        assert (root / "_build" / "failed" / f"{name}.ipynb").is_file(), name
        assert read_record(root)["chapters"][name]["status"] == "failed"
    assert read_record(root)["chapters"]["hello"]["status"] == "ok"
    assert (root / "_build" / "html" / "chapters" / "hello.html").is_file()
    raises_page = (root / "_build" / "html" / "chapters" / "raises.html").read_text()
    assert "failed" in raises_page


def test_failed_chapter_keeps_last_good_output(book):
    root = book("hello")
    assert compendium(root, "build").returncode == 0
    good = executed(root, "hello")
    notebook = root / "chapters" / "hello.ipynb"
    content = read_notebook(notebook)
    content["cells"][3]["source"] = "raise RuntimeError('broken on purpose')"
    notebook.write_text(json.dumps(content))

    result = compendium(root, "build")
    assert result.returncode == 1
    assert "hello: failed in cell 3" in result.stderr
    assert executed(root, "hello") == good
    page = (root / "_build" / "html" / "chapters" / "hello.html").read_text()
    assert "failed" in page
    assert "last good run" in page


def test_cache_rules(book):
    root = book("hello")
    assert started_count(compendium(root, "build", "--no-render"), "hello") == 1

    notebook = root / "chapters" / "hello.ipynb"
    content = read_notebook(notebook)
    content["cells"][0]["source"] += "\n\nAn added sentence."
    content["cells"][2]["metadata"]["tags"] = ["hide-input"]
    notebook.write_text(json.dumps(content))
    unchanged = compendium(root, "build", "--no-render")
    assert started_count(unchanged, "hello") == 0
    assert "hello: fresh" in unchanged.stderr

    (root / "lib" / "extra.py").write_text('"""A new module."""\n')
    assert started_count(compendium(root, "build", "--no-render"), "hello") == 1

    changed = compendium(root, "run", "hello", "--no-render", "-p", "scale", "5")
    assert started_count(changed, "hello") == 1
    back = compendium(root, "build", "--no-render")
    assert started_count(back, "hello") == 0
    assert "hello: cached" in back.stderr
    again = compendium(root, "run", "hello", "--no-render", "-p", "scale", "5")
    assert "hello: cached" in again.stderr

    (root / "chapters" / "hello_input.txt").write_text("changed data\n")
    assert started_count(compendium(root, "build", "--no-render"), "hello") == 1


def test_same_result_from_any_folder(book, tmp_path):
    root = book("hello")
    outputs = []
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for folder in (root, root / "chapters", elsewhere):
        result = compendium(root, "run", "hello", "--no-render", "--force", cwd=folder)
        assert result.returncode == 0, result.stderr
        cells = executed(root, "hello")["cells"]
        printed = [output.get("text", "") for cell in cells for output in cell.get("outputs", [])
                   if output.get("name") == "stdout"]
        outputs.append((printed, read_record(root)["chapters"]["hello"]["claims"]))
    assert outputs[0] == outputs[1] == outputs[2]
    assert "here=beside the notebook" in str(outputs[0][0])


def test_two_figures_with_agg_backend(book):
    root = book("hello")
    result = compendium(root, "build", "--no-render", env={"MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    images = [output for cell in executed(root, "hello")["cells"] for output in cell.get("outputs", [])
              if "image/png" in output.get("data", {})]
    assert len(images) == 2


def test_same_parameters_same_claims(book):
    root = book("hello", "ledger")
    assert compendium(root, "build", "--no-render").returncode == 0
    first = {name: entry["claims"] for name, entry in read_record(root)["chapters"].items()}
    assert compendium(root, "build", "--no-render", "--force", "all").returncode == 0
    second = {name: entry["claims"] for name, entry in read_record(root)["chapters"].items()}
    assert first == second
    assert first["hello"][0]["value"] != 0


def test_killed_build_then_clean_rebuild(book):
    root = book("hello", "ledger", "sleepy")
    notebook = root / "chapters" / "sleepy.ipynb"
    content = read_notebook(notebook)
    content["metadata"]["compendium"]["cell_timeout"] = 60
    content["cells"][1]["source"] = "seed = 1  # seed (-)\nseconds = 4  # how long to sleep (s)\n"
    notebook.write_text(json.dumps(content))

    environment = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    process = subprocess.Popen([*COMPENDIUM, "--root", str(root), "build", "--jobs", "1"], cwd=root,
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (root / "_build" / "executed" / "hello.ipynb").exists():
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()

    result = compendium(root, "build")
    assert result.returncode == 0, result.stderr
    state = read_record(root)
    assert {name: entry["status"] for name, entry in state["chapters"].items()} == \
        {"hello": "ok", "ledger": "ok", "sleepy": "ok"}
    for name in ("hello", "ledger", "sleepy"):
        notebook = executed(root, name)
        assert notebook["metadata"]["compendium"]["run"]["key"] == state["chapters"][name]["key"]
        assert (root / "_build" / "html" / "chapters" / f"{name}.html").is_file()
    leftovers = list((root / "_build" / "executed").glob(".*.tmp"))
    assert leftovers == []


def test_page_shows_parameters_and_status(book):
    root = book("hello", "ledger")
    result = compendium(root, "run", "hello", "-p", "scale", "3")
    assert result.returncode == 0, result.stderr
    page = (root / "_build" / "html" / "chapters" / "hello.html").read_text()
    assert "How this page was run" in page
    assert "<strong>3.0</strong> (-p)" in page
    assert "Seed <strong>3</strong>" in page
    status = (root / "_build" / "html" / "generated" / "status.html").read_text()
    assert "scale=3.0" in status


def test_ledger_page_shows_passing_and_failing(book):
    root = book("ledger")
    result = compendium(root, "build")
    assert result.returncode == 0, result.stderr
    ledger = (root / "_build" / "html" / "generated" / "ledger.html").read_text()
    assert "ledger.holds" in ledger
    assert "ledger.fails" in ledger
    assert "<strong>fails</strong>" in ledger
    assert "1 of 2 claims hold" in ledger
    check = compendium(root, "claims", "--check")
    assert check.returncode == 1
    assert "claim ledger.fails is expected to hold but fails" in check.stderr


def test_missing_glue_key_fails_render(book):
    root = book("hello")
    assert compendium(root, "build").returncode == 0
    before = (root / "_build" / "html").resolve()
    notebook = root / "chapters" / "hello.ipynb"
    content = read_notebook(notebook)
    content["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "Missing {glue:text}`no_such_key:.2f`."})
    notebook.write_text(json.dumps(content))
    result = compendium(root, "build")
    assert result.returncode == 1
    assert "Jupyter Book failed" in result.stderr
    assert (root / "_build" / "html").resolve() == before


def test_markdown_edit_rerenders_without_execution(book):
    root = book("hello")
    assert compendium(root, "build").returncode == 0
    notebook = root / "chapters" / "hello.ipynb"
    content = read_notebook(notebook)
    content["cells"][0]["source"] += "\n\nA sentence added after the run."
    notebook.write_text(json.dumps(content))
    result = compendium(root, "build")
    assert result.returncode == 0, result.stderr
    assert started_count(result, "hello") == 0
    page = (root / "_build" / "html" / "chapters" / "hello.html").read_text()
    assert "A sentence added after the run." in page
    assert "The total is" in page
