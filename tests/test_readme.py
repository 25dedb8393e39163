"""The README stays true: its Python examples run, and CI runs its test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_examples_run(tmp_path, monkeypatch):
    # The examples read as one session: later blocks use names from earlier ones.
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for code in _blocks("python"):
        code = code.replace("shape=(512, 512)", "shape=(96, 96)").replace("shape=512",
                                                                             "shape=96")
        exec(compile(code, "README.md", "exec"), namespace)


def test_ci_runs_the_readme_test_command():
    commands = [b.strip() for b in _blocks("bash")]
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()
    assert any(c.startswith("pip install . && procgen map") for c in commands)
