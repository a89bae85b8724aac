"""The architecture contract: layers run one way, no cycles, small modules and functions.

The layers and the cycle rule live once, in pyproject.toml ``[tool.importlinter]``; these tests
run import-linter over the package and prove, on a copy of the package with one upward import
added, that the contract really fails when a lower layer imports a higher one.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "distilcli"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# Modules allowed over MAX_MODULE_LINES, path relative to the repository -> why. Pure data tables
# only (a module of constants: assignments, a docstring, imports); the test below checks that each
# entry is one, and still over the limit, so the list cannot go stale or shelter code.
DATA_TABLES: dict[str, str] = {}


def _toml_value(value: object) -> str:
    """A TOML literal for the strings, booleans and lists of strings an import-linter config holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"unexpected import-linter config value {value!r}")


def write_contract_config(path: Path) -> Path:
    """Write the project's ``[tool.importlinter]`` section, unchanged, as a TOML file at ``path``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in config.items() if key != "contracts"]
    for contract in config["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in contract.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def lint_imports(config: Path, *, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with ``config`` on the ``distilcli`` found first on ``pythonpath``."""
    assert LINT_IMPORTS.is_file(), f"{LINT_IMPORTS} not found: install the dev extra (pip install -e '.[dev]')"
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache", "--no-logo"],
        check=False, capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


def test_the_package_keeps_its_import_contracts() -> None:
    result = lint_imports(ROOT / "pyproject.toml", cwd=ROOT, pythonpath=ROOT)
    if result.returncode != 0:  # import-linter's report names each broken contract and every offending import
        pytest.fail("import-linter found broken contracts:\n" + result.stdout + result.stderr, pytrace=False)
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("module", "upward", "message"),
    [
        ("models/params.py", "distilcli.commands", "distilcli.models is not allowed to import distilcli.commands"),
        ("data/masking.py", "distilcli.distill", "distilcli.data is not allowed to import distilcli.distill"),
    ],
)
def test_an_upward_import_breaks_the_layers_contract(tmp_path: Path, module: str, upward: str, message: str) -> None:
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "distilcli", ignore=shutil.ignore_patterns("__pycache__"))
    config = write_contract_config(tmp_path / "contracts.toml")
    importer = "distilcli." + module.removesuffix(".py").replace("/", ".")
    offending = f"{importer} -> {upward}"

    before = lint_imports(config, cwd=tmp_path, pythonpath=copy)
    assert "Layers run one way" in before.stdout, before.stdout + before.stderr  # the contract was read
    assert offending not in before.stdout, before.stdout  # not there until we add it

    target = copy / "distilcli" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\nimport {upward}  # an upward import\n", encoding="utf-8")
    after = lint_imports(config, cwd=tmp_path, pythonpath=copy)
    assert after.returncode != 0, after.stdout
    assert "Layers run one way BROKEN" in after.stdout, after.stdout
    assert message in after.stdout and offending in after.stdout, after.stdout


def _sizes(path: Path) -> tuple[int, list[tuple[str, int, int]]]:
    """Lines in the module, and (name, first line, length) of every function in it, nested ones too."""
    text = path.read_text(encoding="utf-8")
    # A command's parameter list is its options' declaration table (one typer.Option a line), not logic:
    # in distilcli/commands a function is measured from its body. Everywhere else, from its `def`.
    body_only = path.parent.name == "commands"
    functions = [
        (node.name, node.lineno, node.end_lineno - (node.body[0].lineno if body_only else node.lineno) + 1)
        for node in ast.walk(ast.parse(text, filename=str(path)))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None
    ]
    return len(text.splitlines()), functions


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_too_long() -> None:
    too_long = []
    for path in _modules():
        lines, _ = _sizes(path)
        name = path.relative_to(ROOT).as_posix()
        if lines > MAX_MODULE_LINES and name not in DATA_TABLES:
            too_long.append(f"{name}: {lines} lines")
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them):\n" + "\n".join(too_long)


def test_no_function_is_too_long() -> None:
    too_long = []
    for path in _modules():
        for name, line, length in _sizes(path)[1]:
            if length > MAX_FUNCTION_LINES:
                too_long.append(f"{path.relative_to(ROOT).as_posix()}:{line} {name}: {length} lines")
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n" + "\n".join(too_long)


def _code_lines(path: Path) -> list[int]:
    """Lines of the top-level statements that are not data: anything but assignments, imports, docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in tree.body
        if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom))
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]


def test_allowed_long_modules_are_data_tables() -> None:
    for name, reason in DATA_TABLES.items():
        path = ROOT / name
        assert reason.strip(), f"{name}: every allowed module says why"
        assert not _code_lines(path), (
            f"{name} is allowed to be long as a data table, but holds code at lines {_code_lines(path)}"
        )
        assert _sizes(path)[0] > MAX_MODULE_LINES, f"{name} is under the limit now: remove it from DATA_TABLES"


def test_the_size_checks_can_fail(tmp_path: Path) -> None:
    long_module = tmp_path / "long.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    long_module.write_text(f"def f():\n{body}\n" + "\n" * MAX_MODULE_LINES, encoding="utf-8")
    lines, functions = _sizes(long_module)
    assert lines > MAX_MODULE_LINES
    assert functions == [("f", 1, MAX_FUNCTION_LINES + 1)]
    assert _code_lines(long_module) == [1]  # a function is code, not a data table


_PRAGMA = re.compile(r"\s*#\s*(type:\s*ignore|noqa|pragma)\b.*$")


def _width_problems(root: Path) -> list[str]:
    """``# fmt: skip`` markers and lines over ruff's configured width in the package's modules."""
    width = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["line-length"]
    problems = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(root.parent).as_posix()}:{number}"
            if "fmt: skip" in line:
                problems.append(f"{where}: # fmt: skip")
            measured = _PRAGMA.sub("", line)  # as ruff's E501: a trailing type: ignore / noqa is not counted
            if len(measured) > width:
                problems.append(f"{where}: {len(measured)} columns (limit {width})")
    return problems


def test_the_size_limits_are_not_met_by_widening_lines() -> None:
    """The modules keep the formatter's width: no ``# fmt: skip``, no line over it, ``ruff format`` clean."""
    problems = _width_problems(PACKAGE)
    assert not problems, "split the module or the line instead:\n" + "\n".join(problems)
    ruff = Path(sys.executable).parent / "ruff"
    if ruff.is_file():  # the dev extra installs it (make test)
        result = subprocess.run(
            [str(ruff), "format", "--check", str(PACKAGE)], check=False, capture_output=True, text=True
        )
        assert result.returncode == 0, "ruff format would change:\n" + result.stdout + result.stderr


def test_the_width_check_can_fail(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    text = "x = 1  # fmt: skip\ny = '" + "a" * 130 + "'\nz = f(" + "b" * 110 + ")  # type: ignore[arg-type]\n"
    (package / "m.py").write_text(text, encoding="utf-8")
    assert _width_problems(package) == ["pkg/m.py:1: # fmt: skip", "pkg/m.py:2: 136 columns (limit 120)"]
