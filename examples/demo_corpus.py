"""Build the demo's training text: real English prose from a PyPI wheel, one document per line.

Why: `make demo` must distill on real text on a fresh machine that reaches PyPI and nothing else;
it must never need the Hugging Face hub nor ../shared. The gensim 4.4.0 wheel ships a shortened
English Wikipedia dump (gensim/test/test_data/enwiki-...-shortened.bz2, ~100 articles). What:
1. find (else `pip download --no-deps`, no install) the gensim 4.4.0 wheel in a cache folder;
2. read the .bz2 member out of the wheel (a zip), decompress it, iterparse the MediaWiki XML;
3. keep main-namespace, non-redirect pages; drop refs, lists, tables, math, file/category/
   interlanguage links and back matter (See also, References...); strip the rest with
   mwparserfromhell; drop leftover debris lines;
4. write each paragraph of >= MIN_WORDS words as one line, atomically (skipped if up to date).
With --pairs FILE it also writes, from the same wheel, the Lee document-similarity benchmark (Lee,
Pincombe & Welsh 2005: 50 news articles, gensim/test/test_data/lee.cor, and the mean human
similarity of each pair, similarities0-1.txt) as 1,225 rows of sentence1, sentence2, score: the
demo's zero-shot similarity test (`distil eval-sts --pairs FILE`).
Usage: python examples/demo_corpus.py --out runs/demo/wiki.txt [--pairs runs/demo/lee-pairs.tsv] [--cache DIR] [--force]
Needs only the standard library and mwparserfromhell (pip install mwparserfromhell).
"""

from __future__ import annotations

import argparse
import bz2
import io
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GENSIM = "gensim==4.4.0"
WHEEL_GLOB = "gensim-4.4.0-*.whl"
MEMBER = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
MIN_WORDS = 20
LEE_DOCS = "gensim/test/test_data/lee.cor"  # one article per line, Latin-1 (it has '£')
LEE_SCORES = "gensim/test/test_data/similarities0-1.txt"  # 50 x 50, tab-separated, upper triangle filled
# lines left by tables, categories, files, lists, templates, '== headings =='
DEBRIS_PREFIXES = ("category:", "file:", "image:", "thumb|", "{|", "|", "!", "*", "#", ";", ":", "<", "{{", "}}", "=")
STOP_SECTIONS = {"see also", "references", "notes", "footnotes", "citations", "sources", "bibliography",
                 "further reading", "external links", "notes and references", "works cited"}
DROP_TAGS = {"ref", "references", "table", "gallery", "math", "timeline", "imagemap", "score", "source"}
DROP_LINK = re.compile(r"^\s*(file|image|media|category|[a-z]{2,3}(-[a-z]+)*)\s*:", re.IGNORECASE)
LEFTOVER = re.compile(r"\[\[|\]\]|\{\{|\}\}|</?\w+[^>]*>|&\w+;|\b(class|style|align|width|colspan|rowspan)\s*=")
REFS = re.compile(r"<ref(\s[^>]*)?/>|<ref(\s[^>]*)?>.*?</ref\s*>", re.IGNORECASE | re.DOTALL)


def default_cache() -> Path:
    """$DISTILCLI_CACHE/demo, else $XDG_CACHE_HOME/distilcli/demo, else ~/.cache/distilcli/demo."""
    if os.environ.get("DISTILCLI_CACHE"):
        return Path(os.environ["DISTILCLI_CACHE"]) / "demo"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "distilcli" / "demo"


def ensure_wheel(cache: Path) -> Path:
    """The gensim 4.4.0 wheel in ``cache``, downloaded from PyPI (no install) if absent."""
    found = sorted(cache.glob(WHEEL_GLOB))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", GENSIM, "-d", str(cache)]
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        found = sorted(cache.glob(WHEEL_GLOB))
    if not found:
        raise SystemExit(f"demo_corpus: no {WHEEL_GLOB} in {cache} after pip download")
    return found[0]


def read_dump(wheel: Path, member: str = MEMBER) -> bytes:
    """The decompressed XML dump stored as ``member`` in the wheel (a zip)."""
    with zipfile.ZipFile(wheel) as zf:
        return bz2.decompress(zf.read(member))


def iter_articles(xml: bytes) -> Iterator[tuple[str, str]]:
    """(title, wikitext) of each main-namespace, non-redirect page, in dump order."""
    page: dict[str, str] = {}
    for _, elem in ET.iterparse(io.BytesIO(xml), events=("end",)):
        tag = elem.tag.rsplit("}", 1)[-1]  # namespaced: {http://www.mediawiki.org/xml/export-0.10/}page
        if tag in ("title", "ns", "text", "redirect"):
            page[tag] = elem.text or ""
        elif tag == "page":
            text = page.get("text", "")
            redirect = "redirect" in page or text.lstrip().upper().startswith("#REDIRECT")
            if page.get("ns", "").strip() == "0" and not redirect and text.strip():
                yield page.get("title", ""), text
            page = {}
            elem.clear()


def is_debris(line: str) -> bool:
    """True for lines that are not prose: empty, punctuation, headings, table/category/file remnants."""
    no_letter = not re.search(r"[A-Za-z]", line)
    return no_letter or line.lower().startswith(DEBRIS_PREFIXES) or bool(LEFTOVER.search(line))


def _prune(code: Any, top: bool = True) -> None:
    """In place: drop refs/tables/math tags and file/category/interlanguage links at any depth;
    at the top level, cut at the first back-matter heading and turn other headings into breaks."""
    from mwparserfromhell.nodes import Heading, Tag, Text, Wikilink

    kept = []
    for node in code.nodes:
        if isinstance(node, Heading) and top:
            if str(node.title).strip().lower() in STOP_SECTIONS:
                break
            node = Text("\n\n")
        if isinstance(node, Tag) and str(node.tag).strip().lower() in DROP_TAGS:
            continue
        if isinstance(node, Wikilink) and DROP_LINK.match(str(node.title)):
            continue
        for child in (getattr(node, attr, None) for attr in ("contents", "text", "title")):
            if child is not None and hasattr(child, "nodes"):
                _prune(child, top=False)
        kept.append(node)
    code.nodes = kept  # rebuilding the list is far faster than Wikicode.remove


def strip_markup(wikitext: str) -> str:
    """Plain text: refs, lists, headings, back matter and non-prose nodes dropped, then strip_code."""
    import mwparserfromhell

    wikitext = REFS.sub("", wikitext)  # first: a ref may span list lines
    prose = "\n".join(ln for ln in wikitext.splitlines() if not ln.startswith(("*", "#", ";", ":")))
    code = mwparserfromhell.parse(prose)
    _prune(code)
    return code.strip_code(normalize=True, collapse=True)


def clean_article(wikitext: str) -> list[str]:
    """The article's paragraphs of at least MIN_WORDS words, markup stripped, whitespace collapsed."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", strip_markup(wikitext)):
        lines = [" ".join(ln.split()) for ln in block.splitlines()]
        text = " ".join(ln for ln in lines if ln and not is_debris(ln))
        text = re.sub(r"\(\s*[,;]?\s*\)", "", text)  # "( )" left where templates were
        text = re.sub(r"\s+([,.;:])", r"\1", " ".join(text.split()))
        if len(text.split()) >= MIN_WORDS:
            paragraphs.append(text)
    return paragraphs


def write_atomic(path: Path, lines: list[str]) -> None:
    """Write ``lines`` to ``path`` via a temp file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in lines)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def lee_pairs(wheel: Path) -> list[str]:
    """The Lee benchmark as TSV lines: a header, then every pair i < j of articles with its mean human score."""
    with zipfile.ZipFile(wheel) as zf:
        docs = [" ".join(line.split()) for line in zf.read(LEE_DOCS).decode("latin-1").splitlines() if line.strip()]
        matrix = [line.split("\t") for line in zf.read(LEE_SCORES).decode("ascii").splitlines() if line.strip()]
    if len(matrix) != len(docs) or any(len(row) != len(docs) for row in matrix):
        raise SystemExit(f"demo_corpus: {LEE_SCORES} is not {len(docs)} x {len(docs)}, as {LEE_DOCS} needs")
    # Plain tab-separated, no quoting, as GLUE's files (whitespace runs, tabs included, were collapsed above).
    rows = [f"{docs[i]}\t{docs[j]}\t{float(matrix[i][j])}" for i in range(len(docs)) for j in range(i + 1, len(docs))]
    return ["sentence1\tsentence2\tscore", *rows]


def build(xml: bytes) -> tuple[int, list[str]]:
    """(articles with at least one paragraph kept, paragraph lines) from the dump XML."""
    articles, lines = 0, []
    for _, text in iter_articles(xml):
        paragraphs = clean_article(text)
        articles += bool(paragraphs)
        lines.extend(paragraphs)
    return articles, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output text file, one paragraph per line")
    parser.add_argument("--cache", type=Path, default=None, help="where the gensim wheel is kept")
    parser.add_argument("--pairs", type=Path, default=None, help="also write the Lee document-similarity pairs here (TSV)")
    parser.add_argument("--force", action="store_true", help="rebuild even if --out is up to date")
    args = parser.parse_args(argv)
    try:
        import mwparserfromhell  # noqa: F401
    except ImportError:
        raise SystemExit("demo_corpus: needs mwparserfromhell (pip install mwparserfromhell)") from None
    out: Path = args.out
    written = [path for path in (out, args.pairs) if path is not None]
    if not args.force and all(p.exists() and p.stat().st_mtime > Path(__file__).stat().st_mtime for p in written):
        print(f"demo_corpus: {', '.join(map(str, written))} up to date (use --force to rebuild)", file=sys.stderr)
        return 0
    wheel = ensure_wheel(args.cache or default_cache())
    if args.pairs is not None:
        pairs = lee_pairs(wheel)
        write_atomic(args.pairs, pairs)
        print(f"demo_corpus: Lee benchmark, {len(pairs) - 1} article pairs -> {args.pairs}", file=sys.stderr)
    articles, lines = build(read_dump(wheel))
    write_atomic(out, lines)
    words = sum(len(line.split()) for line in lines)
    print(f"demo_corpus: {articles} articles, {len(lines)} paragraphs, {words} words -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
