"""Durable journal appends/s next to a bare ``os.write + os.fsync`` loop.

Both loops write lines of the same size to the same file system in the same
run, interleaved over many short rounds (alternating which goes first) so that
disk and machine load hit both alike; each round gives a ratio, and the median
ratio (with its quartiles and spread) is the figure. Target (DESIGN.md section 13):
Journal.append within 1.2x of the bare loop.

    python bench/journal.py [--appends 200] [--rounds 12] [--dir PATH]

``--dir`` should be on the disk journals really live on (not tmpfs, where
fsync costs nothing and the comparison is meaningless).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from mitigate.journal import Journal

PAYLOAD = {"step": "cordon-nodes", "attempt": 1, "context": "prod-eu", "verb": "cordon",
           "params": {"names": [f"node-{i}" for i in range(8)]}, "description": "cordon 8 nodes"}
CPU: dict[str, float] = {}  # best CPU seconds per append/line, the part the journal's code adds


def journal_loop(base: Path, count: int) -> tuple[float, int]:
    """Seconds for ``count`` appends, and the average line size."""
    journal = Journal.create(base, None, title="bench")
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        journal.append("step.intent", PAYLOAD)
    elapsed = time.perf_counter() - start
    CPU["journal"] = min(CPU.get("journal", 1e9), (time.process_time() - cpu) / count)
    journal.close()
    size = (journal.dir / "journal.jsonl").stat().st_size
    return elapsed, size // count


def bare_loop(base: Path, count: int, line_size: int) -> float:
    line = b"x" * (line_size - 1) + b"\n"
    fd = os.open(base / "bare.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        os.write(fd, line)
        os.fsync(fd)
    elapsed = time.perf_counter() - start
    CPU["bare"] = min(CPU.get("bare", 1e9), (time.process_time() - cpu) / count)
    os.close(fd)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to write (default: here)")
    args = parser.parse_args()
    journal_times: list[float] = []
    bare_times: list[float] = []
    line_size = 0  # measured by round 1, which runs the journal first
    for round_no in range(1, args.rounds + 1):
        base = Path(tempfile.mkdtemp(prefix="mitigate-bench-", dir=args.dir))
        try:
            if round_no % 2:  # alternate which loop goes first, so neither always gets the warm disk
                j_time, line_size = journal_loop(base, args.appends)
                b_time = bare_loop(base, args.appends, line_size)
            else:
                b_time = bare_loop(base, args.appends, line_size)
                j_time, line_size = journal_loop(base, args.appends)
        finally:
            shutil.rmtree(base)
        journal_times.append(j_time)
        bare_times.append(b_time)
        print(f"round {round_no:2d}: journal {args.appends / j_time:8.1f} appends/s   "
              f"bare write+fsync {args.appends / b_time:8.1f} lines/s   ratio {j_time / b_time:.2f}x")
    ratios = sorted(j / b for j, b in zip(journal_times, bare_times, strict=True))
    ratio = statistics.median(ratios)
    quartiles = statistics.quantiles(ratios, n=4)
    print(f"line size {line_size} bytes, {args.appends} appends x {args.rounds} interleaved rounds")
    print(f"Journal.append:        {args.appends / statistics.median(journal_times):8.1f} durable appends/s (median)")
    print(f"bare os.write+fsync:   {args.appends / statistics.median(bare_times):8.1f} lines/s (median)")
    print(f"CPU per append: journal {CPU['journal'] * 1e6:.0f} us, bare {CPU['bare'] * 1e6:.0f} us "
          f"(best round; the rest is waiting for the disk)")
    print(f"ratio (journal time / bare time, same round): median {ratio:.3f}x, "
          f"quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f}x, spread {ratios[0]:.2f}-{ratios[-1]:.2f}x  "
          f"(target <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'})")


if __name__ == "__main__":
    main()
