"""The reference's answers to a check's fixed questions, computed once per process and kept.

Why it exists: a check's samples are a pure function of (assignment, secret) (Note [Fresh
questions] in grader/checks/questions.py), so the reference's outputs on them are the same
for every submission a process grades.  They were computed again for each submission
(cProfile of a correct fc_nets package: `_reference_answers` 27 calls, 28 ms of about 190 ms
of checks; the builders' reference calls besides).  `Answers` computes each answer the
first time a check asks for it and hands back the same numbers after that; `Check.prepare`
(grader/checks/spec.py) computes all of a check's answers at once, which the batch's job
template does before it forks the jobs (Note [Answers before the fork] in grader/batch/job.py),
so that no job computes them at all.

# Note [Answers kept per process]
What is kept is computed in the judge, by the trusted reference, from the judge's own
inputs (the samples of the checks module, the conventions of the assignment): a key names a
question (a sample's position in a check, a model case), never anything a worker sent.  No
student value flows into a kept answer, so no submission can change what the next one is
judged against; and a hostile submission has no way to reach the judge's memory at all
(ARCHITECTURE.md, the one rule); in a batch each job is a fork of the template that
computed them (Note [Answers before the fork]), so not even a job's own judge could change
the answers another job reads.  What remains to guard against is the judge's own code
writing into an answer it was handed (an in-place `+=` in a signature, say), which would
silently change every later verdict of the process: so every array kept is made read-only
(such a write raises, and the tests run every check against the reference), and each
`get` hands back fresh containers (tuples, lists and dicts are rebuilt around the same
read-only arrays), so that a check that adds to a dict it was given changes its own copy.
The answers are deterministic functions of the question (the references draw nothing from
an unseeded generator; the ones that draw, dropout's masks, are not kept here), so an
answer computed once is the answer computed again, to the bit: the verdicts and messages
are those of computing it each time.  In a student release the reference is a tape
(Note [Tape] in grader/course/replay.py): each recording and each replay loads a checks
module of its own, so every check still asks its own questions during its own run, the
first time it runs, and the tape, keyed by question rather than by order, answers them
wherever in the run they come.  Memory: the answers of a checks module are the size
of its samples (a few hundred KB for the numpy assignments), kept for the life of the
process, like the samples themselves.
"""

from __future__ import annotations

from typing import Callable, Hashable, Iterable

import numpy as np


def freeze(value):
    """`value` with every ndarray in it (in tuples, lists, dicts) read-only, in place; the
    arrays of a kept answer (Note [Answers kept per process])."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for item in value:
            freeze(item)
    elif isinstance(value, dict):
        for item in value.values():
            freeze(item)
    return value


def fresh(value):
    """`value` with its tuples, lists and dicts rebuilt around the same arrays (Note
    [Answers kept per process])."""
    kind = type(value)  # the containers the references return, exactly (not subclasses)
    if kind is tuple:
        return tuple([fresh(item) for item in value])
    if kind is list:
        return [fresh(item) for item in value]
    if kind is dict:
        return {key: fresh(item) for key, item in value.items()}
    return value


class Answers:
    """`compute(key)` for each key, computed on the first `get` and kept (Note [Answers kept per
    process]); `keys`: every key a check will ask, for `prepare`."""

    def __init__(self, compute: Callable[[Hashable], object],
                 keys: Iterable[Hashable] = ()) -> None:
        self.compute = compute
        self.keys = tuple(keys)
        self.kept: dict = {}

    def get(self, key: Hashable):
        if key not in self.kept:
            self.kept[key] = freeze(self.compute(key))
        return fresh(self.kept[key])

    def prepare(self) -> None:
        """Compute every key's answer now (a process that forks graders: Note [Answers before
        the fork] in grader/batch/job.py)."""
        for key in self.keys:
            self.get(key)
