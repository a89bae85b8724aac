"""``distil eval-retrieval`` end to end: the report, gates (exit 3), --limit, and bad input as one line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import assert_one_line_error


def test_eval_retrieval_report_gate_and_limit(distil, tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["eval-retrieval", "--model", tiny_encoders["bert"], "--model", tiny_encoders["roberta"], "--data", tiny_squad / "dev.json"]
    result = distil(*args, "--output", out, "--fail-under", "ndcg@10=1")
    assert result.exit_code == 3, result.stderr
    report = json.loads(out.read_text())
    body = report["body"]
    assert report["command"] == "eval-retrieval" and report["primary_metric"] == "ndcg@10"
    assert (body["queries"], body["queries_total"], body["passages"], body["kind"]) == (24, 24, 6, "squad")
    assert [(g["metric"], g["passed"]) for g in body["gates"]] == [("model1.ndcg@10", False), ("model2.ndcg@10", False)]
    assert "zero-shot retrieval" in result.stderr and "gate ndcg@10=1: model1.ndcg@10" in result.stderr
    retention = f"{report['metrics']['model2.retention']:.4f}"
    assert result.stderr.count(retention) == 2  # the models table and the metrics table: the same number
    limited = distil(*args, "--limit", "5", "--output", tmp_path / "l.json")
    assert limited.exit_code == 0, limited.stderr
    again = distil(*args, "--limit", "5", "--output", tmp_path / "again.json")
    first, second = (json.loads((tmp_path / name).read_text()) for name in ("l.json", "again.json"))
    assert (first["body"]["queries"], first["body"]["queries_total"], first["config"]["limit"]) == (5, 24, 5)
    assert first["body"]["passages"] == 6 and first["metrics"] == second["metrics"] and again.exit_code == 0


def test_eval_retrieval_bad_input_is_one_line_and_writes_nothing(
    distil, tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path: Path
) -> None:
    model, data, out = tiny_encoders["bert"], tiny_squad / "dev.json", tmp_path / "r.json"
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "text": "the cat"}) + "\n")
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "cat"}) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    cases = [
        (["--data", data], ["--model"]),
        (["--model", model], ["no collection to search", "--data"]),
        (["--model", model, "--data", tmp_path / "none.json"], ["no such file"]),
        (["--model", model, "--data", beir], ["corpus-id 'd2' is not in"]),
        (["--model", model, "--data", empty], ["the collection has no passages"]),
        (["--model", model, "--data", data, "--fail-under", "map=0.5"], ["unknown metric 'map'", "ndcg@10"]),
        (["--model", model, "--data", data, "--fail-under", "ndcg@10=80"], ["write ndcg@10=0.8"]),
        (["--model", model, "--data", data, "--fail-under", "retention=0.9"], ["retention compares"]),
        (["--model", model, "--data", data, "--limit", "0"], ["--limit must be at least 1"]),
        (["--model", tmp_path / "no-model", "--data", data], ["no-model"]),
    ]
    for options, fragments in cases:
        assert_one_line_error(distil("eval-retrieval", *options, "--output", out), 2, *fragments)
        assert not out.exists()
