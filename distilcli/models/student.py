"""Student from teacher: fewer layers, initialised from chosen teacher layers.

``distil models student REF --out DIR (--layers N | --layer-map 0,2,4) [--arch distilbert]``
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli import __version__
from distilcli.config import config_to_dict, parse_list
from distilcli.errors import BadInput
from distilcli.models import convert
from distilcli.models.adapters import adapter_for
from distilcli.models.card import is_sentence_encoder, layer_choice_facts, render_model_card, write_model_card
from distilcli.models.loading import LoadedModel, load_config, load_mlm_model, load_tokenizer
from distilcli.models.params import count_parameters
from distilcli.models.pooling import copy_sentence_files
from distilcli.models.resolve import resolve_model
from distilcli.reports import Report
from distilcli.rundir import RunFolder, run_inputs

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel

#: The command named in the student folder's marker.
COMMAND = "models student"
#: Student architectures besides "same as the teacher": target -> teacher types it can come from.
CROSS_ARCHITECTURES = {"distilbert": ("bert",)}


@dataclass
class StudentConfig:
    """Options of ``distil models student``."""

    teacher: str
    out: Path
    layers: int | None = None
    layer_map: list[int] | str | None = None
    arch: str | None = None
    fold_token_type: bool = False
    #: The same architecture, randomly initialised instead of copied (the paper's ablation).
    random_init: bool = False
    #: Seed of the random initialisation (and of the corpus sample that --layer-map auto measures).
    seed: int = 42
    overwrite: bool = False
    #: With ``--layer-map auto``: the text the teacher's layers are compared on (as suggest-layers).
    corpus: str | None = None
    text_field: str = "text"
    document_per: str = "line"


def parse_layer_map(value: list[int] | str | None) -> list[int] | None:
    """``"0,2,4"`` or ``[0, 2, 4]`` -> ``[0, 2, 4]``; ``auto`` is :class:`BadInput` here (it needs a corpus)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        raise BadInput(
            "--layer-map auto measures the teacher on a corpus: pass --corpus C too "
            "(or run distil models suggest-layers TEACHER --corpus C and pass the map it prints)"
        )
    return parse_list(value, "--layer-map", int, example="0,2,4")


def spread_layers(teacher_layers: int, layers: int) -> list[int]:
    """``layers`` teacher layers spread evenly from the bottom: one out of two when halving.

    12 -> 6 gives 0,2,4,6,8,10; 6 -> 3 gives 0,2,4; 12 -> 4 gives 0,3,6,9.
    (The reference DistilBERT used 0,2,4,7,9,11: pass it with ``--layer-map``.)
    """
    return [i * teacher_layers // layers for i in range(layers)]


def choose_layer_map(teacher_layers: int, layers: int | None = None, layer_map: list[int] | None = None) -> list[int]:
    """Validate ``--layers`` / ``--layer-map`` against the teacher; default: half the layers."""
    if layers is not None and layer_map is not None:
        raise BadInput("give either --layers or --layer-map, not both")
    if layer_map is None:
        n = layers if layers is not None else max(1, teacher_layers // 2)
        if not 1 <= n <= teacher_layers:
            raise BadInput(
                f"--layers {n} is out of range: the teacher has {teacher_layers} layers (1..{teacher_layers})"
            )
        return spread_layers(teacher_layers, n)
    if not layer_map:
        raise BadInput("--layer-map is empty: list teacher layers to copy, e.g. 0,2,4")
    bad = [i for i in layer_map if not 0 <= i < teacher_layers]
    if bad:
        raise BadInput(f"--layer-map has layer {bad[0]}, but the teacher's layers are 0..{teacher_layers - 1}")
    if any(b <= a for a, b in itertools.pairwise(layer_map)):
        raise BadInput(
            f"--layer-map {','.join(map(str, layer_map))} must list teacher layers in increasing order, each once"
        )
    return list(layer_map)


def check_arch(teacher_type: str, arch: str | None) -> str:
    """The student's model type; ``arch`` None means the teacher's own."""
    if arch is None or arch == teacher_type:
        return teacher_type
    if arch not in CROSS_ARCHITECTURES:
        choices = ", ".join(sorted(CROSS_ARCHITECTURES))
        raise BadInput(
            f"--arch {arch!r} is not a student architecture: leave it out (same as the teacher) or use {choices}"
        )
    if teacher_type not in CROSS_ARCHITECTURES[arch]:
        raise BadInput(f"--arch {arch} needs a {' or '.join(CROSS_ARCHITECTURES[arch])} teacher, not {teacher_type}")
    return arch


def build_student(
    teacher: LoadedModel, layer_map: list[int], arch: str | None = None, fold_token_type: bool = False
) -> PreTrainedModel:
    """A new masked-LM student whose layer ``i`` is a copy of teacher layer ``layer_map[i]``.

    Embeddings and the MLM head are copied too. With ``arch="distilbert"`` a BERT teacher
    yields a DistilBERT student by the reference mapping; ``fold_token_type`` then adds the
    teacher's segment-0 token-type embedding into the position embeddings, so the student
    reproduces the teacher exactly on single-segment input (the reference drops it).
    """
    import torch
    from transformers import AutoModelForMaskedLM

    source = teacher.config.model_type
    target = check_arch(source, arch)
    if fold_token_type and target != "distilbert":
        raise BadInput("--fold-token-type applies only to --arch distilbert")
    teacher_state = teacher.model.state_dict()
    if target == source:
        config = teacher.adapter.with_num_layers(teacher.config, len(layer_map))
        student = AutoModelForMaskedLM.from_config(config)
        student_state = student.state_dict()
        mapping = convert.map_same_architecture(list(student_state), teacher.adapter, layer_map)
    else:
        config = convert.distilbert_config_from_bert(teacher.config, len(layer_map))
        student = AutoModelForMaskedLM.from_config(config)
        student_state = student.state_dict()
        mapping = convert.map_bert_to_distilbert(list(student_state), layer_map)
    new_state = convert.gather(teacher_state, student_state, mapping)
    if fold_token_type:
        segment_a = teacher_state["bert.embeddings.token_type_embeddings.weight"][0]
        new_state["distilbert.embeddings.position_embeddings.weight"] += segment_a
    with torch.no_grad():
        student.load_state_dict(new_state, strict=True)
    student.config.architectures = [type(student).__name__]
    student.eval()
    return student


def reinitialise(model: PreTrainedModel, seed: int) -> None:
    """Draw every weight afresh with the architecture's own initialisation (the "random init" ablation)."""
    import torch

    torch.manual_seed(seed)
    with torch.no_grad():
        model.apply(model._init_weights)  # transformers' per-module initialiser of this architecture
    model.tie_weights()


def _provenance(cfg: StudentConfig, teacher: LoadedModel, layer_map: list[int], student_type: str) -> dict[str, Any]:
    return {
        "created_by": "distil models student",
        "distilcli_version": __version__,
        "teacher": teacher.ref.spec,
        "teacher_path": str(teacher.ref.path),
        "teacher_model_type": teacher.config.model_type,
        "teacher_num_layers": teacher.adapter.num_layers(teacher.config),
        "layer_map": layer_map,
        "student_model_type": student_type,
        "teacher_mlm_head_trained": teacher.has_trained_mlm_head,
        # The student's own head status, read back by the loader (see loading.load_mlm_model).
        "mlm_head_trained": teacher.has_trained_mlm_head and not cfg.random_init,
        "fold_token_type": cfg.fold_token_type,
        "random_init": cfg.random_init,
    }


def _card(info: dict[str, Any], params: dict[str, int], teacher_params: dict[str, int]) -> str:
    pairs = ", ".join(f"{i}←{t}" for i, t in enumerate(info["layer_map"]))
    head = (
        "copied from the teacher (trained)"
        if info["teacher_mlm_head_trained"]
        else "copied from the teacher, which had no trained MLM head: freshly initialised"
    )
    reduction = 1 - params["total"] / teacher_params["total"]
    facts = [
        ("teacher", f"`{info['teacher']}` ({info['teacher_model_type']}, {info['teacher_num_layers']} layers)"),
        ("student", f"{info['student_model_type']}, {len(info['layer_map'])} layers"),
        ("layer map (student←teacher)", pairs),
        *layer_choice_facts(info.get("layer_choice")),
        ("copied", "embeddings, the mapped transformer layers, the MLM head"),
        ("MLM head", head),
        ("parameters", f"{params['total']:,} (teacher {teacher_params['total']:,}: {reduction:.1%} fewer)"),
        ("token-type embedding folded", "yes" if info["fold_token_type"] else "no"),
        ("made with", f"distilcli {info['distilcli_version']}, `distil models student`"),
    ]
    summary = (
        f"A {len(info['layer_map'])}-layer student initialised from `{info['teacher']}`, "
        "not yet distilled: train it with `distil distill`. Its provenance is also in "
        "config.json under `distilcli`."
    )
    return render_model_card(
        f"Student of {info['teacher']}",
        summary,
        facts,
        ".",
        ["distilcli", "distillation", "student"],
        base_model=info["teacher"],
        sentence_encoder=is_sentence_encoder(info["teacher_path"]),
    )


def run_student(cfg: StudentConfig, layer_choice: dict[str, Any] | None = None, started: float | None = None) -> Report:
    """Make a student from ``cfg.teacher`` and save it to ``cfg.out`` (plain Hugging Face format).

    ``layer_choice``: how ``--layer-map auto`` chose the map (its ``layer_map`` replaces ``cfg``'s),
    recorded in the student's provenance; ``started``: when that measurement began (``perf_counter``).
    """
    start = started if started is not None else time.perf_counter()
    # Everything that can be checked cheaply is checked before the weights are read.
    out = Path(cfg.out)
    run = RunFolder.of(cfg, COMMAND)
    run.check(run_inputs(cfg))
    wanted_map = parse_layer_map(layer_choice["layer_map"] if layer_choice else cfg.layer_map)
    ref = resolve_model(cfg.teacher)
    teacher_config = load_config(ref)
    teacher_layers = adapter_for(teacher_config).num_layers(teacher_config)
    layer_map = choose_layer_map(teacher_layers, None if layer_choice else cfg.layers, wanted_map)
    student_type = check_arch(teacher_config.model_type, cfg.arch)

    with run.claim():  # no other run writes --out from here on; the teacher is read only now
        teacher = load_mlm_model(ref)
        student = build_student(teacher, layer_map, cfg.arch, cfg.fold_token_type)
        if cfg.random_init:
            reinitialise(student, cfg.seed)
        info = _provenance(cfg, teacher, layer_map, student_type) | {"layer_choice": layer_choice}
        student.config.distilcli = info
        tokenizer = load_tokenizer(ref)
        params = count_parameters(student, adapter_for(student.config))
        teacher_params = count_parameters(teacher.model, teacher.adapter)
        # The new folder replaces the old in one rename (checked above: distilcli's own, or new).
        with run.publish() as tmp:
            student.save_pretrained(tmp)
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)
            write_model_card(tmp, _card(info, params, teacher_params))
            copy_sentence_files(ref.path, tmp)  # a sentence encoder's student embeds as its teacher does
    metrics = {
        "student_parameters_total": params["total"],
        "teacher_parameters_total": teacher_params["total"],
        "parameter_reduction": 1 - params["total"] / teacher_params["total"],
        "student_num_layers": len(layer_map),
        "teacher_num_layers": teacher_layers,
    }
    body = {
        **info,
        "student_parameters": params,
        "teacher_parameters": teacher_params,
        "tokenizer_saved": tokenizer is not None,
    }
    return Report.create(
        "models student",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric="parameter_reduction",
        artifacts={"student": str(out)},
        body=body,
        duration_s=time.perf_counter() - start,
    )
