"""Two nodes on one machine: ``distill`` and ``finetune`` under ``torchrun --nnodes 2 --nproc-per-node 1``.

Two launchers start as two machines would start them, and meet through a c10d rendezvous on
127.0.0.1 (gloo on the CPU; both "machines" share this file system, as cluster nodes share theirs).
The tests check that

- the result equals one process's with the same global batch: 2 processes × ``--batch-size b``
  against one process with ``--batch-size b --grad-accum 2`` (the same batches, masks and step);
- only global rank 0 writes: a spy (``tests/cli/rank_spy``, loaded as ``sitecustomize``) records
  every write the process of global rank 1 makes under the run folders, the reports and the
  corpus cache, and the log must hold nothing but its "armed" lines (``test_spy_sees_writes``
  shows that it does catch writes);
- a node killed mid-run (SIGKILL, launcher and worker, after a checkpoint), then both restarted
  with ``--resume``, finishes the run with the uninterrupted result; the lock the killed rank 0
  left is taken over, and the second node is never refused by it.

The models have no dropout: with dropout, N processes draw N streams where one process draws
one, and the runs agree in distribution only (docs/distributed.md).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import tiny_config
from tests.unit.test_distill_engine import corpus  # noqa: F401 - the shared corpus fixture

SPY = Path(__file__).parent / "rank_spy"
#: Launcher settings: a short wait for the other node, so a node that fails to start fails the test soon.
RDZV_CONF = "join_timeout=120,close_timeout=10"
DISTILL_ARGS = ["--layer-map", "0,2", "--max-steps", "6", "--batch-size", "4", "--max-seq-length", "32",
                "--log-every", "2", "--save-every", "2"]  # fmt: skip
FINETUNE_ARGS = ["--task", "sst2", "--max-steps", "24", "--batch-size", "4", "--eval-every", "4", "--log-every", "2",
                 "--lr", "1e-3"]  # fmt: skip
#: The distributed settings a test process may have inherited: each launcher sets its own.
_LAUNCH_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture(scope="module")
def no_dropout(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> dict[str, Path]:
    """A tiny BERT teacher (with its MLM head) and a tiny BERT encoder, both without dropout."""
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM

    root = tmp_path_factory.mktemp("no-dropout")
    folders = {}
    for name, cls in (("teacher", AutoModelForMaskedLM), ("encoder", AutoModel)):
        torch.manual_seed(0)
        config = tiny_config("bert")
        config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
        cls.from_config(config).save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
        folders[name] = root / name
    return folders


# -- launching two nodes --------------------------------------------------------------------------

#: Every launcher a test started: whatever still runs when the test ends (it failed) is killed.
_LAUNCHED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_leftover_nodes():
    yield
    while _LAUNCHED:
        node = _LAUNCHED.pop()
        if node.poll() is None:
            kill_node(node)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, watched: list[Path]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_VARS and not k.startswith("TORCHELASTIC_")}
    env.update(
        OMP_NUM_THREADS="1",
        DISTILCLI_CACHE=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join([str(SPY), *filter(None, [os.environ.get("PYTHONPATH")])]),
        DISTILCLI_SPY_WATCH=os.pathsep.join(str(p) for p in watched),
        DISTILCLI_SPY_LOG=str(tmp_path / "spy.log"),
    )
    return env


def launch_nodes(args: list[str], env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    """Two launchers, one per "machine": the same command, a c10d rendezvous on a free local port."""
    port, logs = _free_port(), Path(logs)
    logs.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
        "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", f"test-{port}",
        "--rdzv-conf", RDZV_CONF, "--local-addr", "127.0.0.1", "-m", "distilcli", *args,
    ]  # fmt: skip
    nodes = []
    for n in range(2):
        with open(logs / f"node{n}.log", "w", encoding="utf-8") as log:
            nodes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
    _LAUNCHED.extend(nodes)
    return nodes


def node_logs(logs: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(encoding='utf-8')[-3000:]}" for p in sorted(Path(logs).glob("node*.log"))
    )


def wait_nodes(nodes: list[subprocess.Popen], logs: Path, timeout: float = 240) -> None:
    """Both launchers exit 0 within ``timeout``. Else, or as soon as one fails (the other would wait for
    its peer until the process group's own timeout), every process of both is killed and the test fails."""
    deadline = time.monotonic() + timeout
    while any(node.poll() is None for node in nodes):
        failed = any(node.poll() not in (None, 0) for node in nodes)
        if failed or time.monotonic() > deadline:
            for node in nodes:
                kill_node(node)
            why = "a node failed" if failed else f"the two nodes did not finish in {timeout} s"
            pytest.fail(f"{why} (exit codes {[node.returncode for node in nodes]})\n{node_logs(logs)}")
        time.sleep(0.2)
    codes = [node.returncode for node in nodes]
    assert codes == [0, 0], f"exit codes {codes}\n{node_logs(logs)}"


def kill_node(node: subprocess.Popen) -> None:
    """What a machine's death does to its processes: the launcher and its workers, SIGKILL."""
    import psutil

    try:
        family = [psutil.Process(node.pid), *psutil.Process(node.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for process in family:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    node.wait(timeout=30)


def node_of(nodes: list[subprocess.Popen], pid: int) -> subprocess.Popen:
    """The launcher whose worker is process ``pid``."""
    import psutil

    for node in nodes:
        if pid in {child.pid for child in psutil.Process(node.pid).children(recursive=True)}:
            return node
    raise AssertionError(f"no launcher runs process {pid}")


def assert_rank1_wrote_nothing(spy_log: Path, launches: int) -> None:
    """The spy armed itself in rank 1 of every launch and saw it write nothing under the watched folders."""
    lines = spy_log.read_text(encoding="utf-8").splitlines() if spy_log.is_file() else []
    armed = [line for line in lines if line.split()[4:5] == ["armed"]]
    writes = [line for line in lines if line not in armed]
    assert not writes, "global rank 1 wrote into the run folder:\n" + "\n".join(writes[:20])
    assert len({line.split()[3] for line in armed}) >= launches, (
        f"the spy did not run in rank 1 of each launch: {lines}"
    )
    assert all(line.startswith("rank 1 ") for line in armed), lines


# -- the checks -----------------------------------------------------------------------------------


def test_spy_sees_writes(tmp_path: Path) -> None:
    """The spy records rank 1's writes (Python's and torch's / safetensors' own), and nothing of rank 0's."""
    watched, log = tmp_path / "run", tmp_path / "spy.log"
    watched.mkdir()
    script = (
        "import os, shutil, tempfile, torch\n"
        "from pathlib import Path\n"
        "from safetensors.torch import save_file\n"
        f"w = Path({str(watched)!r})\n"
        "(w / 'a.txt').write_text('x')\n"
        "os.mkdir(w / 'd')\n"
        "w.mkdir(exist_ok=True)\n"
        "os.replace(w / 'a.txt', w / 'd' / 'b.txt')\n"
        "torch.save({'x': 1}, w / 't.pt')\n"
        "save_file({'x': torch.zeros(1)}, str(w / 's.safetensors'))\n"
        "tempfile.mkdtemp(dir=w)\n"
        "shutil.rmtree(w / 'd')\n"
        "(w / 't.pt').read_bytes()\n"
        "(w.parent / 'outside.txt').write_text('x')\n"
    )
    env = _env(tmp_path, [watched])
    for rank in ("1", "0"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            check=False,
            env={**env, "RANK": rank},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    seen = log.read_text(encoding="utf-8")
    for what in ("armed", "open-for-write", "os.mkdir", "os.rename", "torch.save", "safetensors.torch.save_file",
                 "tempfile.mkdtemp", "shutil.rmtree"):  # fmt: skip
        assert f" {what} " in seen + " ", (what, seen)
    assert "outside.txt" not in seen and f"{watched}\n" not in seen  # outside; a folder that exists
    assert sum(line.endswith("t.pt") for line in seen.splitlines()) == 1  # written once; read back unseen
    assert all(line.startswith("rank 1 ") for line in seen.splitlines())  # rank 0 is never watched
    with pytest.raises(AssertionError, match="wrote into the run folder"):
        assert_rank1_wrote_nothing(log, 1)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def assert_same_weights(got: Path, want: Path, start: Path | None = None) -> None:
    """Equal up to float rounding (gradients summed by an all-reduce, not accumulated); with ``start``, far
    inside what training moved them."""
    got_w, want_w = _weights(got), _weights(want)
    assert got_w.keys() == want_w.keys()
    apart = max(float((got_w[k] - want_w[k]).abs().max()) for k in got_w)
    assert apart < 1e-4, apart
    if start is not None:
        start_w = {k.removeprefix("bert."): v for k, v in _weights(start).items()}
        moved = max(
            float((want_w[k] - start_w[k.removeprefix("bert.")]).abs().max())
            for k in want_w
            if k.removeprefix("bert.") in start_w
        )
        assert moved > 1e-3 and apart < moved / 100, (apart, moved)


def test_two_nodes_distill_equal_one_process(
    distil,
    no_dropout: dict[str, Path],
    corpus: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = tmp_path / "runs"
    out, report, logs = runs / "two", runs / "two.json", tmp_path / "logs"
    tracking = ["--report-to", "tensorboard"] if _has("tensorboard") else []
    args = ["distill", "--teacher", str(no_dropout["teacher"]), "--corpus", str(corpus), *DISTILL_ARGS]
    env = _env(tmp_path, [runs, tmp_path / "cache"])
    nodes = launch_nodes([*args, "--out", str(out), "--output", str(report), *tracking], env, logs)
    wait_nodes(nodes, logs)
    monkeypatch.setenv("DISTILCLI_CACHE", str(tmp_path / "cache"))
    one = distil(*args, "--grad-accum", "2", "--out", runs / "one", "--output", runs / "one.json")
    assert one.exit_code == 0, one.stderr
    two_report, one_report = json.loads(report.read_text()), json.loads((runs / "one.json").read_text())
    assert two_report["body"]["distillation"]["processes"] == 2
    assert len(set(two_report["body"]["rank_param_checksums"])) == 1
    for name in ("loss", "ce", "mlm", "cos"):
        got, want = two_report["body"]["loss_curves"][name], one_report["body"]["loss_curves"][name]
        # abs: a term near zero (ce ~5e-5 on these tiny models) differs in its last float32 digits, summed in another order
        assert got == pytest.approx(want, rel=1e-5, abs=1e-7), name
    assert two_report["metrics"]["tokens"] == one_report["metrics"]["tokens"]
    assert_same_weights(out, runs / "one", no_dropout["teacher"])
    assert_rank1_wrote_nothing(tmp_path / "spy.log", 1)
    assert node_logs(logs).count("report written to") == 1
    assert not (out / ".distilcli-lock").exists() and (out / ".distilcli-run").is_file()
    if tracking:
        assert list((out / "tracking").rglob("events.out.tfevents.*"))


def test_two_nodes_finetune_killed_node_resumes(
    distil, no_dropout: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    out, report, logs = runs / "two", runs / "two.json", tmp_path / "logs"
    args = ["finetune", "--model", str(no_dropout["encoder"]), "--glue-dir", str(tiny_glue), *FINETUNE_ARGS]
    env = _env(tmp_path, [runs])
    nodes = launch_nodes([*args, "--out", str(out)], env, logs / "first")
    deadline = time.monotonic() + 180
    while not any((folder / "trainer_state.json").is_file() for folder in (out / "checkpoints").glob("step-*")):
        assert time.monotonic() < deadline and all(node.poll() is None for node in nodes), node_logs(logs / "first")
        time.sleep(0.05)
    holder = json.loads((out / ".distilcli-lock").read_text())["pid"]  # global rank 0's worker
    victim = node_of(nodes, holder)
    kill_node(victim)
    survivor = next(node for node in nodes if node is not victim)
    try:
        survivor.wait(timeout=60)  # its collectives fail once the peer is gone
    except subprocess.TimeoutExpired:
        kill_node(survivor)
    assert survivor.returncode != 0
    assert not (out / "finetune_result.json").exists(), "the run ended before the kill: nothing was tested"
    assert (out / ".distilcli-lock").is_file()  # left by the killed rank 0: stale, taken over below

    nodes = launch_nodes([*args, "--out", str(out), "--resume", "--output", str(report)], env, logs / "resumed")
    wait_nodes(nodes, logs / "resumed")
    assert "resuming" in node_logs(logs / "resumed")
    one = distil(*args, "--out", runs / "one", "--grad-accum", "2")
    assert one.exit_code == 0, one.stderr
    two_run = json.loads((out / "finetune_result.json").read_text())
    one_run = json.loads((runs / "one" / "finetune_result.json").read_text())
    assert two_run["processes"] == 2 and two_run["steps"] == one_run["steps"] == 24
    assert two_run["loss_curve"]["loss"] == pytest.approx(one_run["loss_curve"]["loss"], rel=1e-5)
    assert [h["metrics"] for h in two_run["history"]] == [pytest.approx(h["metrics"]) for h in one_run["history"]]
    assert two_run["best"]["step"] == one_run["best"]["step"]
    # The best model may be an early one; the last checkpoint holds the last step's weights.
    last = "checkpoints/step-0000024"
    assert_same_weights(out / last, runs / "one" / last, no_dropout["encoder"])
    assert_same_weights(out, runs / "one")
    assert_rank1_wrote_nothing(tmp_path / "spy.log", 2)
    assert not (out / ".distilcli-lock").exists()
