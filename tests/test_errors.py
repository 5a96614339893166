"""User errors: the right exception type, a message naming the op, the expected and the
received values, and a traceback whose last frame is the user's own line."""

import os
import subprocess
import sys
import textwrap

import pytest

import ember


def test_matmul_message_names_shapes_and_dims():
    with pytest.raises(RuntimeError) as info:
        ember.randn(2, 5) @ ember.randn(3, 4)
    assert str(info.value) == (
        "matmul: cannot multiply (2, 5) by (3, 4): size 5 of dim -1 of the first must equal "
        "size 3 of dim -2 of the second"
    )


def test_uncaught_error_traceback_ends_at_user_line(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(
        textwrap.dedent(
            """
            import ember
            a = ember.randn(2, 5)
            b = ember.randn(3, 4)
            c = a @ b   # the user's line
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    file_lines = [ln for ln in lines if ln.strip().startswith("File ")]
    assert "user_script.py" in file_lines[-1], proc.stderr
    assert "c = a @ b" in proc.stderr
    assert lines[-1].startswith("RuntimeError: matmul: cannot multiply (2, 5) by (3, 4)")


def test_full_traceback_on_request(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import ember\nember.randn(2, 5) @ ember.randn(3, 4)\n")
    env = dict(os.environ, EMBER_FULL_TRACEBACK="1")
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False, env=env
    )
    assert "ember" + "/ops/linalg.py" in proc.stderr.replace("\\", "/")


def test_errors_are_user_error_types():
    cases = [
        lambda: ember.ones(2, 3).reshape(4),
        lambda: ember.ones(2, 3).sum(dim=5),
        lambda: ember.zeros(-1),
        lambda: ember.tensor("abc"),
        lambda: ember.ones(2).to("tpu"),
        lambda: ember.ones(2, 3).permute(0),
        lambda: ember.ones(2, 3).expand(3, 3),
    ]
    for f in cases:
        with pytest.raises((TypeError, ValueError, RuntimeError)) as info:
            f()
        assert not isinstance(info.value, AssertionError)
