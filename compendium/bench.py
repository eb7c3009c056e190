"""Build-time benchmark of the book: ``compendium build`` against Jupyter Book and a papermill loop.

Usage: ``python -m compendium.bench [--profile ci] [--repeats 3]`` (``make bench``).

Every figure comes from one run on this machine, on the same chapters with
the same parameter values, each system working in its own temporary copy of
the book so that nothing in the project changes:

- **cold build**: ours (``compendium build``, chapters in parallel, then the
  HTML) against ``jupyter-book build`` with ``execute_notebooks: force``
  (sequential) and a sequential loop of ``papermill`` commands (execution
  only, no HTML);
- **no-change rebuild**: ours against Jupyter Book in ``cache`` mode
  (jupyter-cache) and in ``force`` mode, the latter both as a plain rerun and
  with ``--all`` (every page re-read, so every notebook re-executed);
- **one changed parameter** (``seed`` of the fastest chapter): ours re-runs
  that chapter; each alternative re-runs what it must;
- **the floor**: the chapters' own execution times summed and divided by the
  cores, plus our render time.  Our overhead is how far the cold build lies above it;
- per chapter, execution seconds and the peak resident memory of its process
  tree (chapter process and kernel, sampled every 0.2 s).

The result goes to ``<build dir>/bench.json``; :func:`bench_markdown` turns it
into the book page ``generated/bench``.
"""

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

log = logging.getLogger("compendium")

SAMPLE_SECONDS = 0.2
KERNEL = "python3"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
COPIED = ("_config.yml", "_toc.yml", "references.bib", "requirements.txt")
COPIED_TREES = ("chapters", "lib", "data")
IGNORED = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "_build")
SWEEP_CONFIGURATIONS = {"": 10_000, "ci": 1_000}
TARGETS = {"cold_vs_force": 1.8, "no_change_vs_force": 20.0, "overhead_percent": 15.0}
RENDERED = re.compile(r"book rendered in ([0-9.]+) s")


# Running and timing commands -----------------------------------------------------------------------


class Timed:
    """A finished command: wall seconds, exit code and the tail of its output."""

    def __init__(self, seconds, returncode, output):
        self.seconds = seconds
        self.returncode = returncode
        self.output = output

    def check(self, description):
        """Return self, or raise RuntimeError naming ``description`` and quoting the output if the command failed."""
        if self.returncode != 0:
            raise RuntimeError(f"{description} failed (exit {self.returncode}):\n{self.output[-3000:]}")
        return self


def run_timed(command, env, cwd, sampler=None):
    """Run ``command`` and return a :class:`Timed`; ``sampler(pid, stop)`` runs in a thread meanwhile."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True)
    stop = threading.Event()
    thread = None
    if sampler is not None:
        thread = threading.Thread(target=sampler, args=(process.pid, stop), daemon=True)
        thread.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    if thread is not None:
        thread.join()
    return Timed(seconds, process.returncode, output)


class PeakMemory:
    """Peak resident memory per chapter of the ``compendium.worker`` process trees below one process."""

    def __init__(self):
        self.peaks = {}

    def __call__(self, pid, stop):
        import psutil

        while not stop.is_set():
            try:
                children = psutil.Process(pid).children(recursive=True)
            except psutil.Error:
                return
            for process in children:
                chapter = _chapter_of(process)
                if chapter:
                    self.peaks[chapter] = max(self.peaks.get(chapter, 0), _tree_rss(process))
            stop.wait(SAMPLE_SECONDS)


def _chapter_of(process):
    import psutil

    try:
        arguments = process.cmdline()
    except psutil.Error:
        return None
    if "compendium.worker" not in arguments:
        return None
    job = next((argument for argument in arguments if argument.endswith(".job.json")), "")
    return Path(job).name.removesuffix(".job.json") or None


def _tree_rss(process):
    import psutil

    total = 0
    try:
        for member in [process, *process.children(recursive=True)]:
            total += member.memory_info().rss
    except psutil.Error:
        pass
    return total


def median_of(repeats, measure):
    """Call ``measure()`` ``repeats`` times; return the median seconds and every run's seconds."""
    runs = [measure() for _ in range(repeats)]
    return {"median_s": round(statistics.median(runs), 3), "runs_s": [round(run, 3) for run in runs]}


# The temporary books -------------------------------------------------------------------------------


def copy_book(root, target):
    """Copy the book's sources (not its build folder) to ``target`` and return ``target``."""
    target.mkdir(parents=True)
    for name in COPIED:
        if (root / name).is_file():
            shutil.copy2(root / name, target / name)
    for path in root.glob("*.md"):
        shutil.copy2(path, target / path.name)
    for name in COPIED_TREES:
        if (root / name).is_dir():
            shutil.copytree(root / name, target / name, ignore=IGNORED)
    return target


def parameterised(source, values):
    """Return the source notebook without outputs, kernel ``python3``, with ``values`` injected as papermill does.

    The values go into a cell tagged ``injected-parameters`` right after the
    cell tagged ``parameters``, so every system executes the same code.
    """
    import nbformat
    from papermill.translators import PythonTranslator

    notebook = nbformat.read(str(source), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    if values:
        index = next(number for number, cell in enumerate(notebook.cells)
                     if "parameters" in cell.get("metadata", {}).get("tags", []))
        injected = nbformat.v4.new_code_cell(PythonTranslator.codify(values, "Injected parameters"),
                                             metadata={"tags": ["injected-parameters"]})
        notebook.cells.insert(index + 1, injected)
    return nbformat.writes(notebook)


def jupyter_book_copy(stage, target, chapters, values, mode, timeout):
    """Make a Jupyter Book folder from our staged book with the source notebooks and ``execute_notebooks: mode``."""
    shutil.copytree(stage, target)
    config = yaml.safe_load((target / "_config.yml").read_text())
    config["execute"] = {**(config.get("execute") or {}), "execute_notebooks": mode, "timeout": timeout}
    (target / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for chapter in chapters:
        (target / f"{chapter.docname}.ipynb").write_text(parameterised(chapter.path, values[chapter.name]))
    return target


def profile_values(chapter, profile):
    """Return the values the runner injects for ``profile`` (converted to the defaults' types), or {}."""
    from compendium.build import chapter_parameters, profile_layer
    from compendium.parameters import resolve

    layer = profile_layer(chapter, profile)
    if layer is None:
        return {}
    _, parameters = chapter_parameters(chapter)
    values, origins = resolve(parameters, chapter.name, [layer])
    return {name: values[name] for name in origins}


def environment(root, home):
    """Return the environment every measured command runs in."""
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": INLINE_BACKEND,
           "MPLCONFIGDIR": str(home / "matplotlib"), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
           "POP_DATA_CACHE": os.environ.get("POP_DATA_CACHE") or str(root / ".data-cache")}
    mirror = root.parent / "shared" / "data"
    if not env.get("POP_DATA_MIRROR") and mirror.is_dir():
        env["POP_DATA_MIRROR"] = str(mirror)
    for name in ("COMPENDIUM_BUILD_DIR", "COMPENDIUM_THREADS", "COMPENDIUM_SCHEDULER"):
        env.pop(name, None)
    return env


def machine():
    """Return what the figures were measured on: cores, memory, processor, Python."""
    import psutil

    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cores": os.cpu_count() or 1, "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "processor": model or platform.processor(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


# The measurements ----------------------------------------------------------------------------------


def measure(project, profile="", repeats=3):
    """Run every measurement once (small ones ``repeats`` times) and return the bench.json dict."""
    from compendium.project import Project
    from compendium.record import package_versions

    python = sys.executable
    jb_command = str(Path(python).with_name("jupyter-book"))
    started = time.time()
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="compendium-bench-") as folder:
        folder = Path(folder)
        ours = copy_book(project.root, folder / "ours")
        book = Project.load(ours)
        chapters = book.chapters()
        values = {chapter.name: profile_values(chapter, profile) for chapter in chapters}
        env = environment(project.root, folder / "home")
        jb_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ours), env.get("PYTHONPATH")]))}
        profile_arguments = ["--profile", profile] if profile else []
        compendium = [python, "-m", "compendium.cli", "--root", str(ours)]

        # Matplotlib builds its font cache on first import into a fresh MPLCONFIGDIR; no system should pay it.
        run_timed([python, "-c", "import matplotlib.pyplot, IPython"], env, ours).check("warm-up")

        log.info("bench: cold build, ours")
        memory = PeakMemory()
        cold = run_timed([*compendium, "build", *profile_arguments], env, ours, memory).check("compendium build")
        state = json.loads((ours / "_build" / "record.json").read_text())
        durations = {name: state["chapters"][name]["duration_s"] for name in values}
        threads = {name: state["chapters"][name]["threads"] for name in values}
        rendered = RENDERED.search(cold.output)
        render_s = float(rendered.group(1)) if rendered else None

        log.info("bench: no-change rebuild, ours")
        ours_no_change = median_of(repeats, lambda: run_timed(
            [*compendium, "build", *profile_arguments], env, ours).check("compendium build (no change)").seconds)

        stage = ours / "_build" / "stage"
        force = jupyter_book_copy(stage, folder / "jb-force", chapters, values, "force", book.cell_timeout)
        cache = jupyter_book_copy(stage, folder / "jb-cache", chapters, values, "cache", book.cell_timeout)

        def jupyter_book(path, *extra):
            timed = run_timed([jb_command, "build", str(path), "--quiet", *extra], jb_env, path)
            if "Executing notebook failed" in timed.output:
                timed.returncode = timed.returncode or 1
            return timed.check(f"jupyter-book build {path.name}")

        log.info("bench: cold build, Jupyter Book force")
        jb_force_cold = jupyter_book(force)
        log.info("bench: cold build, Jupyter Book cache")
        jb_cache_cold = jupyter_book(cache)
        log.info("bench: cold build, papermill loop")
        papermill_loop, papermill_each = _papermill_loop(chapters, values, folder / "papermill", env, ours)

        log.info("bench: no-change rebuilds, Jupyter Book")
        jb_cache_no_change = median_of(repeats, lambda: jupyter_book(cache).seconds)
        jb_force_no_change = median_of(repeats, lambda: jupyter_book(force).seconds)
        jb_force_all = jupyter_book(force, "--all")

        changed = min(durations, key=durations.get)
        chapter = next(item for item in chapters if item.name == changed)
        log.info("bench: one changed parameter (seed of %s)", changed)
        change = _changed_parameter(chapter, values[changed], profile_arguments, compendium, env, ours,
                                    {"cache": cache, "force": force}, jupyter_book, repeats)

    cores = os.cpu_count() or 1
    floor = sum(durations.values()) / cores + (render_s or 0.0)
    slots = min(cores, len(durations))
    in_order = phased_schedule(durations, threads, cores)
    longest_first = list_schedule(sorted(durations.values(), reverse=True), slots)
    data = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "bench_seconds": round(time.time() - started, 1),
        "profile": profile or "default",
        "repeats": repeats,
        "machine": {**machine(), "load_average": {"start": round(load_at_start, 2),
                                                   "end": round(os.getloadavg()[0], 2)}},
        "packages": {name: version for name, version in package_versions().items()
                     if name in ("jupyter-book", "myst-nb", "papermill")},
        "chapters": {name: {"execution_s": durations[name], "threads": threads[name],
                            "alone_all_cores_s": papermill_each[name],
                            "peak_memory_mib": round(memory.peaks.get(name, 0) / 2**20, 1) or None}
                     for name in durations},
        "cold": _with_ratios({"ours": cold.seconds, "jupyter_book_force": jb_force_cold.seconds,
                              "jupyter_book_cache": jb_cache_cold.seconds, "papermill_loop": papermill_loop}),
        "no_change": {
            "ours": ours_no_change, "jupyter_book_cache": jb_cache_no_change,
            "jupyter_book_force": jb_force_no_change, "jupyter_book_force_all": round(jb_force_all.seconds, 3),
        },
        "changed_parameter": {"chapter": changed, "parameter": "seed", **change,
                              "papermill_loop": round(papermill_loop, 3)},
        "floor": {"render_s": render_s, "chapter_sum_s": round(sum(durations.values()), 2), "cores": cores,
                  "floor_s": round(floor, 2), "longest_chapter_s": max(durations.values()),
                  "schedule_s": round(in_order, 2), "longest_first_schedule_s": round(longest_first, 2),
                  "other_s": round(cold.seconds - in_order - (render_s or 0.0), 2),
                  "overhead_percent": round(100 * (cold.seconds - floor) / floor, 1)},
    }
    data["no_change"]["ratios"] = {
        name: round(data["no_change"][name]["median_s"] / ours_no_change["median_s"], 1)
        for name in ("jupyter_book_cache", "jupyter_book_force")}
    data["no_change"]["ratios"]["jupyter_book_force_all"] = round(jb_force_all.seconds / ours_no_change["median_s"], 1)
    data["targets"] = _targets(data)
    sweep = _daq_sweep(SWEEP_CONFIGURATIONS["ci" if profile == "ci" else ""])
    if sweep:
        data["daq_sweep"] = sweep
    return data


def _papermill_loop(chapters, values, folder, env, root):
    """Run ``papermill`` on each chapter in turn; return the total wall seconds and each command's."""
    folder.mkdir(parents=True)
    started = time.perf_counter()
    each = {}
    for chapter in chapters:
        command = [sys.executable, "-m", "papermill", str(chapter.path), str(folder / f"{chapter.name}.ipynb"),
                   "-k", KERNEL, "--cwd", str(chapter.path.parent), "--no-progress-bar"]
        if values[chapter.name]:
            parameters = folder / f"{chapter.name}.yml"
            parameters.write_text(yaml.safe_dump(values[chapter.name]))
            command += ["-f", str(parameters)]
        env_loop = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))}
        each[chapter.name] = round(run_timed(command, env_loop, root).check(f"papermill {chapter.name}").seconds, 2)
    return time.perf_counter() - started, each


def _changed_parameter(chapter, values, profile_arguments, compendium, env, ours, books, jupyter_book, repeats):
    """Time one chapter with a new seed, ``repeats`` new seeds in turn, in ours and in Jupyter Book."""
    from compendium.build import chapter_parameters

    _, parameters = chapter_parameters(chapter)
    seed = int(values.get("seed", parameters["seed"].default if "seed" in parameters else 0))
    if "seed" not in parameters:
        return {"skipped": f"{chapter.name} has no seed parameter"}

    runs = {"ours": [], "jupyter_book_cache": [], "jupyter_book_force": []}
    for offset in range(1, repeats + 1):
        new = {**values, "seed": seed + offset}
        runs["ours"].append(run_timed([*compendium, "run", chapter.name, *profile_arguments, "-p", "seed",
                                       str(seed + offset)], env, ours).check("compendium run").seconds)
        for mode, path in books.items():
            (path / f"{chapter.docname}.ipynb").write_text(parameterised(chapter.path, new))
            runs[f"jupyter_book_{mode}"].append(jupyter_book(path).seconds)
    result = {name: {"median_s": round(statistics.median(seconds), 3), "runs_s": [round(s, 3) for s in seconds]}
              for name, seconds in runs.items()}
    result["ratios"] = {name: round(result[name]["median_s"] / result["ours"]["median_s"], 1)
                        for name in ("jupyter_book_cache", "jupyter_book_force")}
    return result


def list_schedule(durations, slots):
    """Return when the last job ends if ``durations`` (s) start in order, each on the first free slot of ``slots``."""
    free = [0.0] * slots
    for duration in durations:
        start = min(free)
        free[free.index(start)] = start + duration
    return max(free, default=0.0)


def phased_schedule(durations, threads, cores):
    """Return when the last chapter ends as our runner ran them (s).

    Chapters with fewer threads than cores share the cores, in book order;
    each chapter given every core runs alone after them.
    """
    shared = [seconds for name, seconds in durations.items() if threads[name] < cores]
    alone = [seconds for name, seconds in durations.items() if threads[name] >= cores]
    slots = max(1, cores // max([threads[name] for name in durations if threads[name] < cores], default=1))
    return list_schedule(shared, min(slots, max(1, len(shared)))) + sum(alone)


def core_floor(data):
    """Return the floor counted in core-seconds: each chapter's wall time times its threads, over the cores, plus render."""
    chapters, floor = data["chapters"], data["floor"]
    if not all(entry.get("threads") for entry in chapters.values()):
        return None
    work = sum(entry["execution_s"] * entry["threads"] for entry in chapters.values())
    return work / floor["cores"] + (floor["render_s"] or 0.0)


def _with_ratios(seconds):
    table = {name: round(value, 2) for name, value in seconds.items()}
    table["ratios"] = {name: round(value / seconds["ours"], 2) for name, value in seconds.items() if name != "ours"}
    return table


def _targets(data):
    """Return each target with the measured value and whether it is met."""
    cold = data["cold"]["ratios"]["jupyter_book_force"]
    no_change = data["no_change"]["ratios"]["jupyter_book_force_all"]
    overhead = data["floor"]["overhead_percent"]
    return {
        "cold_vs_force": {"target": f">= {TARGETS['cold_vs_force']}x", "measured": cold,
                          "met": cold >= TARGETS["cold_vs_force"]},
        "no_change_vs_force": {"target": f">= {TARGETS['no_change_vs_force']:.0f}x", "measured": no_change,
                               "met": no_change >= TARGETS["no_change_vs_force"]},
        "overhead_percent": {"target": f"< {TARGETS['overhead_percent']:.0f} %", "measured": overhead,
                             "met": overhead < TARGETS["overhead_percent"]},
    }


def _daq_sweep(n_configurations):
    """Return the DAQ chapter's sweep benchmark, or None where ``benchmark_sweep`` does not exist."""
    try:
        from lib.costmodels.daq_sweeps import benchmark_sweep
    except ImportError:
        return None
    result = benchmark_sweep(n_configurations)
    return {key: (round(value, 1) if isinstance(value, float) else value) for key, value in result.items()}


# The page ------------------------------------------------------------------------------------------


def _s(value):
    if value is None:
        return "–"
    if value >= 10:
        return f"{value:.1f} s"
    return f"{value:.2f} s"


def _x(value):
    return "–" if value is None else f"{value:.1f}×"


def bench_markdown(data):
    """Return the book page "How fast this book builds" for a bench.json dict (None: not measured yet)."""
    if not data:
        return ("# How fast this book builds\n\n"
                "Not measured yet: run `make bench` (or `python -m compendium.bench --profile ci` for a quick "
                "run), then rebuild the book.\n")
    host = data["machine"]
    cold, no_change, change, floor = data["cold"], data["no_change"], data["changed_parameter"], data["floor"]
    lines = [
        "# How fast this book builds",
        "",
        f"Measured {data['measured_at']} on {host['cores']} cores and {host['memory_gib']} GiB of memory "
        f"({host['processor']}, Python {host['python']}), at the **{data['profile']}** parameters, in one run "
        f"of `{_command(data)}` that took {data['bench_seconds'] / 60:.0f} min.  Each system worked in its own "
        "temporary copy of the book on the same chapters with the same parameter values.  Wall-clock figures "
        "are noisy, on a shared machine more so; the small timings are medians of "
        f"{data['repeats']} runs, the full executions single runs.",
    ]
    load = host.get("load_average")
    if load:
        lines[-1] += (f"  The machine's load average (1 min) was {load['start']:.1f} when the bench started and "
                      f"{load['end']:.1f} when it ended.")
    if data.get("packages"):
        lines[-1] += "  Versions: " + ", ".join(f"{name} {version}" for name, version in data["packages"].items()) + "."
    lines += [
        "",
        "## Cold build",
        "",
        "| how | wall time | theirs ÷ ours (above 1: ours is faster) |",
        "|---|---|---|",
        f"| `compendium build` (chapters in parallel, then the HTML) | {_s(cold['ours'])} | |",
        f"| `jupyter-book build`, `execute_notebooks: force` (sequential) | {_s(cold['jupyter_book_force'])} "
        f"| {_x(cold['ratios']['jupyter_book_force'])} |",
        f"| `jupyter-book build`, `execute_notebooks: cache` (first build) | {_s(cold['jupyter_book_cache'])} "
        f"| {_x(cold['ratios']['jupyter_book_cache'])} |",
        f"| a loop of `papermill` commands (execution only, no HTML) | {_s(cold['papermill_loop'])} "
        f"| {_x(cold['ratios']['papermill_loop'])} |",
        "",
        "## Rebuild with nothing changed",
        "",
        "| how | wall time (median) | theirs ÷ ours (above 1: ours is faster) |",
        "|---|---|---|",
        f"| `compendium build` | {_s(no_change['ours']['median_s'])} | |",
        f"| Jupyter Book, cache mode | {_s(no_change['jupyter_book_cache']['median_s'])} "
        f"| {_x(no_change['ratios']['jupyter_book_cache'])} |",
        f"| Jupyter Book, force mode, plain rerun | {_s(no_change['jupyter_book_force']['median_s'])} "
        f"| {_x(no_change['ratios']['jupyter_book_force'])} |",
        f"| Jupyter Book, force mode, `--all` (single run) | {_s(no_change['jupyter_book_force_all'])} "
        f"| {_x(no_change['ratios']['jupyter_book_force_all'])} |",
        "",
        "A plain rerun of Jupyter Book re-reads no page whose source is unchanged, so it executes nothing in "
        "either mode; it also misses a change in `lib/`, in the data or in the environment, which our cache key "
        "covers.  Force mode re-executes every notebook once every page is re-read: with `--all`, after a "
        "configuration change, or on a fresh checkout in CI.",
    ]
    if "ours" in change:
        lines += [
            "",
            f"## One changed parameter: `seed` of `{change['chapter']}`",
            "",
            "| how | what re-executes | wall time (median) | theirs ÷ ours (above 1: ours is faster) |",
            "|---|---|---|---|",
            f"| `compendium run {change['chapter']} -p seed N` | that chapter, then the HTML "
            f"| {_s(change['ours']['median_s'])} | |",
            f"| Jupyter Book, cache mode, parameter edited in the notebook | that notebook "
            f"| {_s(change['jupyter_book_cache']['median_s'])} | {_x(change['ratios']['jupyter_book_cache'])} |",
            f"| Jupyter Book, force mode, parameter edited in the notebook | that notebook "
            f"| {_s(change['jupyter_book_force']['median_s'])} | {_x(change['ratios']['jupyter_book_force'])} |",
            f"| papermill loop | every chapter (it keeps no record of what changed) "
            f"| {_s(change['papermill_loop'])} (the cold loop) | {_x(change['papermill_loop'] / change['ours']['median_s'])} |",
        ]
    lines += [
        "",
        "## The floor and our overhead",
        "",
        f"The chapters' own execution times sum to {_s(floor['chapter_sum_s'])}; divided by {floor['cores']} "
        f"cores and plus the render time of {_s(floor['render_s'])} that gives a floor of "
        f"{_s(floor['floor_s'])}.  Our cold build took {_s(cold['ours'])}: **{floor['overhead_percent']:.0f} %** "
        f"above the floor.  Where the time goes: {_where_time_goes(floor, data['chapters'])}.{_core_floor_text(data)}",
        "",
        "| chapter | execution in our build | threads | alone on all cores (papermill command) "
        "| peak memory (chapter process and kernel) |",
        "|---|---|---|---|---|",
    ]
    for name, entry in data["chapters"].items():
        memory = "–" if not entry.get("peak_memory_mib") else f"{entry['peak_memory_mib']:.0f} MiB"
        lines.append(f"| {name} | {_s(entry['execution_s'])} | {entry.get('threads', '–')} "
                     f"| {_s(entry.get('alone_all_cores_s'))} | {memory} |")
    lines += ["", "## Targets", "", "| comparison | target | measured | verdict |", "|---|---|---|---|"]
    lines += _target_rows(data)
    sweep = data.get("daq_sweep")
    if sweep:
        lines += [
            "",
            "## The DAQ sweep",
            "",
            f"The DAQ chapter's vectorised sweep evaluates {sweep['vectorised_per_s']:,.0f} configurations per "
            f"second over {sweep['n']:,} configurations; a loop over one scalar system per configuration "
            f"manages {sweep['loop_per_s']:,.1f} per second (over {sweep['n_loop']}), "
            f"{sweep['vectorised_per_s'] / sweep['loop_per_s']:,.0f} times fewer.",
        ]
    return "\n".join(lines) + "\n"


def _core_floor_text(data):
    floor = core_floor(data)
    if floor is None:
        return ""
    overhead = 100 * (data["cold"]["ours"] - floor) / floor
    return (f"  That floor counts a chapter's wall time once even when it ran with several threads.  Counted in "
            f"core-seconds (wall time times threads, because a chapter running with every core leaves none to the "
            f"others) the floor is {_s(floor)} and our cold build lies {overhead:.0f} % above it.")


def _command(data):
    command = "python -m compendium.bench"
    if data["profile"] != "default":
        command += f" --profile {data['profile']}"
    return command


def _target_rows(data):
    names = {"cold_vs_force": "cold build against Jupyter Book force",
             "no_change_vs_force": "no-change rebuild against Jupyter Book force (`--all`)",
             "overhead_percent": "cold build above the floor"}
    rows = []
    for key, target in data["targets"].items():
        unit = " %" if key == "overhead_percent" else "×"
        verdict = "met" if target["met"] else f"**missed** ({_missed_by(key, target, data)})"
        rows.append(f"| {names[key]} | {target['target']} | {target['measured']}{unit} | {verdict} |")
    return rows


def _missed_by(key, target, data):
    floor = data["floor"]
    expected = TARGETS[key]
    if key == "overhead_percent":
        return f"by {target['measured'] - expected:.0f} points: {_where_time_goes(floor, data['chapters'])}"
    if key == "cold_vs_force":
        return f"by {expected - target['measured']:.1f}×: {_where_time_goes(floor, data['chapters'])}"
    return f"by {expected - target['measured']:.1f}×"


def _where_time_goes(floor, chapters=None):
    """Explain the gap between the cold build and the floor from the chapters' schedule and thread counts."""
    divided = floor["chapter_sum_s"] / floor["cores"]
    threads = {name: entry.get("threads") for name, entry in (chapters or {}).items()}
    scheduled = floor.get("schedule_s")
    alone = all(threads.values()) and any(count >= floor["cores"] for count in threads.values())
    if threads and all(threads.values()):
        durations = {name: entry["execution_s"] for name, entry in chapters.items()}
        scheduled = phased_schedule(durations, threads, floor["cores"])
    parts = [f"the chapters, as the runner scheduled them on {floor['cores']} cores, end after "
             f"{_s(scheduled)} where perfect division gives {_s(divided)}"]
    if alone:
        parts.append("a chapter given every core runs alone after the others")
    elif floor.get("longest_first_schedule_s") is not None and floor["longest_first_schedule_s"] < scheduled:
        parts.append(f"longest first they would end after {_s(floor['longest_first_schedule_s'])}")
    if floor["longest_chapter_s"] > divided:
        parts.append(f"the longest chapter alone takes {_s(floor['longest_chapter_s'])}")
    slowed = [(name, entry) for name, entry in (chapters or {}).items()
              if entry.get("alone_all_cores_s") and entry["execution_s"] > 1.3 * entry["alone_all_cores_s"]]
    for name, entry in slowed:
        parts.append(f"{name} ran with {entry.get('threads', '?')} thread(s) in {_s(entry['execution_s'])} but alone "
                     f"on all {floor['cores']} cores in {_s(entry['alone_all_cores_s'])}, because the thread count "
                     "is fixed when a chapter starts and a core freed by a finished chapter stays idle")
    if floor.get("other_s") is not None:
        # other_s is the cold build less the recorded schedule and the render; re-based on the schedule above.
        other = floor["other_s"] + (floor.get("schedule_s") or scheduled) - scheduled
        parts.append(f"start-up, planning and bookkeeping take {_s(other)} besides the render")
    return "; ".join(parts)


# Command line --------------------------------------------------------------------------------------


def main(argv=None):
    """Measure, write ``<build dir>/bench.json`` and log a summary; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m compendium.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="", help="run the chapters at this profile (e.g. ci) for a quick bench")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each small timing; the median is kept")
    parser.add_argument("--root", help="project folder (default: the checkout this command belongs to)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    if arguments.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {arguments.repeats}")

    from compendium.project import Project

    project = Project.find(arguments.root) if arguments.root else Project.find()
    data = measure(project, arguments.profile, arguments.repeats)
    target = project.build_dir / "bench.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    from compendium.cache import atomic_write_text

    atomic_write_text(target, json.dumps(data, indent=1))
    log.info("bench written to %s: cold %.1f s (Jupyter Book force %.1fx slower), no-change %.2f s "
             "(force --all %.1fx slower), overhead above the floor %.1f %%", target, data["cold"]["ours"],
             data["cold"]["ratios"]["jupyter_book_force"], data["no_change"]["ours"]["median_s"],
             data["no_change"]["ratios"]["jupyter_book_force_all"], data["floor"]["overhead_percent"])
    return 0


def load(build_dir):
    """Return ``<build dir>/bench.json`` as a dict, or None when it is absent or unreadable."""
    try:
        return json.loads((Path(build_dir) / "bench.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


if __name__ == "__main__":
    sys.exit(main())
