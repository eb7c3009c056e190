"""Plan, execute and record chapter runs: what is fresh, what the cache holds, what must run."""

import dataclasses
import json
import logging
import os
import shutil
import time
from pathlib import Path

from compendium import cache, executor, exercises, record
from compendium.errors import ConfigurationError, ParameterError
from compendium.notebook import cell_source, load_notebook
from compendium.parameters import find_parameters_cell, parse_parameters, read_parameter_file, resolve, overrides_of
from lib import claims as claim_module
from lib import datasets

log = logging.getLogger("compendium")

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclasses.dataclass
class Plan:
    """The runner's decision for one chapter (fresh, cached or execute) and the inputs behind it."""

    chapter: object
    notebook: dict
    parameters: dict
    values: dict
    origins: dict
    profile: str
    settings: dict
    components: dict
    key: str
    action: str = "execute"


def chapter_parameters(chapter):
    """Return the notebook and its declared parameters for ``chapter``."""
    notebook = load_notebook(chapter.path)
    index = find_parameters_cell(notebook, chapter.name)
    return notebook, parse_parameters(cell_source(notebook["cells"][index]), chapter.name)


def profile_layer(chapter, profile):
    """Return the ``(origin, values)`` layer of ``chapters/<name>.<profile>.yml``, or None if absent."""
    if not profile:
        return None
    path = chapter.path.with_name(f"{chapter.name}.{profile}.yml")
    if not path.is_file():
        return None
    return (f"profile {profile}", read_parameter_file(path))


class Runner:
    """Executes chapters of one project and keeps its build folder, cache and record."""

    def __init__(self, project, jobs=None, scheduler=None):
        self.project = project
        self.build_dir = project.build_dir
        self.store = cache.Store(self.build_dir)
        self.cores = os.cpu_count() or 1
        self.jobs = max(1, jobs or self.cores)
        self.scheduler = scheduler
        self.record_path = self.build_dir / "record.json"
        self._lib_digest = cache.tree_digest(project.root / "lib")
        self._environment_digest = cache.environment_digest(project.root)

    # Planning ---------------------------------------------------------------------------------------

    def plan(self, chapter, profile=None, extra_layers=(), force=False):
        """Resolve a chapter's parameters and cache key and decide whether it must run.

        Raises
        ------
        ParameterError
            If an override is unknown or has the wrong type; nothing has started then.
        """
        notebook, parameters = chapter_parameters(chapter)
        exercises.check_pairs(chapter.name, notebook)
        layers = [layer for layer in [profile_layer(chapter, profile), *extra_layers] if layer]
        values, origins = resolve(parameters, chapter.name, layers)
        settings = notebook.get("metadata", {}).get("compendium", {}) or {}
        for name in settings.get("datasets", []):
            try:
                datasets.entry(name)
            except datasets.DatasetError as error:
                raise ConfigurationError(f"chapter {chapter.name!r} declares data it cannot use: {error}") from error
        data = cache.data_digest(self.project.root, settings)
        parts = cache.components(notebook, values, self._lib_digest, data, self._environment_digest)
        plan = Plan(chapter=chapter, notebook=notebook, parameters=parameters, values=values, origins=origins,
                    profile=profile or "", settings=settings, components=parts, key=cache.key_of(parts))

        current = record.load(self.record_path)["chapters"].get(chapter.name, {})
        executed = self.executed_path(chapter.name)
        if force:
            plan.action = "execute"
        elif current.get("status") == "ok" and current.get("key") == plan.key and executed.is_file():
            plan.action = "fresh"
        elif self.store.get(chapter.name, plan.key)[0] is not None:
            plan.action = "cached"
        return plan

    def executed_path(self, name):
        """Return where the current executed notebook of chapter ``name`` lives."""
        return self.build_dir / "executed" / f"{name}.ipynb"

    # Execution --------------------------------------------------------------------------------------

    def execute(self, plans, fail_fast=False):
        """Bring every planned chapter up to date and update the record.

        Returns
        -------
        list of str
            Names of the chapters that failed.
        """
        state = record.load(self.record_path)
        state["git"] = record.git_state(self.project.root)
        failures = []

        for plan in plans:
            if plan.action == "fresh":
                log.info("%s: fresh (key %s)", plan.chapter.name, plan.key[:12])
            elif plan.action == "cached":
                self._restore(plan, state)

        to_run = [plan for plan in plans if plan.action == "execute"]
        by_name = {plan.chapter.name: plan for plan in to_run}
        for phase in schedule(to_run, self.jobs, self.cores, expected_work(state, to_run)):
            parallel, threads = phase["parallel"], phase["threads"]
            jobs = [self._job(plan, threads) for plan in phase["plans"]]
            for job, result in self._run_jobs(jobs, parallel):
                plan = by_name[job["chapter"]]
                if result["status"] == "ok":
                    self._accept(plan, job, result, state)
                else:
                    self._reject(plan, job, result, state)
                    failures.append(plan.chapter.name)
                record.save(self.record_path, state)
                if failures and fail_fast:
                    break
            if failures and fail_fast:
                log.error("stopping after the first failure (--fail-fast)")
                break

        record.save(self.record_path, state)
        return failures

    def _run_jobs(self, jobs, parallel):
        if self.scheduler:
            from compendium import distributed

            return distributed.run_on_cluster(jobs, self.scheduler, self.build_dir / "work")
        return executor.run_local(jobs, parallel, self.build_dir / "work")

    def _job(self, plan, threads):
        name = plan.chapter.name
        output_dir = self.build_dir / "outputs" / name
        env = {variable: str(threads) for variable in THREAD_VARIABLES}
        env.update({
            "COMPENDIUM_THREADS": str(threads),
            "COMPENDIUM_CHAPTER": name,
            "COMPENDIUM_OUTPUT_DIR": str(output_dir),
            "MPLBACKEND": INLINE_BACKEND,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(self.project.root), os.environ.get("PYTHONPATH")])),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        })
        overrides = {key: plan.values[key] for key in plan.origins}
        return {
            "chapter": name,
            "source": str(plan.chapter.path),
            "output": str(self.build_dir / "work" / f"{name}.{os.getpid()}.partial.ipynb"),
            "parameters": overrides,
            "cwd": str(plan.chapter.path.parent),
            "cell_timeout": int(plan.settings.get("cell_timeout") or self.project.cell_timeout),
            "chapter_timeout": int(plan.settings.get("timeout") or self.project.chapter_timeout),
            "threads": threads,
            "jupyter_dir": str(self.build_dir / "jupyter"),
            "env": env,
        }

    def _base_entry(self, plan):
        return {
            "docname": plan.chapter.docname,
            "key": plan.key,
            "components": plan.components,
            "parameters": plan.values,
            "defaults": {name: parameter.default for name, parameter in plan.parameters.items()},
            "comments": {name: parameter.comment for name, parameter in plan.parameters.items()},
            "overrides": plan.origins,
            "changed_from_default": overrides_of(plan.parameters, plan.values),
            "profile": plan.profile,
            "seed": plan.values.get("seed"),
            "datasets": [datasets.describe(name) for name in plan.settings.get("datasets", [])],
            "packages": record.package_versions(),
        }

    def _accept(self, plan, job, result, state):
        name = plan.chapter.name
        partial = Path(job["output"])
        notebook = load_notebook(partial)
        found_claims = collect_claims(notebook)
        entry = {
            **self._base_entry(plan),
            "status": "ok",
            "action": "executed",
            "started": record.now(),
            "duration_s": round(result["duration_s"], 2),
            "threads": job["threads"],
            "git": state["git"],
            "claims": found_claims,
        }
        notebook.setdefault("metadata", {}).setdefault("compendium", {})["run"] = {
            key: entry[key] for key in ("key", "parameters", "overrides", "claims", "started", "duration_s", "git")
        }
        cache.atomic_write_text(partial, json.dumps(notebook, indent=1, ensure_ascii=False))
        self.store.put(name, plan.key, partial, entry)
        cache.atomic_copy(partial, self.executed_path(name))
        partial.unlink(missing_ok=True)
        (self.build_dir / "failed" / f"{name}.ipynb").unlink(missing_ok=True)
        state["chapters"][name] = entry
        log.info("%s: finished in %.1f s (%d claims)", name, result["duration_s"], len(found_claims))

    def _restore(self, plan, state):
        name = plan.chapter.name
        notebook_path, entry = self.store.get(name, plan.key)
        cache.atomic_copy(notebook_path, self.executed_path(name))
        state["chapters"][name] = {**entry, "action": "cached", "profile": plan.profile, "overrides": plan.origins}
        log.info("%s: cached (key %s)", name, plan.key[:12])

    def _reject(self, plan, job, result, state):
        name = plan.chapter.name
        error = result["error"]
        partial = Path(job["output"])
        kept = self.build_dir / "failed" / f"{name}.ipynb"
        if partial.is_file():
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, kept)
        previous = state["chapters"].get(name, {})
        last_good = previous if previous.get("status") == "ok" else previous.get("last_good")
        cell = "?" if error.get("cell") is None else error["cell"]
        state["chapters"][name] = {
            **self._base_entry(plan),
            "status": "failed",
            "action": "executed",
            "started": record.now(),
            "duration_s": round(result["duration_s"], 2),
            "threads": job["threads"],
            "git": state["git"],
            "error": error,
            "partial_notebook": str(kept) if kept.is_file() else None,
            "last_good": _summary(last_good) if last_good else None,
            "claims": [],
        }
        log.error("%s: failed in cell %s (%s) after %.1f s: %s: %s. Partial notebook: %s", name, cell,
                  error.get("kind"), result["duration_s"], error.get("ename"), error.get("evalue"),
                  kept if kept.is_file() else "none")


def expected_work(state, plans):
    """Return each chapter's expected CPU work in seconds.

    The estimate is the last recorded run's duration times its threads.  For a chapter
    never run in this build folder, it is the ``work_seconds`` the chapter declares in
    its ``compendium`` metadata, if any.
    """
    work = {}
    for plan in plans:
        entry = state.get("chapters", {}).get(plan.chapter.name, {})
        if entry.get("duration_s") and entry.get("threads"):
            work[plan.chapter.name] = entry["duration_s"] * entry["threads"]
        elif plan.settings.get("work_seconds"):
            work[plan.chapter.name] = float(plan.settings["work_seconds"])
    return work


def schedule(plans, jobs, cores, work):
    """Split the chapters to execute into phases of ``(plans, parallel, threads)`` with parallel x threads <= cores.

    Chapters run longest first, as estimated from earlier runs or declared ``work_seconds``.  When one
    chapter's expected work exceeds that of all the others together, one thread
    each would leave cores idle while it runs alone at the end, so the others run
    first and that chapter then gets every core.

    Parameters
    ----------
    plans : list of Plan
        Chapters to execute.
    jobs, cores : int
        Maximum chapters at once, and cores available.
    work : dict
        Expected CPU seconds by chapter name (missing when never run).

    Returns
    -------
    list of dict
        Phases, run one after the other.
    """
    if not plans:
        return []
    unknown = float("inf")
    ordered = sorted(plans, key=lambda plan: -work.get(plan.chapter.name, unknown))
    parallel = min(jobs, len(ordered))
    if parallel > 1 and all(plan.chapter.name in work for plan in ordered):
        longest, rest = ordered[0], ordered[1:]
        if work[longest.chapter.name] > sum(work[plan.chapter.name] for plan in rest):
            first = min(jobs, len(rest))
            return [{"plans": rest, "parallel": first, "threads": max(1, cores // first)},
                    {"plans": [longest], "parallel": 1, "threads": cores}]
    return [{"plans": ordered, "parallel": parallel, "threads": max(1, cores // parallel)}]


def _summary(entry):
    keep = ("key", "parameters", "overrides", "changed_from_default", "started", "duration_s", "claims", "git")
    return {key: entry.get(key) for key in keep}


def collect_claims(notebook):
    """Return the claims a chapter recorded, read from its outputs with the claim MIME type."""
    found = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if claim_module.CLAIM_MIME in data:
                found.append(data[claim_module.CLAIM_MIME])
    return found
