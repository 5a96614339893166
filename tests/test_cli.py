import subprocess
import sys

import ember
from ember import cli, demo


def test_demo_loss_falls(capsys):
    final = demo.main(steps=300)
    out = capsys.readouterr().out
    first = float(out.splitlines()[1].split()[-1])
    assert final < 0.1 * first, out


def test_info_lists_versions(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"ember {ember.__version__}" in out and "numpy" in out and "cuda" in out


def test_console_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "ember.cli", "info"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "numpy" in proc.stdout
