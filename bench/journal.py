"""Durable journal appends/s next to a bare ``os.write + os.fsync`` loop.

The two are interleaved at the finest grain: each step of a round does one
``Journal.append`` and one bare write+fsync of a line of the same size (in
alternating order), timing each, so a burst of load from the other processes
on the machine or a slow disk moment hits both alike. Each round gives a ratio
(journal time / bare time); the median ratio over the rounds, with its
quartiles and spread, is the figure. Target (docs/ARCHITECTURE.md, Performance budgets):
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


def line_size(base: Path) -> int:
    """The size of the journal's line for PAYLOAD (measured, not guessed; the first line,
    with its empty ``prev``, is shorter than the rest)."""
    with Journal.create(base, "size", title="bench") as journal:
        journal.append("step.intent", PAYLOAD)
        first = (journal.dir / "journal.jsonl").stat().st_size
        journal.append("step.intent", PAYLOAD)
        return (journal.dir / "journal.jsonl").stat().st_size - first


def one_round(base: Path, count: int, size: int) -> dict[str, float]:
    """Wall and CPU seconds spent in ``count`` journal appends and ``count`` bare write+fsyncs,
    interleaved one by one."""
    line = b"x" * (size - 1) + b"\n"
    journal = Journal.create(base, None, title="bench")
    fd = os.open(base / "bare.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    spent = dict.fromkeys(("journal", "bare", "journal cpu", "bare cpu"), 0.0)
    try:
        for step in range(count):
            for kind in ("journal", "bare") if step % 2 else ("bare", "journal"):
                start, cpu = time.perf_counter(), time.process_time()
                if kind == "journal":
                    journal.append("step.intent", PAYLOAD)
                else:
                    os.write(fd, line)
                    os.fsync(fd)
                spent[kind] += time.perf_counter() - start
                spent[kind + " cpu"] += time.process_time() - cpu
    finally:
        os.close(fd)
        journal.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to write (default: here)")
    args = parser.parse_args()
    rounds: list[dict[str, float]] = []
    base = Path(tempfile.mkdtemp(prefix="mitigate-bench-", dir=args.dir))
    try:
        size = line_size(base)
        for round_no in range(1, args.rounds + 1):
            folder = base / f"round-{round_no}"
            folder.mkdir()
            spent = one_round(folder, args.appends, size)
            rounds.append(spent)
            print(f"round {round_no:2d}: journal {args.appends / spent['journal']:8.1f} appends/s   "
                  f"bare write+fsync {args.appends / spent['bare']:8.1f} lines/s   "
                  f"ratio {spent['journal'] / spent['bare']:.2f}x")
    finally:
        shutil.rmtree(base)
    journal_times = [spent["journal"] for spent in rounds]
    bare_times = [spent["bare"] for spent in rounds]
    ratios = sorted(j / b for j, b in zip(journal_times, bare_times, strict=True))
    ratio = statistics.median(ratios)
    low, _, high = statistics.quantiles(ratios, n=4)
    print(f"line size {size} bytes, {args.appends} appends x {args.rounds} rounds, interleaved one by one")
    print(f"Journal.append:        {args.appends / statistics.median(journal_times):8.1f} durable appends/s (median)")
    print(f"bare os.write+fsync:   {args.appends / statistics.median(bare_times):8.1f} lines/s (median)")
    extra_cpu = statistics.median(spent["journal cpu"] - spent["bare cpu"] for spent in rounds) / args.appends
    print(f"CPU the journal adds to a write+fsync: {extra_cpu * 1e6:.0f} us per append (median round)")
    print(f"ratio (journal time / bare time, same round): median {ratio:.3f}x, quartiles {low:.2f}-{high:.2f}x, "
          f"spread {ratios[0]:.2f}-{ratios[-1]:.2f}x  (target <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'})")


if __name__ == "__main__":
    main()
