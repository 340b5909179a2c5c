"""``python benchmarks/cli_startup.py [--runs N] [--json]``: how long simple `crmos` commands take.

Each command runs ``--runs`` times in a fresh process (as hyperfine does, after one warm-up
run); the table gives the median and the fastest run, in wall time and in CPU time (user +
system of the child), which a loaded machine inflates far less. The reference in the same run
is a bare ``python -c pass`` with the same interpreter: these machines are shared and noisy, so
compare a command with the reference beside it. The commands run in a throw-away home with one
workspace, so ``workspace list`` reads a real store and ``interactions classify`` finds (after
its warm-up) the intent model it cached on disk.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CRMOS = str(Path(sys.executable).with_name("crmos"))
COMMANDS = {
    "python -c pass (reference)": [sys.executable, "-c", "pass"],
    "crmos --help": [CRMOS, "--help"],
    "crmos config show": [CRMOS, "config", "show"],
    "crmos workspace list": [CRMOS, "workspace", "list"],
    "crmos interactions classify": [CRMOS, "interactions", "classify", "We want to renew."],
}


def timed(command: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of ``runs`` runs, after one warm-up run (fills caches)."""
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    """Time every command and print a table (and with --json one JSON object last)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRMOS__")}
        env.update(CRMOS__HOME=home, CRMOS_CONFIG=str(Path(home) / "absent.toml"))
        subprocess.run(
            [CRMOS, "workspace", "create", "bench"], env=env, check=True, capture_output=True
        )
        figures = {}
        for name, command in COMMANDS.items():
            wall, cpu = timed(command, env, args.runs)
            figures[name] = {
                "median_s": statistics.median(wall),
                "min_s": min(wall),
                "cpu_median_s": statistics.median(cpu),
            }
            print(
                f"{name:<30} wall median {statistics.median(wall):.3f} s, min {min(wall):.3f} s;"
                f" cpu median {statistics.median(cpu):.3f} s"
            )
    if args.json:
        print(json.dumps({"runs": args.runs, "commands": figures}))


if __name__ == "__main__":
    main()
