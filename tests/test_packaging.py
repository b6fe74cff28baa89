"""The installed package: its import name `simkeeper` never clashes with python-daemon."""

from __future__ import annotations

import subprocess
import sys


def test_python_daemon_and_simkeeper_import_side_by_side() -> None:
    # python-daemon (a test dependency) owns the import name `daemon`; simkeeper must not.
    code = (
        "import daemon, daemon.pidfile, simkeeper, simkeeper.cli\n"
        "assert hasattr(daemon, 'DaemonContext'), daemon.__file__\n"
        "assert simkeeper.__version__, simkeeper.__file__\n"
        "print(daemon.__file__); print(simkeeper.__file__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    daemon_file, simkeeper_file = result.stdout.split()
    assert "site-packages" in daemon_file
    assert simkeeper_file.endswith("simkeeper/__init__.py")
