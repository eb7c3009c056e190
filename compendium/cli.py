"""The ``compendium`` command: build the book, run one chapter, list parameters, show status."""

import argparse
import logging
import os
import sys
import time

from compendium import record
from compendium.cache import changed_components
from compendium.build import Runner, chapter_parameters
from compendium.errors import CompendiumError
from compendium.parameters import read_parameter_file
from compendium.project import Project

log = logging.getLogger("compendium")


def _parser():
    parser = argparse.ArgumentParser(prog="compendium", description=__doc__)
    parser.add_argument("--root", help="project folder (default: the checkout this command belongs to)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="execute every chapter that is not fresh, then render the book")
    build.add_argument("--jobs", type=int, help="chapters executed at once (default: number of cores)")
    build.add_argument("--force", nargs="+", metavar="CHAPTER", default=[],
                       help="re-execute these chapters even if fresh ('all' for every chapter)")
    build.add_argument("--profile", help="apply chapters/<name>.<PROFILE>.yml where it exists (e.g. ci)")
    build.add_argument("--keep-going", action="store_true",
                       help="run every chapter even after one fails (the default; see --fail-fast)")
    build.add_argument("--fail-fast", action="store_true", help="stop launching chapters after the first failure")
    build.add_argument("--no-render", action="store_true", help="execute only; do not build the HTML")
    build.add_argument("--scheduler", metavar="ADDRESS", help="run chapters on this Dask scheduler (tcp://host:port)")

    run = commands.add_parser("run", help="execute one chapter with new parameters and re-render the book")
    run.add_argument("chapter", help="chapter name, e.g. makespan")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="set a parameter; repeat for several")
    run.add_argument("-f", "--file", help="YAML file of parameter values")
    run.add_argument("--profile", help="apply chapters/<name>.<PROFILE>.yml first")
    run.add_argument("--force", action="store_true", help="re-execute even if the cache contains this run")
    run.add_argument("--no-render", action="store_true", help="execute only; do not build the HTML")
    run.add_argument("--scheduler", metavar="ADDRESS", help="run the chapter on this Dask scheduler")

    params = commands.add_parser("params", help="list a chapter's parameters with type, default and meaning")
    params.add_argument("chapter")

    commands.add_parser("status", help="show which chapters are fresh, stale or failed, and why")

    claims = commands.add_parser("claims", help="list the claims of the last build")
    claims.add_argument("--check", action="store_true",
                        help="exit 1 if a claim expected to hold fails, or a chapter has no successful run")

    student = commands.add_parser("student", help="write student copies of the chapters, solutions removed, "
                                                  "to _build/student/")
    student.add_argument("chapters", nargs="*", metavar="CHAPTER", help="only these chapters (default: all)")
    return parser


def main(argv=None):
    """Run the command line; return the exit code (0 success, 1 a chapter or render failed, 2 bad input)."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if arguments.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        project = Project.find(arguments.root) if arguments.root else Project.find()
        _default_mirror(project)
        handler = {"build": _build, "run": _run, "params": _params, "status": _status,
                   "claims": _claims, "student": _student}[arguments.command]
        return handler(project, arguments)
    except CompendiumError as error:
        log.error("%s", error)
        return error.exit_code
    except KeyboardInterrupt:
        log.error("interrupted; the last good book and cache are unchanged")
        return 130


def _default_mirror(project):
    """Use ``../shared/data`` beside the project as the data mirror when ``POP_DATA_MIRROR`` is unset."""
    from lib.datasets import MIRROR_ENV

    candidate = project.root.parent / "shared" / "data"
    if not os.environ.get(MIRROR_ENV) and candidate.is_dir():
        os.environ[MIRROR_ENV] = str(candidate)
        log.debug("data mirror: %s", candidate)


def _build(project, arguments):
    started = time.perf_counter()
    runner = Runner(project, jobs=arguments.jobs, scheduler=arguments.scheduler)
    chapters = project.chapters()
    names = {chapter.name for chapter in chapters}
    forced = names if "all" in arguments.force else set(arguments.force)
    unknown = forced - names
    if unknown:
        raise CompendiumError(f"--force names unknown chapters: {', '.join(sorted(unknown))}; "
                              f"chapters: {', '.join(sorted(names))}")

    plans = [runner.plan(chapter, profile=arguments.profile, force=chapter.name in forced) for chapter in chapters]
    failures = runner.execute(plans, fail_fast=arguments.fail_fast)
    code = _finish(project, runner, failures, arguments.no_render or (failures and arguments.fail_fast))
    executed = sum(plan.action == "execute" for plan in plans)
    log.info("build finished in %.1f s: %d executed, %d cached, %d fresh, %d failed", time.perf_counter() - started,
             executed, sum(plan.action == "cached" for plan in plans),
             sum(plan.action == "fresh" for plan in plans), len(failures))
    return code


def _run(project, arguments):
    started = time.perf_counter()
    runner = Runner(project, jobs=1, scheduler=arguments.scheduler)
    chapter = project.chapter(arguments.chapter)
    layers = []
    if arguments.file:
        layers.append((f"-f {arguments.file}", read_parameter_file(arguments.file)))
    if arguments.parameter:
        layers.append(("-p", dict(arguments.parameter)))
    plan = runner.plan(chapter, profile=arguments.profile, extra_layers=layers, force=arguments.force)
    failures = runner.execute([plan])
    code = _finish(project, runner, failures, arguments.no_render)
    log.info("run finished in %.1f s (%s)", time.perf_counter() - started, plan.action)
    return code


def _finish(project, runner, failures, skip_render):
    code = 1 if failures else 0
    if not skip_render:
        from compendium.render import render

        render(project, record.load(runner.record_path))
    if failures:
        log.error("%d chapter(s) failed: %s. Their pages are marked as failed and keep the last good run, if any.",
                  len(failures), ", ".join(failures))
    return code


def _params(project, arguments):
    chapter = project.chapter(arguments.chapter)
    _, parameters = chapter_parameters(chapter)
    width = max((len(name) for name in parameters), default=4)
    print(f"{'name':<{width}}  {'type':<12} {'default':<24} meaning")
    for parameter in parameters.values():
        print(f"{parameter.name:<{width}}  {parameter.type_name:<12} {repr(parameter.default):<24} {parameter.comment}")
    profiles = sorted(path.name.split(".")[1] for path in chapter.path.parent.glob(f"{chapter.name}.*.yml"))
    if profiles:
        print(f"\nprofiles: {', '.join(profiles)} (use --profile NAME)")
    return 0


def _status(project, arguments):
    runner = Runner(project)
    state = record.load(runner.record_path)
    for chapter in project.chapters():
        entry = state["chapters"].get(chapter.name)
        plan = runner.plan(chapter, profile=(entry or {}).get("profile") or None)
        if not entry:
            print(f"{chapter.name}: not executed")
            continue
        if entry["status"] == "failed":
            error = entry.get("error", {})
            print(f"{chapter.name}: failed (cell {error.get('cell')}, {error.get('ename')}: "
                  f"{str(error.get('evalue', '')).splitlines()[0] if error.get('evalue') else ''})")
            continue
        changed = changed_components(entry.get("components"), plan.components)
        if entry.get("changed_from_default") and not entry.get("profile"):
            print(f"{chapter.name}: fresh for its last parameters {entry['changed_from_default']}; "
                  f"a build at defaults would re-run it")
        elif changed:
            print(f"{chapter.name}: stale ({', '.join(changed)} changed since {entry.get('started')})")
        else:
            print(f"{chapter.name}: fresh ({entry.get('duration_s')} s, {entry.get('started')})")

    claims = record.all_claims(state)
    failing = [claim["id"] for claim in claims if claim["status"] == "fails"]
    print(f"\nclaims: {len(claims) - len(failing)} of {len(claims)} hold"
          + (f"; failing: {', '.join(failing)}" if failing else ""))
    return 0


def _claims(project, arguments):
    state = record.load(project.build_dir / "record.json")
    claims = record.all_claims(state)
    for claim in claims:
        expected = " (expected mismatch)" if claim.get("expect") == "mismatch" else ""
        stale = " (stale)" if claim.get("stale") else ""
        print(f"{claim['id']:<45} paper {claim['paper']!s:<12} ours {claim['value']!s:<24} "
              f"{claim['status']}{expected}{stale}")
    if not arguments.check:
        return 0

    broken = [claim["id"] for claim in claims
              if claim["status"] == "fails" and claim.get("expect") != "mismatch" or claim.get("stale")]
    missing = [chapter.name for chapter in project.chapters()
               if state["chapters"].get(chapter.name, {}).get("status") != "ok"]
    not_default = [name for name, entry in state["chapters"].items()
                   if entry.get("changed_from_default") or entry.get("profile")]
    for name in missing:
        log.error("chapter %s has no successful run in this build", name)
    for name in not_default:
        log.error("chapter %s ran with non-default parameters; run 'make book' first", name)
    for claim_id in broken:
        log.error("claim %s is expected to hold but fails", claim_id)
    if broken or missing or not_default:
        return 1
    log.info("all %d claims expected to hold do hold", sum(claim.get("expect") != "mismatch" for claim in claims))
    return 0


def _student(project, arguments):
    from compendium.student import write_student_copies

    written = write_student_copies(project, arguments.chapters)
    log.info("%d student copies in %s", len(written), project.build_dir / "student")
    return 0


if __name__ == "__main__":
    sys.exit(main())
