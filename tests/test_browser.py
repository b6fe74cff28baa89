"""The web face in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by selenium) against a real `simkeeper web` and a real receiver.

Steps: a reminder is delivered to the receiver (`send-due --now`); the test takes the
"I renewed it" link from the message the receiver got; Chromium opens it and presses the
button; `simkeeper history` (the real command) then shows the renewal. And Chromium, asking for
zh-CN, loads the status page and saves a screenshot under the test's temp folder.

Without Chromium the tests fail when $CI is true (CI installs it: .ci/run), and are skipped
with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SIMKEEPER, ok, write_config
from receivers import HTTPReceiver, free_port
from webface import web_process

from simkeeper.weblinks import page_token

pytest_plugins = ["receivers"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NOW = "2026-12-12T09:00"  # Berlin: the 3-day reminder of the 15th falls now
TIMEOUT = 30  # seconds, for every page load and every wait


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.access(path, os.X_OK) or shutil.which(Path(path).name)):
            return f"{path} is missing: apt-get install -y chromium chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is missing: pip install -e '.[test]'"
    return None


@pytest.fixture
def browser_factory(tmp_path: Path) -> Iterator:
    """Makes headless Chromium sessions (``language``: what it asks pages for), all quit at
    the end. A missing browser fails the test in CI and skips it elsewhere."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and the browser test cannot run: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def make(language: str = "en"):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or CHROMIUM
        for arg in (
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=420,900",  # a phone's width
            f"--lang={language}",
            f"--user-data-dir={tmp_path / f'chromium-{len(drivers)}'}",
        ):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        service = Service(shutil.which("chromedriver") or CHROMEDRIVER)
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        drivers.append(driver)
        return driver

    try:
        yield make
    finally:
        for driver in drivers:
            driver.quit()


def make_config(tmp_path: Path, port: int, hook: str) -> Path:
    text = f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "{hook}"

[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15

[web]
listen = "127.0.0.1:{port}"
base_url = "http://127.0.0.1:{port}"
"""
    return write_config(tmp_path / "config.toml", text)


def history(config: Path, env: dict[str, str]) -> list[dict]:
    """`simkeeper history --format json`, run as the real command."""
    result = subprocess.run(
        [SIMKEEPER, "--config", str(config), "history", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_chromium_zh_cn_status_page_and_screenshot(tmp_path, env, browser_factory):
    port = free_port()
    with HTTPReceiver() as hook:
        config = make_config(tmp_path, port, hook.json_url())
        ok(config, env, "send-due", "--now", NOW)
    with web_process(config, env, port, NOW):
        key = bytes.fromhex((tmp_path / "web.key").read_text().strip())
        driver = browser_factory("zh-CN")
        driver.get(f"http://127.0.0.1:{port}/?token={page_token(key, 'status')}")
        html = driver.find_element("tag name", "html")
        assert html.get_attribute("lang") == "zh-CN"
        body = driver.find_element("tag name", "body").text
        assert "UK backup" in body
        assert re.search(r"[\u4e00-\u9fff]", body), body  # Chinese text on the page
        shot = tmp_path / "status-zh-CN.png"
        assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert len(data) > 1000 and data.startswith(b"\x89PNG\r\n\x1a\n")
