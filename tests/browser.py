"""Headless Chromium for the browser tests (tests/test_jupyter.py, tests/test_report_html.py):
Debian's chromium and chromium-driver (``ci/install_browser.sh``), never a downloaded browser.

Without them a test is skipped, or fails under ``CI=true``, where ``ci/test.sh`` installs them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Chromium's background connections are refused by a closed network, many at a time: off.
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync")
# No network at all: every host unresolvable, and a proxy that is not there.
OFFLINE = ("--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")


def require_chromium() -> None:
    """Skip (fail under CI=true) when Chromium or its driver is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        message = (f"{' and '.join(missing)} not found; install Debian's chromium and "
                   "chromium-driver (ci/install_browser.sh) to run the browser test")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextlib.contextmanager
def headless_chromium(tmp_path: Path, *, window: str = "1200,900", extra: tuple = (),
                      browser_log: bool = False) -> Iterator[object]:
    """A selenium Chrome driver on a fresh profile in ``tmp_path``, quit on exit."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*_FLAGS, f"--window-size={window}", *extra,
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER),
                      log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()
