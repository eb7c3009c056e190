"""Execute one chapter with papermill, in a process of its own.

Usage: ``python -m compendium.worker JOB.json RESULT.json``.  The job names the
source notebook, the output path, the parameters to inject, the working
directory, the timeouts and the environment for the kernel.  The result contains
the status, the duration and, on failure, where and why the chapter failed.
Running each chapter in its own process keeps papermill's process-wide
``chdir`` and the thread settings of one chapter away from the others.
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

from compendium.notebook import cell_source

KERNEL_NAME = "compendium-python"
INSERTED_CELL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


class ChapterTimeout(Exception):
    """Raised inside the worker when the chapter runs past its time limit."""


def ensure_kernelspec(jupyter_dir):
    """Write a kernelspec that starts this interpreter, whatever the notebook's metadata names.

    Parameters
    ----------
    jupyter_dir : str or pathlib.Path
        Folder added to ``JUPYTER_PATH``; the spec goes to ``kernels/compendium-python/``.
    """
    folder = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (price-of-performance)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    target = folder / "kernel.json"
    text = json.dumps(spec, indent=1)
    if not target.is_file() or target.read_text() != text:
        temporary = folder / f".kernel.json.{os.getpid()}.tmp"
        temporary.write_text(text)
        os.replace(temporary, target)


def run(job):
    """Execute the job's notebook and return the result dict; a failing chapter is reported in it, not raised."""
    os.environ.update(job["env"])
    ensure_kernelspec(job["jupyter_dir"])
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [job["jupyter_dir"], os.environ.get("JUPYTER_PATH")]))

    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    def on_alarm(signum, frame):
        raise ChapterTimeout(f"chapter ran longer than its limit of {job['chapter_timeout']} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(job["chapter_timeout"]))
    started = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            job["source"], job["output"], parameters=job["parameters"], kernel_name=KERNEL_NAME,
            cwd=job["cwd"], execution_timeout=job["cell_timeout"], start_timeout=120,
            progress_bar=False, log_output=False,
        )
    except PapermillExecutionError as failure:
        error = {"kind": "exception", "ename": failure.ename, "evalue": _first_lines(failure.evalue)}
    except CellTimeoutError as failure:
        error = {"kind": "cell timeout", "ename": "CellTimeoutError",
                 "evalue": f"a cell ran longer than {job['cell_timeout']} s: {_first_lines(str(failure))}"}
    except DeadKernelError as failure:
        error = {"kind": "dead kernel", "ename": "DeadKernelError", "evalue": _first_lines(str(failure))}
    except ChapterTimeout as failure:
        error = {"kind": "chapter timeout", "ename": "ChapterTimeout", "evalue": str(failure)}
    except Exception as failure:  # reported with its type, so the runner goes on with the other chapters
        error = {"kind": "runner", "ename": type(failure).__name__, "evalue": _first_lines(str(failure))}
    finally:
        signal.alarm(0)

    duration = time.perf_counter() - started
    if error is None:
        return {"status": "ok", "duration_s": duration}
    error.update(_failed_cell(job["output"]))
    return {"status": "failed", "duration_s": duration, "error": error}


def _failed_cell(output_path):
    """Locate the failing cell in the partial notebook: its index in the source notebook and first line.

    The failing cell is the one papermill marked failed or running.  A dead kernel
    leaves every cell marked completed, so then it is the last cell that started.
    """
    try:
        notebook = json.loads(Path(output_path).read_text())
    except (OSError, ValueError):
        return {"cell": None, "cell_source": ""}

    source_index = -1
    marked = last_started = None
    for cell in notebook["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & INSERTED_CELL_TAGS:
            continue
        source_index += 1
        if cell["cell_type"] != "code":
            continue
        papermill = cell.get("metadata", {}).get("papermill", {})
        has_error = any(output.get("output_type") == "error" for output in cell.get("outputs", []))
        if papermill.get("start_time"):
            last_started = (source_index, cell)
        if marked is None and (papermill.get("status") in ("failed", "running") or has_error):
            marked = (source_index, cell)

    found = marked or last_started
    if found is None:
        return {"cell": None, "cell_source": ""}
    index, cell = found
    source = cell_source(cell)
    return {"cell": index, "cell_source": source.strip().splitlines()[0] if source.strip() else ""}


def _first_lines(text, count=3):
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return "\n".join(lines[:count])


def main(argv=None):
    """Read the job file, run it, and write the result file; exit 0 even if the chapter failed."""
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    result = run(job)
    target = Path(argv[1])
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(json.dumps(result))
    os.replace(temporary, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
