"""The README's Python examples run as written and print what they claim."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_examples_run():
    blocks = _blocks()
    assert len(blocks) >= 2
    for code in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README
        for claimed in re.findall(r"print\(.*?\)\s+# (.*)", code):
            assert claimed.strip() in out.getvalue(), (claimed, out.getvalue())


def test_readme_commands_match_ci():
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    test_cmd = 'pip install -e ".[test]" && python -m pytest -n 2 -q'
    assert test_cmd in text and test_cmd in ci
