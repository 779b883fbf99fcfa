"""How close a correct solution comes to each training/accuracy check's threshold.

Why it exists: a check that trains a model is a random experiment (the model's initial
draw, the minibatch order, the secret noise on the held-out test digits, the secret
questions of the numpy overfitting runs), and a correct solution must clear its threshold
in every grading, not on average.  This script repeats each such check's computation the
way the worker runs it (one CPU thread; the grader's own copies of the course's training
loops, torch_course.train and grader_tf.train; the checks modules' own data, targets and
configs) over many seeds, and prints min / 1st percentile / median per check against its
threshold.  The thresholds' Notes quote its output.

What varies, per seed s (N seeds):
- pytorch ThreeLayerConvNet/accuracy: the model's initial draw (torch seed s: correct
  implementations that register or draw their layers differently start elsewhere) and the
  test noise (held_out seed 1000 + s); the minibatch order is the check's (TRAINING['seed']).
- pytorch Sequential/accuracy: the notebook's initial draw (seed s, the observation's seed
  standing for one notebook's cells) and the noise; the check's tries (minibatch seeds
  0, 1, 2, the best counts, Note [Tries]) as the check runs them.  The first try's spread is
  printed too.
- tensorflow Sequential/trains: the model's initial draw (keras set_random_seed(s)) and the
  noise; the check's minibatch seed.
- fc_nets FullyConnectedNet.loss/overfit, cnn ThreeLayerConvNet/overfit: the secret (the
  data and initial parameters are drawn from it, Note [Fresh questions]); the judge's run
  with the reference's gradients, which a correct submission follows to rounding error.

Measured (2026-12-07, --seeds 30, a loaded shared 2-core machine; accuracy, threshold first):
    check (configuration)                                threshold  min    p1     median
    fc_nets FullyConnectedNet.loss/overfit (30 secrets)  0.900      1.000  1.000  1.000
    cnn ThreeLayerConvNet/overfit (30 secrets)           0.900      1.000  1.000  1.000
    pytorch ThreeLayerConvNet/accuracy (digits)          0.850      0.919  0.919  0.944
    pytorch Sequential/accuracy, Kaiming, 6 classes      0.700      0.819  0.848  0.958
      first try alone                                               0.602  0.665  0.958
    pytorch Sequential/accuracy, default init, 10 cl.    0.700      0.858  0.866  0.919
      first try alone                                               0.538  0.631  0.919
    tensorflow Sequential/trains, VarianceScaling, 6 cl. 0.850      0.958  0.962  0.981
    tensorflow Sequential/trains, Keras default, 10 cl.  0.850      0.944  0.945  0.955

Usage (nice: the machine is shared):
    PYTHONPATH=$PWD nice -n 19 .venv/bin/python benchmarks/training_tails.py --seeds 30
    ... --only tensorflow   (one family: numpy, pytorch_module, pytorch_sequential, tensorflow)
    ... --json out.json     (every accuracy, for a later table)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # as a script, before numpy starts its pools; not when a test imports it
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(_name, "1")  # the worker's pools under its 1-CPU quota
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from grader.checks import held_out  # noqa: E402
from grader.scoring import assignment as assignments  # noqa: E402


def checks_module(assignment_id: str, secret: str | None = None):
    """The assignment's checks module as grading loads it (under `secret`'s questions)."""
    from grader.checks.questions import Questions
    asked = Questions(secret, "run") if secret else Questions()
    assignments.load(assignment_id, asked=asked)
    name = f"grader_assignment_checks_{assignment_id}"
    if asked.secret is not None:
        name += f"_q{asked.fingerprint}"
    return sys.modules[name]


def summary(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"n": int(a.size), "min": float(a.min()), "p1": float(np.percentile(a, 1)),
            "median": float(np.median(a)), "max": float(a.max())}


# -- numpy: the judge's overfitting runs with the reference's gradients ----------------------

def numpy_overfits(seeds: int) -> dict:
    from grader.checks.trust import judge_sgd
    out = {"fc_nets FullyConnectedNet.loss/overfit": [], "cnn ThreeLayerConvNet/overfit": []}
    for s in range(seeds):
        secret = f"training-tails-secret-{s:04d}"
        fc = checks_module("fc_nets", secret)
        data, params = fc._overfit_problem()
        X, y = data["X_train"], data["y_train"]

        def fc_step(current, xb, yb, where):
            loss, grads = fc._reference_model("FullyConnectedNet", fc.OVERFIT_DIMS, 0.0, current).loss(xb, yb)
            return grads, float(loss)

        def fc_accuracy(current):
            scores = fc._reference_model("FullyConnectedNet", fc.OVERFIT_DIMS, 0.0, current).loss(X)
            return float(np.mean(np.argmax(scores, axis=1) == y))
        run = judge_sgd(fc_step, params, X, y, learning_rate=fc.OVERFIT_LEARNING_RATE, num_epochs=20,
                        batch_size=25, seed=0, accuracy=fc_accuracy)
        out["fc_nets FullyConnectedNet.loss/overfit"].append(run["accuracy"])

        cnn = checks_module("cnn", secret)
        spec, config = cnn.OVERFIT_SPEC, cnn.OVERFIT
        X, y = cnn.model_data(spec, 70, config["num_train"])

        def cnn_step(current, xb, yb, where):
            loss, grads = cnn.reference_net(spec, current, 0.0).loss(xb, yb)
            return grads, float(loss)

        def cnn_accuracy(current):
            return float(np.mean(np.argmax(cnn.reference_net(spec, current, 0.0).loss(X), axis=1) == y))
        run = judge_sgd(cnn_step, cnn.seeded_params(spec, 71, config["weight_scale"]), X, y,
                        learning_rate=config["learning_rate"], num_epochs=config["num_epochs"],
                        batch_size=config["batch_size"], seed=0, accuracy=cnn_accuracy)
        out["cnn ThreeLayerConvNet/overfit"].append(run["accuracy"])
    fc, cnn = checks_module("fc_nets"), checks_module("cnn")
    return {"fc_nets FullyConnectedNet.loss/overfit": (fc.OVERFIT_TARGET, out["fc_nets FullyConnectedNet.loss/overfit"]),
            "cnn ThreeLayerConvNet/overfit": (cnn.OVERFIT["target"], out["cnn ThreeLayerConvNet/overfit"])}


# -- pytorch ------------------------------------------------------------------------------

def _torch_seed(seed: int) -> None:
    import random

    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pytorch_module(seeds: int) -> dict:
    """ThreeLayerConvNet/accuracy on digits, as check_accuracy runs it."""
    import torch

    from grader.checks import training_data
    from reference.torch_nets import modules as ref_modules
    torch.set_num_threads(1)
    m = checks_module("pytorch")
    config, course = m.TRAINING, m._course_module()
    data = training_data.image_set("NCHW")
    x_train = training_data.fit_images(data.x_train, 32)
    accuracies = []
    for s in range(seeds):
        with held_out.fixed_seed(1000 + s):
            x_test = training_data.fit_images(held_out.perturbed(data.x_test), 32)
        _torch_seed(s)
        model = ref_modules.ThreeLayerConvNet(data.image_shape[0], config["channel_1"], config["channel_2"],
                                              data.num_classes, image_size=(32, 32))
        course.train(model, x_train, data.y_train, epochs=config["epochs"], batch_size=config["batch_size"],
                     learning_rate=config["learning_rate"], momentum=config["momentum"], seed=config["seed"])
        scores = course.scores(model, x_test)
        accuracies.append(float(np.mean(np.argmax(scores, axis=1) == data.y_test)))
    return {"pytorch ThreeLayerConvNet/accuracy (digits)": (config["target"], accuracies)}


def _sequential(init: str, classes: int):
    import torch.nn as nn

    from reference.torch_nets import modules as ref_modules
    if init == "kaiming":  # the notebook's random_weight / kaiming_normal_, zero biases
        return ref_modules.three_layer_convnet_sequential(3, 32, 16, classes, image_size=(32, 32))
    # cs231n 2021 and later: PyTorch's default initialisation (convention sequential_init: default)
    return nn.Sequential(nn.Conv2d(3, 32, 5, padding=2), nn.ReLU(), nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(16 * 32 * 32, classes))


def pytorch_sequential(seeds: int) -> dict:
    """Sequential/accuracy, as check_sequential_accuracy runs it (tries included)."""
    import copy

    import torch
    torch.set_num_threads(1)
    m = checks_module("pytorch")
    config, course = m.SEQUENTIAL_TRAINING, m._course_module()
    out = {}
    for init, classes in (("kaiming", 6), ("default", 10)):
        first, verdict, tries = [], [], []
        for s in range(seeds):
            _torch_seed(s)
            observed = _sequential(init, classes)
            with held_out.fixed_seed(1000 + s):
                x_train, y_train, x_test, y_test = m.sequential_digits(3, classes, 32)
            best = None
            for attempt in range(m.SEQUENTIAL_TRIES):
                seed = config["seed"] + attempt
                _torch_seed(seed)
                model = copy.deepcopy(observed)
                course.train(model, x_train, y_train, epochs=config["epochs"], batch_size=config["batch_size"],
                             learning_rate=config["learning_rate"], momentum=config["momentum"], seed=seed)
                accuracy = float(np.mean(np.argmax(course.scores(model, x_test), axis=1) == y_test))
                if attempt == 0:
                    first.append(accuracy)
                best = accuracy if best is None else max(best, accuracy)
                if accuracy >= config["target"]:
                    break
            verdict.append(best)
            tries.append(attempt + 1)
        name = f"pytorch Sequential/accuracy ({init} init, {classes} classes)"
        out[name + " first try"] = (config["target"], first)
        out[name + " verdict"] = (config["target"], verdict)
        print(f"  {name}: tries used {sorted(tries)}", flush=True)
    return out


# -- tensorflow -----------------------------------------------------------------------------

def _tf_model_init_fn(classes: int, init: str):
    """The course solution's Part IV model_init_fn (tests/assignments/course_notebooks.py)."""
    import tensorflow as tf

    def model_init_fn():
        initializer = (tf.initializers.VarianceScaling(scale=2.0) if init == "variance_scaling"
                       else "glorot_uniform")
        return tf.keras.Sequential([
            tf.keras.Input((32, 32, 3)),
            tf.keras.layers.Conv2D(32, 5, padding="same", activation="relu", kernel_initializer=initializer),
            tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu", kernel_initializer=initializer),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(classes, activation="softmax", kernel_initializer=initializer),
        ])
    return model_init_fn


TF_CONFIGS = (("variance_scaling", 6), ("keras_default", 10))


def tensorflow(seeds: int, configs=TF_CONFIGS) -> dict:
    """Sequential/trains, as check_sequential_trains runs it."""
    import importlib.util

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    m = checks_module("tensorflow")
    spec = importlib.util.spec_from_file_location("grader_tf_course", ROOT / "assignments" / "tensorflow"
                                                  / "course" / "grader_tf.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    out = {}
    for init, classes in configs:
        accuracies = []
        for s in range(seeds):
            with held_out.fixed_seed(1000 + s):
                x_train, y_train, x_test, y_test = m.digits(classes)
            model = course.build(_tf_model_init_fn(classes, init), s)
            course.train(model, x_train, y_train, steps=m.TRAIN_STEPS, seed=0)
            probabilities = model(tf.constant(x_test), training=False).numpy()
            accuracies.append(float(np.mean(np.argmax(probabilities, axis=1) == y_test)))
            print(f"    {init} {classes} seed {s}: {accuracies[-1]:.4f}", flush=True)
        out[f"tensorflow Sequential/trains ({init} init, {classes} classes)"] = (m.MIN_ACCURACY, accuracies)
    return out


FAMILIES = {"numpy": numpy_overfits, "pytorch_module": pytorch_module,
            "pytorch_sequential": pytorch_sequential, "tensorflow": tensorflow}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--only", action="append", choices=sorted(FAMILIES))
    parser.add_argument("--tf-init", choices=[init for init, _ in TF_CONFIGS],
                        help="tensorflow: only this initialisation's configuration (run two at once)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {}
    for family in args.only or list(FAMILIES):
        start = time.process_time()
        if family == "tensorflow" and args.tf_init:
            found = tensorflow(args.seeds, [c for c in TF_CONFIGS if c[0] == args.tf_init])
        else:
            found = FAMILIES[family](args.seeds)
        print(f"{family}: {time.process_time() - start:.0f} s CPU", flush=True)
        for name, (threshold, values) in found.items():
            rows[name] = {"threshold": threshold, **summary(values), "values": values}
            r = rows[name]
            print(f"  {name}: threshold {threshold:.3f}  min {r['min']:.3f}  p1 {r['p1']:.3f}  "
                  f"median {r['median']:.3f}  max {r['max']:.3f}  N {r['n']}  "
                  f"margin(min) {r['min'] - threshold:+.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
