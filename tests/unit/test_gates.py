"""Quality gates shared by eval-glue and eval-squad: parsing, and outcomes that never pass by absence."""

from __future__ import annotations

import pytest

from distilcli.errors import BadInput
from distilcli.evaluate.gates import Gate, check_gates, check_squad_gates, parse_gate, parse_squad_gate, split_gate
from distilcli.evaluate.glue_models import parse_tasks


def test_split_gate() -> None:
    assert split_gate(" f1 =0.5", "f1=0.5") == ("f1", 0.5)
    for bad, fragment in (
        ("f1", "expected METRIC=VALUE"),
        ("=1", "expected METRIC=VALUE"),
        ("f1=x", "is not a number"),
        ("f1=nan", "finite"),
    ):
        with pytest.raises(BadInput, match=fragment):
            split_gate(bad, "f1=0.5")


def test_parse_gate_spellings() -> None:
    assert parse_gate("acc=0.9") == Gate("acc=0.9", None, "accuracy", 0.9)
    assert parse_gate("SST-2.accuracy=0.9") == Gate("SST-2.accuracy=0.9", "sst2", "accuracy", 0.9)
    assert parse_gate("cola.mcc=0.3").metric == "matthews_correlation"
    assert parse_gate("macro=0.75") == Gate("macro=0.75", None, "macro_score", 0.75)
    assert parse_gate("retention=97").bar == 97  # retention is a ratio, not bound to [-1, 1]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("sst2.f1=0.9", "SST-2 has no f1"),
        ("bleu=0.9", "unknown metric 'bleu'"),
        ("accuracy=90", "write accuracy=0.9"),
        ("sst3.accuracy=0.9", "unknown GLUE task"),
    ],
)
def test_parse_gate_refuses(spec: str, fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_gate(spec)
    assert fragment in str(info.value)


def test_check_gates_per_task_and_not_measured() -> None:
    metrics = {"sst2.accuracy": 0.91, "rte.accuracy": 0.6, "macro_score": 0.7}
    outcomes = check_gates(
        [parse_gate("accuracy=0.8"), parse_gate("mrpc.f1=0.5"), parse_gate("macro=0.7")], metrics, ["sst2", "rte"]
    )
    assert [(o["metric"], o["passed"]) for o in outcomes] == [
        ("sst2.accuracy", True),
        ("rte.accuracy", False),
        ("mrpc.f1", False),
        ("macro_score", True),
    ]
    assert outcomes[2]["value"] is None and outcomes[2]["reason"] == "not measured"
    # A gate on a metric no evaluated task has fails too.
    assert check_gates([parse_gate("pearson=0.1")], metrics, ["sst2"])[0]["passed"] is False


def test_parse_squad_gate() -> None:
    assert parse_squad_gate("em=70", version_2=False) == ("exact_match", 70.0)
    assert parse_squad_gate("em=70", version_2=True) == ("exact", 70.0)
    assert parse_squad_gate("hasans_f1=75", version_2=True) == ("HasAns_f1", 75.0)
    with pytest.raises(BadInput, match="percentages"):
        parse_squad_gate("f1=0.8", version_2=False)
    with pytest.raises(BadInput, match="unknown metric 'HasAns_f1' for SQuAD v1.1"):
        parse_squad_gate("HasAns_f1=75", version_2=False)


def test_check_squad_gates() -> None:
    outcomes = check_squad_gates(
        [("f1", 80.0), ("exact_match", 70.0), ("best_f1", 1.0)], {"f1": 81.5, "exact_match": 69.0}
    )
    assert [o["passed"] for o in outcomes] == [True, False, False]
    assert outcomes[0]["gate"] == "f1=80" and outcomes[2]["value"] is None


def test_parse_tasks() -> None:
    assert [t.name for t in parse_tasks("all")] == [
        "cola",
        "sst2",
        "mrpc",
        "stsb",
        "qqp",
        "mnli",
        "mnli-mm",
        "qnli",
        "rte",
        "wnli",
    ]
    assert [t.name for t in parse_tasks("RTE, sst-2,rte")] == ["rte", "sst2"]
    with pytest.raises(BadInput, match="--task is empty"):
        parse_tasks(" , ")
