"""Map a function over independent tasks: on a Dask cluster when one is configured, else in local processes.

Results do not depend on how the tasks run, provided each task seeds its own
generators and pins its own thread count (the forecasting cells do both).
A chapter run with ``compendium build --scheduler ADDRESS`` finds the address
in ``COMPENDIUM_SCHEDULER`` and sends its sweeps to the same cluster.
"""

import concurrent.futures
import functools
import multiprocessing
import os

from lib import runtime

SCHEDULER_ENV = "COMPENDIUM_SCHEDULER"
CONNECT_TIMEOUT_SECONDS = 10


def map_tasks(function, items, workers=None, executor=None, client=None):
    """Return ``[function(item) for item in items]``, computed in parallel, in the order of ``items``.

    Where the tasks run, first match wins: ``executor``, ``client``, the Dask
    scheduler named by ``$COMPENDIUM_SCHEDULER``, local processes.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled to the worker processes).  On a
        Dask cluster its module must be importable on the workers.
    items : iterable
        Task arguments, each picklable.
    workers : int, optional
        Local worker processes; default :func:`lib.runtime.threads`.  With 1
        worker, or a single item, the tasks run in this process.  Ignored on
        a Dask cluster, whose workers decide.
    executor : concurrent.futures.Executor, optional
        Any executor with ``map`` (for example a Dask client's
        ``get_executor()``); it replaces the local process pool and is not shut down here.
    client : distributed.Client, optional
        A Dask client; each item becomes one task on its cluster.

    Returns
    -------
    list
        One result per item.

    Raises
    ------
    ValueError
        If ``workers`` < 1.
    OSError
        If ``$COMPENDIUM_SCHEDULER`` names a scheduler that cannot be reached.
    """
    items = list(items)
    if executor is not None:
        return list(executor.map(function, items))

    client = client or configured_client()
    if client is not None:
        prepare_cluster(client)
        return client.gather(client.map(function, items, pure=False))

    workers = runtime.threads() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if workers == 1 or len(items) <= 1:
        return [function(item) for item in items]

    # Spawned workers start clean: a forked child of a process that already
    # runs torch or OpenMP threads can deadlock.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=context) as pool:
        return list(pool.map(function, items))


def configured_client():
    """Return a Dask client for ``$COMPENDIUM_SCHEDULER``, or None when it is unset.

    The client is opened once per address and process, and kept.

    Raises
    ------
    OSError
        If the connection times out after ``CONNECT_TIMEOUT_SECONDS``.
    """
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address:
        return None
    return _client_for(address)


def prepare_cluster(client):
    """Make the scheduler and every worker of ``client``, present and future, import :mod:`lib.units`.

    Pint unpickles a quantity against its application registry, and the Dask
    scheduler unpickles task graphs too.  A process that has not imported
    ``lib.units`` uses pint's default registry, which lacks the project's units
    (``op``, ``event``) and whose quantities fail ``isinstance(value, ureg.Quantity)``.
    """
    from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

    class SchedulerUnits(SchedulerPlugin):
        name = "price-of-performance-units"

        async def start(self, scheduler):
            import lib.units  # noqa: F401  (sets pint's application registry)

    class WorkerUnits(WorkerPlugin):
        name = "price-of-performance-units"

        def setup(self, worker):
            import lib.units  # noqa: F401  (sets pint's application registry)

    client.register_plugin(SchedulerUnits(), name=SchedulerUnits.name)
    client.register_plugin(WorkerUnits(), name=WorkerUnits.name)


@functools.lru_cache(maxsize=None)
def _client_for(address):
    from distributed import Client

    return Client(address, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False)
