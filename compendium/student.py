"""Student copies of the chapters: the notebooks without solutions and without outputs.

``compendium student`` (``make student``) writes ``<build dir>/student/<chapter>.ipynb``
for every chapter in ``_toc.yml``.  Every solution is cut out: the cells from a
``{solution-start}`` to its ``{solution-end}`` (markdown and code), and each
``{solution}`` directive.  In its place goes a code cell that raises
``NotImplementedError`` naming the exercise, so running the copy stops at the
first exercise the student has not done.  Outputs and execution counts are
cleared; the parameters cell and everything else stay as in the source.
"""

import copy
import json
import logging

from compendium import exercises
from compendium.notebook import cell_source, load_notebook
from compendium.cache import atomic_write_text

log = logging.getLogger("compendium")

STUB_TAG = "student-exercise"
NOTE_TAG = "student-note"


def stub_cell(label):
    """Return the code cell that replaces the solution of exercise ``label`` in the student copy."""
    source = (f"# Exercise {label}: replace the next line with your solution.\n"
              f'raise NotImplementedError("exercise {label}: write your solution here")')
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": [STUB_TAG]}, "outputs": [],
            "source": source}


def student_copy(chapter_name, notebook):
    """Return a copy of ``notebook`` with its solutions replaced by stubs and its outputs cleared.

    Parameters
    ----------
    chapter_name : str
        Chapter name, for error messages and the note at the top of the copy.
    notebook : dict
        The chapter's source notebook (nbformat 4 as a dict); it is not modified.

    Raises
    ------
    ConfigurationError
        If the chapter's exercises and solutions do not pair up (see
        :func:`compendium.exercises.check_pairs`).  No copy is made then, so an
        unclosed ``solution-start`` cannot leak its solution into the copy.
    """
    exercises.check_pairs(chapter_name, notebook)
    found = exercises.directives(notebook)
    spans = [(start.cell, start.first_line, end.cell, end.last_line, start.label)
             for start, end in exercises.gated_solutions(found)]
    spans += [(item.cell, item.first_line, item.cell, item.last_line, item.label)
              for item in found if item.name == "solution"]
    spans.sort()

    cells = []
    for index, cell in enumerate(notebook["cells"]):
        if any(first < index < last for first, _, last, _, _ in spans):
            continue
        touching = [span for span in spans if index in (span[0], span[2])]
        if touching:
            cells.extend(_cut(cell, index, touching))
        else:
            cells.append(_cleared(cell))

    copied = copy.deepcopy(notebook)
    copied["cells"] = _with_note(cells, chapter_name)
    if (copied.get("nbformat"), copied.get("nbformat_minor", 0)) >= (4, 5):
        _give_ids(copied["cells"])
    copied.get("metadata", {}).get("compendium", {}).pop("run", None)
    copied.get("metadata", {}).pop("papermill", None)
    return copied


def _cut(cell, index, spans):
    """Split a markdown cell around the solution spans that start or end in it, with a stub per solution."""
    lines = cell_source(cell).splitlines(keepends=True)
    pieces = []
    kept_from = 0
    for first_cell, first_line, last_cell, last_line, label in spans:
        if first_cell == index:
            pieces.append(_markdown(cell, lines[kept_from:first_line]))
            pieces.append(stub_cell(label))
            kept_from = None
        if last_cell == index:
            kept_from = last_line + 1
    if kept_from is not None:
        pieces.append(_markdown(cell, lines[kept_from:]))
    return [piece for piece in pieces if piece is not None]


def _markdown(cell, lines):
    text = "".join(lines).strip("\n")
    if not text.strip():
        return None
    return {"cell_type": "markdown", "metadata": copy.deepcopy(cell.get("metadata", {})), "source": text}


def _cleared(cell):
    cell = copy.deepcopy(cell)
    if cell["cell_type"] == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    return cell


def _with_note(cells, chapter_name):
    """Put a short note after the title cell saying what the student copy leaves out."""
    note = {"cell_type": "markdown", "metadata": {"tags": [NOTE_TAG]},
            "source": f"*Student copy of the chapter `{chapter_name}`: the solutions are removed.  Each exercise "
                      f"has a code cell that raises `NotImplementedError` until you replace it with your "
                      f"answer.  Run the notebook from the project's `chapters/` folder, because the chapter "
                      f"imports `lib` and reads files from there.*"}
    for position, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and cell_source(cell).lstrip().startswith("# "):
            return cells[:position + 1] + [note] + cells[position + 1:]
    return [note] + cells


def _give_ids(cells):
    """Give every cell without one a unique id (nbformat 4.5 requires them): ``student-<n>``."""
    used_ids = {cell["id"] for cell in cells if "id" in cell}
    number = 0
    for cell in cells:
        if "id" in cell:
            continue
        while f"student-{number}" in used_ids:
            number += 1
        cell["id"] = f"student-{number}"
        used_ids.add(cell["id"])


def write_student_copies(project, names=None):
    """Write ``<build dir>/student/<chapter>.ipynb`` for the chapters in ``_toc.yml``.

    Writing every chapter also removes the copies of notebooks no longer in ``_toc.yml``.

    Parameters
    ----------
    project : compendium.project.Project
        The book.
    names : list of str, optional
        Chapter names to write; every chapter when empty or None.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ConfigurationError
        If a name is not a chapter, or a chapter's exercises and solutions do not pair up;
        nothing is written then.
    """
    chapters = [project.chapter(name) for name in names] if names else project.chapters()
    copies = [(chapter, student_copy(chapter.name, load_notebook(chapter.path))) for chapter in chapters]

    target = project.build_dir / "student"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter, copied in copies:
        path = target / f"{chapter.name}.ipynb"
        atomic_write_text(path, json.dumps(copied, indent=1, ensure_ascii=False) + "\n")
        stubs = sum(STUB_TAG in cell.get("metadata", {}).get("tags", []) for cell in copied["cells"])
        log.info("%s: student copy with %d exercise stub(s): %s", chapter.name, stubs, path)
        written.append(path)

    if not names:
        for stale in sorted(set(target.glob("*.ipynb")) - set(written)):
            stale.unlink()
            log.info("removed the student copy of %s, which is no longer a chapter in _toc.yml", stale.stem)
    return written
