"""Training the judge drives: the student's model answers loss and gradients, the judge keeps
the parameters, applies the updates and scores the result with the reference.

# Note [Judge holds the state]
A check never scores what student code reports about itself: its own
parameters, its own accuracy, its own labels, its own idea of train/test mode
(ARCHITECTURE.md, "The judge holds the state it scores").  A `params` property
can hand back weights built from the training examples, a `check_accuracy` can
return 1.0, a loss can return the constant log C with zero gradients.  So:

* Overfitting checks (fc_nets FullyConnectedNet, cnn ThreeLayerConvNet) run
  the training loop here (`judge_sgd`): the judge draws the minibatches,
  installs the parameters it holds (`model.params[name] = ...`, as the Solver
  assigns them), asks `model.loss(X_batch, y_batch)`, checks that loss and
  gradients against the reference at those very parameters (`verify_step`),
  applies the update rule itself (plain SGD, the course's `sgd`) and scores the
  final parameters with the REFERENCE network's scores.  The student's
  gradients still move the parameters, so the check still teaches "your
  loss/gradients overfit a small set"; a gradient that is not the gradient of
  the loss (relative error above GRAD_RTOL, 1e-3, where a correct float64
  backward pass is at 1e-10) stops training with a message naming the step and
  the parameter, since a forged gradient could otherwise steer the judge's
  parameters towards memorised weights.
* Those parameters reach the worker as a mirror (Note [Training mirrored in the
  worker] in grader/worker/runtime.py): the judge sends its starting parameters,
  the data and the minibatches once, and the worker applies to its copy the
  update the judge applies, from the same gradients, instead of receiving the
  whole network again before every step.  This moves no trust: the judge still
  holds its own parameters and updates them itself, from gradients it verified,
  and every step's loss and gradients are still checked against the reference
  at the JUDGE's parameters, on the JUDGE's minibatch, so a worker whose mirror
  drifted, or that never installed it, answers for other parameters and fails
  `verify_step` exactly as a model that ignored installed parameters always
  did; the worker's parameters, accuracy and state are never read, let alone
  scored.  What the mirror decides is only which parameters an honest worker
  computes at, and there it is the judge's to the bit (the same arithmetic on
  the same gradients, tests/grader/worker/test_client.py).
* Initial-loss checks compare the loss with the reference's loss at parameters
  the judge installs, and require the gradients there too, so a constant log C
  with zero gradients fails.

Audit of every check family (assignments/*/checks.py), what it trusts:

numpy assignments (judge sets inputs, compares outputs with the reference):
- layer forward/backward builders (fc_nets, batchnorm, dropout, cnn layers,
  spatial batchnorm, groupnorm): judge inputs, reference outputs; nothing
  the student reports about itself is scored.  Safe.
- update rules (fc_nets sgd_momentum/rmsprop/adam): next_w and config compared
  with the reference on judge inputs; `steps` hands the student's own config
  back between calls, but every next_w is compared with the reference's
  trajectory.  Safe.
- model scores/loss/grads (fc_nets TwoLayerNet/FullyConnectedNet, batchnorm
  nets, dropout no_dropout_matches_reference, cnn ThreeLayerConvNet): the
  judge installs seeded parameters and compares with the reference holding
  the same.  Safe.
- initialisation statistics (`params`/`weight_scale` checks in fc_nets, cnn,
  batchnorm's `*_params`): read the student's `model.params` after __init__;
  the draws are what they judge, and the loss checks never rely on that
  dict.  Safe: a forged dict can only win the initialisation points.
- fc_nets `initial_loss`, `initial_loss_near_log_C`, cnn `initial_loss`:
  trusted the loss alone (a constant log C with zero gradients passed the
  last two).  FIXED: loss and gradients against the reference at the
  parameters the judge installs (fc_nets `initial_loss` and cnn: the
  student's own draws, set again; `initial_loss_near_log_C`: small weights
  the judge draws, so that a release can still replay it).
- fc_nets `overfit`: scored `model.params` after the Solver ran in the
  worker.  cnn `overfit`: scored the worker's `Solver.check_accuracy`.
  FIXED: `judge_sgd` with `verify_step`, scored by the reference network.
- dropout `dropout_gradients(_hidden)`: numerical derivatives of the
  student's own loss (the masks are the student's), so a constant loss with
  zero gradients agreed with itself.  FIXED: Note [The loss is a softmax
  loss] in assignments/dropout/checks.py pins the loss to the last bias
  gradient (exact for one example; an N=1 case added to the hidden list).
- dropout `train_dropout_applied`: reads the train-time hidden outputs back
  from the gradients for one example, then requires the loss to be the
  softmax loss of the judge's parameters applied to them.  Safe: consistent
  forged values are a working dropout forward pass.
- dropout `test_time_no_dropout`, `dropout_with_normalization`, batchnorm
  `*_test_scores`: the judge runs the same training passes on the reference
  and compares test-time scores; the student's notion of mode is never asked
  (mode is in the judge's inputs for the layer checks).  Safe.
- dropout layer statistics (fraction kept, mean preserved, seed): measured
  by the judge on outputs of judge inputs.  Safe.

framework assignments (NOT edited here: branch h14b reworks their labels and
accuracy; issue 14, "Labels never reach the worker"):
- pytorch `ThreeLayerConvNet/accuracy`, `Sequential/accuracy`: the judge
  computes accuracy from the model's test scores, but on digits the worker
  can import (labels readable in the sandbox); the history (losses, seconds,
  device) is worker-reported and shown only.  LEFT to h14b.
- tensorflow `Sequential/trains`, tf_norms training rows: accuracy from
  test-mode probabilities computed in the judge, same digits cause.  LEFT to
  h14b.  tf_norms `evaluate/test_mode` grades `evaluate` itself, with
  labels the judge derives from the model's test-mode scores.  Safe.
- pruning `*/accuracy`: the pruned weights are the student's output (what is
  graded), loaded into the reference's digits network in the judge and scored
  on the judge's split; sparsity/smallest/permanent are measured by the judge
  on the state read back.  Safe as to reported state; the digits cause is
  h14b's.
- shape/scores/probabilities/init checks (pytorch, tensorflow, tf_norms
  layers): judge inputs or weights the judge sets, compared with the
  reference.  Safe.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .compare import record_note, summarize
from .spec import CheckFailure

GRAD_RTOL = 1e-3
LOSS_RTOL = 1e-6


def _number(value, what: str) -> float:
    value = getattr(value, "value", value)
    array = np.asarray(value) if isinstance(value, (int, float, np.ndarray, np.number)) else None
    if array is None or array.size != 1 or array.dtype.kind not in "biuf":
        raise CheckFailure(f"{what} is {summarize(value)}, expected a number")
    return float(array.reshape(()))


# Note [A loss a little below the reference's]
# Two real hand-ins (cs231n 2017 and 2021) compute the softmax loss as -log(p + 1e-7), a
# guard against log(0).  Their gradients are the true ones, and the overfitting checks start
# from larger weights, where the correct class's probability p is small, so the loss comes
# out mean(log(1 + 1e-7 / p)) below the reference's: 2.8e-5 on a loss of 4.23 in fc_nets,
# 0.4 on 9.5 in cnn's, past LOSS_RTOL, and the whole overfitting check was lost to it.
# The course's own loss tests (abs(loss - correct_loss) < 1e-10) do fail such a loss, and so
# do the grader's loss checks, which judge the loss.  But what the overfitting check asks is
# training: that the gradients are those of the parameters the judge installed (Note [Judge
# holds the state]), which gradients matching the reference at GRAD_RTOL show, and that they
# overfit the small set, as the notebook's cell asks.  So in training, a loss below the
# reference's by no more than a guard eps <= GUARD_EPS inside the log can lower it, mean(log(1
# + GUARD_EPS / p)) over the minibatch at the reference's own probabilities (`guard_gap`, a
# clip of p at GUARD_EPS lowers it less), whose gradients all match, is accepted with a note
# naming the guard.  A lower loss with wrong gradients, a higher one, or one further below
# still fails the step with the numbers.  Nothing is scored from the student's loss: the
# losses kept are the reference's, and the accuracy is the reference network's.
GUARD_EPS = 1e-5


def guard_gap(scores: np.ndarray, y: np.ndarray) -> float:
    """The most a guard eps <= GUARD_EPS inside the log, -log(p + eps), lowers the mean softmax
    loss of `scores` against labels `y` (Note [A loss a little below the reference's])."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted[np.arange(len(y)), y] - np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(np.logaddexp(0.0, np.log(GUARD_EPS) - log_p)))


LOG_GUARD = ("your loss is a little below the reference's while your gradients match it: a "
             "small constant added inside the log, -log(p + 1e-7) as a guard against log(0), "
             "lowers the loss wherever the correct class's probability p is small; accepted "
             "in training (the loss checks judge the loss itself), but -log(p) itself, or the "
             "log-softmax (scores minus their max, minus log(sum(exp(...)))), never takes "
             "log(0)")


def _gradient_error(grads, name: str, reference: np.ndarray, where: str) -> tuple:
    """(the student's grads[name] as float64 in the reference's shape, its relative error)."""
    if name not in grads:
        raise CheckFailure(f"{where}: grads has no entry for {name!r}")
    grad = getattr(grads[name], "value", grads[name])
    if not isinstance(grad, np.ndarray) or grad.dtype.kind not in "biuf" \
            or grad.size != reference.size:
        raise CheckFailure(f"{where}: grads[{name!r}] is {summarize(grad)}, expected "
                           f"{reference.size} numbers shaped {reference.shape}")
    grad = grad.astype(np.float64).reshape(reference.shape)
    scale = max(float(np.linalg.norm(reference)), 1e-8)
    return grad, float(np.linalg.norm(grad - reference)) / scale


def _log_guard(value: float, expected_loss: float, grads, expected_grads: dict,
               gap: Callable[[], float] | None) -> bool:
    """Whether Note [A loss a little below the reference's] applies; `gap`: guard_gap of the
    step's reference scores, or None where the note does not apply (a loss that is not a
    softmax's)."""
    below = expected_loss - value
    if gap is None or not below > 0 or not isinstance(grads, dict):
        return False
    try:
        errors = [_gradient_error(grads, name, reference, "")[1]
                  for name, reference in expected_grads.items()]
    except CheckFailure:
        return False
    if not all(np.isfinite(e) and e <= GRAD_RTOL for e in errors):
        return False
    return below <= gap() + LOSS_RTOL * max(1.0, abs(expected_loss))


def verify_step(loss, grads, expected_loss: float, expected_grads: dict, where: str,
                guard: Callable[[], float] | None = None) -> dict:
    """The student's (loss, grads) at judge-set parameters, checked against the reference's;
    the gradients as float64 arrays in the reference's shapes.  Note [Judge holds the state].
    `guard`: the step's guard_gap, asked only for a loss below the reference's (Note [A loss a
    little below the reference's])."""
    value = _number(loss, f"{where}: the loss")
    allowed = LOSS_RTOL * max(1.0, abs(expected_loss))
    if not np.isfinite(value) or abs(value - expected_loss) > allowed:
        if not (np.isfinite(value)
                and _log_guard(value, expected_loss, grads, expected_grads, guard)):
            raise CheckFailure(f"{where}: your loss is {value:.10g}, the reference's at the "
                               f"same parameters and minibatch is {expected_loss:.10g}")
        record_note(LOG_GUARD)  # once per check: Note [A loss a little below the reference's]
    if not isinstance(grads, dict):
        raise CheckFailure(f"{where}: grads is {summarize(grads)}, expected a dict keyed like "
                           f"params")
    plain = {}
    for name, reference in expected_grads.items():
        grad, error = _gradient_error(grads, name, reference, where)
        if not np.isfinite(error) or error > GRAD_RTOL:
            raise CheckFailure(f"{where}: grads[{name!r}] is not the gradient of the loss at the "
                               f"parameters the grader set (relative error {error:.2e}, allowed "
                               f"{GRAD_RTOL:g}); training needs the true gradient")
        plain[name] = grad
    return plain


def judge_sgd(step: Callable[[dict, np.ndarray, np.ndarray, str], dict], params: dict,
              X: np.ndarray, y: np.ndarray, *, learning_rate: float, num_epochs: int,
              batch_size: int, seed: int, accuracy: Callable[[dict], float],
              begin: Callable[[dict, list], None] | None = None) -> dict:
    """Minibatch SGD held by the judge, as the course's Solver runs it: batches drawn with
    replacement, one update w -= learning_rate * dw per parameter, the parameters with the
    best training accuracy (by `accuracy`, the reference's) kept.  `step(params, X_batch,
    y_batch, where)` returns verified gradients (see `verify_step`).  `begin(params,
    batches)`, called once before the first step with the starting parameters and every
    batch's indices (drawn first, the same draws in the same order), lets a check send the
    training to the worker at once (Note [Training mirrored in the worker] in
    grader/worker/runtime.py).  Returns {"params", "accuracy", "losses"}."""
    rng = np.random.default_rng(seed)
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    per_epoch = max(len(X) // batch_size, 1)
    batches = [rng.choice(len(X), batch_size) for _ in range(num_epochs * per_epoch)]
    if begin is not None:
        begin(params, batches)
    best, best_accuracy, losses = dict(params), accuracy(params), []
    for epoch in range(num_epochs):
        for i in range(per_epoch):
            batch = batches[epoch * per_epoch + i]
            where = f"epoch {epoch + 1}, update {i + 1}"
            grads, loss = step(params, X[batch], y[batch], where)
            losses.append(loss)
            params = {name: value - learning_rate * grads[name] for name, value in params.items()}
        current = accuracy(params)
        if current > best_accuracy:
            best, best_accuracy = dict(params), current
    return {"params": best, "accuracy": best_accuracy, "losses": losses}
