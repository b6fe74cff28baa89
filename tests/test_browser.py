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
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SIMKEEPER, ok, write_config
from receivers import HTTPReceiver, free_port
from webface import web_process

from simkeeper.weblinks import page_token

pytest_plugins = ["receivers"]

# Where the browser and its driver are ($SIMKEEPER_CHROMIUM and $SIMKEEPER_CHROMEDRIVER
# override them: the test of the missing-browser rule points them nowhere).
CHROMIUM = os.environ.get("SIMKEEPER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (
    os.environ.get("SIMKEEPER_CHROMEDRIVER")
    or shutil.which("chromedriver")
    or "/usr/bin/chromedriver"
)
NOW = "2026-12-12T09:00"  # Berlin: the 3-day reminder of the 15th falls now
TIMEOUT = 30  # seconds, for every page load and every wait


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
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
        options.binary_location = CHROMIUM
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
        service = Service(CHROMEDRIVER)
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


def test_chromium_opens_the_renewal_link_of_a_received_message_and_presses_the_button(
    tmp_path, env, browser_factory
):
    port = free_port()
    with HTTPReceiver() as hook:
        config = make_config(tmp_path, port, hook.json_url())
        assert ok(config, env, "send-due", "--now", NOW).strip() == "sent: hook"
        [received] = hook.requests
    message = received.json()["message"]
    [link] = re.findall(rf"I renewed it: (http://127\.0\.0\.1:{port}/r/[\w\-.]+)", message)
    assert history(config, env)[0]["event"] != "renewal"
    from selenium.webdriver.support.wait import WebDriverWait

    with web_process(config, env, port, NOW):
        driver = browser_factory("en")
        driver.get(link)
        assert "UK backup" in driver.title
        page = driver.find_element("tag name", "body").text
        assert "Deadline: 2026-12-15" in page
        button = driver.find_element("css selector", "form button[type=submit]")
        assert button.text == "I renewed it"
        assert history(config, env)[0]["event"] != "renewal"  # opening it changed nothing
        button.click()
        WebDriverWait(driver, TIMEOUT).until(
            lambda d: not d.find_elements("css selector", "form button")
        )
        answer = driver.find_element("tag name", "body").text
        assert "UK backup renewed on 2026-12-12" in answer, answer
        driver.save_screenshot(str(tmp_path / "renewed.png"))
    [renewal] = [e for e in history(config, env) if e["event"] == "renewal"]
    assert (renewal["name"], renewal["covers"]) == ("UK backup", "2026-12-15")
    shown = subprocess.run(
        [SIMKEEPER, "--config", str(config), "history"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    [line] = [x for x in shown.stdout.splitlines() if "renewal" in x]
    assert "UK backup" in line and "2026-12-15" in line, shown.stdout


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


def test_a_missing_browser_fails_in_ci_and_is_skipped_with_its_reason_elsewhere(tmp_path, env):
    """The rule of the browser_factory fixture, run in a pytest of its own with the browser
    pointed nowhere."""
    nowhere = {**env, "SIMKEEPER_CHROMIUM": str(tmp_path / "no-chromium")}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    args += [f"{__file__}::test_chromium_zh_cn_status_page_and_screenshot", "-rsf"]
    here = Path(__file__).parent

    def outcome(ci: str | None) -> subprocess.CompletedProcess[str]:
        e = {k: v for k, v in nowhere.items() if k != "CI"} | ({"CI": ci} if ci else {})
        return subprocess.run(
            args, env=e, cwd=here.parent, capture_output=True, text=True, timeout=120
        )

    ci = outcome("true")
    assert ci.returncode == 1 and "1 error" in ci.stdout, ci.stdout + ci.stderr  # not skipped
    assert "CI=true and the browser test cannot run" in ci.stdout
    local = outcome(None)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout + local.stderr
    assert f"{tmp_path / 'no-chromium'} is missing: apt-get install -y chromium" in local.stdout
