"""lib.parallel.map_tasks: order and identical results in serial and process-pool runs."""

import concurrent.futures

import pytest

from lib.parallel import map_tasks


def square(value):
    return value * value


def test_map_tasks_serial_order():
    assert map_tasks(square, [3, 1, 2], workers=1) == [9, 1, 4]


def test_map_tasks_pool_matches_serial():
    assert map_tasks(square, range(6), workers=2) == map_tasks(square, range(6), workers=1)


def test_map_tasks_uses_given_executor():
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        assert map_tasks(square, [2, 3], executor=executor) == [4, 9]


def test_map_tasks_rejects_zero_workers():
    with pytest.raises(ValueError, match="workers"):
        map_tasks(square, [1], workers=0)
