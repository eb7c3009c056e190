"""Find the sphinx-exercise directives of a chapter and check that exercises and solutions pair up.

A chapter writes its exercises with ``{exercise}`` (or the gated
``{exercise-start}`` ... ``{exercise-end}``) and their solutions with
``{solution} LABEL`` or, for code, the gated ``{solution-start} LABEL`` ...
``{solution-end}`` spanning several cells.  :func:`directives` finds them in
the markdown cells, with the cell and line range each occupies, so that the
student copy (:mod:`compendium.student`) can cut the solutions out;
:func:`check_pairs` fails the build when an exercise has no solution, a
solution names no exercise, or a gated solution is not closed.
"""

import dataclasses
import re

from compendium.errors import ConfigurationError
from compendium.notebook import cell_source

EXERCISE_NAMES = ("exercise", "exercise-start")
SOLUTION_NAMES = ("solution", "solution-start")
KNOWN_NAMES = ("exercise", "exercise-start", "exercise-end", "solution", "solution-start", "solution-end")

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIRECTIVE_INFO = re.compile(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<argument>.*)$")
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")


@dataclasses.dataclass(frozen=True)
class Directive:
    """One sphinx-exercise directive in a markdown cell.

    Attributes
    ----------
    name : str
        ``exercise``, ``exercise-start``, ``exercise-end``, ``solution``, ``solution-start`` or ``solution-end``.
    argument : str
        Text after the directive name: an exercise's title, a solution's exercise label.
    options : dict
        The directive's ``:key: value`` options (``label``, ``class``, ...).
    cell : int
        Index of the markdown cell in the notebook.
    first_line, last_line : int
        Lines of the opening and the closing fence within the cell (0-based, inclusive).
    """

    name: str
    argument: str
    options: dict
    cell: int
    first_line: int
    last_line: int

    @property
    def label(self):
        """The label this directive defines (exercises) or refers to (solutions); empty if none."""
        if self.name in EXERCISE_NAMES:
            return self.options.get("label", "")
        if self.name in SOLUTION_NAMES:
            return self.argument.split()[0] if self.argument.split() else ""
        return ""


def directives(notebook):
    """Return the sphinx-exercise directives of a notebook's markdown cells, in reading order.

    Directives nested in other directives (an exercise inside an admonition) are
    found.  Text inside a plain code fence is skipped, so a ````` ```md ````` example
    of the syntax is not taken for an exercise.

    Parameters
    ----------
    notebook : dict
        nbformat 4 notebook as a dict.
    """
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            lines = cell_source(cell).splitlines()
            _scan(lines, 0, len(lines), index, found)
    return found


def _scan(lines, start, stop, cell, found):
    line = start
    while line < stop:
        opening = _FENCE_OPEN.match(lines[line])
        if not opening:
            line += 1
            continue
        fence, info = opening.group("fence"), opening.group("info")
        closing = _closing_fence(lines, line + 1, stop, fence)
        directive = _DIRECTIVE_INFO.match(info)
        if directive:
            name = directive.group("name")
            if name in KNOWN_NAMES:
                found.append(Directive(name=name, argument=directive.group("argument").strip(),
                                       options=_options(lines, line + 1, closing), cell=cell,
                                       first_line=line, last_line=min(closing, stop - 1)))
            _scan(lines, line + 1, closing, cell, found)
        line = closing + 1


def _closing_fence(lines, start, stop, fence):
    """Return the line of the fence that closes ``fence``, or ``stop`` when the block runs to the end."""
    pattern = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for line in range(start, stop):
        if pattern.match(lines[line]):
            return line
    return stop


def _options(lines, start, stop):
    """Read ``:key: value`` lines, or a ``---`` YAML-style block, right after a directive's opening fence."""
    options = {}
    if start < stop and lines[start].strip() == "---":
        for line in range(start + 1, stop):
            if lines[line].strip() == "---":
                break
            key, _, value = lines[line].partition(":")
            options[key.strip()] = value.strip()
        return options
    for line in range(start, stop):
        option = _OPTION.match(lines[line])
        if not option:
            break
        options[option.group("key")] = option.group("value")
    return options


def check_pairs(chapter_name, notebook):
    """Check that every exercise has a solution and every solution belongs to an exercise.

    Parameters
    ----------
    chapter_name : str
        Chapter name used in the error message, for example ``"makespan"``.
    notebook : dict
        The chapter's source notebook as a dict.

    Returns
    -------
    list of str
        The exercise labels, in reading order.

    Raises
    ------
    ConfigurationError
        If an exercise has no label or no solution, a solution names no exercise of
        this chapter, two exercises share a label, or a ``solution-start`` (or
        ``exercise-start``) has no matching ``-end``.  The message names the chapter
        and every offending label.
    """
    found = directives(notebook)
    problems = _gate_problems(found, "solution") + _gate_problems(found, "exercise")

    exercises = [item for item in found if item.name in EXERCISE_NAMES]
    solutions = [item for item in found if item.name in SOLUTION_NAMES]
    labels = [item.label for item in exercises if item.label]
    solved = {item.label for item in solutions}

    for item in exercises:
        if not item.label:
            problems.append(f"exercise {item.argument!r} (cell {item.cell}) has no :label:, "
                            f"so no solution can refer to it")
    for label in sorted({label for label in labels if labels.count(label) > 1}):
        problems.append(f"several exercises have the label {label!r}")
    for label in labels:
        if label not in solved:
            problems.append(f"exercise {label!r} has no solution")
    for item in solutions:
        if not item.label:
            problems.append(f"{{{item.name}}} in cell {item.cell} names no exercise label")
        elif item.label not in labels:
            problems.append(f"solution for {item.label!r} (cell {item.cell}) refers to no exercise in this chapter")

    if problems:
        raise ConfigurationError(f"chapter {chapter_name!r}: " + "; ".join(problems))
    return list(dict.fromkeys(labels))


def gated_solutions(found):
    """Return ``(start, end)`` directive pairs of the gated solutions, in reading order.

    Assumes :func:`check_pairs` passed, so every ``solution-start`` has its ``solution-end``.
    """
    pairs = []
    opened = None
    for item in found:
        if item.name == "solution-start":
            opened = item
        elif item.name == "solution-end" and opened is not None:
            pairs.append((opened, item))
            opened = None
    return pairs


def _gate_problems(found, kind):
    """Return messages for unbalanced ``{kind}-start`` / ``{kind}-end`` directives."""
    problems = []
    opened = None
    for item in found:
        if item.name == f"{kind}-start":
            if opened is not None:
                problems.append(f"{kind}-start {opened.label or opened.argument!r} (cell {opened.cell}) has no "
                                f"{kind}-end before the next {kind}-start {item.label or item.argument!r}")
            opened = item
        elif item.name == f"{kind}-end":
            if opened is None:
                problems.append(f"{kind}-end in cell {item.cell} has no {kind}-start before it")
            opened = None
    if opened is not None:
        problems.append(f"{kind}-start {opened.label or opened.argument!r} (cell {opened.cell}) has no {kind}-end")
    return problems
