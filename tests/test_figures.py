"""Reading aids: every figure has alt text, and every citation resolves to references.bib.

A figure is a code-cell output with an image; its cell metadata must give
``mystnb.image.alt`` or a ``mystnb.figure`` caption.  The real chapters are
checked in the staged notebooks of the ``ci``-profile book (the executed
outputs with the current source's cell metadata, exactly what is rendered).
"""

import json
import re
import shutil
from pathlib import Path

import pytest

from compendium.build import load_notebook
from compendium.exercises import cell_source
from compendium.project import Project
from conftest import PROJECT, compendium, make_book

IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
BIB_KEY = re.compile(r"^@\w+\{\s*([^,\s]+)\s*,", re.MULTILINE)

TOC_CHAPTERS = [docname for docname in Project.load(PROJECT).toc_docnames() if docname.startswith("chapters/")]


def figures_without_alt(notebook):
    """Return the indices of code cells that show an image but give neither alt text nor a caption.

    NOTE: a figure glued with ``myst_nb.glue`` counts like any image output, so its cell needs the metadata
    too, although the page takes the alt text from the ``{glue:figure}`` directive.
    """
    missing = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        images = [output for output in cell.get("outputs", [])
                  if any(kind in output.get("data", {}) for kind in IMAGE_TYPES)]
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        alt = str((mystnb.get("image") or {}).get("alt", "")).strip()
        caption = str((mystnb.get("figure") or {}).get("caption", "")).strip()
        if images and not (alt or caption):
            missing.append(index)
    return missing


def check_alt_text(chapter, notebook):
    """Raise AssertionError naming the chapter and cells whose figures have no alt text."""
    missing = figures_without_alt(notebook)
    assert missing == [], (f"chapter {chapter!r}: figure output without alt text in cell(s) {missing}; give the cell "
                           f"metadata mystnb.image.alt (and mystnb.figure caption and name)")


def image_count(notebook):
    return sum(any(kind in output.get("data", {}) for kind in IMAGE_TYPES)
               for cell in notebook["cells"] for output in cell.get("outputs", []))


def rendered_notebook(build_dir, docname):
    """Return the staged notebook of a chapter (what the book renders), else its executed notebook."""
    staged = build_dir / "stage" / f"{docname}.ipynb"
    return load_notebook(staged if staged.is_file() else build_dir / "executed" / f"{Path(docname).name}.ipynb")


def cited_keys(text):
    return {key.strip() for group in CITE_ROLE.findall(text) for key in re.split(r"[,;]", group) if key.strip()}


def bib_keys():
    return set(BIB_KEY.findall((PROJECT / "references.bib").read_text()))


# Alt text -------------------------------------------------------------------------------------------------

def test_figure_with_alt_text_passes(exercise_book):
    notebook = rendered_notebook(exercise_book / "_build", "chapters/exercises")
    assert image_count(notebook) == 1
    check_alt_text("exercises", notebook)


def test_figure_without_alt_text_names_chapter(exercise_book):
    notebook = rendered_notebook(exercise_book / "_build", "chapters/hello")
    figure_cell = next(index for index, cell in enumerate(notebook["cells"]) if "plt.subplots" in cell_source(cell))
    with pytest.raises(AssertionError, match=rf"chapter 'hello': figure output without alt text in cell\(s\) "
                                             rf"\[{figure_cell}\]"):
        check_alt_text("hello", notebook)


def test_caption_alone_counts_as_description():
    cell = {"cell_type": "code", "metadata": {"mystnb": {"figure": {"caption": "A curve."}}},
            "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBOR"}}], "source": ""}
    assert figures_without_alt({"cells": [cell]}) == []


def test_blank_alt_text_does_not_count():
    cell = {"cell_type": "code", "metadata": {"mystnb": {"image": {"alt": "  "}}},
            "outputs": [{"output_type": "display_data", "data": {"image/svg+xml": "<svg/>"}}], "source": ""}
    assert figures_without_alt({"cells": [cell]}) == [0]


@pytest.mark.slow
@pytest.mark.parametrize("docname", TOC_CHAPTERS)
def test_real_chapter_figures_have_alt_text(ci_book, docname):
    notebook = rendered_notebook(ci_book, docname)
    assert image_count(notebook) > 0, f"{docname}: no figure in the ci-profile run"
    check_alt_text(Path(docname).name, notebook)


# Citations -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("docname", TOC_CHAPTERS)
def test_real_chapter_citations_resolve(docname):
    text = "\n".join(cell_source(cell) for cell in load_notebook(PROJECT / f"{docname}.ipynb")["cells"]
                     if cell["cell_type"] == "markdown")
    keys = cited_keys(text)
    assert keys, f"{docname} cites nothing"
    assert sorted(keys - bib_keys()) == [], f"{docname} cites keys missing from references.bib"


def test_bibliography_page_lists_all():
    assert "bibliography" in Project.load(PROJECT).toc_docnames()
    text = (PROJECT / "bibliography.md").read_text()
    assert "```{bibliography}\n:all:\n```" in text


@pytest.mark.slow
def test_unknown_citation_fails_the_build(exercise_book, tmp_path):
    root = tmp_path / "book"
    shutil.copytree(exercise_book, root, symlinks=True)
    notebook_path = root / "chapters" / "exercises.ipynb"
    notebook = load_notebook(notebook_path)
    notebook["cells"].append({"cell_type": "markdown", "metadata": {},
                              "source": "As shown by {cite:p}`watson2023optimal` and {cite:t}`nosuchkey2099`."})
    notebook_path.write_text(json.dumps(notebook))
    result = compendium(root, "build")
    assert result.returncode == 1
    assert "nosuchkey2099" in result.stderr


@pytest.mark.parametrize("docname", TOC_CHAPTERS)
def test_real_chapter_has_no_bibliography_of_its_own(docname):
    notebook = load_notebook(PROJECT / f"{docname}.ipynb")
    directives = [index for index, cell in enumerate(notebook["cells"])
                  if cell["cell_type"] == "markdown" and "{bibliography}" in cell_source(cell)]
    assert directives == [], (f"{docname}: a {{bibliography}} in cell(s) {directives} repeats entries of the "
                              f"bibliography page (duplicate citation, which fails the build); link to it instead")


@pytest.mark.slow
def test_second_bibliography_fails_the_build(tmp_path):
    root = make_book(tmp_path / "book", ["exercises"], toc_extra=("bibliography",))
    shutil.copy(PROJECT / "bibliography.md", root)
    notebook_path = root / "chapters" / "exercises.ipynb"
    notebook = load_notebook(notebook_path)
    notebook["cells"].append({"cell_type": "markdown", "metadata": {},
                              "source": "## References\n\nAfter {cite:t}`watson2023optimal`.\n\n"
                                        "```{bibliography}\n:filter: docname in docnames\n```"})
    notebook_path.write_text(json.dumps(notebook))
    result = compendium(root, "build")
    assert result.returncode == 1
    assert 'duplicate citation for key "watson2023optimal"' in result.stderr
