"""The single pint registry: pickling, a round trip through a worker process, and no second registry."""

import concurrent.futures
import pickle
import re
from pathlib import Path

from lib.units import Q_, ureg

PROJECT = Path(__file__).resolve().parent.parent


def _double(quantity):
    return quantity * 2


def test_quantity_pickles_to_same_registry():
    energy = Q_(3.0, "J/op") * Q_(2.0, "op/event") * Q_(5.0, "event/s")
    restored = pickle.loads(pickle.dumps(energy))
    assert restored == energy
    assert (restored + Q_(1.0, "W")).to("W").magnitude == 31.0


def test_quantity_survives_worker_process():
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
        doubled = pool.submit(_double, Q_(1.5, "s")).result()
    assert doubled == Q_(3.0, "s")
    assert (doubled + Q_(1, "minute")).to("s").magnitude == 63.0


def test_counting_units_reduce_to_watts():
    power = Q_(16, "J/op") * Q_(2, "op/event") * Q_(100, "kHz") * ureg.event
    assert power.to("MW").magnitude == 3.2


def test_no_other_unit_registry():
    pattern = re.compile(r"UnitRegistry\s*\(")
    offenders = []
    for folder in ("lib", "compendium", "chapters"):
        for path in (PROJECT / folder).rglob("*"):
            if path.suffix in (".py", ".ipynb") and path != PROJECT / "lib" / "units.py":
                if pattern.search(path.read_text(errors="replace")):
                    offenders.append(str(path.relative_to(PROJECT)))
    assert offenders == []
