"""GLUE task table and readers: tiny files in each task's exact layout, error cases, and the real files."""

from __future__ import annotations

import collections
import hashlib
import os
from pathlib import Path

import pytest

from distilcli.errors import BadInput
from distilcli.tasks.glue.hub import load_glue_hub, read_glue_parquet
from distilcli.tasks.glue.readers import read_custom, read_glue_tsv
from distilcli.tasks.glue.sources import load_task_split
from distilcli.tasks.glue.spec import GLUE_TASKS, GlueExample, resolve_task

REAL = Path(os.environ.get("DISTILCLI_REAL_DATA", "/work/shared/data"))


def load_glue_dev(task: str, glue_dir: Path | None = None, hub_dir: Path | None = None) -> list[GlueExample] | None:
    """The dev examples :func:`load_task_split` finds in the GLUE folder or the hub's parquet files."""
    split = load_task_split(task, "dev", glue_dir=glue_dir, hub_dir=hub_dir)
    return None if split is None else split.examples


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


# -- the task table ----------------------------------------------------------------------------


def test_the_ten_tasks() -> None:
    assert list(GLUE_TASKS) == ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli-mm", "qnli", "rte", "wnli"]
    stsb = resolve_task("stsb")
    assert stsb.is_regression and stsb.labels is None and stsb.num_labels == 1
    assert stsb.metrics == ("pearson", "spearmanr")
    mnli, mm = resolve_task("mnli"), resolve_task("mnli-mm")
    assert (mnli.folder, mnli.dev_file, mnli.hub_dev_split) == ("MNLI", "dev_matched.tsv", "validation_matched")
    assert (mm.folder, mm.dev_file, mm.hub_dev_split) == ("MNLI", "dev_mismatched.tsv", "validation_mismatched")
    assert mnli.hub_config == mm.hub_config == "mnli"
    assert resolve_task("cola").metrics == ("matthews_correlation",)
    assert resolve_task("mrpc").metrics == resolve_task("qqp").metrics == ("accuracy", "f1")
    for name, task in GLUE_TASKS.items():
        assert task.primary_metric in task.metrics
        assert not task.is_regression or name == "stsb"
        if task.labels is not None:
            assert task.label_names is not None and len(task.label_names) == len(task.labels)


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("sst2", "sst2"), ("sst-2", "sst2"), ("SST-2", "sst2"), ("SST2", "sst2"), ("sst_2", "sst2"),
        ("mnli", "mnli"), ("mnli-m", "mnli"), ("mnli_matched", "mnli"), ("MNLI-m", "mnli"),
        ("mnli-mm", "mnli-mm"), ("mnli_mismatched", "mnli-mm"), ("MNLI-MM", "mnli-mm"),
        ("sts-b", "stsb"), ("stsb", "stsb"), ("STS-B", "stsb"), ("cola", "cola"), ("CoLA", "cola"),
        ("QQP", "qqp"), ("qnli", "qnli"), ("RTE", "rte"), ("WNLI", "wnli"), ("MRPC", "mrpc"),
    ],
)  # fmt: skip
def test_resolve_spellings(spelling: str, name: str) -> None:
    assert resolve_task(spelling).name == name


def test_resolve_unknown_suggests() -> None:
    with pytest.raises(BadInput, match=r"unknown GLUE task 'SST3': did you mean 'sst2'\?"):
        resolve_task("SST3")
    with pytest.raises(BadInput, match="known: cola, sst2"):
        resolve_task("squad")


# -- original TSV layouts ----------------------------------------------------------------------


def test_cola_headerless_four_columns(tmp_path: Path) -> None:
    # Like the real dev.tsv: no header, empty "original label" column, no final newline.
    path = write(tmp_path / "dev.tsv", "gj04\t1\t\tThe sailors rode the breeze.\ngj04\t0\t*\tThe more he read, it.\ncj99\t1\t\tOk.")
    examples = read_glue_tsv(path, "cola")
    assert examples == [
        GlueExample(0, "The sailors rode the breeze.", None, 1, "1"),
        GlueExample(1, "The more he read, it.", None, 0, "0"),
        GlueExample(2, "Ok.", None, 1, "1"),
    ]


def test_cola_wrong_field_count_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.tsv", "gj04\t1\t\tFine.\ngj04\t1\tMissing a field.\n")
    with pytest.raises(BadInput) as info:
        read_glue_tsv(path, "cola")
    message = str(info.value)
    assert message.startswith(f"{path}:2: expected 4 tab-separated fields") and "found 3" in message
    assert "\n" not in message


def test_cola_test_file_with_header_has_no_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "test.tsv", "index\tsentence\n0\tBill whistled past the house.\n1\tThe car honked.\n")
    examples = read_glue_tsv(path, "cola")
    assert [(e.index, e.text_a, e.label, e.raw_label) for e in examples] == [
        (0, "Bill whistled past the house.", None, None),
        (1, "The car honked.", None, None),
    ]


def test_mrpc_with_bom_and_unbalanced_quote(tmp_path: Path) -> None:
    text = (
        "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        "1\t1355540\t1355592\tHe said the pie business doesn 't fit .\t\" The pie business does not fit .\n"
        "0\t2029631\t2029565\tMagnarelli said Racicot hated it .\tHis wife said he was \" 100 percent behind .\n"
    )
    examples = read_glue_tsv(write(tmp_path / "dev.tsv", text, bom=True), "MRPC")
    assert examples[0] == GlueExample(
        0, "He said the pie business doesn 't fit .", '" The pie business does not fit .', 1, "1"
    )
    assert examples[1].text_b == 'His wife said he was " 100 percent behind .' and examples[1].label == 0


def test_stsb_ten_columns_score_last_with_unbalanced_quote(tmp_path: Path) -> None:
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    rows = (
        "0\tmain-news\theadlines\t2015\t0001\tnone\tnone\tHe said \"no.\tHe said no.\t3.800\n"
        "1\tmain-captions\tMSRvid\t2012test\t0002\tnone\tnone\tA child rides.\tA horse.\t0.000\n"
    )
    examples = read_glue_tsv(write(tmp_path / "dev.tsv", header + rows), "sts-b")
    assert examples[0] == GlueExample(0, 'He said "no.', "He said no.", 3.8, "3.800")
    assert examples[1].label == 0.0 and isinstance(examples[1].label, float)


def test_stsb_score_not_a_number(tmp_path: Path) -> None:
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    path = write(tmp_path / "dev.tsv", header + "0\tg\tf\ty\t0\tn\tn\tA.\tB.\tfive\n")
    with pytest.raises(BadInput, match=rf"^{path}:2: score 'five' is not a finite number"):
        read_glue_tsv(path, "stsb")


MNLI_HEADER = (
    "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
    "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
)


def mnli_row(index: int, premise: str, hypothesis: str, gold: str) -> str:
    return "\t".join([str(index), "1", f"{index}n", "fiction", "( a )", "( b )", "(ROOT a)", "(ROOT b)",
                      premise, hypothesis, gold, gold, gold, gold, gold, gold]) + "\n"  # fmt: skip


def test_mnli_gold_label_last(tmp_path: Path) -> None:
    text = MNLI_HEADER + mnli_row(0, "The new rights are nice enough", "Everyone likes them", "neutral")
    text += mnli_row(1, 'He said "yes', "He agreed.", "entailment")
    text += mnli_row(2, "Nobody came.", "Everyone came.", "contradiction")
    examples = read_glue_tsv(write(tmp_path / "dev_mismatched.tsv", text), "mnli-mm")
    assert [(e.label, e.raw_label) for e in examples] == [(1, "neutral"), (0, "entailment"), (2, "contradiction")]
    assert examples[1].text_a == 'He said "yes' and examples[1].text_b == "He agreed."


def test_mnli_unknown_label(tmp_path: Path) -> None:
    path = write(tmp_path / "dev_matched.tsv", MNLI_HEADER + mnli_row(0, "A.", "B.", "neutral") + mnli_row(1, "A.", "B.", "-"))
    with pytest.raises(BadInput, match=rf"^{path}:3: unknown label '-' for MNLI-m \(expected one of: entailment, neutral"):
        read_glue_tsv(path, "mnli")


def test_qqp_layout(tmp_path: Path) -> None:
    text = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
    text += "201359\t303345\t303346\tWhy are X so beautiful?\tWhy are Y so beautiful?\t0\n"
    text += "263843\t69383\t380476\tHow do I learn?\tWhat is the best way to learn?\t1\n"
    examples = read_glue_tsv(write(tmp_path / "dev.tsv", text), "qqp")
    assert examples[1] == GlueExample(1, "How do I learn?", "What is the best way to learn?", 1, "1")


def test_sst2_keeps_text_as_written(tmp_path: Path) -> None:
    text = "sentence\tlabel\nit 's a charming journey . \t1\nunflinchingly bleak \t0\n"
    examples = read_glue_tsv(write(tmp_path / "dev.tsv", text), "SST-2")
    assert examples == [GlueExample(0, "it 's a charming journey . ", None, 1, "1"),
                        GlueExample(1, "unflinchingly bleak ", None, 0, "0")]  # fmt: skip


def test_qnli_and_rte_and_wnli(tmp_path: Path) -> None:
    qnli = write(tmp_path / "q.tsv", "index\tquestion\tsentence\tlabel\n0\tWhat?\tThat \"one.\tnot_entailment\n")
    assert read_glue_tsv(qnli, "qnli")[0] == GlueExample(0, "What?", 'That "one.', 1, "not_entailment")
    rte = write(tmp_path / "r.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA b.\tA.\tentailment\n")
    assert read_glue_tsv(rte, "rte")[0].label == 0
    wnli = write(tmp_path / "w.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA b.\tA.\t1\n")
    assert read_glue_tsv(wnli, "wnli")[0].label == 1


def test_windows_line_ends_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.tsv", "sentence\tlabel\r\ngood .\t1\r\n\r\nbad .\t0\r\n\r\n")
    assert [(e.index, e.text_a, e.label) for e in read_glue_tsv(path, "sst2")] == [(0, "good .", 1), (1, "bad .", 0)]


def test_missing_text_column(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.tsv", "index\tquestion\tsentnce\tlabel\n0\tWhat?\tThat.\tentailment\n")
    with pytest.raises(BadInput, match=rf"^{path}:1: missing text column 'sentence' for QNLI \(header has: index"):
        read_glue_tsv(path, "qnli")


def test_missing_label_column_in_dev_but_not_in_test(tmp_path: Path) -> None:
    text = "index\tsentence1\tsentence2\n0\tA.\tB.\n"
    with pytest.raises(BadInput, match="dev.tsv:1: missing label column 'label' for RTE"):
        read_glue_tsv(write(tmp_path / "dev.tsv", text), "rte")
    examples = read_glue_tsv(write(tmp_path / "test.tsv", text), "rte")
    assert examples == [GlueExample(0, "A.", "B.", None, None)]
    with pytest.raises(BadInput, match="missing label column"):
        read_glue_tsv(tmp_path / "test.tsv", "rte", require_labels=True)


def test_header_row_field_count(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.tsv", "sentence\tlabel\ngood\t1\nbad\t0\textra\n")
    with pytest.raises(BadInput, match=rf"^{path}:3: expected 2 tab-separated fields as in the header, found 3"):
        read_glue_tsv(path, "sst2")


def test_unknown_label_and_bad_encoding(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.tsv", "sentence\tlabel\ngood\tpositive\n")
    with pytest.raises(BadInput, match=rf"^{path}:2: unknown label 'positive' for SST-2 \(expected one of: 0, 1\)"):
        read_glue_tsv(path, "sst2")
    path.write_bytes(b"sentence\tlabel\ngood\t1\nbad \xff\t0\n")
    with pytest.raises(BadInput, match=rf"^{path}:3: not valid UTF-8"):
        read_glue_tsv(path, "sst2")
    with pytest.raises(BadInput, match="no such file"):
        read_glue_tsv(tmp_path / "nope.tsv", "sst2")


# -- the hub's parquet layout ------------------------------------------------------------------


def write_parquet(path: Path, columns: dict[str, list], types: dict[str, str] | None = None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = types or {}
    arrays = {name: pa.array(values, type=getattr(pa, types[name])() if name in types else None)
              for name, values in columns.items()}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), path)
    return path


def hub_mnli(root: Path, split: str = "validation_matched", labels: list[int] | None = None) -> Path:
    return write_parquet(
        root / "mnli" / f"{split}-00000-of-00001.parquet",
        {"premise": ["P0.", "P1.", "P2."], "hypothesis": ["H0.", "H1.", "H2."],
         "label": labels if labels is not None else [1, 2, 0], "idx": [0, 1, 2]},
        {"label": "int64", "idx": "int32"},
    )  # fmt: skip


def test_parquet_file_folder_and_root(tmp_path: Path) -> None:
    file = hub_mnli(tmp_path)
    hub_mnli(tmp_path, "validation_mismatched", [0, 0, 0])
    expected = [GlueExample(0, "P0.", "H0.", 1, "neutral"), GlueExample(1, "P1.", "H1.", 2, "contradiction"),
                GlueExample(2, "P2.", "H2.", 0, "entailment")]  # fmt: skip
    assert read_glue_parquet(file, "mnli") == expected
    assert read_glue_parquet(file.parent, "mnli") == expected
    assert read_glue_parquet(tmp_path, "mnli") == expected
    assert [e.label for e in read_glue_parquet(tmp_path, "mnli-mm")] == [0, 0, 0]


def test_parquet_test_split_has_no_labels(tmp_path: Path) -> None:
    hub_mnli(tmp_path, "test_matched", [-1, -1, -1])
    examples = read_glue_parquet(tmp_path, "mnli", "test_matched")
    assert [(e.label, e.raw_label) for e in examples] == [(None, None)] * 3
    hub_mnli(tmp_path, "validation_matched", [-1, 0, 1])
    with pytest.raises(BadInput, match=r"validation_matched-00000-of-00001.parquet: idx 0: no label"):
        read_glue_parquet(tmp_path, "mnli")


def test_parquet_errors(tmp_path: Path) -> None:
    hub_mnli(tmp_path, labels=[0, 3, 1])
    with pytest.raises(BadInput, match=r"idx 1: label 3 out of range for MNLI-m \(0..2\)"):
        read_glue_parquet(tmp_path, "mnli")
    with pytest.raises(BadInput, match="no validation-\\*.parquet for QQP"):
        read_glue_parquet(tmp_path, "qqp")
    bad = write_parquet(tmp_path / "qqp" / "validation-00000-of-00001.parquet", {"q1": ["a"], "label": [0]})
    with pytest.raises(BadInput, match=rf"^{bad}: missing column 'question1' for QQP \(columns: q1, label\)"):
        read_glue_parquet(tmp_path, "qqp")


def test_parquet_stsb_float32_scores_come_back_exact(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path / "stsb" / "validation-00000-of-00001.parquet",
        {"sentence1": ["A.", "B."], "sentence2": ["C.", "D."], "label": [3.8, 4.75], "idx": [0, 1]},
        {"label": "float32", "idx": "int32"},
    )
    assert [e.label for e in read_glue_parquet(path, "stsb")] == [3.8, 4.75]


# -- load_glue_dev / load_glue_hub -------------------------------------------------------------


def test_load_glue_dev_prefers_the_tsv_then_the_hub_then_none(tmp_path: Path) -> None:
    glue, hub = tmp_path / "glue", tmp_path / "hub"
    write(glue / "SST-2" / "dev.tsv", "sentence\tlabel\ngood\t1\n")
    write(glue / "MNLI" / "dev_matched.tsv", MNLI_HEADER + mnli_row(0, "A.", "B.", "contradiction"))
    hub_mnli(hub)
    hub_mnli(hub, "validation_mismatched", [0, 1, 2])
    assert load_glue_dev("sst2", glue, hub) == [GlueExample(0, "good", None, 1, "1")]
    assert [e.label for e in load_glue_dev("mnli", glue, hub)] == [2]  # the TSV wins
    assert [e.label for e in load_glue_dev("mnli-mm", glue, hub)] == [0, 1, 2]  # only on the hub
    assert [e.label for e in load_glue_dev("mnli-mm", hub_dir=hub)] == [0, 1, 2]
    assert load_glue_dev("cola", glue, hub) is None
    assert load_glue_dev("cola") is None
    with pytest.raises(BadInput, match="GLUE folder does not exist"):
        load_glue_dev("cola", tmp_path / "typo")


def test_load_glue_dev_requires_labels(tmp_path: Path) -> None:
    write(tmp_path / "RTE" / "dev.tsv", "index\tsentence1\tsentence2\n0\tA.\tB.\n")
    with pytest.raises(BadInput, match="missing label column"):
        load_glue_dev("rte", tmp_path)


def test_load_glue_hub_offline_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # datasets reads the variables at import; set its copy too so the test does not depend on order.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(BadInput) as info:
        load_glue_hub("mrpc", cache_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("cannot load nyu-mll/glue config 'mrpc' split 'validation' from the Hugging Face hub")
    assert "local copy" in message


# -- custom files ------------------------------------------------------------------------------


def test_read_custom_csv_tsv_jsonl(tmp_path: Path) -> None:
    csv_path = write(tmp_path / "d.csv", 'id,premise,hypothesis,gold\n1,"A, quoted ""one""",B.,yes\n2,C.,D.,no\n')
    examples = read_custom(csv_path, "premise", "hypothesis", "gold", ["no", "yes"])
    assert examples == [GlueExample(0, 'A, quoted "one"', "B.", 1, "yes"), GlueExample(1, "C.", "D.", 0, "no")]
    tsv_path = write(tmp_path / "d.tsv", 'text\tscore\nHe said "hi.\t0.5\n')
    assert read_custom(tsv_path, "text", None, "score", None) == [GlueExample(0, 'He said "hi.', None, 0.5, "0.5")]
    jsonl = write(tmp_path / "d.jsonl", '{"t": "a", "y": "pos"}\n\n{"t": "b", "y": 0}\n')
    assert read_custom(jsonl, "t", None, "y", ["neg", "pos"]) == [
        GlueExample(0, "a", None, 1, "pos"),
        GlueExample(1, "b", None, 0, "neg"),
    ]


def test_read_custom_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "text,label\na,x\nb\n")
    with pytest.raises(BadInput, match=rf"^{path}:3: expected 2 fields as in the header, found 1"):
        read_custom(path, "text", None, "label", ["x"])
    path = write(tmp_path / "e.csv", "text,label\na,x\nb,z\n")
    with pytest.raises(BadInput, match=rf"^{path}:3: unknown label 'z' for column 'label' \(expected one of: x, y\)"):
        read_custom(path, "text", None, "label", ["x", "y"])
    with pytest.raises(BadInput, match=rf"^{path}:2: missing text column 'sentence'"):
        read_custom(path, "sentence", None, "label", ["x", "y"])
    path = write(tmp_path / "f.jsonl", '{"text": "a", "label": 1}\n{"text": "b"}\n[1]\n')
    with pytest.raises(BadInput, match=rf"^{path}:2: missing label column 'label'"):
        read_custom(path, "text", None, "label", ["x", "y"])
    unlabelled = write(tmp_path / "g.jsonl", '{"text": "b"}\n')
    assert read_custom(unlabelled, "text", None, "label", None, require_labels=False) == [
        GlueExample(0, "b", None, None, None)
    ]
    path = write(tmp_path / "h.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label"\n')
    with pytest.raises(BadInput, match=rf"^{path}:2: not valid JSON"):
        read_custom(path, "text", None, "label", ["x", "y"])
    with pytest.raises(BadInput, match="unknown format '.xlsx'"):
        read_custom(tmp_path / "d.xlsx", "text", None, "label", None)


# -- the real files (/work/shared/data; skipped where absent) ----------------------------------

needs_real = pytest.mark.skipif(not (REAL / "MANIFEST.tsv").is_file(), reason=f"real GLUE data not found at {REAL}")


def manifest() -> dict[str, tuple[int, str]]:
    rows = (REAL / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {fields[0]: (int(fields[1]), fields[2]) for fields in (row.split("\t") for row in rows if row)}


# task, file under REAL, expected rows (as MANIFEST.tsv and the GLUE paper give them)
REAL_FILES = [
    ("cola", "glue/CoLA/dev.tsv", 1043),
    ("sst2", "glue/SST-2/dev.tsv", 872),
    ("mrpc", "glue/MRPC/dev.tsv", 408),
    ("stsb", "glue/STS-B/dev.tsv", 1500),
    ("qnli", "glue/QNLI/dev.tsv", 5463),
    ("rte", "glue/RTE/dev.tsv", 277),
    ("wnli", "glue/WNLI/dev.tsv", 71),
    ("mnli", "glue-hub/mnli/validation_matched-00000-of-00001.parquet", 9815),
    ("mnli-mm", "glue-hub/mnli/validation_mismatched-00000-of-00001.parquet", 9832),
    ("qqp", "glue-hub/qqp/validation-00000-of-00001.parquet", 40430),
]


@needs_real
@pytest.mark.parametrize(("task", "relative", "rows"), REAL_FILES, ids=[t for t, _, _ in REAL_FILES])
def test_real_dev_sets(task: str, relative: str, rows: int) -> None:
    path = REAL / relative
    if not path.is_file():
        pytest.skip(f"{path} not present")
    expected_rows, sha256 = manifest()[relative]
    assert expected_rows == rows
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, f"{path} differs from MANIFEST.tsv"
    examples = read_glue_tsv(path, task) if path.suffix == ".tsv" else read_glue_parquet(path, task)
    assert len(examples) == rows
    assert [e.index for e in examples] == list(range(rows))
    assert all(e.text_a and isinstance(e.text_a, str) for e in examples)
    spec = resolve_task(task)
    if spec.is_regression:
        scores = [e.label for e in examples]
        assert all(0.0 <= s <= 5.0 for s in scores) and min(scores) == 0.0 and max(scores) == 5.0
        return
    counts = collections.Counter(e.raw_label for e in examples)
    assert set(counts) == set(spec.labels)  # every class present, nothing unknown (the reader enforces it)
    assert min(counts.values()) / rows > 0.25, counts  # no degenerate split
    assert all(e.text_b for e in examples) == (spec.columns.text_b is not None)


@needs_real
def test_real_label_distributions_match_the_published_ones() -> None:
    def counts(task: str, relative: str) -> dict[str, int]:
        path = REAL / relative
        if not path.is_file():
            pytest.skip(f"{path} not present")
        read = read_glue_tsv if path.suffix == ".tsv" else read_glue_parquet
        return dict(collections.Counter(e.raw_label for e in read(path, task)))

    assert counts("cola", "glue/CoLA/dev.tsv") == {"1": 721, "0": 322}
    assert counts("sst2", "glue/SST-2/dev.tsv") == {"1": 444, "0": 428}
    assert counts("mrpc", "glue/MRPC/dev.tsv") == {"1": 279, "0": 129}
    assert counts("mnli", "glue-hub/mnli/validation_matched-00000-of-00001.parquet") == {
        "entailment": 3479, "neutral": 3123, "contradiction": 3213,
    }  # fmt: skip
    assert counts("qqp", "glue-hub/qqp/validation-00000-of-00001.parquet") == {"0": 25545, "1": 14885}


def _real(relative: str) -> Path:
    """A file or folder of the real data, or a skip naming it when it is not there."""
    path = REAL / relative
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@needs_real
def test_real_mrpc_quirks() -> None:
    mrpc = _real("glue/MRPC/dev.tsv")
    assert mrpc.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM is really there
    assert read_glue_tsv(mrpc, "mrpc")[0].text_b.startswith('" The foodservice')  # an unbalanced quote, kept


@needs_real
def test_real_cola_quirks() -> None:
    cola = _real("glue/CoLA/dev.tsv")
    assert not cola.read_bytes().endswith(b"\n")  # no final newline: the last row still counts
    assert read_glue_tsv(cola, "cola")[-1].text_a.endswith("about himself.")


@needs_real
def test_real_mnli_comes_from_the_hub_files() -> None:
    hub = _real("glue-hub/mnli").parent
    first = read_glue_parquet(hub, "mnli")[0]
    assert (first.text_a, first.raw_label) == ("The new rights are nice enough", "neutral")
    mismatched = load_glue_dev("mnli-mm", REAL / "glue", hub)  # no MNLI TSVs: falls back to the hub
    assert mismatched is not None and len(mismatched) == 9832  # validation_mismatched, not the matched 9815
