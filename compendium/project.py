"""The project layout: where the book, the chapters and the build folder are, and the runner's settings."""

import dataclasses
import os
from pathlib import Path

import yaml

from compendium.errors import ConfigurationError

DEFAULT_CHAPTER_TIMEOUT_SECONDS = 1800
DEFAULT_CELL_TIMEOUT_SECONDS = 600


@dataclasses.dataclass(frozen=True)
class Chapter:
    """A notebook listed in ``_toc.yml``.

    Attributes
    ----------
    name : str
        File stem, for example ``"makespan"``; unique within the book.
    docname : str
        Path relative to the project root without suffix, as in ``_toc.yml``.
    path : pathlib.Path
        Absolute path of the source notebook.
    """

    name: str
    docname: str
    path: Path


@dataclasses.dataclass(frozen=True)
class Project:
    """A compendium checkout: the root folder and its parsed ``_config.yml`` and ``_toc.yml``."""

    root: Path
    config: dict
    toc: dict

    @classmethod
    def find(cls, start=None):
        """Return the project that contains ``start`` (default: the current folder), else this package's checkout.

        The runner does not depend on the current directory: a chapter gives the same
        result whether the command is started from the project root, from
        ``chapters/`` or from anywhere else.

        Raises
        ------
        ConfigurationError
            If no folder at or above ``start`` contains ``_config.yml`` and ``_toc.yml``.
        """
        candidates = [Path(start or os.getcwd()).resolve(), Path(__file__).resolve().parent.parent]
        for candidate in candidates:
            for folder in (candidate, *candidate.parents):
                if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
                    return cls.load(folder)
        raise ConfigurationError("no _config.yml and _toc.yml found; run the command inside a compendium checkout")

    @classmethod
    def load(cls, root):
        """Read ``_config.yml`` and ``_toc.yml`` of the project at ``root``."""
        root = Path(root).resolve()
        return cls(root=root, config=_read_yaml(root / "_config.yml"), toc=_read_yaml(root / "_toc.yml"))

    @property
    def build_dir(self):
        """``_build/`` under the root, or ``$COMPENDIUM_BUILD_DIR`` when set."""
        configured = os.environ.get("COMPENDIUM_BUILD_DIR")
        return Path(configured).resolve() if configured else self.root / "_build"

    @property
    def settings(self):
        """The runner's own section of ``_config.yml`` (``compendium:``)."""
        return self.config.get("compendium") or {}

    @property
    def cell_timeout(self):
        """Default per-cell timeout in seconds (``execute.timeout`` in ``_config.yml``)."""
        return int((self.config.get("execute") or {}).get("timeout") or DEFAULT_CELL_TIMEOUT_SECONDS)

    @property
    def chapter_timeout(self):
        """Default per-chapter timeout in seconds (``compendium.chapter_timeout``)."""
        return int(self.settings.get("chapter_timeout") or DEFAULT_CHAPTER_TIMEOUT_SECONDS)

    def toc_docnames(self):
        """Return every document named in ``_toc.yml``, root first, in reading order."""
        names = [self.toc["root"]]
        _collect_files(self.toc, names)
        return names

    def chapters(self):
        """Return the notebooks listed in ``_toc.yml``, in reading order.

        Raises
        ------
        ConfigurationError
            If two notebooks share a file stem.
        """
        chapters = []
        for docname in self.toc_docnames():
            path = self.root / f"{docname}.ipynb"
            if path.is_file():
                chapters.append(Chapter(name=Path(docname).name, docname=docname, path=path))

        stems = [chapter.name for chapter in chapters]
        duplicates = sorted({stem for stem in stems if stems.count(stem) > 1})
        if duplicates:
            raise ConfigurationError(f"_toc.yml lists several notebooks named {', '.join(duplicates)}")
        return chapters

    def chapter(self, name):
        """Return the chapter called ``name`` (file stem, docname or path to the notebook).

        Raises
        ------
        ConfigurationError
            If no chapter in ``_toc.yml`` matches; the message lists the chapters.
        """
        wanted = Path(name).with_suffix("").name if name.endswith(".ipynb") else Path(name).name
        for chapter in self.chapters():
            if chapter.name == wanted:
                return chapter
        listed = ", ".join(chapter.name for chapter in self.chapters()) or "none"
        raise ConfigurationError(f"no chapter named {name!r} in _toc.yml; chapters: {listed}")


def _collect_files(node, names):
    if isinstance(node, dict):
        if "file" in node:
            names.append(str(node["file"]).removesuffix(".ipynb").removesuffix(".md"))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                _collect_files(child, names)


def _read_yaml(path):
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path} is not valid YAML: {error}") from error
