"""The data registry: lookup order, checksums, missing data, and a chapter that reads a corrupt file."""

import json
import shutil
from pathlib import Path

import pytest

from lib import datasets
from conftest import compendium, make_book, read_notebook

SHARED_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_mirror = pytest.mark.skipif(not (SHARED_MIRROR / "cms-daq").is_dir(), reason="no shared data mirror here")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache and no mirror, offline."""
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(datasets.MIRROR_ENV, raising=False)
    monkeypatch.setenv(datasets.OFFLINE_ENV, "1")
    return tmp_path


def copy_mirror(tmp_path, name="cms-daq"):
    mirror = tmp_path / "mirror"
    shutil.copytree(SHARED_MIRROR / name, mirror / name)
    return mirror


def flip_byte(path, offset=100):
    content = bytearray(path.read_bytes())
    content[offset] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(content))


def test_every_entry_is_complete():
    for name in datasets.names():
        entry = datasets.entry(name)
        assert entry.licence, name
        assert entry.files, name
        assert entry.reader.count(":") == 1, name
        assert all(len(item["sha256"]) == 64 for item in entry.files), name
        assert "commit" in entry.upstream or "version" in entry.upstream, name


def test_unknown_data_set_lists_names():
    with pytest.raises(datasets.DatasetError) as error:
        datasets.entry("no-such-data")
    assert "peg-in-hole" in str(error.value)


@needs_mirror
def test_mirror_then_cache(isolated, monkeypatch):
    monkeypatch.setenv(datasets.MIRROR_ENV, str(copy_mirror(isolated)))
    folder = datasets.fetch("cms-daq")
    assert (folder / "l1t_data" / "egamma.csv").is_file()

    shutil.rmtree(isolated / "mirror")
    again = datasets.fetch("cms-daq")
    assert again == folder


@needs_mirror
def test_cache_copy_is_rechecked_after_edit(isolated, monkeypatch):
    monkeypatch.setenv(datasets.MIRROR_ENV, str(copy_mirror(isolated)))
    folder = datasets.fetch("cms-daq")
    flip_byte(folder / "l1t_data" / "egamma.csv", offset=5)
    repaired = datasets.fetch("cms-daq")
    assert datasets.sha256_of(repaired / "l1t_data" / "egamma.csv") == next(
        item["sha256"] for item in datasets.entry("cms-daq").files if item["path"] == "l1t_data/egamma.csv")


@needs_mirror
def test_checksum_mismatch_names_both_hashes(isolated, monkeypatch):
    mirror = copy_mirror(isolated)
    flip_byte(mirror / "cms-daq" / "cms_system_200.xlsx")
    monkeypatch.setenv(datasets.MIRROR_ENV, str(mirror))
    expected = next(item["sha256"] for item in datasets.entry("cms-daq").files
                    if item["path"] == "cms_system_200.xlsx")
    with pytest.raises(datasets.ChecksumError) as error:
        datasets.fetch("cms-daq")
    message = str(error.value)
    assert "'cms-daq'" in message
    assert "cms_system_200.xlsx" in message
    assert expected in message
    assert datasets.sha256_of(mirror / "cms-daq" / "cms_system_200.xlsx") in message


@needs_mirror
def test_corrupt_archive_named(isolated, monkeypatch):
    mirror = isolated / "mirror" / "peg-in-hole"
    mirror.mkdir(parents=True)
    source = SHARED_MIRROR / "peg-in-hole" / "Twist-Training.tar.gz"
    content = bytearray(source.read_bytes())
    content[len(content) // 2] ^= 0xFF
    (mirror / "Twist-Training.tar.gz").write_bytes(bytes(content))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(isolated / "mirror"))
    with pytest.raises(datasets.DatasetError) as error:
        datasets.fetch("peg-in-hole")
    assert "peg-in-hole" in str(error.value)
    assert "Twist-Training" in str(error.value)


def test_missing_everywhere_names_places(isolated, monkeypatch):
    monkeypatch.setenv(datasets.MIRROR_ENV, str(isolated / "empty-mirror"))
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.fetch("cms-daq")
    message = str(error.value)
    assert "'cms-daq'" in message
    assert "not found locally and upstream unreachable" in message
    assert str(isolated / "cache" / "cms-daq") in message
    assert str(isolated / "empty-mirror" / "cms-daq") in message
    assert "wilkieolin/system_flow" in message


def test_package_data_found_without_mirror(isolated):
    folder = datasets.fetch("pvlib-tmy")
    assert (folder / "12839.tm2").is_file()


def test_unreachable_upstream_fails_fast(isolated, monkeypatch):
    monkeypatch.delenv(datasets.OFFLINE_ENV)
    monkeypatch.setenv(datasets.MIRROR_ENV, str(isolated / "empty-mirror"))
    monkeypatch.setattr(datasets, "DOWNLOAD_TIMEOUT_SECONDS", 3)
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.fetch("cms-daq")
    assert "upstream https://raw.githubusercontent.com/wilkieolin/system_flow/b9af6d5/" in str(error.value)


READS_DATA = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Reads data\n\nReads a registered data set."},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
         "source": "seed = 1  # seed (-)\n"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "from lib import datasets\nfolder = datasets.fetch('cms-daq')\n"
                   "print(sorted(p.name for p in folder.iterdir())[:3])"},
    ],
    "metadata": {"compendium": {"datasets": ["cms-daq"]}, "kernelspec": {"name": "python3", "language": "python",
                                                                         "display_name": "Python 3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@needs_mirror
@pytest.mark.slow
def test_corrupt_mirror_fails_chapter_keeps_page(tmp_path):
    root = make_book(tmp_path / "book", [])
    (root / "chapters" / "reads.ipynb").write_text(json.dumps(READS_DATA))
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/reads\n")
    good = {"POP_DATA_MIRROR": str(SHARED_MIRROR), "POP_DATA_CACHE": str(tmp_path / "cache-good")}
    assert compendium(root, "build", env=good).returncode == 0
    executed = root / "_build" / "executed" / "reads.ipynb"
    before = read_notebook(executed)
    page_before = (root / "_build" / "html" / "chapters" / "reads.html").read_text()

    mirror = copy_mirror(tmp_path)
    flip_byte(mirror / "cms-daq" / "detectors.xlsx")
    bad = {"POP_DATA_MIRROR": str(mirror), "POP_DATA_CACHE": str(tmp_path / "cache-bad")}
    result = compendium(root, "build", "--force", "reads", env=bad)
    assert result.returncode == 1
    assert "ChecksumError" in result.stderr
    assert "detectors.xlsx" in result.stderr
    assert read_notebook(executed) == before
    page_after = (root / "_build" / "html" / "chapters" / "reads.html").read_text()
    assert "failed" in page_after
    assert "detectors.xlsx" not in page_before
