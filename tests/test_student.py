"""Student copies: solutions cut out and replaced by stubs, outputs cleared, parameters kept; the instructor copy runs."""

import copy
import os
import shutil
from pathlib import Path

import pytest

from compendium import exercises, student
from compendium.build import load_notebook
from compendium.errors import ConfigurationError
from compendium.project import Project
from conftest import FIXTURE_NOTEBOOKS, PROJECT, compendium, make_book, read_notebook

TOC_CHAPTERS = [docname for docname in Project.load(PROJECT).toc_docnames() if docname.startswith("chapters/")]
MARKERS = ("SOLUTION_MARKER_GATED", "SOLUTION_MARKER_PROSE", "SOLUTION_MARKER_NESTED")


def text_of(notebook):
    return "\n".join(exercises.cell_source(cell) for cell in notebook["cells"])


def code_cells(notebook):
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


@pytest.fixture
def source():
    return load_notebook(FIXTURE_NOTEBOOKS / "exercises.ipynb")


@pytest.fixture
def copied(source):
    return student.student_copy("exercises", source)


@pytest.mark.parametrize("marker", MARKERS)
def test_no_solution_text_survives(copied, marker):
    assert marker not in text_of(copied)


def test_one_stub_per_exercise_in_order(copied):
    stubs = [exercises.cell_source(cell) for cell in copied["cells"]
             if student.STUB_TAG in cell["metadata"].get("tags", [])]
    assert stubs == [exercises.cell_source(student.stub_cell("fixture-sum")),
                     exercises.cell_source(student.stub_cell("fixture-explain"))]


def test_stub_raises_naming_the_exercise():
    stub = exercises.cell_source(student.stub_cell("fixture-sum"))
    with pytest.raises(NotImplementedError, match="exercise fixture-sum: write your solution here"):
        exec(compile(stub, "stub", "exec"), {})


def test_parameters_cell_kept(source, copied):
    def parameters(notebook):
        return [cell for cell in notebook["cells"] if "parameters" in cell["metadata"].get("tags", [])]
    assert parameters(copied) == parameters(source)


def test_exercises_and_surrounding_text_kept(copied):
    text = text_of(copied)
    assert ":label: fixture-sum" in text
    assert ":label: fixture-explain" in text
    assert "Text after the last solution stays in the student copy." in text
    assert ":label: fixture-not-real" in text


def test_outputs_cleared():
    executed_like = load_notebook(FIXTURE_NOTEBOOKS / "exercises.ipynb")
    for cell in code_cells(executed_like):
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "old output\n"}]
        cell["execution_count"] = 4
    copied = student.student_copy("exercises", executed_like)
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code_cells(copied))


def test_source_not_modified(source):
    before = copy.deepcopy(source)
    student.student_copy("exercises", source)
    assert source == before


def test_unpaired_chapter_gets_no_copy():
    with pytest.raises(ConfigurationError, match="unsolved-alone"):
        student.student_copy("unsolved", load_notebook(FIXTURE_NOTEBOOKS / "unsolved.ipynb"))


@pytest.mark.parametrize("docname", TOC_CHAPTERS)
def test_real_chapter_solution_code_removed(docname):
    notebook = load_notebook(PROJECT / f"{docname}.ipynb")
    found = exercises.directives(notebook)
    solution_code = [exercises.cell_source(cell) for start, end in exercises.gated_solutions(found)
                     for cell in notebook["cells"][start.cell + 1:end.cell] if cell["cell_type"] == "code"]
    copied_code = [exercises.cell_source(cell) for cell in code_cells(student.student_copy(Path(docname).name,
                                                                                          notebook))]
    leaked = [code.splitlines()[0] for code in solution_code if code.strip() and code in copied_code]
    assert leaked == []


@pytest.mark.slow
def test_student_command_and_instructor_run(exercise_book, tmp_path):
    root = tmp_path / "book"
    shutil.copytree(exercise_book, root, symlinks=True)
    instructor = read_notebook(root / "_build" / "executed" / "exercises.ipynb")
    printed = ["".join(output.get("text", "")) for cell in instructor["cells"] for output in cell.get("outputs", [])]
    assert "10\n" in printed

    stale = root / "_build" / "student" / "removed.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    result = compendium(root, "student")
    assert result.returncode == 0, result.stderr
    written = sorted(path.name for path in (root / "_build" / "student").iterdir())
    assert written == ["exercises.ipynb", "hello.ipynb"]
    copied = read_notebook(root / "_build" / "student" / "exercises.ipynb")
    assert all(marker not in text_of(copied) for marker in MARKERS)


@pytest.mark.slow
def test_student_copy_stops_at_first_exercise(exercise_book, tmp_path, monkeypatch):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    root = tmp_path / "book"
    shutil.copytree(exercise_book, root, symlinks=True)
    assert compendium(root, "student", "exercises").returncode == 0
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with pytest.raises(PapermillExecutionError) as caught:
        papermill.execute_notebook(str(root / "_build" / "student" / "exercises.ipynb"), str(tmp_path / "ran.ipynb"),
                                   kernel_name="python3", cwd=str(root / "chapters"), progress_bar=False,
                                   execution_timeout=120)
    assert caught.value.ename == "NotImplementedError"
    assert "exercise fixture-sum: write your solution here" in caught.value.evalue


@pytest.mark.slow
def test_student_command_refuses_unpaired_chapter(tmp_path):
    root = make_book(tmp_path / "book", ["exercises", "orphan"])
    result = compendium(root, "student")
    assert result.returncode == 2
    assert "chapter 'orphan'" in result.stderr
    assert "orphan-missing" in result.stderr
    assert not (root / "_build" / "student" / "exercises.ipynb").exists()
