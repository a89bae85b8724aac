"""Cut an official SQuAD JSON file into two by article: the first N articles, and the rest.

../shared/data/squad has the official dev files but no training file, so the SQuAD runs in
docs/results.md train on the first articles of a dev file and evaluate on the others (no article,
hence no paragraph or question, is in both):

    python examples/split_squad.py ../shared/data/squad/dev-v1.1.json 24 /tmp/squad11
    # -> /tmp/squad11/train.json (articles 0-23) and /tmp/squad11/dev.json (articles 24-)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="an official SQuAD JSON file")
    parser.add_argument("articles", type=int, help="how many articles go to train.json")
    parser.add_argument("out", type=Path, help="folder for train.json and dev.json")
    args = parser.parse_args()
    document = json.loads(args.source.read_text(encoding="utf-8"))
    articles = document["data"]
    if not 0 < args.articles < len(articles):
        parser.error(f"{args.source} has {len(articles)} articles: choose between 1 and {len(articles) - 1}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.json", articles[: args.articles]), ("dev.json", articles[args.articles :])):
        questions = sum(len(p["qas"]) for a in part for p in a["paragraphs"])
        (args.out / name).write_text(json.dumps({**document, "data": part}, ensure_ascii=False), encoding="utf-8")
        print(f"{args.out / name}: {len(part)} articles, {questions} questions")


if __name__ == "__main__":
    main()
