"""Chapters built through a real Dask scheduler and workers on 127.0.0.1 match a local build."""

import functools
import json
import operator
import re
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from lib.parallel import map_tasks

from conftest import COMPENDIUM, PROJECT, DaskCluster, _quiet_home, compendium, free_port, read_notebook, read_record

# Parts of a page that differ between any two builds: when and how long a chapter ran.
VOLATILE = [re.compile(r"executed \S+ in [0-9.]+ s")]


def claims_by_chapter(state):
    return {name: entry["claims"] for name, entry in state["chapters"].items()}


def page_text(path, build_dir):
    """Return a rendered page with its build folder and the run's time and duration blanked out."""
    text = Path(path).read_text().replace(str(build_dir), "(build folder)")
    for pattern in VOLATILE:
        text = pattern.sub("executed (when) in (seconds)", text)
    return text


def pages_of(build_dir, docnames):
    return {docname: page_text(Path(build_dir) / "html" / f"{docname}.html", build_dir) for docname in docnames}


def outline(build_dir, docname):
    """Return a page's headings and figure count: what a wall time shown in the prose cannot change."""
    text = page_text(Path(build_dir) / "html" / f"{docname}.html", build_dir)
    headings = [re.sub(r"<[^>]+>", "", heading).strip() for heading in re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>",
                                                                                     text, re.S)]
    return {"headings": headings, "images": text.count("<img")}


def add_sweep_chapter(root):
    """Add a chapter ``sweep`` that maps over ``lib.parallel.map_tasks`` and prints where the tasks ran."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Sweep\n\nA chapter whose sweep goes through `lib.parallel`."),
        nbformat.v4.new_code_cell("seed = 1  # seed (-)\ncount = 12  # tasks in the sweep (-)",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import math\n"
            "from lib import claims, parallel\n"
            "values = parallel.map_tasks(math.factorial, range(count))\n"
            "print(f'on cluster: {parallel.configured_client() is not None}')\n"
            "expected = float(sum(math.factorial(i) for i in range(count)))\n"
            "claims.record('sweep.total', float(sum(values)), paper=expected, kind='exact', source='fixture')"),
    ]
    nbformat.write(notebook, str(root / "chapters" / "sweep.ipynb"))
    toc = (root / "_toc.yml").read_text().replace("chapters:\n", "chapters:\n  - file: chapters/sweep\n", 1)
    (root / "_toc.yml").write_text(toc)


def printed(build_dir, chapter):
    """Return everything the executed chapter printed."""
    notebook = read_notebook(Path(build_dir) / "executed" / f"{chapter}.ipynb")
    texts = [output.get("text", "") for cell in notebook["cells"] for output in cell.get("outputs", [])
             if output.get("name") == "stdout"]
    return "".join(text if isinstance(text, str) else "".join(text) for text in texts)


def slow_sleepy(root, seconds):
    """Make the fixture chapter ``sleepy`` sleep ``seconds`` within a generous cell limit."""
    notebook = root / "chapters" / "sleepy.ipynb"
    content = read_notebook(notebook)
    content["metadata"]["compendium"]["cell_timeout"] = 120
    content["cells"][1]["source"] = f"seed = 1  # seed (-)\nseconds = {seconds}  # how long to sleep (s)\n"
    notebook.write_text(json.dumps(content))


def worker_running(cluster, chapter, exclude=(), timeout=120):
    """Return the worker process whose chapter subprocess runs ``chapter``, waiting up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in cluster.workers:
            if worker.pid in exclude or worker.poll() is not None:
                continue
            try:
                children = psutil.Process(worker.pid).children(recursive=True)
                if any(f"{chapter}.job.json" in " ".join(child.cmdline()) for child in children):
                    return worker
            except psutil.Error:
                continue
        time.sleep(0.1)
    raise AssertionError(f"no worker started {chapter} within {timeout} s")


def start_build(root, address, build_dir):
    environment = _quiet_home({**__import__("os").environ, "COMPENDIUM_BUILD_DIR": str(build_dir)}, root)
    return subprocess.Popen([*COMPENDIUM, "--root", str(root), "build", "--no-render", "--scheduler", address],
                            cwd=root, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_unreachable_scheduler_fails_fast_with_address(book):
    root = book("hello")
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = compendium(root, "build", "--scheduler", address)
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert elapsed < 10
    assert address in result.stderr
    assert "drop --scheduler" in result.stderr
    assert "started" not in result.stderr
    assert not (root / "_build" / "executed").exists()


def test_scheduler_without_workers_rejected(book, tmp_path):
    root = book("hello")
    with DaskCluster(workers=0, base=tmp_path / "dask") as cluster:
        result = compendium(root, "build", "--scheduler", cluster.address)
    assert result.returncode == 2
    assert f"the Dask scheduler at {cluster.address} has no workers" in result.stderr
    assert "started" not in result.stderr


def test_invalid_scheduler_address_rejected(book):
    root = book("hello")
    result = compendium(root, "build", "--scheduler", "tcp://127.0.0.1")
    assert result.returncode == 2
    assert "invalid Dask scheduler address 'tcp://127.0.0.1'" in result.stderr
    assert "started" not in result.stderr


def test_quantity_round_trip_through_worker(dask_cluster):
    from distributed import Client

    from lib.units import Q_

    local = Q_(2.5, "J/op")
    with Client(dask_cluster.address, set_as_default=False) as client:
        (remote,) = map_tasks(functools.partial(operator.mul, 2), [local], client=client)
    assert remote == Q_(5.0, "J/op")
    assert (remote * Q_(4, "op/event") * Q_(10, "event/s")).to("W") == Q_(200, "W")


def test_claim_round_trip_through_worker(dask_cluster):
    from distributed import Client

    from lib import claims
    from lib.units import Q_

    arguments = dict(paper=1.2, kind="relative", tolerance=0.1, unit="kJ", source="test")
    record = functools.partial(claims.record, "units.energy", **arguments)
    with Client(dask_cluster.address, set_as_default=False) as client:
        (remote,) = map_tasks(record, [Q_(1250, "J")], client=client)
    assert remote == claims.record("units.energy", Q_(1.25, "kJ"), **arguments)


@pytest.mark.slow
def test_fixture_book_matches_local_build(book, dask_cluster, tmp_path):
    root = book("hello", "ledger")
    local = compendium(root, "build")
    assert local.returncode == 0, local.stderr
    cluster_dir = tmp_path / "cluster-build"
    remote = compendium(root, "build", "--scheduler", dask_cluster.address,
                        env={"COMPENDIUM_BUILD_DIR": str(cluster_dir)})
    assert remote.returncode == 0, remote.stderr
    assert "hello: ran on tcp://127.0.0.1:" in remote.stderr
    assert claims_by_chapter(json.loads((cluster_dir / "record.json").read_text())) == \
        claims_by_chapter(read_record(root))
    docnames = ["chapters/hello", "chapters/ledger", "generated/ledger"]
    assert pages_of(cluster_dir, docnames) == pages_of(root / "_build", docnames)

    rerun = compendium(root, "run", "hello", "--no-render", "-p", "scale", "3", "--scheduler", dask_cluster.address,
                       env={"COMPENDIUM_BUILD_DIR": str(cluster_dir)})
    assert rerun.returncode == 0, rerun.stderr
    assert "hello: ran on tcp://127.0.0.1:" in rerun.stderr


@pytest.mark.slow
def test_chapter_sweep_runs_on_cluster(book, dask_cluster, tmp_path):
    root = book("hello")
    add_sweep_chapter(root)
    local = compendium(root, "build", "--no-render")
    assert local.returncode == 0, local.stderr
    cluster_dir = tmp_path / "cluster-build"
    remote = compendium(root, "build", "--no-render", "--scheduler", dask_cluster.address,
                        env={"COMPENDIUM_BUILD_DIR": str(cluster_dir)}, timeout=300)
    assert remote.returncode == 0, remote.stderr
    assert "on cluster: True" in printed(cluster_dir, "sweep")
    assert "on cluster: False" in printed(root / "_build", "sweep")
    assert json.loads((cluster_dir / "record.json").read_text())["chapters"]["sweep"]["claims"] == \
        read_record(root)["chapters"]["sweep"]["claims"]


@pytest.mark.slow
def test_ci_book_matches_local_build(ci_book, dask_cluster, tmp_path):
    cluster_dir = tmp_path / "cluster-build"
    remote = compendium(PROJECT, "build", "--profile", "ci", "--scheduler", dask_cluster.address,
                        env={"COMPENDIUM_BUILD_DIR": str(cluster_dir)}, timeout=1500)
    assert remote.returncode == 0, remote.stderr[-4000:]
    local_state = json.loads((ci_book / "record.json").read_text())
    assert claims_by_chapter(json.loads((cluster_dir / "record.json").read_text())) == claims_by_chapter(local_state)
    assert pages_of(cluster_dir, ["generated/ledger"]) == pages_of(ci_book, ["generated/ledger"])
    # The chapters show wall times in their prose, so their pages are compared by outline.
    for entry in local_state["chapters"].values():
        assert outline(cluster_dir, entry["docname"]) == outline(ci_book, entry["docname"]), entry["docname"]


@pytest.mark.slow
def test_dead_worker_chapter_retried_elsewhere(book, tmp_path):
    root = book("hello", "ledger", "sleepy")
    slow_sleepy(root, 10)
    with DaskCluster(workers=2, base=tmp_path / "dask") as cluster:
        build = start_build(root, cluster.address, tmp_path / "build")
        try:
            first = worker_running(cluster, "sleepy")
            first.kill()
            second = worker_running(cluster, "sleepy", exclude={first.pid})
            _, log = build.communicate(timeout=300)
        finally:
            build.kill()
    state = json.loads((tmp_path / "build" / "record.json").read_text())
    assert second.pid != first.pid
    assert {name: entry["status"] for name, entry in state["chapters"].items()} == \
        {"hello": "ok", "ledger": "ok", "sleepy": "ok"}
    assert re.search(r"sleepy: ran on \S+ \(attempt 2\)", log)


@pytest.mark.slow
def test_chapter_lost_twice_fails_and_others_finish(book, tmp_path):
    root = book("hello", "ledger", "sleepy")
    slow_sleepy(root, 10)
    with DaskCluster(workers=3, base=tmp_path / "dask") as cluster:
        build = start_build(root, cluster.address, tmp_path / "build")
        try:
            first = worker_running(cluster, "sleepy")
            first.kill()
            second = worker_running(cluster, "sleepy", exclude={first.pid})
            second.kill()
            _, log = build.communicate(timeout=300)
        finally:
            build.kill()
    state = json.loads((tmp_path / "build" / "record.json").read_text())
    assert build.returncode == 1
    assert {name: entry["status"] for name, entry in state["chapters"].items()} == \
        {"hello": "ok", "ledger": "ok", "sleepy": "failed"}
    assert state["chapters"]["sleepy"]["error"]["kind"] == "worker died"
