"""The website: it builds from the stored outputs with warnings as errors, and a real
headless Chromium renders the preface with typeset maths, loaded plot images and a live
widget view, with every non-local host unreachable."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "book" / "_vendor" / "vendor"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the whole book into a temporary folder, exactly as `make site` does."""
    if not (VENDOR / "mathjax" / "tex-chtml.js").is_file():
        pytest.fail(
            "vendored MathJax is missing: run `make setup` (it installs "
            "book/package.json with npm)"
        )
    out = tmp_path_factory.mktemp("site")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(jupyter_book),
            "build",
            ".",
            "--config",
            "book/_config.yml",
            "--toc",
            "book/_toc.yml",
            "--path-output",
            str(out),
            "--warningiserror",
            "--nitpick",
            "--keep-going",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print(f"site build took {time.perf_counter() - started:.1f} s")
    assert result.returncode == 0, (
        f"jupyter-book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return out / "_build" / "html"


def test_site_has_every_page_of_the_toc(site):
    import yaml

    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [toc["root"]] + [
        c["file"] for part in toc["parts"] for c in part["chapters"]
    ]
    for name in files:
        assert (site / f"{name}.html").is_file(), f"{name} missing from the built site"
    assert (site / "vendor" / "mathjax" / "tex-chtml.js").is_file()
    assert (site / "vendor" / "html-manager" / "embed.js").is_file()


def test_pages_reference_no_cdn_for_maths_or_widgets(site):
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for cdn in (
            "cdn.jsdelivr.net",
            "cdnjs.cloudflare.com",
            "unpkg.com/@jupyter-widgets",
        ):
            assert cdn not in text, f"{page.relative_to(site)} loads {cdn}"


def test_lab_sources_are_not_published(site):
    published = [p.relative_to(site).as_posix() for p in site.rglob("*.html")]
    assert not [p for p in published if "/source/" in p or "/dist/" in p], published


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        reason = "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; in CI the browser test must run")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1280,2400",
        # The network is off: every host but the local test server fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_for(driver, script: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    return value


def test_preface_renders_maths_plots_and_widget(site, server, browser):
    browser.get(f"{server}/chapters/00_preface/preface.html")
    typeset = _wait_for(
        browser, "return document.querySelectorAll('mjx-container').length"
    )
    assert typeset and typeset >= 3, "MathJax did not typeset the equations"
    assert (
        browser.execute_script("return document.querySelectorAll('mjx-merror').length")
        == 0
    )

    images = _wait_for(
        browser,
        """
        const imgs = [...document.querySelectorAll('article img, .bd-article img')];
        return imgs.length && imgs.every(i => i.complete) ? imgs.map(i => [i.src, i.naturalWidth]) : null;
    """,
    )
    assert images, "no plot images found on the page"
    for src, width in images:
        assert width > 0, f"image {src} did not load"
    assert any("_images" in src for src, _ in images), "the Zipf plot is missing"

    # The embed manager replaces the stored view with live widget DOM built from the
    # stored state.
    rendered = _wait_for(
        browser,
        """
        const slider = document.querySelector('.widget-slider, .jupyter-widgets.widget-hslider');
        const html = document.querySelector('.widget-html');
        return slider && html && html.innerText.includes('rank') ? html.innerText : null;
    """,
    )
    assert rendered, "the widget's view was not rendered from its stored state"
    assert "the" in rendered

    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)"
    )
    foreign = [
        r for r in resources if not r.startswith(server) and not r.startswith("data:")
    ]
    assert not foreign, f"the page tried to load remote resources: {foreign}"

    browser.execute_script(
        "document.querySelector('.widget-html').scrollIntoView({block: 'center'})"
    )
    shots = ROOT / "book" / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(shots / "preface.png"))


def _toc_pages(caption: str) -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    return [
        c["file"]
        for part in toc["parts"]
        if part["caption"] == caption
        for c in part["chapters"]
    ]


@pytest.mark.parametrize("page", _toc_pages("Chapters") + _toc_pages("Labs"))
def test_every_page_renders_offline(site, server, browser, page):
    """Each chapter and lab page: no MathJax errors, every image loaded, every stored
    widget view rendered.
    """
    browser.get(f"{server}/{page}.html")
    assert _wait_for(browser, "return document.readyState === 'complete'")
    has_math = browser.execute_script(
        "return document.querySelectorAll('.math, .MathJax_Preview, "
        "script[type^=math]').length > 0 || document.body.innerText.includes('\\\\(')"
    )
    if has_math:
        assert _wait_for(
            browser, "return document.querySelectorAll('mjx-container').length"
        ), f"{page}: maths not typeset"
    assert (
        browser.execute_script("return document.querySelectorAll('mjx-merror').length")
        == 0
    ), f"{page}: TeX errors"
    # JSON text, so that "no broken image" ("[]") is truthy and ends the wait at once
    broken = _wait_for(
        browser,
        """
        const imgs = [...document.querySelectorAll('article img, .bd-article img')];
        const done = imgs.every(i => i.complete);
        return done ? JSON.stringify(imgs.filter(i => i.naturalWidth === 0).map(i => i.src)) : null;
    """,
    )
    assert broken is not None, f"{page}: images still loading after 30 s"
    assert json.loads(broken) == [], f"{page}: images that did not load: {broken}"
    views = browser.execute_script(
        "return "
        "document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length"
    )
    if views:
        rendered = _wait_for(
            browser,
            "return document.querySelectorAll('.jupyter-widgets.widget-container, "
            ".jupyter-widgets.widget-inline-hbox, .widget-html, "
            ".widget-slider').length",
        )
        assert rendered, f"{page}: {views} stored widget views, none rendered"
    foreign = [
        r
        for r in browser.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name)"
        )
        if not r.startswith(server) and not r.startswith("data:")
    ]
    assert not foreign, f"{page}: tried to load remote resources {foreign}"
