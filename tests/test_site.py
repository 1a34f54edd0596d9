"""The built book as a reader sees it: every page opened in headless Chromium, offline.

Needs the HTML (`make book`) and Chromium with its driver (Debian: `apt-get install chromium
chromium-driver`), or the browser and driver named by DEEPINSIDE_CHROME and DEEPINSIDE_CHROMEDRIVER
(Google Chrome on GitHub's runners). Without them the test is skipped, unless
DEEPINSIDE_REQUIRE_BROWSER=1 (CI), where it fails. Screenshots of every page go to
_build/screenshots/.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from conftest import CHAPTERS, ROOT
from deepinside.book import claims

pytestmark = pytest.mark.chapters

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
PAGES = [f"chapters/{c}" for c in CHAPTERS] + [
    "book/intro",
    "book/running",
    "book/measurements",
    "book/teaching",
    "book/ledger",
    "book/bibliography",
]
BROWSER = os.environ.get("DEEPINSIDE_CHROME") or shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = (
    os.environ.get("DEEPINSIDE_CHROMEDRIVER")
    or shutil.which("chromedriver")
    or "/usr/bin/chromedriver"
)

# Console errors of the theme itself, harmless to a reader: Jupyter Book 1.0 declares
# sphinx-thebe's configuration twice, and the theme resets an empty stored light/dark mode.
THEME_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode")

# What a page reports once MathJax is done: its figures, formulas and any error output.
INSPECT = """
const done = arguments[arguments.length - 1];
// MathJax loads after the page: wait (at most 20 s) until it has started, then until its first
// typesetting is done, so that a slow start is not mistaken for unrendered formulas
const started = new Promise(resolve => {
  const deadline = Date.now() + 20000;
  const poll = () => {
    const hasMath = document.querySelector(".math") !== null;
    if (!hasMath || (window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      resolve(hasMath ? MathJax.startup.promise : null);
    } else if (Date.now() > deadline) {
      resolve(null);
    } else {
      setTimeout(poll, 100);
    }
  };
  poll();
});
started.then(() => {
  const article = document.querySelector("article") || document.body;
  const images = [...article.querySelectorAll("img")];
  const math = [...article.querySelectorAll(".math")];
  const script = [...document.scripts].find(s => s.src.includes("mathjax"));
  done({
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    math: math.length,
    unrendered: math.filter(m => !m.querySelector("mjx-container")).length,
    mathErrors: article.querySelectorAll("mjx-merror").length,
    mathjax: script ? script.src : null,
    errorOutputs: article.querySelectorAll(
      ".output.stderr, .output.traceback, .output.error").length,
    traceback: article.innerText.includes("Traceback (most recent call last)"),
    bibliography: article.querySelectorAll(".footnote-list, .citation, dl.footnote").length,
    downloads: [...article.querySelectorAll("a.download")].map(a => a.href),
  });
});
"""


class Server(http.server.ThreadingHTTPServer):
    """Serves the book; a browser dropping a connection as it moves on is not an error."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML} has no book: run `make book` first")
    server = Server(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = [p for p in (BROWSER, DRIVER) if not Path(p).exists()]
    if missing:
        message = f"Chromium not installed ({missing}): apt-get install chromium chromium-driver"
        if os.environ.get("DEEPINSIDE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
        # no host but this machine resolves: the book must not need the network
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_script_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline_with_figures_math_and_no_errors(site, browser, page):
    browser.get(f"{site}/{page}.html")
    report = browser.execute_async_script(INSPECT)
    browser.save_screenshot(str(SHOTS / f"{page.replace('/', '_')}.png"))
    assert page.split("/")[-1] in browser.current_url and browser.title
    if report["math"]:
        assert report["mathjax"] and report["mathjax"].startswith(site), (
            "MathJax is served by the book"
        )
    assert report["broken"] == [], "every image loads"
    assert report["unrendered"] == 0 and report["mathErrors"] == 0, report
    assert report["errorOutputs"] == 0 and not report["traceback"], "no error output on the page"
    severe = [
        e["message"]
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and not any(noise in e["message"] for noise in THEME_NOISE)
    ]
    assert severe == [], "the browser console reports errors (a resource that needs the network?)"
    for link in report["downloads"]:  # the student and instructor copies, for one
        with urllib.request.urlopen(link) as response:
            assert response.status == 200 and response.read().startswith(b"PK"), link
    if page == "book/teaching":
        assert len(report["downloads"]) == 2
    if page.startswith("chapters/"):
        assert report["images"] >= 2, "a chapter shows its figures"
        assert report["math"] >= 1, "a chapter shows its formulas"
        assert report["bibliography"] >= 1, "a chapter lists its references"


def test_every_claim_of_the_ledger_links_to_its_sentence_in_the_chapter():
    ledger = HTML / "book" / "ledger.html"
    if not ledger.exists():
        pytest.fail(f"{ledger} does not exist: run `make book` first")
    links = re.findall(
        r'href="\.\./chapters/([0-9a-z_]+)\.html#(claim-[a-z0-9-]+)"', ledger.read_text()
    )
    assert len(links) == sum(len(claims.load(ROOT, c)) for c in CHAPTERS)
    pages = {c: (HTML / "chapters" / f"{c}.html").read_text() for c in {c for c, _ in links}}
    missing = [f"{c}#{a}" for c, a in links if f'id="{a}"' not in pages[c]]
    assert not missing, f"the ledger links to anchors its chapters lack: {missing}"


def test_chapters_are_numbered_and_their_links_and_equations_resolve():
    for number, chapter in enumerate(CHAPTERS, start=1):
        page = HTML / "chapters" / f"{chapter}.html"
        if not page.exists():
            pytest.fail(f"{page} does not exist: run `make book` first")
        html = page.read_text()
        assert f'<h1><span class="section-number">{number}. </span>' in html, chapter
        for target, text in re.findall(
            r'<a class="reference internal" href="([0-9a-z_]+)\.html">'
            r"(?:<span[^>]*>)?(Chapter \d|\d)<",
            html,
        ):
            wanted = CHAPTERS[int(text.split()[-1]) - 1]
            assert target == wanted and (HTML / "chapters" / f"{target}.html").exists(), text
        source = (ROOT / "chapters" / f"{chapter}.py").read_text()
        labels = re.findall(r"\$\$ \((eq-[\w-]+)\)$", source, re.M)
        for label in labels:
            assert f'id="equation-{label}"' in html, f"{chapter}: equation {label} has no anchor"
        assert html.count('class="eqno"') >= len(labels), f"{chapter}: equations unnumbered"
        for name in re.findall(r"^# Figure (fig-[a-z0-9-]+): ", source, re.M):
            figure = re.search(rf'<figure[^>]*id="{name}".*?</figure>', html, re.S)
            assert figure, f"{chapter}: figure {name} missing"
            assert re.search(rf'caption-number">Fig\. {number}\.\d+ ', figure.group(0)), name
            assert "<img" in figure.group(0), f"{chapter}: figure {name} has no image"
            assert f'href="#{name}"' in html, f"{chapter}: no reference to {name}"
        for label in re.findall(r"\{eq\}`([^`]+)`", source):
            assert f'href="#equation-{label}"' in html, f"{chapter}: {{eq}}`{label}` unresolved"


# Every solution of a chapter page (myst-nb's `hide-cell`): whether its code and output are wrapped
# in one <details> toggle, whether that is open, the toggle's label, and how many of its input and
# output blocks a reader can see.
SOLUTIONS = """
const seen = e => e.checkVisibility
  ? e.checkVisibility({visibilityProperty: true})
  : e.getClientRects().length > 0;
return [...document.querySelectorAll("article .cell.tag_solution")].map(cell => {
  const details = cell.querySelector(":scope > details.hide.above-input");
  const parts = [...cell.querySelectorAll(".cell_input, .cell_output")];
  const label = details && details.querySelector(":scope > summary > .collapsed");
  return {
    wrapped: !!details && parts.length > 0 && parts.every(p => details.contains(p)),
    open: !!details && details.open,
    label: label ? label.textContent.trim() : null,
    parts: parts.length,
    visible: parts.filter(seen).length,
    text: parts.map(p => p.innerText).join("").trim(),
  };
});
"""


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_stay_hidden_until_their_toggle_is_clicked(site, browser, chapter):
    import nbformat
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from deepinside.book import teaching

    nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    browser.get(f"{site}/chapters/{chapter}.html")
    expected = len(teaching.exercises(nb, chapter))
    with contextlib.suppress(TimeoutException):  # the page may still be laying out
        WebDriverWait(browser, 10).until(
            lambda driver: len(driver.execute_script(SOLUTIONS)) == expected
        )
    solutions = browser.execute_script(SOLUTIONS)
    assert len(solutions) == expected, "one toggle per exercise"
    for number, shown in enumerate(solutions, start=1):
        assert shown["wrapped"] and not shown["open"], f"solution {number}: not in a closed toggle"
        assert shown["label"] == "Show the solution", f"solution {number}: {shown['label']!r}"
        assert shown["visible"] == 0 and shown["text"] == "", f"solution {number} shows"
    summary = browser.find_element(
        By.CSS_SELECTOR, "article .cell.tag_solution > details > summary"
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()
    WebDriverWait(browser, 5).until(
        lambda driver: driver.execute_script(SOLUTIONS)[0]["visible"] == solutions[0]["parts"],
        "the first solution's code and output show once its toggle is clicked",
    )
    first, *others = browser.execute_script(SOLUTIONS)
    assert first["open"] and first["text"], "the opened solution shows its code"
    assert all(s["visible"] == 0 for s in others), "opening one solution opens no other"


def test_teaching_page_opens_every_student_notebook_in_colab():
    from deepinside.book import colab, teaching

    page = HTML / "book" / "teaching.html"
    if not page.exists():
        pytest.fail(f"{page} does not exist: run `make book` first")
    html = page.read_text()
    for chapter in CHAPTERS:
        url = colab.colab_url(ROOT, teaching.student_path(chapter))
        assert f'href="{url}"' in html, f"the teaching page does not link {url}"
        assert (ROOT / teaching.student_path(chapter)).exists(), f"{url} opens no committed file"
    assert html.count('href="../chapters/') >= len(CHAPTERS), "each row links its chapter"
