"""The website in a real browser: Debian's headless Chromium, driven by Selenium through Debian's
chromedriver, against ``observatory serve`` run as a subprocess and pointed at the loopback testbed.

A visitor submits the form, watches the progress page turn into the report (over Server-Sent Events
with JavaScript, by the meta refresh without it) and sees the grade and the findings. Screenshots of
the reports go to ``$OBSERVATORY_TEST_ARTEFACTS`` (default: ``test-artefacts/`` in the repository).

Nothing leaves the machine: the site scans through the testbed's resolver, the browser talks only to
127.0.0.1 (every other request goes to a closed loopback proxy port) and Selenium Manager is off.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from observatory.catalogue import catalogue
from tests.testbed.dns import DnsTestbed
from tests.testbed.dns_zones import WEAK_DOMAIN
from tests.testbed.layout import DOMAIN, SCANNER_DOMAIN
from tests.testbed.pki import TestPKI
from tests.testbed.ports import PortAllocator
from tests.testbed.prosody import ProsodyInstance
from tests.web.test_html_structure import structure_problems

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTEFACTS_ENV = "OBSERVATORY_TEST_ARTEFACTS"
REPOSITORY = Path(__file__).resolve().parents[2]
#: The testbed's scans take about ten seconds each; this is the most a report may take to appear.
REPORT_WAIT = 120
SERVER_START_WAIT = 30

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
        "scripts/test installs them",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


def artefact_folder() -> Path:
    folder = Path(os.environ.get(ARTEFACTS_ENV) or REPOSITORY / "test-artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _observatory_command() -> list[str]:
    """The installed console script next to the running interpreter (the venv's), else the module."""
    script = Path(sys.executable).parent / "observatory"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cli import main; main()"]


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"observatory serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"observatory serve did not listen on port {port} in time:\n{log.read_text(errors='replace')}")


@dataclass(frozen=True)
class Site:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-20_000:]


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
    ports: PortAllocator,
    dns_testbed: DnsTestbed,
    pki: TestPKI,
    prosody_strong: ProsodyInstance,
    prosody_weak: ProsodyInstance,
) -> Iterator[Site]:
    """``observatory serve`` on a free loopback port, scanning through the testbed."""
    folder = tmp_path_factory.mktemp("site")
    port = ports.take()
    host, resolver_port = dns_testbed.resolver
    command = [
        *_observatory_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        f"sqlite:///{folder / 'site.db'}",
        "--migrate",
        "--resolver",
        f"{host}:{resolver_port}",
        "--trust-anchor",
        str(dns_testbed.trust_anchor_path),
        "--ca-file",
        str(pki.root_path),
        "--from-domain",
        SCANNER_DOMAIN,
        "--log-level",
        "info",
    ]
    # Only what the command line says: no database, resolver or other setting from the caller's environment.
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBSERVATORY_")}
    env["XDG_DATA_HOME"] = str(folder / "xdg")
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=folder
        )
    try:
        _wait_for_port(process, port, log)
        yield Site(f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _chromium(*, javascript: bool) -> WebDriver:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root
        "--disable-dev-shm-usage",
        "--window-size=1280,1024",
        # Loopback only: no background traffic, and anything not on loopback goes to a closed proxy port.
        "--proxy-server=http://127.0.0.1:9",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--no-first-run",
        "--no-pings",
    ):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


@pytest.fixture
def browser_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a driver or browser
    started: list[WebDriver] = []

    def start(*, javascript: bool = True) -> WebDriver:
        driver = _chromium(javascript=javascript)
        started.append(driver)
        return driver

    yield start
    for driver in started:
        driver.quit()


def _submit(driver: WebDriver, base: str, domain: str, *, kinds: str = "both") -> int:
    driver.get(base + "/")
    field = driver.find_element(By.ID, "domain")
    field.clear()
    field.send_keys(domain)
    driver.find_element(By.CSS_SELECTOR, f"input[name=kinds][value={kinds}]").click()
    driver.find_element(By.CSS_SELECTOR, "form.submit button[type=submit]").click()
    WebDriverWait(driver, 15).until(expected_conditions.url_matches(r"/scans/\d+$"))
    match = re.search(r"/scans/(\d+)$", driver.current_url)
    assert match, driver.current_url
    return int(match.group(1))


def _progress_shown(driver: WebDriver, domain: str, by: str, selector: str) -> bool:
    """The progress page is up (its title) and shows ``selector``; it may reload itself (meta refresh)
    or turn into the report meanwhile, so the look is retried on a stale page."""

    def shown(d: WebDriver) -> bool:
        if not d.title.startswith(f"Scanning {domain}"):
            return False
        found = d.find_elements(by, selector)
        return bool(found and found[0].is_displayed())

    try:
        return bool(
            WebDriverWait(driver, 15, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)).until(
                shown
            )
        )
    except Exception:
        return False


def _wait_for_report(driver: WebDriver, site: Site, domain: str) -> None:
    def report_shown(d: WebDriver) -> bool:
        headings = d.find_elements(By.TAG_NAME, "h1")
        if headings and re.match(r"\d{3} ", headings[0].text):
            raise AssertionError(f"an error page: {headings[0].text}")
        return bool(headings and headings[0].text == domain and d.find_elements(By.CSS_SELECTOR, ".grade-big"))

    try:
        # The progress page replaces itself with the report: an element found a moment ago may be gone.
        WebDriverWait(
            driver, REPORT_WAIT, poll_frequency=0.5, ignored_exceptions=(StaleElementReferenceException,)
        ).until(report_shown)
    except Exception:
        path = _screenshot(driver, f"timeout-{domain}")
        pytest.fail(
            f"no report for {domain} at {driver.current_url} (title {driver.title!r}, screenshot {path});"
            f" the server's output:\n{site.output()}"
        )


def _screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page, beyond the window, through the DevTools protocol (the window only as a fallback)."""
    path = artefact_folder() / f"{name}.png"
    try:
        import base64

        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        path.write_bytes(base64.b64decode(shot["data"]))
    except Exception:
        driver.save_screenshot(str(path))
    return path


def _fetch(url: str) -> str:
    """The page as the server sent it (not the browser's DOM), straight to loopback, whatever proxy is set."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        return response.read().decode("utf-8")


def _service_grades(driver: WebDriver) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, ".grades .grade-big")]


def _visible_text(driver: WebDriver, selector: str) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector) if element.is_displayed()]


def test_form_progress_and_report_with_javascript(site: Site, browser_factory) -> None:  # type: ignore[no-untyped-def]
    driver = browser_factory()
    started = time.monotonic()
    scan_id = _submit(driver, site.url, DOMAIN)
    # Given the redirect, the progress page shows first (the scan takes seconds), with its live status.
    assert _progress_shown(driver, DOMAIN, By.ID, "status"), driver.title
    # When the scan ends, the script replaces the page with the report, without a reload by hand.
    _wait_for_report(driver, site, DOMAIN)
    assert driver.current_url == f"{site.url}/scans/{scan_id}"
    assert time.monotonic() - started < REPORT_WAIT
    # The strong Prosody gets A+ on both services (as in test_scan_end_to_end) and its informational
    # findings are shown with their catalogue titles.
    assert _service_grades(driver) == ["A+", "A+"]
    titles = _visible_text(driver, "article.finding h4")
    expected = catalogue()["tls.cipher.client-order"].title
    assert any(expected in title for title in titles), titles
    path = _screenshot(driver, f"report-{DOMAIN}")
    assert path.stat().st_size > 10_000
    # The report of a real scan (every section filled in) is as well-formed as the stored ones.
    assert structure_problems(_fetch(driver.current_url)) == []


def test_form_progress_and_report_without_javascript(site: Site, browser_factory) -> None:  # type: ignore[no-untyped-def]
    driver = browser_factory(javascript=False)
    scan_id = _submit(driver, site.url, WEAK_DOMAIN, kinds="c2s")
    # Without JavaScript the progress page says it reloads itself, and the meta refresh gets the report.
    assert _progress_shown(driver, WEAK_DOMAIN, By.XPATH, "//noscript/p[contains(., 'reloads every')]"), driver.title
    _wait_for_report(driver, site, WEAK_DOMAIN)
    assert driver.current_url == f"{site.url}/scans/{scan_id}"
    # The weak Prosody's c2s: the DANE mismatch caps it at F, TLS 1.0 is among the findings.
    assert _service_grades(driver) == ["F"]
    titles = _visible_text(driver, "article.finding h4")
    expected = catalogue()["tls.protocol.tls10"].title
    assert any(expected in title for title in titles), titles
    path = _screenshot(driver, f"report-nojs-{WEAK_DOMAIN}")
    assert path.stat().st_size > 10_000
