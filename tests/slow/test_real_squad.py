"""SQuAD features with the packaged tokenizers on the official dev files: gold spans survive the round trip."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from distilcli.tasks.squad.data import read_squad_json
from distilcli.tasks.squad.features import encode_squad
from distilcli.tasks.squad.scoring import score
from distilcli.tasks.squad.post import postprocess
from distilcli.models.aliases import ALIASES

pytestmark = pytest.mark.slow
SQUAD = Path(os.environ.get("DISTILCLI_REAL_DATA", "/work/shared/data")) / "squad"


@pytest.mark.parametrize("alias", ["minilm-l6", "mpnet-base"])
def test_gold_positions_decode_to_the_gold_answers(alias: str) -> None:
    """Logits that point at the mapped gold tokens must post-process into the gold answers.

    Covers BERT's ([CLS] q [SEP] c [SEP]) and MPNet's (<s> q </s></s> c </s>) layouts, windows
    (length 192, stride 64), offsets and the v2.0 null answer, on the first 600 questions.
    """
    if not SQUAD.is_dir():
        pytest.skip("the shared SQuAD files are not present")
    if not ALIASES.get(alias).is_installed():
        pytest.skip(f"{alias} not installed: {ALIASES.get(alias).install_command()}")
    from distilcli.models.adapters import adapter_for
    from distilcli.models.loading import load_config, load_tokenizer
    from distilcli.models.resolve import resolve_model

    ref = resolve_model(alias)
    tokenizer = load_tokenizer(ref)
    dev = read_squad_json(SQUAD / "dev-v2.0.json")
    dev.examples = dev.examples[:600]
    features = encode_squad(dev.examples, tokenizer, adapter_for(load_config(ref)), max_seq_length=192, doc_stride=64)
    assert len(features) > len(dev.examples)  # some contexts need several windows
    starts, ends = [], []
    for i, ids in enumerate(features.input_ids):
        s, e = np.zeros(len(ids), np.float32), np.zeros(len(ids), np.float32)
        s[features.start_positions[i]] = e[features.end_positions[i]] = 10.0
        starts.append(s)
        ends.append(e)
    predictions = postprocess(dev.examples, features, starts, ends, version_2=True)
    metrics = score(dev, predictions.answers, predictions.null_odds)
    assert metrics["NoAns_exact"] == 100.0
    # Answers that end inside a word ("gold" in "golden") cannot be cut out of whole tokens.
    assert metrics["HasAns_f1"] > 99.0
