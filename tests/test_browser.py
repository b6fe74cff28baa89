"""The web face in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by selenium) against a real `simkeeper web` and a real receiver.

Steps: a reminder is delivered to the receiver (`send-due --now`); the test takes the
"I renewed it" link from the message the receiver got; Chromium opens it and presses the
button; `simkeeper history` (the real command) then shows the renewal. And Chromium at a
phone's width (412 px) and a desktop's (1280 px), in en and in zh-CN, loads the status page,
checks that nothing runs off the screen and that no date breaks across lines, presses "Remind
me tomorrow" and "I renewed it" on the number that needs it, and follows the result page's
link back.

Screenshots are kept as test artifacts: in $SIMKEEPER_SCREENSHOTS when it is set (CI keeps
that folder), else in the test's temporary folder (pytest keeps the last three runs' under
its basetemp).

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

from simkeeper.send.links import page_token

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


PHONE, DESKTOP = (412, 915), (1280, 900)


@pytest.fixture
def shots(tmp_path: Path, request) -> Path:
    """Where this test's screenshots go (see the module's docstring)."""
    base = os.environ.get("SIMKEEPER_SCREENSHOTS")
    folder = Path(base) / re.sub(r"[^\w.-]+", "_", request.node.name) if base else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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

    def make(language: str = "en", size: tuple[int, int] = PHONE):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-dev-shm-usage",
            "--disable-gpu",
            f"--window-size={size[0]},{size[1]}",
            f"--lang={language}",
            f"--user-data-dir={tmp_path / f'chromium-{len(drivers)}'}",
        ):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        service = Service(CHROMEDRIVER)
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        driver.set_window_size(*size)
        drivers.append(driver)
        return driver

    try:
        yield make
    finally:
        for driver in drivers:
            driver.quit()


def make_config(tmp_path: Path, port: int, hook: str, language: str = "en") -> Path:
    text = f"""
[settings]
timezone = "Europe/Berlin"
language = "{language}"
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
renew_url = "https://carrier.example/topup"
after_deadline = [{{ after = "0d", state = "grace period" }},
{{ after = "30d", state = "number recycled" }}]

[[numbers]]
name = "Travel SIM"
number = "+86 131 2345 6789"
cycle = "yearly"
due = 2027-02-20

[[numbers]]
name = "Pay as you go"
number = "+44 7911 123457"
cycle = "monthly"
due = 2026-12-28
cost = 10
currency = "GBP"
balance = 25
balance_date = 2026-12-01

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


def wait_for_text(driver, text: str) -> str:
    """The page's text once it holds ``text`` (the page may still be changing meanwhile)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    def found(d) -> str | bool:
        try:
            body = d.find_element("tag name", "body").text
        except WebDriverException as e:
            # The body found belonged to the page being left (Chromium may say so in these
            # words rather than as a stale element): look again.
            if "does not belong to the document" in str(e):
                return False
            raise
        return body if text in body else False

    wait = WebDriverWait(driver, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,))
    return wait.until(found)


def fits_the_screen(driver) -> None:
    """Nothing wider than the window, and each date on one line."""
    width = driver.execute_script("return window.innerWidth")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= width, (scroll, width)
    for date in driver.find_elements("css selector", ".date"):
        lines = driver.execute_script("return arguments[0].getClientRects().length", date)
        assert lines == 1, date.text


def test_chromium_opens_the_renewal_link_of_a_received_message_and_presses_the_button(
    tmp_path, env, browser_factory, shots
):
    port = free_port()
    with HTTPReceiver() as hook:
        config = make_config(tmp_path, port, hook.json_url())
        assert ok(config, env, "send-due", "--now", NOW).strip() == "sent: hook"
        [received] = hook.requests
    message = received.json()["message"]
    [link] = re.findall(rf"I renewed it: (http://127\.0\.0\.1:{port}/r/[\w\-]+)", message)
    assert history(config, env)[0]["event"] != "renewal"

    with web_process(config, env, port, NOW):
        driver = browser_factory("en", PHONE)
        driver.get(link)
        assert "UK backup" in driver.title
        page = driver.find_element("tag name", "body").text
        assert "Deadline: Tue 15 Dec · in 3 days" in page, page
        assert "simkeeper renewed" not in page
        fits_the_screen(driver)
        driver.save_screenshot(str(shots / "link-412-en.png"))
        button = driver.find_element("css selector", "form button[type=submit]")
        assert button.text == "I renewed it"
        assert history(config, env)[0]["event"] != "renewal"  # opening it changed nothing
        button.click()
        answer = wait_for_text(driver, "Done: UK backup is recorded as renewed today.")
        assert "Next deadline: Fri 15 Jan 2027 · in 34 days." in answer, answer
        assert not driver.find_elements("css selector", "form button")
        driver.save_screenshot(str(shots / "link-renewed-412-en.png"))
        driver.find_element("link text", "See all your numbers").click()
        status = wait_for_text(driver, "Your numbers")
        assert "Fri 15 Jan 2027 · in 34 days" in status
    [renewal] = [e for e in history(config, env) if e["event"] == "renewal"]
    assert (renewal["name"], renewal["covers"]) == ("UK backup", "2026-12-15")


WORDS = {
    "en": {
        "title": "Your numbers",
        "when": "Tue 15 Dec · in 3 days",
        "renewed": "I renewed it",
        "snooze": "Remind me tomorrow",
        "snoozed": "Done: the next reminder about UK backup goes out on Sun 13 Dec, 09:00.",
        "done": "Done: UK backup is recorded as renewed today.",
        "next": "Next deadline: Fri 15 Jan 2027 · in 34 days.",
        "deadline": "Deadline: Tue 15 Dec · in 3 days",
        "back": "See all your numbers",
        "carrier": "Renew at the carrier",
    },
    "zh-CN": {
        "title": "你的号码",
        "when": "12月15日（周二）· 还有 3 天",
        "renewed": "我已续费",
        "snooze": "明天再提醒我",
        "snoozed": "完成：关于 UK backup 的下一条提醒将在 12月13日（周日） 09:00 发出。",
        "done": "完成：已记录 UK backup 今天续费。",
        "next": "下一个期限：2027年1月15日（周五）· 还有 34 天。",
        "deadline": "期限：12月15日（周二）· 还有 3 天",  # no space after the full-width colon
        "back": "查看你的所有号码",
        "carrier": "去运营商续费",
    },
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["412px", "desktop"])
def test_chromium_status_page_shows_the_numbers_and_its_buttons_work(
    tmp_path, env, browser_factory, shots, language, size
):
    """The status page at a phone's and a desktop's width: the number that needs acting on
    first, with its date as people read it, the timeline, the carrier's page and both
    buttons; "Remind me tomorrow", then "I renewed it" pressed there record through the
    same code as the links."""
    words = WORDS[language]
    port = free_port()
    with HTTPReceiver() as hook:
        config = make_config(tmp_path, port, hook.json_url(), language)
        ok(config, env, "send-due", "--now", NOW)
    name = f"{language}-{size[0]}"
    with web_process(config, env, port, NOW):
        key = bytes.fromhex((tmp_path / "web.key").read_text().strip())
        status_url = f"http://127.0.0.1:{port}/?token={page_token(key, 'status')}"
        driver = browser_factory(language, size)
        driver.get(status_url)
        assert driver.execute_script("return window.innerWidth") == size[0]
        assert driver.find_element("tag name", "html").get_attribute("lang") == language
        body = wait_for_text(driver, words["title"])
        cards = driver.find_elements("css selector", ".card")
        assert [c.find_element("css selector", ".name").text for c in cards] == [
            "UK backup",
            "Pay as you go",
            "Travel SIM",
        ]
        first = cards[0]
        assert first.find_element("css selector", ".date").text == words["when"]
        assert first.find_elements("css selector", "svg.timeline rect.lead")
        assert first.find_element("link text", words["carrier"]).get_attribute("href") == (
            "https://carrier.example/topup"
        )
        assert "target(s)" not in body and body.count("Europe/Berlin") == 1
        fits_the_screen(driver)
        driver.save_screenshot(str(shots / f"status-{name}.png"))

        first.find_element("xpath", f".//button[.='{words['snooze']}']").click()
        wait_for_text(driver, words["snoozed"])
        driver.save_screenshot(str(shots / f"status-snoozed-{name}.png"))
        driver.find_element("link text", words["back"]).click()
        wait_for_text(driver, words["title"])
        first = driver.find_elements("css selector", ".card")[0]
        first.find_element("xpath", f".//button[.='{words['renewed']}']").click()
        answer = wait_for_text(driver, words["done"])
        assert words["next"] in answer and words["deadline"] in answer, answer
        fits_the_screen(driver)
        driver.save_screenshot(str(shots / f"status-renewed-{name}.png"))
    events = history(config, env)
    [renewal] = [e for e in events if e["event"] == "renewal"]
    assert (renewal["name"], renewal["covers"]) == ("UK backup", "2026-12-15")
    for png in shots.glob(f"status-*{name}.png"):
        data = png.read_bytes()
        assert len(data) > 1000 and data.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_missing_browser_fails_in_ci_and_is_skipped_with_its_reason_elsewhere(tmp_path, env):
    """The rule of the browser_factory fixture, run in a pytest of its own with the browser
    pointed nowhere."""
    nowhere = {**env, "SIMKEEPER_CHROMIUM": str(tmp_path / "no-chromium")}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    args += [
        f"{__file__}::test_chromium_opens_the_renewal_link_of_a_received_message_and_presses_the_button",
        "-rsf",
    ]
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
