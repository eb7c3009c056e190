"""Chapter parameters: read from the notebook's ``parameters`` cell with ``ast``, converted, resolved.

Command-line values (``-p NAME VALUE``), parameter files (``-f params.yml``)
and profiles (``chapters/<name>.<profile>.yml``) all reach :func:`convert` as
strings or lists of strings: YAML files are read with the base loader, which
keeps every scalar a string.  So ``-p`` and ``-f`` give identical values, and a
string default keeps ``"007"`` as written.
"""

import ast
import dataclasses
import difflib
import json
import tokenize
import io
from pathlib import Path

import yaml

from compendium.errors import ParameterError

PARAMETERS_TAG = "parameters"
SCALAR_TYPES = (bool, int, float, str)
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One assignment of a chapter's parameters cell."""

    name: str
    default: object
    comment: str

    @property
    def type_name(self):
        """Type of the default as shown to users: ``int``, ``float``, ``list[float]``, ..."""
        if isinstance(self.default, list):
            element = _element_type(self.default)
            return f"list[{element.__name__}]" if element else "list"
        return type(self.default).__name__


def find_parameters_cell(notebook, chapter_name):
    """Return the index of the one code cell tagged ``parameters``.

    Raises
    ------
    ParameterError
        If the notebook has no such cell, or more than one.
    """
    indices = [
        index for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])
    ]
    if not indices:
        raise ParameterError(
            f"chapter {chapter_name!r} has no code cell tagged {PARAMETERS_TAG!r}; "
            "tag the cell that holds the parameters (cell metadata: {\"tags\": [\"parameters\"]})"
        )
    if len(indices) > 1:
        raise ParameterError(
            f"chapter {chapter_name!r} has {len(indices)} cells tagged {PARAMETERS_TAG!r} "
            f"(cells {', '.join(map(str, indices))}); keep exactly one"
        )
    return indices[0]


def parse_parameters(source, chapter_name):
    """Parse a parameters cell into an ordered dict of :class:`Parameter`.

    Parameters
    ----------
    source : str
        The cell's code: one ``name = literal  # comment`` a line.
    chapter_name : str
        Used in error messages.

    Returns
    -------
    dict[str, Parameter]

    Raises
    ------
    ParameterError
        If the cell is not valid Python, contains a statement other than a simple
        assignment, or a default is not a literal bool, int, float, str or list of those.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ParameterError(f"chapter {chapter_name!r}: parameters cell is not valid Python: {error}") from error

    comments = _line_comments(source)
    parameters = {}
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise ParameterError(
                f"chapter {chapter_name!r}: line {statement.lineno} of the parameters cell is not a simple "
                "assignment 'name = value'"
            )
        name = statement.targets[0].id
        try:
            default = ast.literal_eval(statement.value)
        except ValueError as error:
            raise ParameterError(
                f"chapter {chapter_name!r}: default of parameter {name!r} (line {statement.lineno}) is not a literal"
            ) from error
        _check_default_type(chapter_name, name, default)
        parameters[name] = Parameter(name=name, default=default, comment=comments.get(statement.lineno, ""))
    return parameters


def convert(parameter, raw, chapter_name):
    """Convert a string (or list of strings) to the type of ``parameter``'s default.

    Parameters
    ----------
    parameter : Parameter
        The parameter, whose default fixes the type.
    raw : str or list
        The value as given on the command line or read from YAML.
    chapter_name : str
        Used in error messages.

    Returns
    -------
    object
        The converted value.

    Raises
    ------
    ParameterError
        Naming the parameter, the expected type and the value received.
    """
    default = parameter.default
    try:
        if isinstance(default, list):
            items = _as_list(raw)
            element = _element_type(default)
            return [_convert_scalar(element, item) if element else _guess_scalar(item) for item in items]
        return _convert_scalar(type(default), raw)
    except (TypeError, ValueError) as error:
        raise ParameterError(
            f"chapter {chapter_name!r}: parameter {parameter.name!r} expects {parameter.type_name} "
            f"(default {default!r}), got {raw!r}"
        ) from error


def reject_unknown(names, parameters, chapter_name):
    """Raise :class:`ParameterError` for the first name not declared, suggesting the closest one."""
    for name in names:
        if name in parameters:
            continue
        close = difflib.get_close_matches(name, list(parameters), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ParameterError(
            f"chapter {chapter_name!r} has no parameter {name!r}{hint} "
            f"Run 'compendium params {chapter_name}' to list its parameters."
        )


def read_parameter_file(path):
    """Read a YAML mapping of parameter values, keeping every scalar a string.

    Raises
    ------
    ParameterError
        If the file is missing, not YAML, or not a mapping.
    """
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=yaml.BaseLoader)
    except FileNotFoundError as error:
        raise ParameterError(f"parameter file {path} not found") from error
    except yaml.YAMLError as error:
        raise ParameterError(f"parameter file {path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file {path} must hold a mapping 'name: value', got {type(data).__name__}")
    return data


def resolve(parameters, chapter_name, layers):
    """Apply layers of raw overrides to the defaults and return values and their origins.

    Parameters
    ----------
    parameters : dict[str, Parameter]
        The chapter's declared parameters.
    chapter_name : str
        Used in error messages.
    layers : list of (str, dict)
        ``(origin, {name: raw value})`` pairs applied in order, for example
        ``[("profile ci", {...}), ("-f params.yml", {...}), ("-p", {...})]``.

    Returns
    -------
    values : dict
        Every parameter's resolved value, in declaration order.
    origins : dict
        For each overridden parameter, the layer that set it last.
    """
    values = {name: parameter.default for name, parameter in parameters.items()}
    origins = {}
    for origin, raw_values in layers:
        reject_unknown(raw_values, parameters, chapter_name)
        for name, raw in raw_values.items():
            values[name] = convert(parameters[name], raw, chapter_name)
            origins[name] = origin
    return values, origins


def overrides_of(parameters, values):
    """Return the values that differ from their defaults, in declaration order."""
    return {
        name: value for name, value in values.items()
        if json.dumps(value) != json.dumps(parameters[name].default)
    }


def _convert_scalar(kind, raw):
    if isinstance(raw, (list, dict)):
        raise TypeError("expected a single value")
    text = str(raw).strip() if kind is not str else str(raw)
    if kind is bool:
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise ValueError(text)
    if kind is int:
        return int(text, 10)
    if kind is float:
        return float(text)
    return text


def _guess_scalar(raw):
    return yaml.safe_load(raw) if isinstance(raw, str) else raw


def _as_list(raw):
    if isinstance(raw, list):
        return raw
    parsed = yaml.load(str(raw), Loader=yaml.BaseLoader)
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, str) and "," in parsed:
        return [item.strip() for item in parsed.split(",")]
    if isinstance(parsed, str):
        return [parsed]
    raise ValueError("expected a list such as [1, 2] or 1,2")


def _element_type(default):
    if not default:
        return None
    kinds = {type(item) for item in default}
    if kinds <= {int, float} and float in kinds:
        return float
    return kinds.pop() if len(kinds) == 1 else None


def _check_default_type(chapter_name, name, default):
    if isinstance(default, SCALAR_TYPES):
        return
    if isinstance(default, list) and all(isinstance(item, SCALAR_TYPES) for item in default):
        return
    raise ParameterError(
        f"chapter {chapter_name!r}: default of parameter {name!r} must be a bool, int, float, str "
        f"or a list of those, got {type(default).__name__}"
    )


def _line_comments(source):
    comments = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    except tokenize.TokenError:
        pass
    return comments
