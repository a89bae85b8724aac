"""The ``embeddings`` recipe kind on tiny models: its stages, its checks, and a run end to end with tables checked against the stage reports."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from distilcli.errors import BadInput
from distilcli.pipeline.embed_recipe import EMBED_ARMS
from distilcli.pipeline.recipe import load_recipe, parse_recipe
from distilcli.pipeline.run import PipelineConfig, plan_pipeline, run_pipeline
from distilcli.pipeline.stages import Inputs, plan
from distilcli.reports import load_report
from tests.conftest import WORDS, write_sentence_transformers_files


def _recipe(teacher: str, other: str, **changes: Any) -> dict[str, Any]:
    recipe = {
        "recipe": "tiny-embeddings",
        "teacher": teacher,
        "student": {"layers": 2},
        "distill": {"max_steps": 2, "batch_size": 4, "max_seq_length": 32, "save_every": 2, "log_every": 2},
        "arms": list(EMBED_ARMS),
        "embeddings": {
            "other_family": other,
            "sts": {"batch_size": 16},
            "retrieval": {"batch_size": 16},
            "export": {"arm": "distilled_cka"},
        },
        "benchmark": {"batch_sizes": [1], "seq_lengths": [16], "warmup": 1, "repeats": 2, "memory": False},
    }
    recipe.update(changes)
    return recipe


def test_the_builtin_recipe_plans_every_arm_and_needs_its_inputs(tmp_path: Path) -> None:
    recipe = load_recipe("embeddings")
    assert recipe.teacher == "mpnet-base" and recipe.layers == 6 and recipe.embeddings["other_family"] == "minilm-l6"
    assert (recipe.distill["document_per"], recipe.distill["max_steps"], recipe.distill["lr"]) == ("sentence", 400, 5e-4)
    stages = {s.name: s for s in plan(recipe, Inputs(corpus="c", glue_dir="g"))}
    assert not any(name.startswith("retrieval-") for name in stages)  # no --retrieval-data: no retrieval
    assert stages["student-cka"].options["layer_map"] == "auto" and stages["student-cka"].options["layers"] == 6
    assert stages["distill-cka"].options["student"] == "@student-cka" and stages["distill-cka"].options["task"] == "embeddings"
    assert stages["distill-other"].options["alpha_cos"] == 0.0 and stages["distill-other"].options["student"] == "minilm-l6"
    assert stages["export"].options["model"] == "@distill-cka" and stages["export"].deps == ["distill-cka"]
    assert stages["benchmark"].options["model"] == ["mpnet-base", "@distill-cka", "@distill-other"]
    with_retrieval = plan(recipe, Inputs(corpus="c", glue_dir="g", retrieval_data="dev.json"))
    assert sum(s.kind == "eval_retrieval" for s in with_retrieval) == len(recipe.arms)
    with pytest.raises(BadInput, match="pass --glue-dir DIR or --hub-dir DIR"):
        plan_pipeline(PipelineConfig(recipe="embeddings", out=tmp_path / "a", corpus="c"))
    with pytest.raises(BadInput, match="--retrieval-data is read by embeddings recipes"):
        plan_pipeline(PipelineConfig(recipe="smoke", out=tmp_path / "b", corpus="c", glue_dir=tmp_path, retrieval_data=tmp_path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arms": ["teacher", "student"]}, "unknown arm(s) student of an embeddings recipe"),
        ({"arms": ["student_even"]}, "arms must include 'teacher'"),
        ({"embeddings": {"sts": {"batch_sise": 8}}}, "embeddings.sts.batch_sise: did you mean embeddings.sts.batch_size"),
        ({"embeddings": {"sts": {"glue_dir": "x"}}}, "unknown key embeddings.sts.glue_dir"),
        ({"embeddings": {}, "arms": ["teacher", "other_family"]}, "need embeddings.other_family"),
        ({"embeddings": {"export": {"arm": "teacher"}}}, "embeddings.export.arm 'teacher' must be a student arm"),
        ({"glue": {"tasks": {"sst2": {}}}}, "leave out glue and squad"),
    ],
)
def test_bad_embedding_recipes_are_refused_with_the_fix(change: dict, message: str) -> None:
    data = {"recipe": "t", "teacher": "minilm-l6", "student": {"layers": 3}, "embeddings": {}} | change
    with pytest.raises(BadInput) as info:
        parse_recipe(data, "t.yaml")
    assert message in str(info.value)


def test_print_round_trip() -> None:
    recipe = load_recipe("embeddings")
    assert parse_recipe(yaml.safe_load(yaml.safe_dump(recipe.to_yaml_dict())), "printed") == recipe


@pytest.fixture(scope="module")
def sentences(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lines of three sentences (10-20 words each): long enough for both tokenizers."""
    rng = random.Random(5)
    path = tmp_path_factory.mktemp("sentences") / "text.txt"
    lines = [" ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 20))).capitalize() + "." for _ in range(3)) for _ in range(40)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_models, other_tokenizer_student, sentences, tiny_glue, tiny_squad):
    tmp = tmp_path_factory.mktemp("embeddings-pipeline")
    teacher = tmp / "teacher"
    shutil.copytree(tiny_models["bert"], teacher)
    write_sentence_transformers_files(teacher, {"pooling_mode_mean_tokens": True}, normalize="2_Normalize", max_seq_length=32)
    path = tmp / "recipe.yaml"
    path.write_text(yaml.safe_dump(_recipe(str(teacher), str(other_tokenizer_student))))
    gates = ["embeddings.distilled_cka.stsb_retention=0", "embeddings.teacher.ndcg_at_10_retention=1"]
    cfg = PipelineConfig(recipe=str(path), out=tmp / "run", corpus=str(sentences), glue_dir=tiny_glue,
                         retrieval_data=tiny_squad / "dev.json", fail_under=gates)  # fmt: skip
    report, outcomes = run_pipeline(cfg)
    return cfg, report, outcomes


def _cell(value: float) -> str:
    return f"{value * 100:.1f}"


def test_every_arm_scored_and_tabled_from_the_stage_reports(finished) -> None:
    cfg, report, outcomes = finished
    out = Path(cfg.out)
    assert [o["passed"] for o in outcomes] == [True, True]
    tables = (out / "tables.md").read_text()
    rows = {line.split(" | ")[0].lstrip("| "): line.strip("| ").split(" | ") for line in tables.splitlines() if line.startswith("| ")}
    bench = load_report(out / "benchmark" / "report.json").body
    speedups = {m["model"]["spec"]: m for m in bench["models"]}
    teacher_sts = load_report(out / "sts-teacher" / "report.json").body["models"][0]["spearman"]
    teacher_ndcg = load_report(out / "retrieval-teacher" / "report.json").body["models"][0]["ndcg@10"]
    for arm in EMBED_ARMS:
        sts = load_report(out / f"sts-{arm}" / "report.json").body["models"][0]["spearman"]
        ndcg = load_report(out / f"retrieval-{arm}" / "report.json").body["models"][0]["ndcg@10"]
        assert report.metrics[f"embeddings.{arm}.stsb"] == sts and report.metrics[f"embeddings.{arm}.ndcg_at_10"] == ndcg
        assert report.metrics[f"embeddings.{arm}.stsb_retention"] == pytest.approx(sts / teacher_sts)
        row = next(cells for label, cells in rows.items() if label == _label(arm))
        assert row[2] == _cell(sts) and row[3] == f"{sts / teacher_sts * 100:.1f}%"
        assert row[4] == _cell(ndcg) and row[5] == f"{ndcg / teacher_ndcg * 100:.1f}%"
        assert row[8] == f"{report.metrics[f'benchmark.{arm}.speedup']:.2f}×"
    # The copied-layer students share the benchmarked CKA student's row; the other family has its own.
    cka = speedups[_model(out, "distill-cka")]
    timed = {row["label"]: row["speedup"] for row in bench["shapes"][0]["results"]}
    for arm in ("student_even", "student_cka", "distilled_even", "distilled_cka"):
        assert report.metrics[f"benchmark.{arm}.speedup"] == timed[cka["label"]]
        assert report.metrics[f"benchmark.{arm}.parameter_reduction"] == cka["parameter_reduction"]
    assert report.metrics["benchmark.other_family.parameter_reduction"] == speedups[_model(out, "distill-other")]["parameter_reduction"]
    # The layers each student kept: the CKA choice of its student stage, the even spread of the other.
    cka_map = load_report(out / "student-cka" / "report.json").body["layer_map"]
    assert rows[_label("distilled_cka")][1] == ",".join(map(str, cka_map)) == rows[_label("student_cka")][1]
    assert rows[_label("student_even")][1] == "0,2"
    gain = report.metrics["embeddings.distilled_cka.stsb"] - report.metrics["embeddings.student_cka.stsb"]
    assert report.metrics["embeddings.distilled_cka.gain_over_undistilled"] == pytest.approx(gain)
    exported = load_report(out / "export" / "report.json")
    assert (out / "export" / "run" / "onnx" / "model.onnx").is_file() and exported.body["written"]
    assert re.search(rf"STS-B ×100 {_cell(exported.metrics['onnx.spearman'])} \(ONNX\)", tables)
    assert (out / "summary.png").is_file() and report.primary_metric == "embeddings.distilled_cka.stsb_retention"


def _label(arm: str) -> str:
    from distilcli.pipeline.embed_tables import EMBED_LABELS

    return EMBED_LABELS[arm]


def _model(out: Path, stage: str) -> str:
    import json

    return json.loads((out / stage / "stage.json").read_text())["model"]


def test_a_second_run_skips_every_stage(finished) -> None:
    cfg, report, _ = finished
    again, _ = run_pipeline(cfg)
    assert {row["done"] for row in again.body["this_run"]} == {"skipped"}
    assert again.metrics == report.metrics
