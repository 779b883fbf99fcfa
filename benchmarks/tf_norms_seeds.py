"""How far a correct tf_norms solution's training accuracy spreads over seeds (Note [Seeded
training runs] in assignments/tf_norms/checks.py), measured, never asserted in a test.

For each normalization option and each seed: seed the generators as the worker does
(course/grader_tape.py `seed_generators`), build the model, train it with the reference's
loop (`train_model`: the checks' steps, batch size and step size, minibatch order from the
same seed), and score it in test mode on the digits' test images perturbed as the checks do
(grader/checks/held_out.py, noise drawn from the seed).  TensorFlow runs on one thread, as a
worker does under its 1-CPU quota.  Prints each option's minimum, 1st percentile and median
against the check's threshold.

    .venv/bin/python benchmarks/tf_norms_seeds.py [--model lab|reference] [--seeds 40]

`lab` is the lab-style test solution (tests/assignments/tf_norms_lab/lab_script.py: its
definitions, not its module-level training); `reference` is reference/tf_nets/cnn.py's
NormalizedCNN.  About 3 s a run on this machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAB_OPTIONS = {"none": "none", "batch": "batch_norm", "layer": "layer_norm", "weight": "weight_norm"}


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _lab_model_class():
    """The lab-style solution's classes, without its module-level data loading and training."""
    import tensorflow as tf
    text = (ROOT / "tests" / "assignments" / "tf_norms_lab" / "lab_script.py").read_text()
    namespace = {"tf": tf, "np": np}
    exec(compile(text[text.index("def batch_norm"):text.index("optimizer = ")], "lab_script.py", "exec"),
         namespace)
    return lambda option, seed: namespace["CNN"](norm_type=LAB_OPTIONS[option])


def _reference_model_class():
    from reference.tf_nets import cnn
    return lambda option, seed: cnn.NormalizedCNN(input_shape=(8, 8, 1), num_classes=10,
                                                  normalization=None if option == "none" else option,
                                                  seed=seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("lab", "reference"), default="lab")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--options", default="none,batch,layer,weight")
    args = parser.parse_args()

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tape = _module(ROOT / "assignments" / "tf_norms" / "course" / "grader_tape.py", "grader_tape")
    checks_thresholds = _module(ROOT / "assignments" / "tf_norms" / "checks.py", "tf_norms_checks")
    from grader.checks import held_out
    from reference.datasets import load_digits_dataset

    data = load_digits_dataset(layout="NHWC")
    build = _lab_model_class() if args.model == "lab" else _reference_model_class()
    kwargs = dict(checks_thresholds.TRAIN_KWARGS)
    print(f"{args.model} model, {args.seeds} seeds, {kwargs['steps']} steps of {kwargs['batch_size']}, "
          f"step size {kwargs['learning_rate']}, TensorFlow {tf.__version__}, 1 thread")
    print(f"{'option':8} {'threshold':>9} {'min':>6} {'p1':>6} {'median':>6} {'below':>5}")
    for option in args.options.split(","):
        accuracies = []
        for seed in range(args.seeds):
            tape.seed_generators(seed)
            model = build(option, seed)
            tape.train_model(model, data.X_train, data.y_train, **dict(kwargs, seed=seed))
            scores = tape.model_scores(model, held_out.perturbed(data.X_test, seed=seed))
            accuracies.append(float(np.mean(np.argmax(scores, axis=1) == data.y_test)))
        values = np.array(accuracies)
        threshold = checks_thresholds.MIN_ACCURACY[option]
        print(f"{option:8} {threshold:9.3f} {values.min():6.3f} {np.percentile(values, 1):6.3f} "
              f"{np.median(values):6.3f} {int(np.sum(values < threshold)):5d}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
