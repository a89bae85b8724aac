"""SQuAD readers, windowed features and post-processing, on tiny files and hand-made logits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from distilcli.tasks.squad.data import SQUAD, SQUAD_V2, Answer, SquadExample, read_squad_json, squad_task
from distilcli.tasks.squad.features import QAFeatures, check_window_options, encode_squad
from distilcli.errors import BadInput
from distilcli.tasks.squad.post import postprocess
from distilcli.models.adapters import adapter_for

SHARED = Path(os.environ.get("DISTILCLI_REAL_DATA", "/work/shared/data")) / "squad"


def _write(tmp_path: Path, document: object, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def test_task_names() -> None:
    assert squad_task("squad") is SQUAD and squad_task("SQuAD-v1.1") is SQUAD
    assert squad_task("squad_v2") is SQUAD_V2 and squad_task("squadv2.0") is SQUAD_V2
    assert squad_task("sst2") is None


def test_reads_v1_and_v2_with_unanswerable_questions(tiny_squad: Path, tiny_squad_v2: Path) -> None:
    v1 = read_squad_json(tiny_squad / "train.json")
    assert v1.task is SQUAD and v1.articles == 4 and len(v1.examples) == 4 * 3 * 4
    v2 = read_squad_json(tiny_squad_v2 / "dev.json")
    assert v2.task is SQUAD_V2
    impossible = [e for e in v2.examples if e.is_impossible]
    assert impossible and all(e.answers == () for e in impossible)
    first = v1.examples[0]
    answer = first.answers[0]
    assert first.context[answer.start : answer.start + len(answer.text)] == answer.text


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON (line 1"),
        ({"version": "1.1"}, "missing field 'data'"),
        ({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}, "article 0 ('T') paragraph 0: missing field 'context'"),
        ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q1", "answers": []}]}]}]}, "question 'q1': missing field 'question'"),
        ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q1", "question": "?"}]}]}]}, "question 'q1': missing field 'answers'"),
        ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q1", "question": "?", "answers": [{"text": "a"}]}]}]}]}, "question 'q1' answer 0: missing field 'answer_start'"),
        ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q1", "question": "?", "answers": [{"text": "a", "answer_start": 9}]}]}]}]}, "outside the context"),
        ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": 5, "question": "?", "answers": []}]}]}]}, "field 'id' should be str"),
        ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q1", "question": "?", "answers": []}]}]}]}, "no answers and not marked is_impossible"),
        ({"data": [{"paragraphs": [{"context": " ", "qas": []}]}]}, "paragraph 0: the context is empty"),
        ({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q1", "question": "?", "answers": [{"text": " ", "answer_start": 0}]}]}]}]}, "answer 0: the answer text is empty"),
    ],
)
def test_bad_files_name_the_file_and_the_record(tmp_path: Path, document: object, message: str) -> None:
    path = _write(tmp_path, document)
    with pytest.raises(BadInput) as info:
        read_squad_json(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_unanswerable_question_refused_for_v1(tmp_path: Path, tiny_squad_v2: Path) -> None:
    with pytest.raises(BadInput, match="use --task squad_v2"):
        read_squad_json(tiny_squad_v2 / "train.json", SQUAD)


def test_duplicate_question_ids_refused(tmp_path: Path) -> None:
    qa = {"id": "q1", "question": "?", "answers": [{"text": "a", "answer_start": 0}]}
    path = _write(tmp_path, {"data": [{"paragraphs": [{"context": "abc", "qas": [qa, qa]}]}]})
    with pytest.raises(BadInput, match="appears twice"):
        read_squad_json(path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared SQuAD files are not present")
def test_official_dev_files() -> None:
    v1 = read_squad_json(SHARED / "dev-v1.1.json")
    v2 = read_squad_json(SHARED / "dev-v2.0.json")
    assert (v1.task, len(v1.examples), v1.articles) == (SQUAD, 10570, 48)
    assert (v2.task, len(v2.examples), v2.articles) == (SQUAD_V2, 11873, 35)
    assert sum(not e.is_impossible for e in v2.examples) == 5928


# -- features ---------------------------------------------------------------------------------------


def _example(context: str, answer: str | None, question: str = "what comes after cat") -> SquadExample:
    if answer is None:
        return SquadExample("q", "", question, context, (), True)
    return SquadExample("q", "", question, context, (Answer(answer, context.index(answer)),))


def test_answer_maps_to_its_tokens(tokenizer) -> None:
    from transformers import BertConfig

    context = "the cat sat by the river and the dog ran to the house"
    features = encode_squad([_example(context, "river")], tokenizer, adapter_for(BertConfig()), max_seq_length=64, doc_stride=16, max_query_length=16)
    assert len(features) == 1
    s, e = features.start_positions[0], features.end_positions[0]
    offsets = features.offsets[0]
    assert context[offsets[s][0] : offsets[e][1]] == "river"
    # Tokens of the question and the special tokens are not part of the context.
    assert offsets[0] is None and features.cls_index[0] == 0
    assert features.token_type_ids is not None and features.token_type_ids[0][s] == 1


def test_long_context_is_windowed_and_windows_without_the_answer_point_at_cls(tokenizer) -> None:
    from transformers import BertConfig

    words = ("cat dog house tree river city music game " * 6).split()
    context = " ".join(words + ["water"])
    features = encode_squad([_example(context, "water")], tokenizer, adapter_for(BertConfig()), max_seq_length=32, doc_stride=8, max_query_length=8)
    assert len(features) > 2 and set(features.example_index) == {0}
    assert all(len(ids) <= 32 for ids in features.input_ids)
    # Consecutive windows share exactly --doc-stride context tokens.
    spans = [[o for o in offsets if o is not None] for offsets in features.offsets]
    assert len(set(spans[0]) & set(spans[1])) == 8
    has = [(s, e) for s, e in zip(features.start_positions, features.end_positions, strict=True) if s != 0]
    assert len(has) == 1  # only the last window holds "water"
    last = features.offsets[-1]
    assert context[last[features.start_positions[-1]][0] : last[features.end_positions[-1]][1]] == "water"
    assert features.start_positions[0] == features.end_positions[0] == features.cls_index[0] == 0


def test_spaces_around_an_answer_do_not_move_its_span(tokenizer) -> None:
    from transformers import BertConfig

    context = "the cat sat on the mat"
    padded = SquadExample("q", "", "where did the cat sit", context, (Answer(" the mat ", context.index(" the mat")),))
    features = encode_squad([padded], tokenizer, adapter_for(BertConfig()), max_seq_length=64, doc_stride=16, max_query_length=16)
    offsets = features.offsets[0]
    assert context[offsets[features.start_positions[0]][0] : offsets[features.end_positions[0]][1]] == "the mat"


def test_unanswerable_points_at_cls_and_distilbert_gets_no_segments(tokenizer) -> None:
    from transformers import DistilBertConfig

    features = encode_squad([_example("a cat", None)], tokenizer, adapter_for(DistilBertConfig()), max_seq_length=32, doc_stride=8, max_query_length=8)
    assert features.start_positions == [0] and features.end_positions == [0]
    assert features.token_type_ids is None


def test_long_questions_are_cut(tokenizer) -> None:
    from transformers import BertConfig

    question = "what comes after " + "cat " * 40
    features = encode_squad([_example("the cat sat", "sat", question)], tokenizer, adapter_for(BertConfig()), max_seq_length=32, doc_stride=4, max_query_length=10)
    assert features.token_type_ids is not None
    assert features.token_type_ids[0].index(1) == 1 + 10 + 1  # [CLS] + 10 question tokens + [SEP]


@pytest.mark.parametrize(("seq", "stride", "query", "flag"), [(64, 60, 16, "--doc-stride"), (20, 4, 16, "--max-seq-length"), (64, 0, 16, "--doc-stride")])
def test_window_options_checked(seq: int, stride: int, query: int, flag: str) -> None:
    with pytest.raises(BadInput, match=flag):
        check_window_options(seq, stride, query)


# -- post-processing --------------------------------------------------------------------------------


def _features(offsets: list[list[tuple[int, int] | None]], example_index: list[int]) -> QAFeatures:
    n = len(offsets)
    return QAFeatures([[0] * len(o) for o in offsets], None, example_index, offsets, [0] * n, [0] * n, [0] * n)


def test_postprocess_picks_the_best_valid_span() -> None:
    context = "alpha beta gamma delta"
    offsets = [None, None, (0, 5), (6, 10), (11, 16), (17, 22), None]  # [CLS] q [alpha beta gamma delta] [SEP]
    starts = np.array([0.0, 9.0, 1.0, 5.0, 0.0, 0.0, 9.0])  # 1 and 6 are outside the context: never chosen
    ends = np.array([0.0, 9.0, 0.0, 2.0, 4.0, 0.0, 9.0])
    out = postprocess([_example(context, "beta")], _features([offsets], [0]), [starts], [ends], version_2=False)
    assert out.answers == {"q": "beta gamma"}  # 5 + 4 beats 5 + 2
    assert out.nbest["q"][0]["score"] == pytest.approx(9.0)
    assert sum(p["probability"] for p in out.nbest["q"]) == pytest.approx(1.0)
    # An end before the start, or a span longer than max_answer_length, is discarded.
    out = postprocess([_example(context, "beta")], _features([offsets], [0]), [starts], [ends], version_2=False, max_answer_length=1)
    assert out.answers == {"q": "beta"}


def test_postprocess_best_over_windows_and_null_odds() -> None:
    context = "alpha beta gamma delta"
    w1 = [None, (0, 5), (6, 10), None]
    w2 = [None, (11, 16), (17, 22), None]
    feats = _features([w1, w2], [0, 0])
    s1, e1 = np.array([1.0, 2.0, 0.0, 0.0]), np.array([1.5, 2.0, 0.0, 0.0])  # null 2.5, best span 4
    s2, e2 = np.array([0.5, 3.0, 0.0, 0.0]), np.array([0.5, 0.0, 3.5, 0.0])  # null 1.0, best span 6.5
    out = postprocess([_example(context, "gamma")], feats, [s1, s2], [e1, e2], version_2=True)
    assert out.answers == {"q": "gamma delta"}
    assert out.null_odds == {"q": pytest.approx(1.0 - 6.5)}  # the smallest null score of the windows
    assert any(p["text"] == "" for p in out.nbest["q"])
    out = postprocess([_example(context, "gamma")], feats, [s1, s2], [e1, e2], version_2=True, null_threshold=-6.0)
    assert out.answers == {"q": ""}  # odds -5.5 > -6.0
