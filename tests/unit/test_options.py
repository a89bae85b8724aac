"""The one list parser (config.parse_list) and the help-default helpers of commands/_options.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from distilcli.commands._options import field_defaults, format_default, mode_defaults, unset_config
from distilcli.config import parse_list
from distilcli.errors import BadInput

# -- parse_list ----------------------------------------------------------------------------------------


def test_parse_list_reads_the_command_line_and_yaml_lists() -> None:
    assert parse_list("1, 2,3", "--seeds", int) == [1, 2, 3]
    assert parse_list([4, 5, 4], "--seeds", int) == [4, 5, 4]  # repeats are the caller's call
    assert parse_list(None, "--seeds", int) is None
    assert parse_list("ONNX,eager", "--backend", ("eager", "onnx")) == ["onnx", "eager"]
    assert parse_list("sst2, mrpc,", "--task", str) == ["sst2", "mrpc"]


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ("1,x", int, "--opt 'x' is not an integer: give a comma-separated list such as 1,2"),
        ([True], int, "--opt 'True' is not an integer"),
        ([1.5], int, "--opt '1.5' is not an integer"),
        ("1 2", int, "--opt '1 2' is not an integer"),
        ("", int, "--opt is empty: give a comma-separated list such as 1,2"),
        (" , ", str, "--opt is empty"),
        ([], ("a", "b"), "--opt is empty: choose from a, b"),
        ("a,c", ("a", "b"), "unknown --opt 'c': choose from a, b"),
    ],
)
def test_parse_list_errors_name_the_option_and_the_fix(value: object, kind: object, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_list(value, "--opt", kind, example="1,2")  # type: ignore[call-overload]
    assert message in str(caught.value)


def test_every_list_option_uses_parse_list() -> None:
    from distilcli.benchmark.config import parse_choices, parse_int_list
    from distilcli.training.seeds import parse_seeds
    from distilcli.models.student import parse_layer_map

    assert parse_int_list("8,1,8", "--batch-sizes") == [8, 1]
    assert parse_choices("eager,EAGER", "--backend", ("eager", "onnx")) == ["eager"]
    with pytest.raises(BadInput, match="--seq-lengths 'x' is not an integer"):
        parse_int_list("x", "--seq-lengths")
    with pytest.raises(BadInput, match="--seeds '1,1' repeats a seed"):
        parse_seeds("1,1")
    with pytest.raises(BadInput, match="--seeds is empty"):
        parse_seeds("")
    with pytest.raises(BadInput, match="--layer-map '0;2' is not an integer: give a comma-separated list such as 0,2,4"):
        parse_layer_map("0;2")


# -- defaults shown in help ------------------------------------------------------------------------------


@dataclass
class Example:
    model: str
    epochs: int = 3
    lr: float | None = None
    name: str | None = None
    flag: bool = False
    sizes: list[int] = field(default_factory=lambda: [1, 8])
    empty: list[str] = field(default_factory=list)


def test_field_defaults_leave_out_unset_fields() -> None:
    assert field_defaults(Example) == {"epochs": 3, "flag": False, "sizes": [1, 8]}
    assert field_defaults(Example, {"epochs": "passes"})["passes"] == 3


def test_mode_defaults_show_each_value_once_with_its_mode() -> None:
    variants = [("", {"lr": 5e-4, "name": None}), ("with --task", {"lr": 5e-5}), ("with --task squad", {"lr": 5e-5})]
    assert mode_defaults(Example, variants) == {"lr": "0.0005; 5e-05 with --task"}
    same = [("", {"lr": 0.1}), ("with --x", {"lr": 0.1})]
    assert mode_defaults(Example, same) == {"lr": "0.1"}


def test_unset_config_and_format_default() -> None:
    cfg = unset_config(Example, lr=0.5)
    assert cfg.model is None and cfg.lr == 0.5 and cfg.epochs == 3
    assert [format_default(v) for v in (5e-5, 0.0, 3, "mse", [1, 8, 32])] == ["5e-05", "0", "3", "mse", "1,8,32"]
