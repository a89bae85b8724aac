"""``pipeline --jobs``: a SIGTERM to the pipeline stops the stage processes it started.

Before, only the pipeline process died and its stages trained on, unseen, holding their run folders.
The pipeline runs in a subprocess here with a stand-in worker (each stage writes its pid and sleeps);
the test kills the pipeline alone, as ``kill PID`` or a scheduler's time limit would, and checks that
both stage processes are gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SLEEPER = """
import os, time
from pathlib import Path

def sleep_stage(out, stage, how, tracking, threads):
    (Path(out) / f"{stage.name}.pid").write_text(str(os.getpid()))
    time.sleep(120)
    return 0.0
"""

PIPELINE = """
from pathlib import Path
import sys
from distilcli.pipeline.parallel import run_parallel
from distilcli.pipeline.stages import Stage
from sleeper import sleep_stage

if __name__ == "__main__":  # the spawned stage processes import this file too
    out = Path(sys.argv[1])
    stages = [Stage(name=name, kind="finetune", options={}) for name in ("a", "b")]
    run_parallel(out, stages, jobs=2, worker=sleep_stage)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that died but was not reaped yet is a zombie: gone for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_sigterm_to_the_pipeline_stops_its_running_stages(tmp_path: Path) -> None:
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    script = tmp_path / "pipeline.py"
    script.write_text(textwrap.dedent(PIPELINE))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    pipeline = subprocess.Popen([sys.executable, str(script), str(out)], env=env, start_new_session=True)
    try:
        pid_files = [out / "a.pid", out / "b.pid"]
        assert _wait_for(lambda: all(f.is_file() and f.read_text() for f in pid_files), 120), "stages never started"
        stage_pids = [int(f.read_text()) for f in pid_files]
        assert all(_alive(pid) for pid in stage_pids)

        pipeline.send_signal(signal.SIGTERM)  # the pipeline alone, not its process group
        status = pipeline.wait(timeout=60)
        assert _wait_for(lambda: not any(_alive(pid) for pid in stage_pids), 30), "a stage outlived the pipeline"
        assert status == 128 + signal.SIGTERM
    finally:
        if pipeline.poll() is None:
            os.killpg(pipeline.pid, signal.SIGKILL)
        for f in (out / "a.pid", out / "b.pid"):
            if f.is_file():
                try:
                    os.kill(int(f.read_text()), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
