"""What the runner gives a chapter at run time: thread count, output folder, seeding, device.

The runner sets ``COMPENDIUM_THREADS``, ``COMPENDIUM_CHAPTER`` and
``COMPENDIUM_OUTPUT_DIR`` in the kernel's environment.  Run interactively, a
chapter gets all cores and ``_build/outputs/<chapter>/`` under the project root.
"""

import os
import random
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def threads():
    """Return the number of threads this chapter may use (``COMPENDIUM_THREADS``, else all cores)."""
    value = os.environ.get("COMPENDIUM_THREADS")
    if value:
        return max(1, int(value))
    return os.cpu_count() or 1


def chapter_name(default="interactive"):
    """Return the name of the chapter being executed (``COMPENDIUM_CHAPTER``), or ``default``."""
    return os.environ.get("COMPENDIUM_CHAPTER", default)


def output_dir(chapter=None):
    """Return the chapter's output folder, creating it if needed.

    Parameters
    ----------
    chapter : str, optional
        Chapter name; defaults to :func:`chapter_name`.  Ignored when the runner
        set ``COMPENDIUM_OUTPUT_DIR``.

    Returns
    -------
    pathlib.Path
        ``$COMPENDIUM_OUTPUT_DIR``, else ``<project>/_build/outputs/<chapter>``.
    """
    configured = os.environ.get("COMPENDIUM_OUTPUT_DIR")
    folder = Path(configured) if configured else PROJECT_ROOT / "_build" / "outputs" / (chapter or chapter_name())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_table(frame, name, chapter=None):
    """Write a pandas DataFrame as ``<name>.csv`` in the chapter's output folder, atomically.

    Returns
    -------
    pathlib.Path
        Path of the written CSV file.
    """
    folder = output_dir(chapter)
    target = folder / f"{name}.csv"
    temporary = folder / f".{name}.csv.{os.getpid()}.tmp"
    frame.to_csv(temporary, index=False)
    os.replace(temporary, target)
    return target


def seed_everything(seed):
    """Seed Python's, NumPy's and (if installed) torch's generators and return a NumPy Generator.

    Torch is also switched to deterministic algorithms, so two runs with the same
    seed give the same numbers on the CPU.

    Parameters
    ----------
    seed : int
        The chapter's ``seed`` parameter.

    Returns
    -------
    numpy.random.Generator
        A generator seeded with ``seed``, for the chapter's own draws.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return np.random.default_rng(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(threads())
    return np.random.default_rng(seed)


def torch_device():
    """Return ``"cuda"`` when a GPU is visible to torch, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
