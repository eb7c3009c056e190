"""Shared fixtures: throw-away fixture books, and a runner for the real ``compendium`` command."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
FIXTURE_NOTEBOOKS = Path(__file__).resolve().parent / "fixtures" / "notebooks"
COMPENDIUM = [sys.executable, "-m", "compendium.cli"]


def _quiet_home(environment, base):
    # Jupyter, IPython and matplotlib would otherwise write into the home folder.
    environment.setdefault("MPLCONFIGDIR", str(PROJECT / "_build" / "home" / "matplotlib"))
    environment.setdefault("IPYTHONDIR", str(PROJECT / "_build" / "home" / "ipython"))
    environment.setdefault("JUPYTER_DATA_DIR", str(base / "jupyter-data"))
    environment["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return environment


def make_book(folder, chapters, toc_extra=("generated/ledger", "generated/status")):
    """Create a small book in ``folder`` with the given fixture chapters and a copy of ``lib/``.

    Returns
    -------
    pathlib.Path
        The book's root folder.
    """
    folder = Path(folder)
    (folder / "chapters").mkdir(parents=True)
    shutil.copy(PROJECT / "_config.yml", folder)
    shutil.copy(PROJECT / "references.bib", folder)
    shutil.copy(PROJECT / "requirements.txt", folder)
    shutil.copytree(PROJECT / "lib", folder / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT / "data" / "registry", folder / "data" / "registry")
    shutil.copytree(PROJECT / "_static", folder / "_static")
    (folder / "intro.md").write_text("# Fixture book\n\nA book for the runner tests.\n")
    for name in chapters:
        shutil.copy(FIXTURE_NOTEBOOKS / f"{name}.ipynb", folder / "chapters")
    shutil.copy(FIXTURE_NOTEBOOKS / "hello_input.txt", folder / "chapters")
    entries = [f"  - file: chapters/{name}" for name in chapters] + [f"  - file: {page}" for page in toc_extra]
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n" + "\n".join(entries) + "\n")
    return folder


def compendium(root, *arguments, cwd=None, env=None, timeout=600):
    """Run the real ``compendium`` command on the book at ``root`` and return the completed process."""
    environment = _quiet_home({**os.environ, **(env or {})}, Path(root))
    environment.pop("COMPENDIUM_BUILD_DIR", None)
    environment.update(env or {})
    return subprocess.run([*COMPENDIUM, "--root", str(root), *arguments], cwd=cwd or root, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def read_record(root):
    """Return the build record of the book at ``root``."""
    return json.loads((Path(root) / "_build" / "record.json").read_text())


def read_notebook(path):
    """Return a notebook file as a dict."""
    return json.loads(Path(path).read_text())


@pytest.fixture
def book(tmp_path):
    """Factory: ``book("hello", "ledger")`` makes a fixture book in a fresh temporary folder."""
    def factory(*chapters):
        return make_book(tmp_path / "book", chapters)
    return factory


@pytest.fixture(scope="session")
def ci_book(tmp_path_factory):
    """Build the real book at the ``ci`` profile once per session, into a temporary build folder.

    Returns
    -------
    pathlib.Path
        The build folder (holding ``record.json``, ``executed/`` and ``html/``).
    """
    build_dir = tmp_path_factory.mktemp("ci-book") / "_build"
    result = compendium(PROJECT, "build", "--profile", "ci", env={"COMPENDIUM_BUILD_DIR": str(build_dir)},
                        timeout=1500)
    assert result.returncode == 0, result.stderr[-4000:]
    return build_dir


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DaskCluster:
    """A real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, stopped by PID.

    Use as a context manager; ``address`` is the scheduler's, ``workers`` the
    worker processes (one thread each, no nanny, so killing one kills the worker).
    """

    def __init__(self, workers=2, base=None):
        self.count = workers
        self.base = Path(base or PROJECT / "_build" / "dask")
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.scheduler = None
        self.workers = []

    def __enter__(self):
        self.base.mkdir(parents=True, exist_ok=True)
        environment = _quiet_home({**os.environ, "PYTHONPATH": str(PROJECT)}, self.base)
        environment.pop("COMPENDIUM_BUILD_DIR", None)
        dask = str(Path(sys.executable).with_name("dask"))
        port = self.address.rsplit(":", 1)[1]
        try:
            self.scheduler = subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
                cwd=PROJECT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(self.count):
                self.add_worker(environment)
            self.wait_for_workers(self.count)
        except BaseException:
            self.stop()
            raise
        return self

    def add_worker(self, environment=None):
        """Start one more worker process and return it."""
        environment = environment or _quiet_home({**os.environ, "PYTHONPATH": str(PROJECT)}, self.base)
        dask = str(Path(sys.executable).with_name("dask"))
        worker = subprocess.Popen(
            [dask, "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1", "--local-directory", str(self.base / "scratch")],
            cwd=PROJECT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count, timeout=90):
        """Block until the scheduler accepts clients and has ``count`` workers."""
        from distributed import Client

        with Client(self.address, timeout=timeout, set_as_default=False) as client:
            if count:
                client.wait_for_workers(count, timeout=timeout)

    def stop(self):
        """Kill every process this cluster started, by PID, and reap it."""
        for process in [*self.workers, self.scheduler]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    def __exit__(self, *exc_info):
        self.stop()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory):
    """A scheduler and two one-thread workers on 127.0.0.1 for the whole session, always stopped."""
    with DaskCluster(workers=2, base=tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def exercise_book(tmp_path_factory):
    """Build a fixture book with the chapters ``hello`` and ``exercises`` once per session.

    ``exercises`` has gated and plain solutions, a figure with caption and alt text
    and a claims table; ``hello`` has two figures without alt text.  Tests must not
    change this book; copy it first.

    Returns
    -------
    pathlib.Path
        The book's root folder (built into its ``_build/``).
    """
    root = make_book(tmp_path_factory.mktemp("exercise-book") / "book", ["hello", "exercises"])
    result = compendium(root, "build")
    assert result.returncode == 0, result.stderr[-4000:]
    return root
