"""The built book in headless Chromium: pages load cleanly, images show, run parameters and claims are visible.

The HTML is served on 127.0.0.1 by ``http.server`` in a thread and opened with
Playwright driving Debian's Chromium (``/usr/bin/chromium``; ``make browser``
installs it).  No request leaves the machine: the test fulfils every request to
another host itself, with an empty body, and records the host.  Any such host
other than the MathJax CDN (``OFFLINE_HOSTS``) fails the test.  A full-page
screenshot of each page goes to ``<build dir>/screenshots/``.

The real book is the ``ci``-profile build of the session fixture ``ci_book``,
one test a chapter of ``_toc.yml``; a small fixture book checks the same
machinery without the real chapters.
"""

import contextlib
import dataclasses
import functools
import http.server
import re
import threading
import urllib.parse
from pathlib import Path

import pytest

from compendium.project import Project
from conftest import PROJECT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000
SCREEN = {"width": 1280, "height": 900}

# NOTE: Sphinx loads MathJax from this CDN; offline, formulas stay as TeX source.  A local MathJax
# (Sphinx's ``mathjax_path``) would remove the last external host.
OFFLINE_HOSTS = {"cdn.jsdelivr.net"}

# NOTE: Sphinx 7.4.7 adds sphinx-thebe's inline configuration script twice (once with filename None, once
# with ''), so the second copy fails to redeclare its constants.  The first copy defines them, so nothing is lost.
KNOWN_PAGE_ERRORS = {"Identifier 'THEBE_JS_URL' has already been declared"}

TOC_CHAPTERS = [Path(docname).name for docname in Project.load(PROJECT).toc_docnames()
                if docname.startswith("chapters/")]


# Serving and browsing -------------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(folder):
    """Serve ``folder`` over HTTP on a free port of 127.0.0.1 and yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(Path(folder).resolve()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclasses.dataclass
class Visit:
    """What one page did in the browser."""

    console_errors: list = dataclasses.field(default_factory=list)
    page_errors: list = dataclasses.field(default_factory=list)
    failed_requests: list = dataclasses.field(default_factory=list)
    external_hosts: set = dataclasses.field(default_factory=set)
    broken_images: list = dataclasses.field(default_factory=list)
    image_count: int = 0


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright, for every test of this module."""
    assert CHROMIUM.is_file(), "Debian's chromium is missing at /usr/bin/chromium: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
                                              timeout=TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def open_page(browser, url, visit):
    """Open ``url`` in a fresh context that keeps every request on 127.0.0.1; yield the loaded page."""
    context = browser.new_context(viewport=SCREEN, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)

    def keep_local(route):
        host = urllib.parse.urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            visit.external_hosts.add(host)
            route.fulfill(status=200, body="", content_type="text/plain")

    context.route("**/*", keep_local)
    page = context.new_page()
    page.on("console", lambda message: visit.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: visit.page_errors.append(str(error))
            if str(error) not in KNOWN_PAGE_ERRORS else None)
    page.on("requestfailed", lambda request: visit.failed_requests.append(f"{request.url}: {request.failure}"))
    page.on("response", lambda response: visit.failed_requests.append(f"{response.url}: HTTP {response.status}")
            if response.status >= 400 else None)
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        yield page
    finally:
        context.close()


def check_images(page, visit):
    """Scroll through the page, wait for every image to finish, and list those that did not load."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("Array.from(document.images).every(image => image.complete)")
    page.evaluate("window.scrollTo(0, 0)")
    images = page.evaluate(
        "Array.from(document.images).map(image => ({src: image.currentSrc || image.src, width: image.naturalWidth}))")
    visit.image_count = len(images)
    visit.broken_images = [image["src"] for image in images if image["width"] == 0]


def run_parameters_visible(page):
    block = page.locator(".admonition.run-parameters").first
    return block.is_visible() and "How this page was run" in block.inner_text()


def claims_table_visible(page):
    """True if the page shows the chapter's claims table (``lib.claims.table``: claim, paper, ours, ..., expected)."""
    table = page.locator("table")
    for header in ("claim", "paper", "ours", "status", "expected"):
        table = table.filter(has=page.locator("th", has_text=re.compile(rf"^\s*{header}\s*$")))
    return table.count() > 0 and table.first.is_visible()


def search_finds(browser, base, word, page_path):
    """Search the book for ``word`` and return whether a result links to ``page_path``."""
    visit = Visit()
    with open_page(browser, f"{base}search.html?q={urllib.parse.quote(word)}", visit) as page:
        page.wait_for_selector("#search-results ul.search li")
        links = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    errors = visit.console_errors + visit.page_errors
    return any(page_path in link for link in links), errors


def search_word(page_title):
    """Return the longest word of a page title, lower case: a term the search index must hold."""
    return max(re.findall(r"[A-Za-z]{4,}", page_title), key=len).lower()


def visit_chapter(browser, base, name, screenshots):
    """Open ``chapters/<name>.html``, check it, save a screenshot; return the visit and the page facts."""
    visit = Visit()
    with open_page(browser, f"{base}chapters/{name}.html", visit) as page:
        check_images(page, visit)
        facts = {"parameters": run_parameters_visible(page), "claims": claims_table_visible(page),
                 "title": page.locator("h1").first.inner_text()}
        screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    return visit, facts


def assert_clean(visit, name):
    assert visit.console_errors == [], f"{name}: console errors {visit.console_errors}"
    assert visit.page_errors == [], f"{name}: script errors {visit.page_errors}"
    assert visit.failed_requests == [], f"{name}: failed requests {visit.failed_requests}"
    assert visit.external_hosts <= OFFLINE_HOSTS, f"{name}: requests to other hosts {visit.external_hosts}"
    assert visit.broken_images == [], f"{name}: images that did not load {visit.broken_images}"


# The real book at the ci profile ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def ci_site(ci_book):
    with serve(ci_book / "html") as base:
        yield base


@pytest.mark.parametrize("name", TOC_CHAPTERS)
def test_chapter_page(browser, ci_site, ci_book, name):
    visit, facts = visit_chapter(browser, ci_site, name, ci_book / "screenshots")
    assert_clean(visit, name)
    assert facts["parameters"], f"{name}: the 'How this page was run' block is not visible"
    assert facts["claims"], f"{name}: no visible claims table (lib.claims.table)"
    assert (ci_book / "screenshots" / f"{name}.png").stat().st_size > 0

    found, errors = search_finds(browser, ci_site, search_word(facts["title"]), f"chapters/{name}.html")
    assert found, f"{name}: searching for {search_word(facts['title'])!r} does not find the chapter"
    assert errors == [], f"search page: {errors}"


def test_bibliography_page_lists_every_entry(browser, ci_site, ci_book):
    visit = Visit()
    with open_page(browser, f"{ci_site}bibliography.html", visit) as page:
        entry_count = page.locator("div.citation").count()
        (ci_book / "screenshots").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ci_book / "screenshots" / "bibliography.png"), full_page=True)
    assert_clean(visit, "bibliography")
    entries = re.findall(r"^@\w+\{", (PROJECT / "references.bib").read_text(), flags=re.MULTILINE)
    assert entry_count == len(entries)


# The machinery on a fixture book -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_site(exercise_book):
    with serve(exercise_book / "_build" / "html") as base:
        yield base, exercise_book / "_build"


def test_fixture_chapter_page(browser, fixture_site):
    base, build_dir = fixture_site
    visit, facts = visit_chapter(browser, base, "exercises", build_dir / "screenshots")
    assert_clean(visit, "exercises")
    assert visit.image_count >= 1
    assert facts["parameters"]
    assert facts["claims"]
    assert (build_dir / "screenshots" / "exercises.png").stat().st_size > 0


def test_fixture_search_finds_chapter_word(browser, fixture_site):
    base, _ = fixture_site
    found, errors = search_finds(browser, base, "Gauss", "chapters/exercises.html")
    assert found
    assert errors == []


def test_fixture_page_has_launch_and_download_links(browser, fixture_site):
    base, _ = fixture_site
    visit = Visit()
    with open_page(browser, f"{base}chapters/exercises.html", visit) as page:
        links = page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href') || '')")
    binder = [link for link in links if link.startswith("https://mybinder.org/v2/gh/")]
    assert binder != []
    assert all(link.endswith("urlpath=lab/tree/chapters/exercises.ipynb") for link in binder)
    assert any(link.startswith("https://colab.research.google.com/github/") for link in links)
    assert any(link.endswith("_sources/chapters/exercises.ipynb") for link in links)


def test_fixture_solution_is_collapsed(browser, fixture_site):
    base, _ = fixture_site
    visit = Visit()
    with open_page(browser, f"{base}chapters/exercises.html", visit) as page:
        solution = page.get_by_text("SOLUTION_MARKER_PROSE").first
        hidden_before = not solution.is_visible()
        page.locator(".solution.dropdown").nth(1).locator("button.toggle-button").click()
        solution.wait_for(state="visible")
        shown_after = solution.is_visible()
    assert hidden_before
    assert shown_after
