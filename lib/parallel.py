"""Map a function over independent tasks in local worker processes, in order, with a pluggable executor.

Results do not depend on how the tasks run, provided each task seeds its own
generators and pins its own thread count (the forecasting cells do both).
"""

import concurrent.futures
import multiprocessing

from lib import runtime


def map_tasks(function, items, workers=None, executor=None):
    """Return ``[function(item) for item in items]``, computed in parallel, in the order of ``items``.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled to the worker processes).
    items : iterable
        Task arguments, each picklable.
    workers : int, optional
        Worker processes; default :func:`lib.runtime.threads`.  With 1
        worker, or a single item, the tasks run in this process.
    executor : concurrent.futures.Executor, optional
        Any executor with ``map`` (for example a Dask client's
        ``get_executor()``); it replaces the local process pool and is not shut down here.

    Returns
    -------
    list
        One result per item.

    Raises
    ------
    ValueError
        If ``workers`` < 1.
    """
    items = list(items)
    if executor is not None:
        return list(executor.map(function, items))

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
