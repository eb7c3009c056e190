"""Reading notebooks as plain nbformat-4 dicts, the way every part of the runner needs them."""

import json
from pathlib import Path

from compendium.errors import ConfigurationError


def load_notebook(path):
    """Return a notebook as a dict (nbformat 4 JSON).

    Raises
    ------
    ConfigurationError
        If the file is not a readable notebook.
    """
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigurationError(f"cannot read notebook {path}: {error}") from error


def cell_source(cell):
    """Return a cell's source as one string, whether stored as a string or a list of lines."""
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)
