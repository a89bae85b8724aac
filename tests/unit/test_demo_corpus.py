"""examples/demo_corpus.py: wiki dump in a wheel -> clean prose, one paragraph per line (offline)."""

from __future__ import annotations

import bz2
import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("mwparserfromhell")

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "demo_corpus.py"

LONG_1 = (
    "'''Anarchism''' is a [[political philosophy]] that advocates [[Self-governance|self-governed]] societies "
    "based on voluntary institutions.<ref name=\"a\">{{cite book |title=Some Book |year=2001}}</ref> These are "
    "often described as {{lang|en|stateless}} societies, although several authors have defined them more "
    "specifically.<ref name=\"b\" />"
)
LONG_2 = (
    "The first political philosopher to call himself an anarchist was [[Pierre-Joseph Proudhon]], marking the "
    "formal birth of anarchism in the mid-nineteenth century, and the term is still in ''common'' use today."
)
ARTICLE = f"""{{{{Infobox thing|name=Anarchism|image=x.png}}}}
[[File:Godwin.jpg|left|thumb|upright|William Godwin]]
{LONG_1}

Too short to keep, only [[seven|7]] words.

== History ==
{LONG_2}
* a list item that is long enough to be a paragraph if it were kept, which it should not be at all here
{{| class="wikitable"
|-
! Header
| cell one || cell two
|}}

== See also ==
Everything after the back matter heading is dropped even when it is a long enough paragraph of words.

[[Category:Anarchism]]
[[de:Anarchismus]]
"""


def _page(title: str, ns: int, text: str, redirect: str = "") -> str:
    return (
        f"<page><title>{title}</title><ns>{ns}</ns><id>1</id>{redirect}"
        f'<revision><text xml:space="preserve">{_escape(text)}</text></revision></page>'
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


XML = (
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">'
    "<siteinfo><sitename>Wikipedia</sitename></siteinfo>"
    + _page("Anarchism", 0, ARTICLE)
    + _page("AccessibleComputing", 0, "#REDIRECT [[Computer accessibility]] " + LONG_2, '<redirect title="C" />')
    + _page("Talk:Anarchism", 1, LONG_2)
    + _page("Template:Cite", 10, LONG_2)
    + _page("Second", 0, LONG_2 + "\n")
    + "</mediawiki>"
).encode()

EXPECTED_1 = (
    "Anarchism is a political philosophy that advocates self-governed societies based on voluntary institutions. "
    "These are often described as societies, although several authors have defined them more specifically."
)
EXPECTED_2 = (
    "The first political philosopher to call himself an anarchist was Pierre-Joseph Proudhon, marking the formal "
    "birth of anarchism in the mid-nineteenth century, and the term is still in common use today."
)


@pytest.fixture(scope="module")
def dc() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_corpus", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def wheel_cache(tmp_path: Path, dc: ModuleType) -> Path:
    """A cache folder holding a small zip that stands in for the gensim wheel."""
    cache = tmp_path / "cache"
    cache.mkdir()
    with zipfile.ZipFile(cache / "gensim-4.4.0-py3-none-any.whl", "w") as zf:
        zf.writestr(dc.MEMBER, bz2.compress(XML))
        zf.writestr("gensim/__init__.py", "")
    return cache


def test_only_main_namespace_non_redirect_pages(dc: ModuleType) -> None:
    titles = [title for title, _ in dc.iter_articles(XML)]
    assert titles == ["Anarchism", "Second"]


def test_markup_stripped_short_and_back_matter_dropped(dc: ModuleType) -> None:
    text = dict(dc.iter_articles(XML))["Anarchism"]
    assert dc.clean_article(text) == [EXPECTED_1, EXPECTED_2]


@pytest.mark.parametrize(
    ("wikitext", "expected"),
    [
        ("[[Self-governance|self-governed]] and [[Proudhon]]", "self-governed and Proudhon"),
        ("'''bold''' and ''italic''", "bold and italic"),
        ("a {{cite web|url=x|title=T}} b {{convert|3|km}} c", "a b c"),
        ("a<ref>Smith, p. 4</ref> b<ref name=x/> c<ref name=\"y\">multi\n* line\n* ref</ref> d", "a b c d"),
        ("a [[File:X.jpg|thumb|caption]] b [[Category:Y]] c [[fr:Z]]", "a b c"),
    ],
)
def test_strip_markup(dc: ModuleType, wikitext: str, expected: str) -> None:
    assert " ".join(dc.strip_markup(wikitext).split()) == expected


@pytest.mark.parametrize("line", ["", " . ; ", "Category:Foo", "thumb|x", "{| class=x", "| cell", "! Head", "== H =="])
def test_debris_lines(dc: ModuleType, line: str) -> None:
    assert dc.is_debris(line)


def test_prose_line_is_not_debris(dc: ModuleType) -> None:
    assert not dc.is_debris("Anarchism is a political philosophy, as in n = 1.")


def test_main_writes_one_paragraph_per_line(
    dc: ModuleType, wheel_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(dc.subprocess, "run", lambda *a, **k: pytest.fail("must not download"))
    out = tmp_path / "runs" / "wiki.txt"
    assert dc.main(["--out", str(out), "--cache", str(wheel_cache)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == [EXPECTED_1, EXPECTED_2, EXPECTED_2]
    assert "2 articles, 3 paragraphs" in capsys.readouterr().err
    assert [p.name for p in out.parent.iterdir()] == ["wiki.txt"]  # no temp file left

    out.write_text("kept\n")  # newer than the script: skipped unless --force
    assert dc.main(["--out", str(out), "--cache", str(wheel_cache)]) == 0
    assert out.read_text() == "kept\n"
    assert dc.main(["--out", str(out), "--cache", str(wheel_cache), "--force"]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3


def test_wheel_downloaded_when_missing(dc: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: object) -> None:
        calls.append(cmd)
        (Path(cmd[cmd.index("-d") + 1]) / "gensim-4.4.0-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")

    monkeypatch.setattr(dc.subprocess, "run", fake_run)
    wheel = dc.ensure_wheel(tmp_path / "new")
    assert wheel.name.startswith("gensim-4.4.0-") and len(calls) == 1
    assert calls[0][1:5] == ["-m", "pip", "download", "--no-deps"] and "gensim==4.4.0" in calls[0]
    assert dc.ensure_wheel(tmp_path / "new") == wheel and len(calls) == 1


def test_default_cache(dc: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILCLI_CACHE", str(tmp_path / "d"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert dc.default_cache() == tmp_path / "d" / "demo"
    monkeypatch.delenv("DISTILCLI_CACHE")
    assert dc.default_cache() == tmp_path / "x" / "distilcli" / "demo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert dc.default_cache() == tmp_path / "h" / ".cache" / "distilcli" / "demo"


def test_lee_pairs_are_the_upper_triangle_and_read_as_sts_pairs(dc: ModuleType, tmp_path: Path) -> None:
    from distilcli.tasks.sts import load_pairs

    docs = ["First article, about the £ and a\tclause.", "Second, \"quoted\" article.", "Third article."]
    matrix = "1\t0.25\t0.5\n0\t1\t0.75\n0\t0\t1\n"
    wheel = tmp_path / "gensim-4.4.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(dc.LEE_DOCS, ("\n".join(docs) + "\n").encode("latin-1"))
        zf.writestr(dc.LEE_SCORES, matrix)
    out = tmp_path / "pairs.tsv"
    dc.write_atomic(out, dc.lee_pairs(wheel))
    pairs = load_pairs(pairs=out)
    first, second, third = (" ".join(d.split()) for d in docs)
    assert list(zip(pairs.sentence1, pairs.sentence2)) == [(first, second), (first, third), (second, third)]
    assert list(pairs.scores) == [0.25, 0.5, 0.75]
    with zipfile.ZipFile(wheel, "w") as zf:  # a wheel whose matrix does not match its articles
        zf.writestr(dc.LEE_DOCS, ("\n".join(docs) + "\n").encode("latin-1"))
        zf.writestr(dc.LEE_SCORES, "1\t0.5\n0\t1\n")
    with pytest.raises(SystemExit, match="is not 3 x 3"):
        dc.lee_pairs(wheel)
