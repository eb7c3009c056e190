"""The build record, ``_build/record.json``: per chapter its status, cache key, parameters and claims."""

import datetime
import functools
import importlib.metadata
import json
import subprocess

from compendium.cache import atomic_write_text

PACKAGES = ("numpy", "pandas", "scipy", "torch", "xgboost", "scikit-learn", "pint", "matplotlib",
            "papermill", "jupyter-book", "myst-nb")


def now():
    """Return the current UTC time as an ISO 8601 string with seconds."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


@functools.lru_cache(maxsize=None)
def package_versions():
    """Return the installed versions of the packages that change results."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state(root):
    """Return ``{"commit": ..., "dirty": bool}`` of the checkout at ``root`` (commit "unknown" outside git)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": False}
    return {"commit": commit, "dirty": bool(status.strip())}


def load(path):
    """Return the record at ``path``, or an empty one if it does not exist or is unreadable."""
    try:
        record = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"chapters": {}}
    record.setdefault("chapters", {})
    return record


def save(path, record):
    """Write the record atomically."""
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True, default=str))


def all_claims(record):
    """Return every claim in the record with its chapter and whether that chapter's latest run failed."""
    rows = []
    for chapter, entry in record.get("chapters", {}).items():
        claims = entry.get("claims")
        stale = entry.get("status") != "ok"
        if stale:
            claims = (entry.get("last_good") or {}).get("claims", [])
        for claim in claims or []:
            rows.append({**claim, "chapter": chapter, "docname": entry.get("docname", ""), "stale": stale})
    return rows
