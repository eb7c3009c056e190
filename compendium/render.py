"""Stage the book with the executed notebooks in place, build it with Jupyter Book, publish the HTML.

The staged copy lives in ``_build/stage`` and is updated file by file (only
changed files are rewritten), so Sphinx rebuilds only the pages that changed.
The HTML is built into ``_build/render`` and then published by pointing the
``_build/html`` symlink at a fresh copy: a failed build leaves the last good
book in place.
"""

import copy
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from compendium import bench, exercises, pages, record
from compendium.notebook import cell_source, load_notebook
from compendium.errors import RenderError

log = logging.getLogger("compendium")

GENERATED = "generated"
RENDER_TIMEOUT_SECONDS = 900


def stage_files(project, state):
    """Return ``{relative path: bytes}`` of everything the staged book holds."""
    root = project.root
    files = {}

    config = copy.deepcopy(project.config)
    config.pop("compendium", None)
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    files["_config.yml"] = yaml.safe_dump(config, sort_keys=False).encode()
    files["_toc.yml"] = (root / "_toc.yml").read_bytes()
    for extra in ("references.bib",):
        if (root / extra).is_file():
            files[extra] = (root / extra).read_bytes()

    for docname in project.toc_docnames():
        markdown = root / f"{docname}.md"
        if markdown.is_file():
            files[f"{docname}.md"] = markdown.read_bytes()

    for asset in _assets(root):
        files[asset.relative_to(root).as_posix()] = asset.read_bytes()

    chapters = project.chapters()
    for chapter in chapters:
        exercises.check_pairs(chapter.name, load_notebook(chapter.path))
        entry = state.get("chapters", {}).get(chapter.name)
        executed = project.build_dir / "executed" / f"{chapter.name}.ipynb"
        if entry and executed.is_file():
            notebook = decorate(merge_prose(load_notebook(chapter.path), load_notebook(executed)), entry)
            files[f"{chapter.docname}.ipynb"] = json.dumps(notebook, indent=1, ensure_ascii=False).encode()
        else:
            files[f"{chapter.docname}.md"] = pages.stub_page(_title(chapter.path), entry).encode()

    files[f"{GENERATED}/ledger.md"] = pages.ledger_page(record.all_claims(state)).encode()
    files[f"{GENERATED}/status.md"] = pages.status_page(
        state, [chapter.name for chapter in chapters], pages.find_gaps(root)).encode()
    if f"{GENERATED}/bench" in project.toc_docnames():
        files[f"{GENERATED}/bench.md"] = bench.bench_markdown(bench.load(project.build_dir)).encode()
    return files


def merge_prose(source, executed):
    """Return the executed notebook with the markdown and cell metadata of the current source.

    A markdown-only or tag-only edit does not change the cache key, so the cached
    notebook still contains the old prose: the page takes markdown cells and tags
    from the source and outputs from the executed notebook, matching code cells
    in order.  If the code cells no longer match (a failed chapter showing its
    last good run), the executed notebook is returned unchanged.
    """
    executed_code = [cell for cell in executed["cells"] if cell["cell_type"] == "code"
                     and "injected-parameters" not in cell.get("metadata", {}).get("tags", [])]
    source_code = [cell for cell in source["cells"] if cell["cell_type"] == "code"]
    if len(executed_code) != len(source_code) or any(
            cell_source(old) != cell_source(new) for old, new in zip(executed_code, source_code)):
        return executed

    injected = [cell for cell in executed["cells"]
                if "injected-parameters" in cell.get("metadata", {}).get("tags", [])]
    outputs = iter(executed_code)
    cells = []
    for cell in source["cells"]:
        if cell["cell_type"] != "code":
            cells.append(copy.deepcopy(cell))
            continue
        ran = next(outputs)
        cells.append({**copy.deepcopy(ran), "metadata": {**ran.get("metadata", {}), **cell.get("metadata", {})}})
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cells.extend(copy.deepcopy(injected))
    merged = copy.deepcopy(executed)
    merged["cells"] = cells
    return merged


def decorate(notebook, entry):
    """Insert the run-parameters block (and a failure warning if needed) after the chapter's title."""
    notebook = copy.deepcopy(notebook)
    run = notebook.get("metadata", {}).get("compendium", {}).get("run", {})
    blocks = []
    if entry.get("status") == "failed":
        blocks.append(pages.failure_markdown(entry, showing_last_good=True))
    blocks.append(pages.provenance_markdown(run, entry))
    cell = {"cell_type": "markdown", "id": pages.PROVENANCE_TAG, "metadata": {"tags": [pages.PROVENANCE_TAG]},
            "source": "\n\n".join(blocks)}

    position = 0
    for index, existing in enumerate(notebook["cells"]):
        if existing["cell_type"] == "markdown" and cell_source(existing).lstrip().startswith("# "):
            position = index + 1
            break
    notebook["cells"].insert(position, cell)
    return notebook


def sync(stage, files):
    """Make ``stage`` hold exactly ``files``, rewriting only files whose content changed.

    Returns
    -------
    int
        Number of files written or removed.
    """
    stage.mkdir(parents=True, exist_ok=True)
    changed = 0
    for relative, content in files.items():
        target = stage / relative
        if target.is_file() and target.read_bytes() == content:
            continue
        changed += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(content)
        os.replace(temporary, target)
    wanted = {stage / relative for relative in files}
    for path in sorted(stage.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
            changed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return changed


def render(project, state):
    """Stage and build the book, then publish it at ``_build/html``.

    Returns
    -------
    pathlib.Path
        The published HTML folder.

    Raises
    ------
    RenderError
        If Jupyter Book reports an error or a warning (a missing glue key, a broken
        reference); the previously published book stays in place.
    """
    build_dir = project.build_dir
    stage = build_dir / "stage"
    output = build_dir / "render"
    started = time.perf_counter()
    changed = sync(stage, stage_files(project, state))
    published = build_dir / "html"
    if changed == 0 and (published / "index.html").is_file() and (output / "_build" / "html").is_dir():
        log.info("book unchanged; kept %s", published)
        return published

    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(stage), "--path-output",
               str(output), "--builder", "html", "--warningiserror", "--keep-going", "--quiet"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_TIMEOUT_SECONDS,
                               env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    if completed.returncode != 0:
        # The saved Sphinx environment would hide these warnings on the next incremental build.
        shutil.rmtree(output, ignore_errors=True)
        details = _warnings(completed.stdout + completed.stderr)
        raise RenderError(f"Jupyter Book failed to build the book (exit {completed.returncode}); "
                          f"the previous book is kept.\n{details}")

    published = publish(build_dir, output / "_build" / "html")
    log.info("book rendered in %.1f s: %s", time.perf_counter() - started, published / "index.html")
    return published


def publish(build_dir, html):
    """Copy the built HTML to a new folder and switch the ``_build/html`` symlink to it atomically."""
    sites = build_dir / "site"
    sites.mkdir(parents=True, exist_ok=True)
    target = sites / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    shutil.copytree(html, target)

    link = build_dir / "html"
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)
    temporary_link = build_dir / f".html.{os.getpid()}.tmp"
    temporary_link.unlink(missing_ok=True)
    temporary_link.symlink_to(target.relative_to(build_dir))
    os.replace(temporary_link, link)

    for old in sites.iterdir():
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return link


def _warnings(output):
    lines = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line or "rror" in line]
    return "\n".join(lines[-30:]) or output[-3000:]


def _assets(root):
    assets = []
    for folder in (root / "chapters", root / "_static"):
        if folder.is_dir():
            assets += [path for path in folder.rglob("*")
                       if path.is_file() and path.suffix not in (".ipynb", ".yml", ".yaml")
                       and ".ipynb_checkpoints" not in path.parts]
    return assets


def _title(path):
    try:
        notebook = load_notebook(path)
    except Exception:  # the stub still needs a title when the notebook cannot be read
        return path.stem
    for cell in notebook.get("cells", []):
        source = cell_source(cell)
        if cell["cell_type"] == "markdown" and source.lstrip().startswith("# "):
            return source.lstrip()[2:].splitlines()[0].strip()
    return path.stem
