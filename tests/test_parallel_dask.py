"""lib.parallel.map_tasks on a real Dask cluster (127.0.0.1) gives the results of local processes."""

import sys

import cloudpickle
import numpy as np
import pytest

from lib import parallel
from lib.parallel import map_tasks

pytestmark = pytest.mark.slow

# The workers cannot import this test module.  Registered by value, a function
# of it travels with its code when it is wrapped in a lambda (Dask pickles a
# lambda with cloudpickle, which then inlines the module's functions).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def noisy_sum(seed):
    """A task that seeds its own generator, as every sweep task must."""
    return float(np.random.default_rng(seed).normal(size=1000).sum())


def worker_address(_):
    """Return the address of the Dask worker running this task."""
    from distributed import get_worker

    return get_worker().address


def test_client_matches_local_processes(dask_cluster):
    from distributed import Client

    with Client(dask_cluster.address, set_as_default=False) as client:
        on_cluster = map_tasks(lambda seed: noisy_sum(seed), range(6), client=client)
    assert on_cluster == map_tasks(noisy_sum, range(6), workers=2)


def test_scheduler_variable_selects_cluster(dask_cluster, monkeypatch):
    monkeypatch.setenv(parallel.SCHEDULER_ENV, dask_cluster.address)
    where = map_tasks(lambda item: worker_address(item), range(4), workers=1)
    assert all(address.startswith("tcp://127.0.0.1:") for address in where)


def test_scheduler_variable_keeps_order(dask_cluster, monkeypatch):
    monkeypatch.setenv(parallel.SCHEDULER_ENV, dask_cluster.address)
    on_cluster = map_tasks(lambda seed: noisy_sum(seed), [5, 1, 3])
    assert on_cluster == [noisy_sum(5), noisy_sum(1), noisy_sum(3)]


def test_unset_variable_runs_locally(monkeypatch):
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    assert parallel.configured_client() is None
