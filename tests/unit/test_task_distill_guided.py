"""Task distillation with intermediate layers, teacher-labelled new inputs and a user's own data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from distilcli.distill.augmentation import AUGMENTED_FILE, SAMPLE_FILE
from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.distill.losses import HiddenStateLoss
from distilcli.distill.task_kd import TaskKDLoss
from distilcli.distill.task_losses import PatientLoss, TaskIntermediateLoss
from distilcli.errors import BadInput, Interrupted

N_TRAIN = 96  # tiny SST-2's training examples (tests/conftest.py)


def _cfg(teacher: Path, glue: Path, out: Path, **overrides) -> DistillConfig:
    base = {"teacher": str(teacher), "out": out, "task": "glue:sst2", "glue_dir": glue, "layer_map": "0,2", "batch_size": 8, "lr": 1e-3, "epochs": 1, "log_every": 2}
    return DistillConfig(**(base | overrides))


# -- the losses --------------------------------------------------------------------------------------


def test_gold_labels_reach_only_the_original_examples() -> None:
    s = torch.tensor([[1.0, -0.5], [0.3, 0.9], [0.2, 0.1]])
    t = torch.tensor([[2.0, 0.0], [-0.4, 1.5], [0.5, 0.5]])
    labels = torch.tensor([0, -1, 1])  # row 1 is a new input: its label is a placeholder
    gold = torch.tensor([True, False, True])
    parts = TaskKDLoss(alpha_ce=1.0, alpha_task=1.0, temperature=2.0)(s, t, labels, gold)
    everything = TaskKDLoss(alpha_ce=1.0, alpha_task=1.0, temperature=2.0)(s, t, labels.clamp_min(0))
    originals = TaskKDLoss(alpha_ce=1.0, alpha_task=1.0, temperature=2.0)(s[[0, 2]], t[[0, 2]], labels[[0, 2]])
    assert parts["loss_kd"].item() == pytest.approx(everything["loss_kd"].item())  # the teacher teaches every row
    assert parts["loss_task"].item() == pytest.approx(originals["loss_task"].item())  # gold only where there is gold
    none = TaskKDLoss(alpha_ce=1.0, alpha_task=1.0)(s, t, labels, torch.zeros(3, dtype=torch.bool))
    assert none["loss_task"].item() == 0.0


def test_patient_loss_is_the_squared_distance_of_normalised_cls_states() -> None:
    torch.manual_seed(0)
    s = [torch.randn(4, 6) for _ in range(2)]
    t = [torch.randn(4, 6) for _ in range(2)]
    expected = np.mean([np.mean([np.sum((a / np.linalg.norm(a) - b / np.linalg.norm(b)) ** 2) for a, b in zip(x.numpy(), y.numpy())])
                        for x, y in zip(s, t)])  # fmt: skip
    assert PatientLoss()(s, t).item() == pytest.approx(expected, rel=1e-5)


def test_intermediate_terms_are_weighted_and_summed() -> None:
    torch.manual_seed(0)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    states_s, states_t = [torch.randn(2, 4, 6)], [torch.randn(2, 4, 6)]
    loss = TaskIntermediateLoss({"hidden": 2.0, "pkd": 0.5, "attention": 0.0}, "mse", 6, 6)
    parts = loss({"states": states_s, "attentions": []}, {"states": states_t, "attentions": []}, mask)
    real = mask.bool()
    hidden = HiddenStateLoss("mse")([states_s[0][real]], [states_t[0][real]])  # padding left out
    assert parts["loss_hidden"].item() == pytest.approx(hidden.item())
    assert parts["loss_pkd"].item() == pytest.approx(PatientLoss()([states_s[0][:, 0]], [states_t[0][:, 0]]).item())
    assert "loss_attention" not in parts
    assert parts["loss_inter"].item() == pytest.approx(2.0 * hidden.item() + 0.5 * parts["loss_pkd"].item())


def test_a_step_cut_into_micro_batches_weighs_every_token_of_the_layer_losses_alike() -> None:
    """Hidden-state and attention terms average over tokens: weighed by share_weight, the parts add up to the step."""
    from distilcli.distill.task_kd import share_weight

    torch.manual_seed(0)
    lengths = [7, 2, 3, 8, 2, 5]  # a step of 6 inputs, cut by length into unequal parts
    parts = [[1, 4], [2], [0, 3, 5]]
    mask = torch.tensor([[1] * n + [0] * (8 - n) for n in lengths])
    states_s = [torch.randn(6, 8, 4, requires_grad=True)]
    states_t = [torch.randn(6, 8, 4)]
    logits = torch.randn(6, 2, 8, 8, requires_grad=True)
    attn_t = [torch.randn(6, 2, 8, 8).softmax(-1)]
    loss = TaskIntermediateLoss({"hidden": 2.0, "attention": 0.5, "pkd": 1.0}, "mse", 4, 4)

    def inter(rows: list[int], weight: float = 1.0) -> torch.Tensor:
        mine = {"states": [states_s[0][rows]], "attentions": [logits[rows].softmax(-1)]}
        theirs = {"states": [states_t[0][rows]], "attentions": [attn_t[0][rows]]}
        return loss(mine, theirs, mask[rows], weight)["loss_inter"]

    whole = torch.autograd.grad(inter(list(range(6))), [states_s[0], logits])
    cut = sum(
        inter(p, share_weight(int(mask[p].sum()), sum(lengths), len(p), 6)) * len(p) / 6 for p in parts
    )
    for by_parts, at_once in zip(torch.autograd.grad(cut, [states_s[0], logits]), whole):
        torch.testing.assert_close(by_parts, at_once)


# -- runs ----------------------------------------------------------------------------------------------


def test_augmented_inputs_are_saved_counted_and_carry_no_label(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", augment=2, max_steps=4, eval_every=4))
    rows = [json.loads(line) for line in (tmp_path / "s" / AUGMENTED_FILE).read_text().splitlines()]
    assert len(rows) == 2 * N_TRAIN and report.body["inputs"] == {"gold": N_TRAIN, "augmented": 2 * N_TRAIN, "transfer": 0}
    assert all(set(r) == {"text_a", "text_b", "source", "of"} and r["source"] == "augment" for r in rows)  # no label field
    assert "original:" in (tmp_path / "s" / SAMPLE_FILE).read_text()
    assert report.body["augmentation"]["count"] == 2
    # The model's provenance and card count the gold examples and the new inputs apart.
    provenance = json.loads((tmp_path / "s" / "config.json").read_text())["distilcli"]["finetune"]
    assert (provenance["train_examples"], provenance["new_inputs"]) == (N_TRAIN, 2 * N_TRAIN)
    assert f"{N_TRAIN} training examples" in (tmp_path / "s" / "README.md").read_text()
    # The time it took is recorded; the teacher labelled nothing ahead (no --cache-teacher).
    assert report.body["seconds"]["new_inputs"] > 0 and report.body["seconds"]["teacher_labels"] is None
    # Training steps cover the originals and the new inputs.
    assert report.body["runs"][0]["steps_per_epoch"] == int(np.ceil(3 * N_TRAIN / 8))


def test_augmentation_is_the_same_for_a_seed(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    texts = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / name, augment=1, max_steps=1, eval_every=1, seed=seed))
        texts.append((tmp_path / name / AUGMENTED_FILE).read_text())
    assert texts[0] == texts[1] and texts[0] != texts[2]


def test_a_cached_teacher_trains_the_same_with_new_inputs(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    run = {"augment": 1, "max_steps": 6, "eval_every": 3}
    live = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "live", **run))
    cached = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "cached", cache_teacher=True, **run))
    np.testing.assert_allclose(live.body["runs"][0]["loss_curve"]["loss"], cached.body["runs"][0]["loss_curve"]["loss"], rtol=1e-4)
    assert cached.body["teacher_cached"] and not live.body["teacher_cached"]
    assert cached.body["seconds"]["teacher_labels"] > 0 and live.body["seconds"]["teacher_labels"] is None


def test_resume_reuses_the_saved_new_inputs(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    cfg = _cfg(sst2_teacher, tiny_glue, tmp_path / "full", augment=1, alpha_hidden=1.0, max_steps=6, eval_every=3)
    full = run_distill(cfg)

    def stop(step: int) -> None:
        if step == 4:
            raise KeyboardInterrupt

    cut = replace(cfg, out=tmp_path / "cut")
    with pytest.raises(Interrupted):
        run_distill(cut, on_step=stop)
    saved = (tmp_path / "cut" / AUGMENTED_FILE).read_text()
    resumed = run_distill(replace(cut, resume=True))
    assert (tmp_path / "cut" / AUGMENTED_FILE).read_text() == saved
    assert resumed.body["runs"][0]["loss_curve"] == full.body["runs"][0]["loss_curve"]


def test_intermediate_losses_run_and_are_recorded(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", alpha_hidden=1.0, alpha_attention=1.0, alpha_pkd=1.0,
                              hidden_loss="cosine", max_steps=4, eval_every=2))  # fmt: skip
    inter = report.body["intermediate"]
    assert inter["alphas"] == {"hidden": 1.0, "attention": 1.0, "pkd": 1.0}
    assert inter["layer_pairs"] == [[0, 0], [1, 2]] and inter["hidden_loss"] == "cosine" and not inter["projection"]
    assert report.body["schedule"] == {"intermediate_only_steps": 0, "mode": "joint"}


def test_two_stages_evaluate_only_after_the_intermediate_stage(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", alpha_hidden=1.0, intermediate_epochs=1, epochs=1, batch_size=16))
    run = report.body["runs"][0]
    per_epoch = run["steps_per_epoch"]
    assert run["total_steps"] == 2 * per_epoch
    assert report.body["schedule"] == {"intermediate_only_steps": per_epoch, "mode": "two-stage"}
    assert [h["step"] for h in run["history"]] == [2 * per_epoch]  # none during the intermediate stage
    stages = report.body["optimizer"]["stages"]
    assert [stage["steps"] for stage in stages] == [per_epoch, per_epoch]


def test_each_stage_has_its_own_schedule_and_a_fresh_adamw(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TinyBERT's two stages are two runs: the prediction stage warms up again and starts AdamW afresh."""
    from distilcli.training import task_run

    made, seen = [], {}
    build = task_run.build_optimizer

    def spy(*args, **kwargs):
        made.append(build(*args, **kwargs))
        return made[-1]

    def after(step: int) -> None:  # AdamW's own step count, read after each optimizer step
        states = [state for state in made[0].state.values() if "step" in state]
        seen[step] = max(int(state["step"]) for state in states)

    monkeypatch.setattr(task_run, "build_optimizer", spy)
    cfg = _cfg(sst2_teacher, tiny_glue, tmp_path / "s", alpha_hidden=1.0, intermediate_epochs=1, epochs=1, batch_size=16, warmup_ratio=0.5)
    report = run_distill(cfg, on_step=after)
    per_epoch = report.body["runs"][0]["steps_per_epoch"]
    assert seen[per_epoch] == per_epoch and seen[per_epoch + 1] == 1 and seen[2 * per_epoch] == per_epoch
    assert report.body["optimizer"]["stages"] == [{"steps": per_epoch, "warmup_steps": per_epoch // 2}] * 2


@pytest.mark.parametrize("epochs_done", [1, 2])  # within stage 1; at its end, where the next step starts a fresh AdamW
def test_a_run_killed_in_the_intermediate_stage_resumes_from_its_last_epoch(epochs_done: int, sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    """The first stage evaluates nothing, so it saves a checkpoint each epoch: a crash there loses at most an epoch."""
    cfg = _cfg(sst2_teacher, tiny_glue, tmp_path / "full", alpha_hidden=1.0, intermediate_epochs=2, epochs=1, batch_size=16)
    full = run_distill(cfg)
    per_epoch = full.body["runs"][0]["steps_per_epoch"]
    last_saved = epochs_done * per_epoch

    def crash(step: int) -> None:  # not Ctrl-C, which saves on its way out: the process dies here
        if step == last_saved + (1 if epochs_done == 1 else 0):
            raise RuntimeError("killed")

    cut = replace(cfg, out=tmp_path / "cut")
    with pytest.raises(RuntimeError, match="killed"):
        run_distill(cut, on_step=crash)
    steps = []
    resumed = run_distill(replace(cut, resume=True), on_step=steps.append)
    assert steps[0] == last_saved + 1  # from the end of the last epoch done, not from step 1
    assert resumed.body["runs"][0]["loss_curve"] == full.body["runs"][0]["loss_curve"]


def test_a_two_stage_schedule_warms_up_and_decays_in_each_stage() -> None:
    from distilcli.training.options import TrainOptions, build_scheduler

    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    schedule = build_scheduler(optimizer, TrainOptions(out=Path("o"), warmup_ratio=0.5), total_steps=10, first_stage_steps=4)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0, 1 / 3, 2 / 3, 1.0, 2 / 3, 1 / 3])


def test_a_narrower_student_learns_through_a_projection_that_is_not_saved(
    sst2_teacher: Path, tiny_glue: Path, tokenizer, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    narrow = _narrow_student(tmp_path, tokenizer)
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", student=str(narrow), layer_map=None, alpha_hidden=1.0, alpha_pkd=1.0, max_steps=3))
    assert report.body["intermediate"]["projection"] and report.body["intermediate"]["layer_pairs"] == [[0, 1], [1, 3]]
    weights = load_file(tmp_path / "s" / "model.safetensors")
    assert not [k for k in weights if "extras" in k or "projection" in k]
    assert weights["bert.embeddings.word_embeddings.weight"].shape[1] == 16


def test_a_seed_learns_the_same_alone_or_after_other_seeds(sst2_teacher: Path, tiny_glue: Path, tokenizer, tmp_path: Path) -> None:
    """The projection of a narrower student starts from the run's seed, not from what the process drew before."""
    run = {"student": str(_narrow_student(tmp_path, tokenizer)), "layer_map": None, "alpha_hidden": 1.0, "max_steps": 3, "eval_every": 3}
    both = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "both", seeds="1,2", **run))
    alone = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "alone", seed=2, **run))
    second = next(r for r in both.body["runs"] if r["seed"] == 2)
    np.testing.assert_allclose(second["loss_curve"]["loss"], alone.body["runs"][0]["loss_curve"]["loss"], rtol=1e-6)


def test_a_resumed_run_reports_how_its_head_started(sst2_teacher: Path, tiny_glue: Path, tokenizer, tmp_path: Path) -> None:
    """A narrower student cannot take the teacher's head: fresh, and still so after --resume."""
    cfg = _cfg(sst2_teacher, tiny_glue, tmp_path / "s", student=str(_narrow_student(tmp_path, tokenizer)), layer_map=None, max_steps=4, eval_every=4)

    def stop(step: int) -> None:
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        run_distill(cfg, on_step=stop)
    assert run_distill(replace(cfg, resume=True)).body["student_head"] == "fresh"


def _narrow_student(tmp_path: Path, tokenizer) -> Path:
    """A 2-layer, 16-wide BERT classifier with the tiny teacher's vocabulary: its states need a projection."""
    from transformers import BertConfig, BertForSequenceClassification

    from tests.conftest import VOCAB

    narrow = tmp_path / "narrow"
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=66, pad_token_id=0)  # fmt: skip
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(narrow)
    tokenizer.save_pretrained(narrow)
    return narrow


def test_a_pair_task_keeps_both_segments(rte_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    run_distill(_cfg(rte_teacher, tiny_glue, tmp_path / "s", task="glue:rte", augment=1, augment_ngram=1.0, max_steps=1, eval_every=1))
    rows = [json.loads(line) for line in (tmp_path / "s" / AUGMENTED_FILE).read_text().splitlines()]
    assert rows and all(r["text_b"] for r in rows)


def test_a_transfer_corpus_adds_inputs(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The good film was fast. A slow river at night.\nThe dog and the cat were in the house.\n")
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", transfer_corpus=str(corpus), max_steps=1, eval_every=1))
    assert report.body["inputs"] == {"gold": N_TRAIN, "augmented": 0, "transfer": 3}


def test_a_csv_task_distils_end_to_end(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    import csv

    for split in ("train", "dev"):
        rows = [line.split("\t") for line in (tiny_glue / "SST-2" / f"{split}.tsv").read_text().splitlines()[1:]]
        with (tmp_path / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["review", "sentiment"])
            writer.writerows(rows)
    report = run_distill(_cfg(sst2_teacher, None, tmp_path / "s", train_file=tmp_path / "train.csv", dev_file=tmp_path / "dev.csv",
                              text_a="review", label_column="sentiment", augment=1, max_steps=4, eval_every=4))  # fmt: skip
    assert report.body["inputs"]["gold"] == N_TRAIN and 0 <= report.metrics["accuracy"] <= 1


@pytest.mark.parametrize(("overrides", "message"), [
    ({"augment": -1}, "--augment -1"),
    ({"augment": 1, "augment_replace": 2.0}, "--augment-replace 2.0"),
    ({"augment_mlm": "x"}, "add --augment N"),
    ({"intermediate_epochs": 1}, "set --alpha-hidden"),
    ({"alpha_pkd": -1.0}, "--alpha-pkd must be"),
    ({"hidden_loss": "kl", "alpha_hidden": 1.0}, "--hidden-loss 'kl'"),
    ({"augment": 2, "alpha_ce": 0.0}, "--alpha-ce 0 with no layer loss learns nothing from them"),
    ({"augment": 2, "alpha_ce": 0.0, "alpha_hidden": 1.0, "intermediate_epochs": 1}, "the prediction stage learns from the new inputs only through"),
])  # fmt: skip
def test_bad_options_exit_before_anything_is_written(overrides: dict, message: str, sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(")):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", **overrides))
    assert not (tmp_path / "s").exists()


def test_an_empty_transfer_corpus_and_a_headless_masked_lm_are_refused(
    sst2_teacher: Path, tiny_glue: Path, tiny_encoders: dict[str, Path], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(BadInput, match="empty"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "a", transfer_corpus=str(empty)))
    assert not (tmp_path / "a").exists()
    with pytest.raises(BadInput, match="no trained masked-LM head"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "b", augment=1, augment_mlm=str(tiny_encoders["bert"])))


def test_task_options_are_refused_without_a_task(tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("the good film\n")
    with pytest.raises(BadInput, match="--augment is an option of task distillation"):
        run_distill(DistillConfig(teacher=str(tiny_encoders["bert"]), corpus=str(corpus), out=tmp_path / "s", augment=2))


def test_seeds_each_train_in_their_folder_and_the_median_is_reported(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", seeds="1,2,3", augment=1, max_steps=2, eval_every=2))
    assert [r["seed"] for r in report.body["runs"]] == [1, 2, 3]
    assert report.artifacts["model"] == str(tmp_path / "s" / f"seed-{report.body['median_seed']}")
    texts = {(tmp_path / "s" / f"seed-{seed}" / AUGMENTED_FILE).read_text() for seed in (1, 2, 3)}
    assert len(texts) == 3  # each seed its own augmentation
    assert report.body["inputs"] == {"gold": N_TRAIN, "augmented": N_TRAIN, "transfer": 0}


def test_a_student_made_from_the_teacher_family_learns_from_the_layers_it_copied(
    sst2_teacher: Path, tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    from distilcli.models.student import StudentConfig, run_student

    run_student(StudentConfig(teacher=str(tiny_encoders["bert"]), out=tmp_path / "init", layer_map="0,2"))
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", student=str(tmp_path / "init"), layer_map=None, alpha_pkd=1.0, max_steps=2))
    assert report.body["intermediate"]["layer_pairs"] == [[0, 0], [1, 2]]  # not the even map [[0, 1], [1, 3]]


def test_final_only_keeps_the_model_and_drops_the_checkpoints(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.finetune.engine import run_finetune

    from distilcli.training.checkpoint import drop_checkpoints

    run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", max_steps=4, eval_every=2, final_only=True))
    assert (tmp_path / "s" / "model.safetensors").is_file() and not (tmp_path / "s" / "checkpoints").exists()
    mine = tmp_path / "m" / "checkpoints"
    (mine / "step-3").mkdir(parents=True)  # not a finished checkpoint (no JSON file): not the tool's to delete
    (mine / "notes.txt").write_text("mine")
    assert drop_checkpoints(tmp_path / "m") == 0 and sorted(p.name for p in mine.iterdir()) == ["notes.txt", "step-3"]
    run_finetune(FinetuneConfig(model=str(sst2_teacher), task="sst2", glue_dir=tiny_glue, out=tmp_path / "f", max_steps=2, final_only=True))
    assert (tmp_path / "f" / "model.safetensors").is_file() and not (tmp_path / "f" / "checkpoints").exists()


def test_a_masked_lm_proposes_the_replacements_end_to_end(sst2_teacher: Path, tiny_glue: Path, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    # The tiny model's MLM head is random but saved: loaded as a masked LM, its guesses take the replaced words' places.
    cfg = _cfg(sst2_teacher, tiny_glue, tmp_path / "s", augment=2, augment_mlm=str(tiny_models["bert"]), augment_replace=0.9,
               augment_mask=0.0, augment_ngram=0.0, max_steps=1, eval_every=1)  # fmt: skip
    run_distill(cfg)
    rows = [json.loads(line) for line in (tmp_path / "s" / AUGMENTED_FILE).read_text().splitlines()]
    assert len(rows) == 2 * N_TRAIN
    from tests.conftest import WORDS

    made = {w for r in rows for w in r["text_a"].split()}
    assert made <= set(WORDS) | set("abcdefghijklmnopqrstuvwxyz") and "[MASK]" not in made  # whole vocabulary words only
    originals = [line.split("\t")[0] for line in (tiny_glue / "SST-2" / "train.tsv").read_text().splitlines()[1:]]
    changed = sum(r["text_a"] != originals[r["of"]] for r in rows)
    assert changed > 0.9 * len(rows)  # nearly every copy had words replaced by the masked LM's guesses
