"""eval-retrieval: the collection readers (SQuAD, BEIR, JSONL), bad input, and a run against an independent one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from distilcli.errors import BadInput
from distilcli.evaluate.retrieval_eval import EvalRetrievalConfig, parse_retrieval_gate, run_eval_retrieval
from distilcli.tasks.retrieval import load_retrieval


def write_beir(folder: Path, qrels: str, *, corpus: list[dict] | None = None, queries: list[dict] | None = None) -> Path:
    """A BEIR folder: corpus.jsonl, queries.jsonl and qrels/test.tsv (``qrels``: its rows after the header)."""
    corpus = corpus if corpus is not None else [
        {"_id": "d1", "title": "cats", "text": "the cat sat on the house"},
        {"_id": "d2", "title": "", "text": "a dog runs in the river"},
        {"_id": "d3", "title": "music", "text": "a good film and a good book"},
        {"_id": "d4", "title": "night", "text": "the city at night"},
    ]  # fmt: skip
    queries = queries if queries is not None else [
        {"_id": "q1", "text": "the cat"}, {"_id": "q2", "text": "a dog"}, {"_id": "q3", "text": "good music"},
        {"_id": "q4", "text": "no judgement"}, {"_id": "q5", "text": "judged, nothing relevant"},
    ]  # fmt: skip
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels, encoding="utf-8")
    return folder


QRELS = "q1\td1\t1\nq2\td2\t2\nq2\td4\t1\nq3\td3\t1\nq3\td1\t0\nq5\td4\t0\n"


def test_beir_folder(tmp_path: Path) -> None:
    found = load_retrieval(write_beir(tmp_path / "beir", QRELS))
    assert (found.kind, found.query_ids, found.passage_ids) == ("beir", ["q1", "q2", "q3"], ["d1", "d2", "d3", "d4"])
    assert found.passages[0] == "cats the cat sat on the house" and found.passages[1] == "a dog runs in the river"
    assert found.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2, "d4": 1}, "q3": {"d3": 1}}  # grade 0: not relevant
    assert found.without_relevant == 1  # q5; q4 has no judgement at all: not a query of this split
    (tmp_path / "beir" / "qrels" / "dev.tsv").write_text("q4\td2\t1\n", encoding="utf-8")  # no header: fine too
    dev = load_retrieval(tmp_path / "beir" / "qrels" / "dev.tsv")
    assert dev.query_ids == ["q4"] and dev.source.endswith("dev.tsv")
    assert load_retrieval(tmp_path / "beir").subset([2]).qrels == {"q3": {"d3": 1}}


def test_squad_file_as_a_collection(tiny_squad: Path) -> None:
    found = load_retrieval(tiny_squad / "dev.json")
    document = json.loads((tiny_squad / "dev.json").read_text())
    paragraphs = [p for article in document["data"] for p in article["paragraphs"]]
    assert found.kind == "squad" and found.passages == [p["context"] for p in paragraphs]
    assert len(found) == sum(len(p["qas"]) for p in paragraphs) == 24
    for paragraph in paragraphs:
        for qa in paragraph["qas"]:
            (passage,) = found.qrels[qa["id"]]
            assert found.passages[found.passage_ids.index(passage)] == paragraph["context"]
    assert found.passage_ids[:4] == ["Article_0#0", "Article_0#1", "Article_0#2", "Article_1#0"]


def test_jsonl_file(tmp_path: Path) -> None:
    lines = [{"query": "the cat", "positive": "the cat sat", "negative": ["a dog", "the sea"]},
             {"id": "x", "query": "a dog", "positive": ["a dog", "dog runs"]}, {"passage": "the city at night"}]  # fmt: skip
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    found = load_retrieval(path)
    assert found.query_ids == ["q1", "x"] and found.queries == ["the cat", "a dog"]
    assert found.passages == ["the cat sat", "a dog", "the sea", "dog runs", "the city at night"]  # each text once
    assert found.qrels == {"q1": {"p0": 1}, "x": {"p1": 1, "p3": 1}}


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing", "no such file or folder"),
        ("no qrels", "no qrels/test.tsv or qrels.tsv"),
        ("no corpus", "corpus.jsonl: no such file"),
        ("unknown passage", "corpus-id 'd9' is not in"),
        ("unknown query", "query-id 'q9' is not in"),
        ("bad grade", "not an integer relevance grade"),
        ("empty collection", "corpus-id 'd1' is not in"),
        ("nothing relevant", "no query has a relevant passage"),
        ("twice", "_id 'd1' appears twice"),
        ("bad json", "line 2: not valid JSON"),
        ("other suffix", "expected a SQuAD-format .json"),
        ("jsonl without positive", "needs 'positive'"),
        ("none", "no collection to search"),
    ],
)
def test_bad_collections(tmp_path: Path, case: str, match: str) -> None:
    folder = tmp_path / "beir"
    path: Path | None = folder
    if case == "missing":
        path = tmp_path / "nothing"
    elif case == "no qrels":
        write_beir(folder, QRELS)
        (folder / "qrels" / "test.tsv").rename(folder / "qrels" / "train.tsv")
    elif case == "no corpus":
        write_beir(folder, QRELS)
        (folder / "corpus.jsonl").unlink()
    elif case in ("unknown passage", "unknown query", "bad grade"):
        row = {"unknown passage": "q1\td9\t1\n", "unknown query": "q9\td1\t1\n", "bad grade": "q1\td1\thigh\n"}[case]
        write_beir(folder, QRELS + row)
    elif case == "empty collection":
        write_beir(folder, QRELS, corpus=[])
    elif case == "nothing relevant":
        write_beir(folder, "q1\td1\t0\n")
    elif case == "twice":
        write_beir(folder, QRELS, corpus=[{"_id": "d1", "text": "a"}, {"_id": "d1", "text": "b"}])
    elif case == "bad json":
        write_beir(folder, QRELS)
        (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n{"_id": \n', encoding="utf-8")
    elif case == "other suffix":
        path = tmp_path / "x.csv"
        path.write_text("a,b\n")
    elif case == "jsonl without positive":
        path = tmp_path / "x.jsonl"
        path.write_text(json.dumps({"query": "a"}) + "\n")
    else:
        path = None
    with pytest.raises(BadInput, match=match):
        load_retrieval(path)
    if case == "empty collection":  # no passages and no judgements: the collection itself is named
        write_beir(folder, "", corpus=[])
        with pytest.raises(BadInput, match="the collection has no passages"):
            load_retrieval(folder)


def test_gates() -> None:
    assert parse_retrieval_gate("nDCG@10=0.5", 1).metric == "ndcg@10"
    assert parse_retrieval_gate("model2.mrr=0.5", 2).metric == "mrr@10"
    for spec, match in [("ndcg@5=0.5", "unknown metric 'ndcg@5'"), ("map=0.5", "use ndcg@10, mrr@10, recall@1"),
                        ("ndcg@10=80", "write ndcg@10=0.8"), ("recall@10=1.2", "a fraction from 0 to 1"),
                        ("retention=0.9", "retention compares"), ("model3.recall@1=0.1", "model1 to model2")]:  # fmt: skip
        with pytest.raises(BadInput, match=match):
            parse_retrieval_gate(spec, 1 if spec.startswith("retention") else 2)


def _independent(model_dir: Path, folder: Path) -> dict[str, float]:
    """The metrics from scratch: each text embedded alone (no padding), mean pooled, every score sorted."""
    from sklearn.metrics import ndcg_score
    from transformers import AutoModel, AutoTokenizer

    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines()]
    queries = {r["_id"]: r["text"] for r in map(json.loads, (folder / "queries.jsonl").read_text().splitlines())}
    judged: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        q, d, grade = line.split("\t")
        if int(grade) > 0:
            judged.setdefault(q, {})[d] = int(grade)
    tokenizer, model = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        def vector(text: str) -> torch.Tensor:
            state = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0].mean(0)
            return state / state.norm()

        passages = torch.stack([vector((r.get("title", "") + " " + r["text"]).strip()) for r in corpus])
        asked = [q for q in queries if q in judged]
        scores = (torch.stack([vector(queries[q]) for q in asked]) @ passages.T).numpy()
    ids = [r["_id"] for r in corpus]
    grades = np.array([[judged[q].get(d, 0) for d in ids] for q in asked])
    out: dict[str, list[float]] = {"mrr@10": [], "recall@1": [], "recall@10": [], "recall@100": []}
    for row, q in enumerate(asked):
        order = sorted(range(len(ids)), key=lambda i: -scores[row, i])
        hits = [rank for rank, i in enumerate(order) if grades[row, i] > 0]
        out["mrr@10"].append(1 / (hits[0] + 1) if hits[0] < 10 else 0.0)
        for k in (1, 10, 100):
            out[f"recall@{k}"].append(sum(h < k for h in hits) / len(hits))
    return {"ndcg@10": float(ndcg_score(grades, scores, k=10))} | {k: float(np.mean(v)) for k, v in out.items()}


def test_eval_retrieval_equals_an_independent_computation(tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    words = ["cat", "dog", "house", "tree", "river", "city", "music", "game", "book", "film", "day", "night", "water"]
    rng = np.random.default_rng(1)
    corpus = [{"_id": f"d{i}", "title": str(rng.choice(words)), "text": " ".join(rng.choice(words, size=rng.integers(3, 30)))}
              for i in range(14)]  # fmt: skip
    queries = [{"_id": f"q{i}", "text": " ".join(rng.choice(words, size=rng.integers(1, 6)))} for i in range(9)]
    qrels = "".join(f"q{q}\td{d}\t{g}\n" for q in range(9) for d, g in zip(rng.choice(14, 3, replace=False), (2, 1, 0)))
    folder = write_beir(tmp_path / "beir", qrels, corpus=corpus, queries=queries)
    models = [str(tiny_encoders["bert"]), str(tiny_encoders["mpnet"])]
    report, outcomes = run_eval_retrieval(EvalRetrievalConfig(model=models, data=folder, batch_size=4))
    expected = _independent(tiny_encoders["bert"], folder)
    for name, value in expected.items():
        assert report.metrics[name] == pytest.approx(value, abs=1e-6), name
    rows = report.body["models"]
    assert rows[1]["retention"] == pytest.approx(rows[1]["ndcg@10"] / rows[0]["ndcg@10"])
    assert report.metrics["model2.retention"] == rows[1]["retention"] and outcomes == []
    assert (report.body["queries"], report.body["passages"], report.body["judgements"]) == (9, 14, 18)
    assert report.primary_metric == "ndcg@10" and rows[0]["pooling"] == "mean" and not math.isnan(rows[0]["texts_per_s"])
    _, outcomes = run_eval_retrieval(
        EvalRetrievalConfig(model=models, data=folder, limit=4, fail_under=["recall@100=1", "model2.retention=2"])
    )
    assert [(o["metric"], o["passed"]) for o in outcomes] == [
        ("model1.recall@100", True), ("model2.recall@100", True), ("model2.retention", False)
    ]
