"""Where every sample's seed comes from: fixed public questions, or fresh ones from a secret.

Why it exists: a student release records the reference's answers to the public
checks, and its `checks.py` names the seeds the samples are drawn with.  Were
official grading to ask the same questions, a submission made of lookup tables
of those answers would earn every public check's points.  This module is the one
place that turns a check's own seed (`affine_samples(seed=0)`, a backward
check's upstream gradient) into the seed actually used, so official grading can
ask questions no release has the answers to.

# Note [Fresh questions]
A checks module reads `current()` once, while it is imported
(grader/scoring/assignment.py imports it inside `asking(secret)`), and draws every
sample with `QUESTIONS.rng(local_seed)`; the builders do the same for the
upstream gradients of backward checks.  With no secret (`PUBLIC`) a local seed
is used as it is, so releases, the public checks a student runs and the tests
see exactly the samples they always did.  With a secret the seed is a keyed
hash (BLAKE2b, 32 bits so numpy's legacy `seed`, `RandomState` and torch accept
it) of the secret and the local seed: every draw is new, and the samples stay
a pure function of (assignment, secret), so a regrade with the same secret asks
the same questions and reference answers can be computed (and cached) once per
secret.

What stays fixed, whatever the secret: the sizes and shapes of every sample,
its name, and its designed properties (N=1, odd sizes, windows that tile the
input, logits around 1000, entries kept away from ReLU's kink, a correct class
1000 below its row: these are built from the drawn numbers, not chosen by
them); dropout keep probabilities and the `dropout_param['seed']` a sample
hands the student (a seed is an argument of the question, not its answer);
the values the course publishes (a notebook's `np.random.seed(231)` cells),
which keep the course's seed because their numbers are the course's.  Those
published comparisons never stand alone: each such check also asks the
student's code at inputs drawn from the secret, so a table of the published
answers earns nothing (fc_nets `_course_initial_losses` and the update rules'
published vectors, cnn `conv_forward_naive/published`, TwoLayerNet's linspace
case, each asked in one check with drawn samples).  Draws that only shape a
failure message (which entries an element-wise report lists, the direction of
the "consistent with your own forward?" note) stay fixed; a directional
derivative that decides a verdict (dropout's network gradients) is drawn.
Training seeds (the minibatch order of an overfitting run the judge drives,
torch/TensorFlow training) stay fixed: the judge holds that state and scores it
with the reference (Note [Judge holds the state] in grader/checks/trust.py),
and accuracy checks already draw their test-image noise per process (Note
[Held-out test images] in grader/checks/held_out.py).

Every check is right for any secret, and the tests show it: `grade selftest
--secret TEXT` (or `--secret random`) grades the solution, the starter and
every planted bug with a secret's questions (the numpy assignments pass under
three secrets, pytorch, tensorflow and tf_norms under two, pruning under one;
tests/grader/checks/test_questions.py holds the hostile lookup submission).

Where the secret comes from (grader/cli.py): `grade release` and `grade check`
on a release use `PUBLIC` (the release's recorded answers are feedback only).
The full grader (`grade check -a`, `grade batch`, `grade gradescope`) always
asks fresh questions: the course file's `secret:` when there is one; else
`grade batch` makes one for its output folder (`questions.secret`, kept beside
the gradebook so that resuming or regrading the folder asks the same
questions), and `grade check -a` draws one for the run.  A secret is never
written into a result, a report or a release; a result's `environment.questions`
says only which kind was used and a short fingerprint (8 hex digits of a
separate keyed hash) that tells two secrets apart without revealing either.
Batch job processes get the secret in their JobSpec (grader/batch/job.py; on Dask,
in the task's arguments, so the cluster is the instructor's to trust), and the
job template they are forked from on its stdin, to load the template's checks
with the batch's questions (Note [Warm job processes] in grader/batch/run.py,
Note [Job templates on Dask] in grader/batch/template.py): a process of the
judge's uid, which a sandboxed worker (another uid, its own PID namespace)
cannot inspect.
Why one secret per course (or batch) and not per submission: the reference's
answers then depend only on (assignment, secret), so they can be computed once
per batch and cached, and every submission of a class is judged on the same
questions.  The cost: the questions never leave the judge, but a submission
that copies the inputs it is sent into an exception message shows them in its
own report, and a classmate's correct answers to those very inputs would
match; that is sharing work, which the similarity report looks for, not
replaying a release.
Why a file beside the gradebook rather than a secret in each result: results and
reports go to students, and a secret written there would let the next term's
students replay this term's questions; the output folder is the instructor's.
Why `grade check -a` without a course file draws rather than asking the public
questions: the instructor's check of one submission must give the official
verdict, and the public questions' answers are in every release.  Where the
worker runs without bubblewrap (rlimits only) it can read the judge's files,
the secret among them, as it can read `reference/`: the guarantee needs the
sandbox (Note [Sandbox] in grader/worker/sandbox.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass, field

SEED_BITS = 32
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class Questions:
    """The questions one checks module asks: public (secret None) or drawn from a secret."""
    secret: str | None = field(default=None, repr=False)
    source: str = "public"  # public, course, batch, run: where the secret came from

    def seed(self, local: int) -> int:
        """The seed to use for a check's own seed `local`; Note [Fresh questions]."""
        local = int(local)
        if self.secret is None:
            return local
        digest = hashlib.blake2b(str(local).encode(), key=_key(self.secret),
                                 person=b"dl-grader-seed", digest_size=SEED_BITS // 8).digest()
        return int.from_bytes(digest, "little")

    def rng(self, local: int) -> "np.random.Generator":
        import numpy as np  # here: Note [Worker before numpy] in grader/worker/launch.py
        return np.random.default_rng(self.seed(local))

    @property
    def fingerprint(self) -> str:
        """8 hex digits naming the secret without revealing it ('' for public questions)."""
        return fingerprint(self.secret) if self.secret is not None else ""

    def describe(self) -> str:
        """What a result's environment records: the kind and a fingerprint, never the secret."""
        return "public" if self.secret is None else f"{self.source} {self.fingerprint}"


PUBLIC = Questions()
_current = PUBLIC


def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def fingerprint(secret: str) -> str:
    return hashlib.blake2b(b"", key=_key(secret), person=b"dl-grader-name",
                           digest_size=4).hexdigest()


def current() -> Questions:
    """The questions a checks module being imported asks; Note [Fresh questions]."""
    return _current


@contextlib.contextmanager
def asking(questions: Questions):
    """Import checks modules inside this so that they draw their samples from `questions`."""
    global _current
    previous, _current = _current, questions
    try:
        yield questions
    finally:
        _current = previous


def new_secret() -> str:
    """A fresh secret from the operating system's randomness (128 bits, hex)."""
    return secrets.token_hex(16)


def valid_secret(value, where: str = "secret") -> str:
    """`value` as a secret; ValueError of one line when it is too short to be one."""
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
        raise ValueError(f"{where} must be a string of at least {MIN_SECRET_LENGTH} characters "
                         f"(make one with: python -c 'import secrets; print(secrets.token_hex(16))')")
    return value.strip()
