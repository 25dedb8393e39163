"""`import procgen` must stay light: no torch, no pygame, and nothing the caller does not use."""

import ast
import subprocess
import sys
from pathlib import Path

import procgen

PACKAGE = Path(procgen.__file__).resolve().parent


def _loaded_after(code: str) -> set[str]:
    watched = ("torch", "pygame", "numpy", "numba", "PIL", "demos", "learned")
    probe = (f"import sys; {code}; "
             f"print('loaded:' + ','.join(m for m in {watched!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    last = out.stdout.rstrip("\n").split("\n")[-1]
    return set(filter(None, last.removeprefix("loaded:").split(",")))


def test_import_procgen_does_not_import_torch_or_pygame():
    loaded = _loaded_after("import procgen, procgen.noise, procgen.terrain, procgen.render, "
                           "procgen.cli, procgen.export")
    assert not loaded & {"torch", "pygame", "demos", "learned"}


def test_import_procgen_is_lazy():
    assert _loaded_after("import procgen") == set()
    assert _loaded_after("import procgen.cli") == set()
    assert {"numpy", "numba"} <= _loaded_after("import procgen; procgen.generate_level")


def test_procgen_help_needs_no_numpy():
    run_help = ("from procgen.cli import main\n"
                "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert _loaded_after(f"exec({run_help!r})") == set()


def test_lazy_names_and_submodules():
    import procgen.level

    assert procgen.generate_level is procgen.level.generate_level
    assert procgen.terrain.__name__ == "procgen.terrain"
    assert set(procgen.__all__) <= set(dir(procgen))
    assert not hasattr(procgen, "no_such_module")


def test_procgen_never_imports_demos():
    """Layers depend downward: the viewer is found through an entry point, not by name."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "demos" or n.startswith("demos.") for n in names):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
