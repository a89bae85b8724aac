"""Quality gates shared by eval-glue and eval-squad: parsing, and outcomes that never pass by absence."""

from __future__ import annotations

import pytest

from distilcli.errors import BadInput
from distilcli.evaluate.gates import (
    Gate,
    check_gates,
    check_squad_gates,
    check_targets,
    parse_gate,
    parse_squad_gate,
    split_gate,
)
from distilcli.evaluate.glue_models import parse_tasks
from distilcli.evaluate.glue_outputs import add_macro, add_retention


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
    assert parse_gate("retention=1.05").bar == 1.05  # retention is a ratio, not bound to [-1, 1]
    assert parse_gate("pearson=-0.5").bar == -0.5  # a correlation may be negative


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("sst2.f1=0.9", "SST-2 has no f1"),
        ("bleu=0.9", "unknown metric 'bleu'"),
        ("accuracy=90", "write accuracy=0.9"),
        ("accuracy=80", "write accuracy=0.8"),
        ("mcc=75", "write mcc=0.75"),
        ("retention=97", "write retention=0.97"),  # a percentage: no student keeps 97 times its teacher
        ("accuracy=-0.5", "a fraction from 0 to 1"),
        ("bleu=0.9", "known: accuracy, f1, mcc, pearson, spearman, score, retention, macro, macro_retention"),
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
    with pytest.raises(BadInput, match="a percentage from 0 to 100"):
        parse_squad_gate("f1=101", version_2=False)
    with pytest.raises(BadInput, match=r"known: f1, em\)"):
        parse_squad_gate("bleu=50", version_2=False)
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
    # The one task syntax of every command: glue:sst2 too, in --task and in a gate.
    assert [t.name for t in parse_tasks("glue:sst2,SST-2")] == ["sst2"]
    assert parse_gate("glue:sst2.accuracy=0.9").task == "sst2"
    with pytest.raises(BadInput, match="not a GLUE task.*eval-squad"):
        parse_tasks("squad")
    with pytest.raises(BadInput, match="--task is empty"):
        parse_tasks(" , ")


def _targets(specs: list[str], tasks: str, missing: dict[str, str] | None = None, teacher=None) -> None:
    check_targets([parse_gate(spec) for spec in specs], parse_tasks(tasks), teacher, missing or {})


def test_a_gate_names_a_metric_the_run_measures() -> None:
    _targets(["accuracy=0.5", "sst2.score=0.5", "mcc=0.1"], "sst2,cola")
    with pytest.raises(BadInput, match=r"no task of --task sst2 has mcc; gate one of accuracy, score"):
        _targets(["mcc=0.1"], "sst2")
    with pytest.raises(BadInput, match="MRPC is not among --task sst2"):
        _targets(["mrpc.f1=0.5"], "sst2")
    with pytest.raises(BadInput, match="macro_score averages several tasks.*gate sst2.score=0.4"):
        _targets(["macro=0.4"], "sst2")
    with pytest.raises(BadInput, match=r"MRPC cannot be scored \(no model\)"):
        _targets(["mrpc.f1=0.5"], "sst2,mrpc", {"mrpc": "no model"})
    with pytest.raises(BadInput, match="no task that can be scored .* has mcc"):
        _targets(["mcc=0.1"], "sst2,cola", {"cola": "no dev file"})
    with pytest.raises(BadInput, match="the --teacher-report has no CoLA score"):
        _targets(["cola.retention=0.9"], "sst2,cola", teacher={"sst2": 0.9})


def test_a_macro_gate_needs_every_task() -> None:
    missing = {name: "no dev file in --glue-dir G" for name in ("cola", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte")}
    missing |= {"wnli": "no model", "mnli-mm": "no dev file in --glue-dir G"}
    with pytest.raises(BadInput) as info:
        _targets(["macro=0.4"], "all", missing)
    message = str(info.value)
    assert "8 of 9 cannot be scored" in message and "WNLI (no model)" in message and "--task sst2" in message
    _targets(["macro=0.4"], "sst2,cola")  # every task there: fine
    with pytest.raises(BadInput, match=r"RTE \(not in --teacher-report\)"):
        _targets(["macro_retention=0.9"], "sst2,rte", teacher={"sst2": 0.9})


def test_a_partial_macro_is_named_so() -> None:
    metrics: dict[str, float] = {}
    body = add_macro({"sst2": 0.9}, [t.name for t in parse_tasks("all")], metrics)
    assert metrics == {"macro_score_partial": 0.9} and body["metric"] == "macro_score_partial"
    assert (body["tasks_measured"], body["tasks_expected"]) == (1, 9) and "cola" in body["missing"]
    metrics = {}
    assert add_macro({"sst2": 0.9, "mnli": 0.5, "mnli-mm": 0.7}, ["sst2", "mnli", "mnli-mm"], metrics)["missing"] == []
    assert metrics == {"macro_score": pytest.approx(0.7)}  # MNLI counted once, matched
    retention = add_retention({"sst2": 0.9, "cola": 0.4}, {"sst2": 1.0, "cola": 0.5}, metrics, ["sst2", "cola", "rte"])
    assert retention["metric"] == "macro_retention_partial" and "macro_retention" not in metrics
    assert metrics["macro_retention_partial"] == pytest.approx(0.65 / 0.75)
