"""The documentation stays true to the code: the generated option reference is current, and links resolve."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "examples" / "gen_cli_docs.py"
REFERENCE = ROOT / "docs" / "cli-reference.md"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_cli_docs", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    expected = _generator().render()
    current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert current == expected, (
        "docs/cli-reference.md is out of date with the CLI's options: "
        "run `python examples/gen_cli_docs.py` and commit the result"
    )


def test_cli_reference_lists_every_command() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for command in ("distill", "finetune", "eval-glue", "eval-squad", "eval-sts", "eval-retrieval", "benchmark", "pipeline",
                    "report compare", "models student", "models suggest-layers"):
        assert f"## `distil {command}`" in text


def _documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _anchors(doc: Path) -> set[str]:
    """The anchors GitHub gives a page's headings (lower case, punctuation dropped, spaces to hyphens)."""
    found: set[str] = set()
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        anchor = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = sum(1 for a in found if a == anchor or re.fullmatch(re.escape(anchor) + r"-\d+", a))
        found.add(f"{anchor}-{count}" if count else anchor)
    return found


def test_relative_links_point_to_files() -> None:
    broken = []
    for doc in _documents():
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)  # code blocks hold no links
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            path, _, anchor = target.partition("#")
            linked = doc.parent / path if path else doc
            if not linked.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links: " + ", ".join(broken)


def test_readme_stays_a_newcomers_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    first_screen = "\n".join(readme.splitlines()[:120])
    for needle in ("make demo", "make test", "pip install", "--teacher bert-base-uncased", "--fail-under",
                   "--task embeddings"):
        assert needle in first_screen, needle
    assert "../shared/data" not in readme
