"""benchmarks/grade_check_phases.py: one `grade check` of a solution, its phases timed in order."""

import re
from pathlib import Path

import grade_check_phases

ROOT = Path(__file__).resolve().parents[2]


def test_the_phases_of_one_check_come_in_order_with_the_waits(capsys, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the child measures this tree's grader
    assert grade_check_phases.main(["-a", "dropout"]) == 0
    printed = capsys.readouterr().out
    labels = [line.split(")  ", 1)[1] for line in printed.splitlines() if " ms (+" in line]
    assert labels[0] == "Python started" and labels[-1] == "exit"
    for phase in ("worker launched (launch.start) <", "numpy imported", "pytest imported",
                  "pytest session collected <", "handshake (wait_started) <",
                  "checks run (plugin.run) <", "NumPy note <", "JSON written <"):
        assert phase in labels, printed
    assert labels.index("pytest session collected <") < labels.index("checks run (plugin.run) >")
    times = [float(line.split()[0]) for line in printed.splitlines() if " ms (+" in line]
    assert times == sorted(times)
    waits = re.search(r"select for the worker: ([\d.]+) ms in (\d+) selects; reference answers "
                      r"computed: (\d+)", printed)
    assert waits and int(waits.group(2)) > 0 and int(waits.group(3)) > 0, printed
