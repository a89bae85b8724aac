"""Shared fixtures: tiny random models of every supported architecture, offline.

Each model is a masked-LM model with hidden size 32, 4 layers and a ~100-token
vocabulary, saved with a WordPiece tokenizer built from a small vocab file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never touch the network from tests; a hub id must fail fast and clearly.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an of to and in is was for on with as by at from that this it be are were he she they we you "
    "model student teacher layer small large text word token train learn distill fast slow good bad "
    "cat dog house tree river city music game book film day night year time world people water light"
).split()
# dict.fromkeys: one entry per token ("a" is a word and a letter), in order.
VOCAB = list(dict.fromkeys(SPECIAL + WORDS + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + list("abcdefghijklmnopqrstuvwxyz.,!?")))
NUM_LAYERS = 4
HIDDEN = 32

ARCHITECTURES = ("bert", "roberta", "distilbert", "mpnet", "electra")


def tiny_config(model_type: str):
    """A tiny random config of ``model_type`` sized to the test vocabulary."""
    import transformers as T

    common = dict(vocab_size=len(VOCAB), pad_token_id=0)
    bert_like = dict(
        hidden_size=HIDDEN,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
        **common,
    )
    if model_type == "bert":
        return T.BertConfig(**bert_like)
    if model_type == "roberta":
        return T.RobertaConfig(**bert_like, type_vocab_size=1)
    if model_type == "mpnet":
        return T.MPNetConfig(**bert_like)
    if model_type == "electra":
        # embedding_size != hidden_size exercises ELECTRA's embeddings projection.
        return T.ElectraConfig(**bert_like, embedding_size=16)
    if model_type == "distilbert":
        return T.DistilBertConfig(
            dim=HIDDEN, n_layers=NUM_LAYERS, n_heads=2, hidden_dim=64, max_position_embeddings=66, **common
        )
    raise ValueError(model_type)


@pytest.fixture(scope="session")
def vocab_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tokenizer(vocab_file: Path):
    from transformers import BertTokenizer

    # transformers 5: the (fast) BertTokenizer takes `vocab=`; `vocab_file=` is silently ignored.
    tokenizer = BertTokenizer(vocab=str(vocab_file), do_lower_case=True)
    assert len(tokenizer) == len(VOCAB)
    return tokenizer


def _save_tiny(folder: Path, model_type: str, tokenizer, *, with_head: bool) -> Path:
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM

    torch.manual_seed(0)
    config = tiny_config(model_type)
    model = AutoModelForMaskedLM.from_config(config) if with_head else AutoModel.from_config(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> dict[str, Path]:
    """model_type -> folder of a tiny masked-LM model with a (random but saved) MLM head."""
    root = tmp_path_factory.mktemp("tiny")
    return {arch: _save_tiny(root / arch, arch, tokenizer, with_head=True) for arch in ARCHITECTURES}


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> dict[str, Path]:
    """model_type -> folder of a tiny encoder saved without any MLM head (like the packaged models)."""
    root = tmp_path_factory.mktemp("tiny-encoders")
    return {arch: _save_tiny(root / arch, arch, tokenizer, with_head=False) for arch in ARCHITECTURES}


@pytest.fixture
def sample_batch(tokenizer):
    """A padded two-sentence batch of real token ids from the test vocabulary."""
    return tokenizer(
        ["the teacher and the student train fast", "a small model"], padding=True, return_tensors="pt"
    )


# -- tiny GLUE data in the original layouts -------------------------------------------------------

_GOOD = "good fast light music film book".split()
_BAD = "bad slow night water dog river".split()
_FILLER = "the a of to and in is".split()


def _sentence(rng, positive: bool) -> str:
    words = _GOOD if positive else _BAD
    return " ".join(rng.choice(words) if rng.random() < 0.5 else rng.choice(_FILLER) for _ in range(rng.randint(3, 12)))


def write_tiny_glue(root: Path, n_train: int = 96, n_dev: int = 40) -> Path:
    """A GLUE folder (original layout) for SST-2, CoLA, STS-B, MRPC and RTE with learnable labels.

    SST-2/CoLA/MRPC labels follow the words used (good vs bad); STS-B's score is the share
    of good words on both sides times 5; RTE's label says whether both sides agree.
    """
    import random

    rng = random.Random(0)
    for split, n in (("train", n_train), ("dev", n_dev)):
        sst, cola, stsb, mrpc, rte = ["sentence\tlabel"], [], ["index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"], ["\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String"], ["index\tsentence1\tsentence2\tlabel"]
        for i in range(n):
            label = rng.randint(0, 1)
            a, b = _sentence(rng, bool(label)), _sentence(rng, bool(rng.randint(0, 1)))
            sst.append(f"{a}\t{label}")
            cola.append(f"src\t{label}\t\t{a}")
            score = 5.0 * (sum(w in _GOOD for w in (a + " " + b).split()) / max(1, sum(w in _GOOD + _BAD for w in (a + " " + b).split())))
            stsb.append(f"{i}\tmain\tf\t2012\t{i}\tnone\tnone\t{a}\t{b}\t{score:.3f}")
            same = (sum(w in _GOOD for w in a.split()) > 0) == (sum(w in _GOOD for w in b.split()) > 0)
            mrpc.append(f"{int(same)}\t{i}\t{i + 1}\t{a}\t{b}")
            rte.append(f"{i}\t{a}\t{b}\t{'entailment' if same else 'not_entailment'}")
        for folder, rows in (("SST-2", sst), ("CoLA", cola), ("STS-B", stsb), ("MRPC", mrpc), ("RTE", rte)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def tiny_glue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_glue(tmp_path_factory.mktemp("glue"))


# -- tiny SQuAD data in the official JSON layout ----------------------------------------------------


def tiny_squad_document(version_2: bool = False, articles: int = 3, seed: int = 0) -> dict:
    """An official-layout SQuAD document over the test vocabulary.

    Each paragraph is 20-40 words; each question asks for a word that follows a marker
    ("what comes after the <word>"), so the answer is a real span. With ``version_2`` a
    third of the questions name a word that is not in the paragraph and are unanswerable.
    Some paragraphs are long enough to need several windows at 64 tokens.
    """
    import random

    rng = random.Random(seed)
    pool = [w for w in WORDS if len(w) > 2 and w not in ("the", "and", "was", "are", "were", "for", "with", "from", "that", "this")]
    data = []
    for a in range(articles):
        paragraphs = []
        for p in range(3):
            words = [rng.choice(pool) for _ in range(rng.randint(20, 70))]
            context = " ".join(words)
            qas = []
            for q in range(4):
                qid = f"s{seed}a{a}p{p}q{q}"
                if version_2 and q % 3 == 2:
                    missing = next(w for w in pool if w not in words)
                    qas.append({"id": qid, "question": f"what comes after the {missing}", "answers": [], "is_impossible": True})
                    continue
                k = rng.randrange(0, len(words) - 2)
                start = len(" ".join(words[: k + 1])) + 1
                answer = words[k + 1]
                answers = [{"text": answer, "answer_start": start}]
                if q % 2 == 1:  # a second, longer gold answer, as the dev files have
                    answers.append({"text": f"{answer} {words[k + 2]}", "answer_start": start})
                entry = {"id": qid, "question": f"what comes after {words[k]}", "answers": answers}
                if version_2:
                    entry["is_impossible"] = False
                qas.append(entry)
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": f"Article_{a}", "paragraphs": paragraphs})
    return {"version": "v2.0" if version_2 else "1.1", "data": data}


def write_tiny_squad(folder: Path, version_2: bool = False) -> Path:
    """``train.json`` (4 articles) and ``dev.json`` (2 other articles) in ``folder``."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.json").write_text(json.dumps(tiny_squad_document(version_2, 4, seed=1)), encoding="utf-8")
    (folder / "dev.json").write_text(json.dumps(tiny_squad_document(version_2, 2, seed=2)), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_squad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_squad(tmp_path_factory.mktemp("squad11"))


@pytest.fixture(scope="session")
def tiny_squad_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_squad(tmp_path_factory.mktemp("squad20"), version_2=True)


def write_sentence_transformers_files(
    folder: Path, pooling: dict[str, bool], *, normalize: str | None = None, max_seq_length: int | None = None
) -> Path:
    """Give ``folder`` the files of a sentence-transformers model: modules.json, 1_Pooling (``pooling``
    flags), a Normalize module at the path ``normalize`` (none when None) and sentence_bert_config.json."""
    import json

    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]  # fmt: skip
    if normalize is not None:
        modules.append({"idx": 2, "name": "2", "path": normalize, "type": "sentence_transformers.models.Normalize"})
        (folder / normalize).mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **pooling}))
    if max_seq_length:
        (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    return folder


# -- a student with a tokenizer of its own ----------------------------------------------------------

#: Another WordPiece vocabulary over the same words: other ids for the same text, and a few tokens more.
OTHER_VOCAB = list(dict.fromkeys(["[PAD]", "[MASK]", "[SEP]", "[CLS]", "[UNK]", "extra", "tokens", "here"]
                                 + WORDS[::-1] + list("zyxwvutsrqponmlkjihgfedcba.,!?") + [f"##{c}" for c in "zyxwvutsrqponmlkjihgfedcba"]))  # fmt: skip
OTHER_HIDDEN = 24


@pytest.fixture(scope="session")
def other_tokenizer_student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT (hidden 24, 2 layers) with its own tokenizer (:data:`OTHER_VOCAB`) and its own
    sentence-transformers files (mean pooling, no normalisation): not the test teachers' tokenizer or width."""
    import json

    import torch
    import transformers as T

    folder = tmp_path_factory.mktemp("other-student")
    vocab = folder.parent / f"{folder.name}-vocab.txt"
    vocab.write_text("\n".join(OTHER_VOCAB) + "\n", encoding="utf-8")
    torch.manual_seed(1)
    config = T.BertConfig(vocab_size=len(OTHER_VOCAB), hidden_size=OTHER_HIDDEN, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=48, max_position_embeddings=66, pad_token_id=0)  # fmt: skip
    T.AutoModelForMaskedLM.from_config(config).save_pretrained(folder)
    T.BertTokenizer(vocab=str(vocab), do_lower_case=True).save_pretrained(folder)
    write_sentence_transformers_files(folder, {"pooling_mode_mean_tokens": True}, max_seq_length=64)
    pooling = folder / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({**json.loads(pooling.read_text()), "word_embedding_dimension": OTHER_HIDDEN}))
    return folder


@pytest.fixture(scope="session")
def st_teacher(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT as a sentence encoder: [CLS] pooling, normalised."""
    import shutil

    teacher = tmp_path_factory.mktemp("st-teacher") / "teacher"
    shutil.copytree(tiny_models["bert"], teacher)
    write_sentence_transformers_files(
        teacher, {"pooling_mode_cls_token": True}, normalize="2_Normalize", max_seq_length=32
    )
    return teacher
