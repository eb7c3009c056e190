"""Markdown written into the staged book: run parameters on each chapter, the ledger and the status page."""

import json
import re

from compendium.notebook import cell_source
from lib.claims import format_tolerance, format_value

PROVENANCE_TAG = "compendium-provenance"
NOTE_PATTERN = re.compile(r"#\s*NOTE:\s*(.+)$")


def _cell(value):
    text = json.dumps(value) if isinstance(value, (list, bool)) else str(value)
    return text.replace("|", "\\|")


def provenance_markdown(run, entry):
    """Return the admonition that states what a chapter page ran with.

    Parameters
    ----------
    run : dict
        ``metadata.compendium.run`` of the executed notebook: parameters, overrides,
        started, duration, git state and cache key of the run shown on the page.
    entry : dict
        The chapter's record entry, for defaults, comments, data sets and versions.
    """
    defaults = entry.get("defaults", {})
    comments = entry.get("comments", {})
    overrides = {name: origin for name, origin in run.get("overrides", {}).items()
                 if json.dumps(run.get("parameters", {}).get(name)) != json.dumps(defaults.get(name))}
    lines = [
        ":::{admonition} How this page was run",
        ":class: note run-parameters",
        "",
        "| parameter | value | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, value in run.get("parameters", {}).items():
        shown = f"**{_cell(value)}** ({overrides[name]})" if name in overrides else _cell(value)
        default = _cell(defaults.get(name, "")) if name in overrides else ""
        lines.append(f"| `{name}` | {shown} | {default} | {_cell(comments.get(name, ''))} |")

    git = run.get("git") or {}
    commit = f"`{git.get('commit', 'unknown')}`" + (" (uncommitted changes)" if git.get("dirty") else "")
    seed = run.get("parameters", {}).get("seed", "none")
    lines += [
        "",
        f"Seed **{seed}**; executed {run.get('started', '?')} in {run.get('duration_s', 0):.1f} s; "
        f"project commit {commit}; cache key `{str(run.get('key', ''))[:12]}`.",
    ]
    data = [f"`{item['name']}` (sha256 {item['digest'][:12]}, {item['licence']})" for item in entry.get("datasets", [])]
    if data:
        lines += ["", "Data: " + "; ".join(data) + "."]
    packages = entry.get("packages", {})
    if packages:
        lines += ["", "Packages: " + ", ".join(f"{name} {version}" for name, version in packages.items()) + "."]
    lines.append(":::")
    return "\n".join(lines)


def failure_markdown(entry, showing_last_good):
    """Return the warning placed on a chapter whose latest run failed."""
    error = entry.get("error", {})
    cell = "?" if error.get("cell") is None else error["cell"]
    message = str(error.get("evalue", "")).splitlines()[0] if error.get("evalue") else ""
    shown = (
        f"This page shows the last good run, from {entry['last_good'].get('started', '?')}."
        if showing_last_good else "No run of this chapter has succeeded yet, so no results are shown."
    )
    return "\n".join([
        ":::{warning}",
        f"The latest run of this chapter **failed** ({entry.get('started', '?')}): cell {cell}, "
        f"{error.get('kind', 'error')}, `{error.get('ename', '')}`: {message}",
        "",
        shown,
        ":::",
    ])


def stub_page(title, entry):
    """Return a Markdown page for a chapter that has no successful run to show."""
    body = failure_markdown(entry, False) if entry else (
        ":::{warning}\nThis chapter has not been executed yet. Run `make book` or `compendium build`.\n:::"
    )
    return f"# {title}\n\n{body}\n"


def ledger_page(claims):
    """Return the claims ledger page: one row a claim, failing claims shown as failing."""
    holding = sum(claim["status"] != "fails" for claim in claims)
    lines = [
        "# Claims ledger",
        "",
        "Every published number that a chapter reproduces, with the paper's value, ours, the tolerance of",
        "the comparison and the verdict.  A claim marked *expected mismatch* fails for a reason its chapter",
        "explains; it stays in the table.  Values come from the latest successful run of each chapter.",
        "",
        f"{holding} of {len(claims)} claims hold.",
        "",
        "| claim | paper | ours | comparison | status | chapter |",
        "|---|---|---|---|---|---|",
    ]
    for claim in claims:
        status = claim["status"]
        if status == "fails":
            status = "**fails** (expected mismatch)" if claim.get("expect") == "mismatch" else "**fails**"
        if claim.get("stale"):
            status += " (stale: latest run failed)"
        lines.append(
            f"| `{claim['id']}` | {_cell(format_value(claim['paper'], claim['unit']))} "
            f"| {_cell(format_value(claim['value'], claim['unit']))} | {_cell(format_tolerance(claim))} "
            f"| {status} | {{doc}}`/{claim['docname']}` |"
        )
    if not claims:
        lines.append("| (no claims recorded yet) | | | | | |")

    lines += ["", "## Sources and notes", ""]
    for claim in claims:
        note = f" {claim['note']}" if claim.get("note") else ""
        lines.append(f"- `{claim['id']}` (source: {claim.get('source') or 'not given'}).{note}")
    return "\n".join(lines) + "\n"


def status_page(state, chapter_names, gaps):
    """Return the build status page: one row a chapter, then failures and known gaps."""
    git = state.get("git", {})
    lines = [
        "# Build status",
        "",
        f"Built from commit `{git.get('commit', 'unknown')}`"
        + (" with uncommitted changes" if git.get("dirty") else "") + ".",
        "",
        "| chapter | status | how | duration (s) | when | profile | parameters changed from default | claims |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in chapter_names:
        entry = state.get("chapters", {}).get(name)
        if not entry:
            lines.append(f"| {name} | not executed | | | | | | |")
            continue
        changed = ", ".join(f"`{key}={_cell(value)}`" for key, value in entry.get("changed_from_default", {}).items())
        claims = entry.get("claims") or []
        claim_text = f"{sum(c['status'] != 'fails' for c in claims)}/{len(claims)} hold" if claims else ""
        lines.append(
            f"| {{doc}}`/{entry.get('docname', name)}` | {entry['status']} | {entry.get('action', '')} "
            f"| {entry.get('duration_s', '')} | {entry.get('started', '')} | {entry.get('profile') or 'default'} "
            f"| {changed} | {claim_text} |"
        )

    failed = [(name, state["chapters"][name]) for name in chapter_names
              if state.get("chapters", {}).get(name, {}).get("status") == "failed"]
    if failed:
        lines += ["", "## Failures", ""]
        for name, entry in failed:
            error = entry.get("error", {})
            lines.append(f"- **{name}**: cell {error.get('cell')}, {error.get('kind')}, `{error.get('ename')}`: "
                         f"{str(error.get('evalue', '')).splitlines()[0] if error.get('evalue') else ''}")

    lines += ["", "## Known gaps", "",
              "Each `NOTE:` comment in the research code and the chapters marks a known gap where it sits:", ""]
    lines += [f"- `{location}`: {text}" for location, text in gaps] or ["- none"]
    return "\n".join(lines) + "\n"


def find_gaps(root):
    """Return ``(file:line, text)`` for every ``# NOTE:`` comment in ``lib/`` and the chapters' code."""
    gaps = []
    for path in sorted((root / "lib").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = NOTE_PATTERN.search(line)
            if match:
                gaps.append((f"{path.relative_to(root)}:{number}", match.group(1).strip()))
    for path in sorted((root / "chapters").glob("*.ipynb")):
        try:
            notebook = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        for index, cell in enumerate(notebook.get("cells", [])):
            for line in cell_source(cell).splitlines():
                match = NOTE_PATTERN.search(line)
                if match and cell["cell_type"] == "code":
                    gaps.append((f"{path.relative_to(root)} cell {index}", match.group(1).strip()))
    return gaps
