"""Exercises and solutions pair up: the check on fixture notebooks, on the real chapters, and in a real build."""

from pathlib import Path

import pytest

from compendium import exercises
from compendium.build import load_notebook
from compendium.errors import ConfigurationError
from compendium.project import Project
from conftest import FIXTURE_NOTEBOOKS, PROJECT, compendium, make_book

TOC_CHAPTERS = [docname for docname in Project.load(PROJECT).toc_docnames() if docname.startswith("chapters/")]


def fixture(name):
    return load_notebook(FIXTURE_NOTEBOOKS / f"{name}.ipynb")


def markdown_notebook(*sources):
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": source} for source in sources]}


def failure_message(chapter, notebook):
    with pytest.raises(ConfigurationError) as caught:
        exercises.check_pairs(chapter, notebook)
    return str(caught.value)


def test_paired_fixture_returns_its_labels():
    assert exercises.check_pairs("exercises", fixture("exercises")) == ["fixture-sum", "fixture-explain"]


def test_example_in_code_fence_ignored():
    labels = [item.label for item in exercises.directives(fixture("exercises"))]
    assert "fixture-not-real" not in labels


def test_gated_solution_spans_cells():
    found = exercises.directives(fixture("exercises"))
    (start, end), = exercises.gated_solutions(found)
    assert (start.label, end.cell - start.cell) == ("fixture-sum", 2)


@pytest.mark.parametrize("chapter, label, reason", [
    ("unsolved", "unsolved-alone", "has no solution"),
    ("orphan", "orphan-missing", "refers to no exercise"),
    ("unclosed", "unclosed-open", "has no solution-end"),
])
def test_bad_fixture_names_chapter_and_label(chapter, label, reason):
    message = failure_message(chapter, fixture(chapter))
    assert message.startswith(f"chapter {chapter!r}: ")
    assert label in message
    assert reason in message


def test_solution_end_without_start():
    notebook = markdown_notebook("```{exercise} A\n:label: a\n```\n\n```{solution} a\n```", "```{solution-end}\n```")
    assert "solution-end in cell 1 has no solution-start" in failure_message("tiny", notebook)


def test_second_solution_start_before_end():
    notebook = markdown_notebook("```{exercise} A\n:label: a\n```", "```{exercise} B\n:label: b\n```",
                                 "```{solution-start} a\n```", "```{solution-start} b\n```",
                                 "```{solution-end}\n```")
    assert "solution-start 'a' (cell 2) has no solution-end before the next solution-start 'b'" in \
        failure_message("tiny", notebook)


def test_exercise_without_label():
    notebook = markdown_notebook("```{exercise} Nameless\nDo something.\n```")
    assert "exercise 'Nameless' (cell 0) has no :label:" in failure_message("tiny", notebook)


def test_duplicate_labels():
    notebook = markdown_notebook("```{exercise} A\n:label: a\n```", "```{exercise} B\n:label: a\n```",
                                 "```{solution} a\n```")
    assert "several exercises have the label 'a'" in failure_message("tiny", notebook)


def test_colon_fence_and_yaml_options():
    notebook = markdown_notebook(":::{exercise} A\n---\nlabel: a\n---\nText.\n:::",
                                 "::::{solution} a\n:::{note}\nInside.\n:::\n::::")
    assert exercises.check_pairs("tiny", notebook) == ["a"]


def test_exercise_nested_in_admonition():
    notebook = markdown_notebook("````{tip}\n```{exercise} A\n:label: a\n```\n````")
    assert "exercise 'a' has no solution" in failure_message("tiny", notebook)


@pytest.mark.parametrize("docname", TOC_CHAPTERS)
def test_real_chapter_has_three_to_five_paired_exercises(docname):
    path = PROJECT / f"{docname}.ipynb"
    assert path.is_file(), f"{docname}.ipynb is listed in _toc.yml but missing"
    labels = exercises.check_pairs(Path(docname).name, load_notebook(path))
    assert 3 <= len(labels) <= 5, f"{docname}: {len(labels)} exercises ({labels}); the contract asks for 3 to 5"


@pytest.mark.slow
@pytest.mark.parametrize("chapter, label", [("unsolved", "unsolved-alone"), ("orphan", "orphan-missing")])
def test_build_fails_naming_chapter_and_label(tmp_path, chapter, label):
    root = make_book(tmp_path / "book", [chapter])
    result = compendium(root, "build")
    assert result.returncode == 2
    assert f"chapter {chapter!r}: " in result.stderr
    assert label in result.stderr
    assert not (root / "_build" / "html").exists()
