"""Model cards (README.md) for the folders distilcli writes."""

from __future__ import annotations

from pathlib import Path


def render_model_card(
    title: str,
    summary: str,
    facts: list[tuple[str, str]],
    usage_path: str,
    tags: list[str],
    auto_class: str = "AutoModelForMaskedLM",
) -> str:
    """A Hugging Face model card: YAML front matter, a facts table and how to load the model."""
    lines = ["---", "library_name: transformers", "tags:"]
    lines += [f"- {tag}" for tag in tags]
    lines += ["---", "", f"# {title}", "", summary, "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in facts]
    lines += [
        "",
        "## Loading",
        "",
        "```python",
        f"from transformers import {auto_class}, AutoTokenizer",
        "",
        f'model = {auto_class}.from_pretrained("{usage_path}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{usage_path}")',
        "```",
        "",
    ]
    return "\n".join(lines)


def write_model_card(folder: Path, text: str) -> None:
    (Path(folder) / "README.md").write_text(text, encoding="utf-8")
