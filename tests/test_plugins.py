"""Only the Apprise plugins of the schemes a config uses are loaded (issue 14, part 4), and the
table they come from agrees with Apprise's own. Each check runs in a fresh Python process: the
plugin table is a process-wide singleton."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import write_config
from receivers import HTTPReceiver

CHECK = """
import json, sys
from simkeeper.cli.main import main
sys.argv[0] = "simkeeper"
code = 0
try:
    main()
except SystemExit as e:
    code = e.code
plugins = sorted({m.split(".")[2] for m in sys.modules if m.startswith("apprise.plugins.")})
print(json.dumps({"code": code, "plugins": plugins}), file=sys.stderr)
"""


def plugins_loaded(args: list[str], env: dict[str, str]) -> tuple[int, list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, *args], env=env, capture_output=True, text=True, timeout=60
    )
    last = done.stderr.strip().splitlines()[-1]
    answer = json.loads(last)
    return answer["code"], answer["plugins"], done.stdout + done.stderr


def test_check_and_send_due_load_only_the_plugins_of_the_config(tmp_path, env):
    with HTTPReceiver() as http:
        config = write_config(
            tmp_path / "config.toml",
            f"""
[settings]
timezone = "UTC"
state = "{tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "{http.json_url()}"

[[notify]]
name = "mail"
url = "mailto://user:pass@127.0.0.1:1?to=me@example.com&from=sk@example.com&mode=insecure"

[[notify]]
name = "screen"
url = "console://"
""",
        )
        code, plugins, out = plugins_loaded(["--config", str(config), "check"], env)
        assert code == 0, out
        assert plugins == ["base", "custom_json", "email"], out
        code, plugins, out = plugins_loaded(["--config", str(config), "test", "--tag", "hook"], env)
        assert code == 0, out
        assert len(http.requests) == 1
        assert plugins == ["base", "custom_json", "email"], out


def test_an_unknown_scheme_is_still_unknown_after_apprise_looked_everywhere(tmp_path, env):
    config = write_config(
        tmp_path / "config.toml",
        '[settings]\ntimezone = "UTC"\n\n[[notify]]\nname = "x"\nurl = "nosuch://host/path"\n',
    )
    code, plugins, out = plugins_loaded(["--config", str(config), "check"], env)
    assert code == 2
    assert 'unknown notification scheme "nosuch://"' in out
    assert len(plugins) > 100  # every plugin was loaded before saying so


TABLE = """
import json
from pathlib import Path
from apprise.manager_plugins import NotificationManager
from simkeeper.send.apprise_private import plugin_modules

manager = NotificationManager()
manager.load_modules()
where = {
    schema: name
    for name, entry in manager._module_map.items()
    for schema, plugin in manager._schema_map.items()
    if plugin in entry["plugin"]
}
read = plugin_modules(Path(manager.module_path), set(where))
print(json.dumps({"apprise": where, "read": read}))
"""


def test_the_schemes_read_from_the_sources_are_those_apprise_registers(env):
    done = subprocess.run(
        [sys.executable, "-c", TABLE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    tables = json.loads(done.stdout)
    apprise, read = tables["apprise"], tables["read"]
    # Every scheme found is in the module Apprise puts it in; the few not found (declared
    # another way) make simkeeper fall back to Apprise's load of every plugin.
    assert {s: apprise[s] for s in read} == read
    assert len(read) > 0.9 * len(apprise)


FALLBACK = """
import logging, sys
from apprise.manager_plugins import NotificationManager
from simkeeper.send import apprise_private

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(levelname)s %(message)s")


def moved(manager, wanted):  # what a newer Apprise that renamed its table would raise
    raise AttributeError("'NotificationManager' object has no attribute '_schema_map'")


if sys.argv[1] == "changed":
    apprise_private._add_plugins = moved
print(apprise_private.load_schemes([sys.argv[2]]), apprise_private.load_schemes(["form"]))
print("json" in NotificationManager()._schema_map)
"""


def fallback(env, how: str, scheme: str) -> tuple[list[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK, how, scheme],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split(), result.stderr


def test_a_changed_apprise_falls_back_to_its_full_load_with_one_warning(env):
    out, err = fallback(env, "changed", "json")
    assert out == ["True", "False", "True"]  # the full load, once; json is served
    warnings = [line for line in err.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, err
    assert "loading every Apprise plugin" in warnings[0] and "apprise 2.3" in warnings[0]


def test_a_mistyped_scheme_makes_apprise_look_everywhere_without_a_warning(env):
    out, err = fallback(env, "typo", "nosuchscheme")
    assert out == ["True", "False", "True"]
    assert "WARNING" not in err
    assert "DEBUG loading every Apprise plugin: no plugin source declares" in err
