"""Run chapter jobs on a Dask cluster: each chapter is one Dask task that runs ``compendium.worker``.

``compendium build --scheduler tcp://HOST:PORT`` sends every chapter that must
run to the cluster instead of local processes.  Everything else (cache, record,
claims, render) stays on the machine that runs the command.

What the workers need
---------------------
- The same environment as the client: the project's ``.venv`` (same Python,
  same pinned packages), started with ``.venv/bin/dask worker ADDRESS``.
- The project folder at the same absolute path, on the same machine or on a
  shared filesystem.  A job names the source notebook, its working directory,
  the output-table folder and the kernelspec folder by absolute path, and the
  chapter writes its tables there.  The executed notebook itself comes back
  through Dask, so the build folder's ``executed/`` and cache stay local.
- ``lib`` importable on the scheduler and the workers (the editable install
  does it), for the sweeps that chapters send through
  :func:`lib.parallel.map_tasks`.  On connecting, the client makes both import
  ``lib.units`` (:func:`lib.parallel.prepare_cluster`), so that pint
  quantities unpickle there against the project's unit registry.

How a chapter runs on a worker
------------------------------
The task starts ``python -m compendium.worker`` in a subprocess, exactly as a
local build does, so papermill's ``chdir`` and the thread caps of the job's
environment (``OMP_NUM_THREADS``, ``COMPENDIUM_THREADS``, ...) apply per
chapter whatever the worker process has set.  The task leaves the worker's
thread pool while it waits (``secede``), so the chapter's own sweep tasks can
use that thread; the client places at most ``nthreads`` chapters on a worker.
The kernel gets ``COMPENDIUM_SCHEDULER`` so that :func:`lib.parallel.map_tasks`
sends its sweeps to the same cluster.

Failures
--------
An unreachable scheduler, or one with no workers, fails before any chapter
starts.  A chapter whose worker dies mid-run is retried once on another worker;
a second loss is reported as a failed chapter and the other chapters finish.
The scheduler counts the starts, because Dask itself re-runs a task after a
worker death up to ``distributed.scheduler.allowed-failures`` times (3 by
default).  A chapter process that dies alone, its worker still alive, is
retried once through Dask's ``retries=1``, possibly on the same worker.
"""

import logging
import os
import tempfile
import time
import uuid
from pathlib import Path

from compendium import executor
from compendium.cache import atomic_write_text
from compendium.errors import CompendiumError
from lib.parallel import SCHEDULER_ENV, prepare_cluster

log = logging.getLogger("compendium")

CONNECT_TIMEOUT_SECONDS = 5
WORKER_WAIT_SECONDS = 3
# Runs of one chapter in one build: the first, then one retry after a lost worker.
MAX_ATTEMPTS = 2
# Client settings the chapter must see on the worker too, so that it reads the same data.
FORWARDED_ENV = ("POP_DATA_MIRROR", "POP_DATA_CACHE", "POP_DATA_OFFLINE")


class SchedulerError(CompendiumError):
    """Raised when the Dask scheduler cannot be reached or has no workers, before any chapter starts."""

    exit_code = 2


class ChapterProcessDied(RuntimeError):
    """Raised inside the Dask task when the chapter's process ended without a result (Dask retries it)."""


def connect(address, timeout=CONNECT_TIMEOUT_SECONDS):
    """Connect to the scheduler at ``address``, wait for a worker and return the client.

    Parameters
    ----------
    address : str
        Scheduler address, for example ``tcp://127.0.0.1:8786``.
    timeout : float
        Seconds to wait for the connection (s); the wait for a first worker is ``WORKER_WAIT_SECONDS``.

    Raises
    ------
    SchedulerError
        If the address is invalid, the connection times out, or the scheduler has no workers.
    """
    from distributed import Client
    from distributed.comm import get_address_host_port

    try:
        get_address_host_port(address)
    except ValueError as error:
        raise SchedulerError(f"invalid Dask scheduler address {address!r} ({error}); "
                             f"expected tcp://HOST:PORT, for example tcp://127.0.0.1:8786") from error

    hint = (f"Start one with '.venv/bin/dask scheduler' and workers with '.venv/bin/dask worker {address}', "
            f"or drop --scheduler to run the chapters locally.")
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address} within {timeout} s "
                             f"({type(error).__name__}: {error}). {hint}") from error

    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (TimeoutError, OSError) as error:
        client.close()
        raise SchedulerError(f"the Dask scheduler at {address} has no workers "
                             f"(waited {WORKER_WAIT_SECONDS} s). {hint}") from error
    prepare_cluster(client)
    return client


def run_on_cluster(jobs, address, work_dir):
    """Execute jobs as Dask tasks and yield ``(job, result)`` as each one ends.

    Same contract as :func:`compendium.executor.run_local`: the executed (or
    partial) notebook is written to ``job["output"]`` on this machine before
    the pair is yielded.

    Parameters
    ----------
    jobs : list of dict
        Job descriptions for :mod:`compendium.worker`.
    address : str
        Scheduler address.
    work_dir : pathlib.Path
        Local folder for the notebooks that come back.

    Yields
    ------
    tuple of (dict, dict)
        The job and its result (``status``, ``duration_s``, ``error``).

    Raises
    ------
    SchedulerError
        Before any chapter starts, if the scheduler is unreachable or has no workers.
    """
    client = connect(address)
    try:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        yield from _run(client, address, list(jobs))
    finally:
        client.close()


def _run(client, address, pending):
    from distributed import as_completed

    build_id = uuid.uuid4().hex[:12]
    running = {}
    placed = {}
    completed = as_completed(loop=client.loop)

    def submit_what_fits():
        while pending:
            worker = _least_loaded(client, list(placed.values()))
            if worker is None and running:
                return
            job = pending.pop(0)
            cluster_job = {**job, "env": {**job["env"], **_forwarded_env(), SCHEDULER_ENV: address}}
            future = client.submit(
                run_chapter, cluster_job, build_id, key=f"compendium-{job['chapter']}-{build_id}",
                retries=1, pure=False, workers=[worker] if worker else None, allow_other_workers=True,
            )
            running[future.key] = (job, time.monotonic())
            placed[future.key] = worker
            completed.add(future)
            log.info("%s: submitted to %s (threads %d)", job["chapter"], worker or address, job["threads"])

    submit_what_fits()
    # NOTE: if every worker leaves the cluster, the remaining chapters wait on the scheduler for a new worker.
    for future in completed:
        job, submitted = running.pop(future.key)
        placed.pop(future.key)
        result = _collect(future, job, submitted)
        submit_what_fits()
        yield job, result


def _least_loaded(client, occupied):
    """Return the worker with the most threads not taken by a running chapter, or None if every thread is taken."""
    free = {}
    for worker, threads in client.nthreads().items():
        free[worker] = threads - occupied.count(worker)
    best = max(free, key=free.get, default=None)
    return best if best is not None and free[best] > 0 else None


def _forwarded_env():
    return {name: os.environ[name] for name in FORWARDED_ENV if os.environ.get(name)}


def _collect(future, job, submitted):
    """Write the notebook that came back to ``job["output"]`` and return the chapter's result."""
    try:
        payload = future.result()
    except Exception as error:  # KilledWorker, ChapterProcessDied after its retry, a lost connection
        message = f"{type(error).__name__}: {_first_line(error)}"
        return {"status": "failed", "duration_s": time.monotonic() - submitted,
                "error": {"kind": "worker died", "ename": "WorkerError", "evalue": message, "cell": None,
                          "cell_source": ""}}
    if payload["notebook"] is not None:
        atomic_write_text(job["output"], payload["notebook"])
    log.info("%s: ran on %s (attempt %d)", job["chapter"], payload["worker"], payload["attempt"])
    return payload["result"]


def _first_line(error):
    """Return the first line of an error's message, for the failure record."""
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"


def run_chapter(job, build_id):
    """Dask task: run one chapter job in a ``compendium.worker`` subprocess on this worker.

    Returns
    -------
    dict
        ``result`` (the worker's result dict), ``notebook`` (the executed or
        partial notebook as JSON text, or None), ``worker`` and ``attempt``.

    Raises
    ------
    ChapterProcessDied
        If the chapter's process ended without writing a result; Dask retries the task once.
    """
    from distributed import get_client, get_worker, secede

    worker = get_worker().address
    attempt = _count_attempt(get_client(), build_id, job["chapter"])
    if attempt > MAX_ATTEMPTS:
        message = f"the worker running this chapter died {attempt - 1} times; last try on {worker} not started"
        return {"result": {"status": "failed", "duration_s": 0.0,
                           "error": {"kind": "worker died", "ename": "WorkerError", "evalue": message,
                                     "cell": None, "cell_source": ""}},
                "notebook": None, "worker": worker, "attempt": attempt}

    secede()
    with tempfile.TemporaryDirectory(prefix=f"compendium-{job['chapter']}-") as folder:
        local_job = {**job, "output": str(Path(folder) / f"{job['chapter']}.ipynb")}
        ((_, result),) = list(executor.run_local([local_job], 1, Path(folder)))
        if result.get("error", {}).get("kind") == "worker died":
            raise ChapterProcessDied(f"{job['chapter']} on {worker}: {result['error']['evalue']}")
        output = Path(local_job["output"])
        notebook = output.read_text() if output.is_file() else None
    return {"result": result, "notebook": notebook, "worker": worker, "attempt": attempt}


def _count_attempt(client, build_id, chapter):
    """Count one more start of ``chapter`` in this build, in the scheduler's metadata, and return the count."""
    keys = ["compendium", build_id, chapter]
    attempt = int(client.get_metadata(keys, 0)) + 1
    client.set_metadata(keys, attempt)
    return attempt
