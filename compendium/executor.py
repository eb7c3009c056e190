"""Run chapter jobs in worker processes, at most ``parallel`` at a time, with a hard time limit each."""

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("compendium")

POLL_SECONDS = 0.05
# Grace period past the chapter limit, for the worker to stop the kernel and save the partial notebook.
HARD_LIMIT_GRACE_SECONDS = 60
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # A worker outlives a killed runner otherwise, and would keep a core busy.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def run_local(jobs, parallel, work_dir):
    """Execute jobs in local worker processes and yield ``(job, result)`` as each one ends.

    Parameters
    ----------
    jobs : list of dict
        Job descriptions for :mod:`compendium.worker`.
    parallel : int
        Maximum number of chapters executing at once.
    work_dir : pathlib.Path
        Folder for job, result and log files.

    Yields
    ------
    tuple of (dict, dict)
        The job and its result (``status``, ``duration_s``, ``error``).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    pending = list(jobs)
    running = {}
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            running[job["chapter"]] = _start(job, work_dir)

        time.sleep(POLL_SECONDS)
        for chapter, (job, process, started, result_path, log_path) in list(running.items()):
            elapsed = time.monotonic() - started
            if process.poll() is None and elapsed < job["chapter_timeout"] + HARD_LIMIT_GRACE_SECONDS:
                continue
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            del running[chapter]
            yield job, _result_of(job, process, elapsed, result_path, log_path)


def _start(job, work_dir):
    job_path = work_dir / f"{job['chapter']}.job.json"
    result_path = work_dir / f"{job['chapter']}.result.json"
    log_path = work_dir / f"{job['chapter']}.log"
    result_path.unlink(missing_ok=True)
    job_path.write_text(json.dumps(job))
    log.info("%s: started (threads %d)", job["chapter"], job["threads"])
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "compendium.worker", str(job_path), str(result_path)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent, cwd=job["cwd"],
            env={**os.environ, **job["env"]},
        )
    return job, process, time.monotonic(), result_path, log_path


def _result_of(job, process, elapsed, result_path, log_path):
    if result_path.is_file():
        return json.loads(result_path.read_text())
    tail = "\n".join(Path(log_path).read_text(errors="replace").splitlines()[-5:]) if Path(log_path).exists() else ""
    if elapsed >= job["chapter_timeout"]:
        kind, message = "chapter timeout", f"worker killed after {elapsed:.0f} s (limit {job['chapter_timeout']} s)"
    else:
        kind, message = "worker died", f"worker exited with code {process.returncode} and no result. {tail}"
    return {"status": "failed", "duration_s": elapsed,
            "error": {"kind": kind, "ename": "WorkerError", "evalue": message, "cell": None, "cell_source": ""}}
