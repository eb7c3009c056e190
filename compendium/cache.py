"""Cache keys of chapter executions, and the store of executed notebooks by key.

A key hashes everything that can change a chapter's outputs: its code cells,
its resolved parameters, the contents of ``lib/``, the checksums of the data it
declares, the pinned requirements and the Python version.  Markdown cells and
cell metadata (tags included) are not part of the key, so prose edits re-render
without re-executing.
"""

import hashlib
import json
import os
import platform
import shutil
from pathlib import Path

from compendium.notebook import cell_source
from lib import datasets

# Bump when the runner changes what it injects into or records from a notebook.
RUNNER_CACHE_VERSION = "1"
KEPT_ENTRIES_PER_CHAPTER = 8


def code_digest(notebook):
    """Return the sha256 of the sources of the notebook's code cells, in order."""
    digest = hashlib.sha256()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            digest.update(cell_source(cell).encode())
            digest.update(b"\0")
    return digest.hexdigest()


def tree_digest(folder):
    """Return the sha256 over the relative paths and contents of every file below ``folder``.

    Compiled-bytecode folders are skipped.
    """
    digest = hashlib.sha256()
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def data_digest(project_root, declared):
    """Return the sha256 of the data a chapter declares in its ``compendium`` metadata.

    Parameters
    ----------
    project_root : pathlib.Path
        The project folder; ``files`` paths are relative to it.
    declared : dict
        The chapter's ``compendium`` metadata; ``datasets`` lists registry names
        (their registered checksums enter the key) and ``files`` lists project
        files (their contents enter the key).
    """
    digest = hashlib.sha256()
    for name in sorted(declared.get("datasets", [])):
        digest.update(f"dataset {name} {datasets.entry(name).digest}\n".encode())
    for relative in sorted(declared.get("files", [])):
        digest.update(f"file {relative} {datasets.sha256_of(project_root / relative)}\n".encode())
    return digest.hexdigest()


def environment_digest(project_root):
    """Return the sha256 of the pinned requirements and the Python version."""
    digest = hashlib.sha256()
    requirements = project_root / "requirements.txt"
    if requirements.is_file():
        digest.update(requirements.read_bytes())
    digest.update(platform.python_version().encode())
    return digest.hexdigest()


def components(notebook, values, lib_digest, data, environment):
    """Return the named inputs of a chapter's cache key, each as a hex digest."""
    parameters = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
    return {
        "code": code_digest(notebook),
        "parameters": parameters,
        "lib": lib_digest,
        "data": data,
        "environment": environment,
        "runner": RUNNER_CACHE_VERSION,
    }


def key_of(parts):
    """Return the cache key: sha256 over the component digests."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def changed_components(old, new):
    """Return the names of the components that differ between two component dicts."""
    if not old:
        return ["never run"]
    return [name for name in new if old.get(name) != new[name]]


class Store:
    """Executed notebooks of one build folder, kept by chapter and cache key."""

    def __init__(self, build_dir):
        self.root = Path(build_dir) / "cache"

    def path(self, chapter, key):
        """Return where the executed notebook for ``(chapter, key)`` is kept."""
        return self.root / chapter / f"{key}.ipynb"

    def get(self, chapter, key):
        """Return the kept notebook path and its result dict, or ``(None, None)``."""
        notebook = self.path(chapter, key)
        result = notebook.with_suffix(".json")
        if not (notebook.is_file() and result.is_file()):
            return None, None
        os.utime(notebook)
        return notebook, json.loads(result.read_text())

    def put(self, chapter, key, notebook_path, result):
        """Copy an executed notebook and its result into the store, then drop the oldest entries."""
        target = self.path(chapter, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_copy(notebook_path, target)
        atomic_write_text(target.with_suffix(".json"), json.dumps(result, indent=1, sort_keys=True))
        self._prune(target.parent)

    def _prune(self, folder):
        entries = sorted(folder.glob("*.ipynb"), key=lambda path: path.stat().st_mtime, reverse=True)
        for stale in entries[KEPT_ENTRIES_PER_CHAPTER:]:
            stale.unlink(missing_ok=True)
            stale.with_suffix(".json").unlink(missing_ok=True)


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def atomic_copy(source, target):
    """Copy ``source`` to ``target`` through a temporary file and a rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)
