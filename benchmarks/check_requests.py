"""Requests, payload bytes and worker seconds per check of one `grade check`, in process.

Why it exists: a check's wall time mixes the judge's arithmetic, the pipe and the
worker's own compute; deciding what to change (fewer requests, smaller payloads, or
less judge-side reference work) needs them apart.  This runs `grade check` in this
process (as the CLI does) with grader.worker.client.Worker wrapped to count, per check:
requests sent, bytes written and read, and the seconds the worker reported for its
calls.  Nothing in the grader is changed; the wrappers only count.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/check_requests.py SUBMISSION -a ID
           [--top 15] [grade check options...]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time

from grader import cli
from grader.checks import registry_tests
from grader.worker import client

current = ["(outside checks)"]
counts: dict = collections.defaultdict(lambda: collections.Counter())


def _wrap() -> None:
    send, receive, write = client.Worker._send, client.Worker._receive, client.Worker._write_all
    read = client.Worker._read_exact
    result = client.Worker._call_result
    test = registry_tests.test_check

    def _send(self, op, timeout, fields):
        counts[current[0]]["requests"] += 1
        return send(self, op, timeout, fields)

    def _write_all(self, parts, deadline, limit):  # a frame as a list of parts (Note [Frames in parts])
        counts[current[0]]["bytes_out"] += sum(len(part) for part in parts)
        return write(self, parts, deadline, limit)

    def _read_exact(self, n, deadline, limit):
        counts[current[0]]["bytes_in"] += n
        return read(self, n, deadline, limit)

    def _call_result(self, reply, *args, **kwargs):
        counts[current[0]]["worker_ms"] += 1000 * float(reply.get("seconds", 0.0))
        counts[current[0]]["calls"] += 1
        return result(self, reply, *args, **kwargs)

    def test_check(check):
        current[0] = check.id
        started = time.perf_counter()
        try:
            return test(check)
        finally:
            counts[check.id]["wall_ms"] += 1000 * (time.perf_counter() - started)
            current[0] = "(outside checks)"

    client.Worker._send, client.Worker._receive = _send, receive
    client.Worker._write_all, client.Worker._read_exact = _write_all, _read_exact
    client.Worker._call_result = _call_result
    registry_tests.test_check = test_check


def main() -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--top", type=int, default=15)
    options, rest = parser.parse_known_args()
    _wrap()
    code = cli.main(["check", *rest, "--no-html"])
    total = collections.Counter()
    for row in counts.values():
        total.update(row)
    print(f"total: {dict((k, round(v, 1)) for k, v in total.items())}", file=sys.stderr)
    rows = sorted(counts.items(), key=lambda item: -item[1]["wall_ms"])[:options.top]
    print(f"{'check':45} {'wall_ms':>8} {'requests':>8} {'calls':>6} {'worker_ms':>9} "
          f"{'kB_out':>8} {'kB_in':>8}", file=sys.stderr)
    for name, row in rows:
        print(f"{name:45} {row['wall_ms']:8.1f} {row['requests']:8d} {row['calls']:6d} "
              f"{row['worker_ms']:9.1f} {row['bytes_out'] / 1e3:8.1f} {row['bytes_in'] / 1e3:8.1f}",
              file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
