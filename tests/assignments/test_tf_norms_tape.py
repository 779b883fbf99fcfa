"""assignments/tf_norms/course/grader_tape.py, the course helper in the worker: methods found by
role, and the reference's loop training the lab's models (a Keras model ending in a softmax,
a plain class with a `forward` and tf.Variables)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.tf]
tf = pytest.importorskip("tensorflow")

TAPE = Path(__file__).resolve().parents[2] / "assignments" / "tf_norms" / "course" / "grader_tape.py"


@pytest.fixture(scope="module")
def tape():
    spec = importlib.util.spec_from_file_location("grader_tape_under_test", TAPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits():
    from reference.datasets import load_digits_dataset
    data = load_digits_dataset(layout="NHWC")
    return data.X_train, data.y_train, data.X_test, data.y_test


@pytest.fixture
def student_module():
    module = types.ModuleType("student_lab_under_test")

    class CNN:
        def __init__(self, norm_type=None):
            self.norm_type = norm_type
            self.eps = 0.5

        def batch_norm_custom(self, x, gamma, beta):
            return x * gamma + beta

        @staticmethod
        def layer_norm(x, gamma, beta):
            return x - gamma - beta

        def weight_normalization(self, v, g):
            return v * g + self.eps

    module.CNN = CNN
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_methods_are_called_as_their_roles_say(tape, student_module):
    x = [np.ones((2, 2), np.float32), np.full(2, 2.0, np.float32), np.zeros(2, np.float32)]
    name = student_module.__name__
    none = tape.call_with_tensors(name, {"path": "CNN.batch_norm_custom", "self": "none", "init": {}}, x)
    static = tape.call_with_tensors(name, {"path": "CNN.layer_norm", "self": "static", "init": {}}, x)
    instance = tape.call_with_tensors(name, {"path": "CNN.weight_normalization", "self": "instance",
                                             "init": {"norm_type": "weight"}}, x[:2])
    np.testing.assert_allclose(none, 2.0)
    np.testing.assert_allclose(static, -1.0)
    np.testing.assert_allclose(instance, 2.5)


def test_reference_loop_trains_a_keras_model_that_ends_in_softmax(tape, digits):
    x_train, y_train, x_test, y_test = digits
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(32, activation="relu"),
                                 tf.keras.layers.Dense(10, activation="softmax")])
    losses = tape.train_model(model, x_train, y_train, steps=150, batch_size=64, learning_rate=1e-2)
    assert len(losses) == 150 and losses[-1] < losses[0]
    accuracy = np.mean(np.argmax(tape.model_scores(model, x_test), 1) == y_test)
    assert accuracy > 0.85


def test_reference_loop_trains_a_plain_class_through_forward(tape, digits):
    x_train, y_train, x_test, y_test = digits

    class Template:
        def __init__(self):
            generator = tf.random.Generator.from_seed(0)
            self.W = tf.Variable(generator.normal([64, 10]) * 0.1)
            self.b = [tf.Variable(tf.zeros([10]))]
            self.frozen = tf.Variable(tf.ones([10]), trainable=False)

        def forward(self, X, training=False):
            return tf.matmul(tf.reshape(X, [-1, 64]), self.W) + self.b[0] * self.frozen

    model = Template()
    tape.train_model(model, x_train, y_train, steps=150, batch_size=64, learning_rate=1e-2)
    accuracy = np.mean(np.argmax(tape.model_scores(model, x_test), 1) == y_test)
    assert accuracy > 0.85
    np.testing.assert_array_equal(model.frozen.numpy(), 1.0)  # only trainable variables move


def test_reference_loop_trains_tf_variables_a_keras_model_keeps_itself(tape, digits):
    """Note [Variables Keras 3 does not track]: a Keras model whose output layer is weight
    normalized with its own tf.Variables (as the lab's Keras 2 code writes it) has them
    trained, with its Keras layers; a variable marked not trainable stays."""
    x_train, y_train, x_test, y_test = digits

    class Scale(tf.keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.factor = tf.Variable(tf.ones([16]))    # a layer's own variable, also untracked

        def call(self, h):
            return h * self.factor

    class WeightNormalized(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = tf.keras.layers.Dense(16, activation="relu")
            self.scale = Scale()
            initial = tf.random.stateless_normal([16, 10], seed=[0, 1]) * 0.3
            self.direction = tf.Variable(initial)
            self.length = tf.Variable(tf.ones([10]))
            self.offsets = {"output": tf.Variable(tf.zeros([10]))}
            self.frozen = tf.Variable(tf.ones([10]), trainable=False)

        def call(self, x, training=False):
            h = self.scale(self.hidden(tf.reshape(x, [-1, 64])))
            w = self.length * self.direction / tf.norm(self.direction, axis=0, keepdims=True)
            return tf.matmul(h, w) * self.frozen + self.offsets["output"]

    tf.keras.utils.set_random_seed(0)
    model = WeightNormalized()
    model(tf.constant(x_train[:2]))
    variables = tape._variables(model)
    assert len(variables) == len({id(v) for v in variables}) == 6  # kernel, bias, factor, v, g, b
    tape.train_model(model, x_train, y_train, steps=150, batch_size=64, learning_rate=1e-2)
    assert not np.allclose(model.length.numpy(), 1.0)
    assert not np.allclose(model.scale.factor.numpy(), 1.0)
    np.testing.assert_array_equal(model.frozen.numpy(), 1.0)
    accuracy = np.mean(np.argmax(tape.model_scores(model, x_test), 1) == y_test)
    assert accuracy > 0.85


def test_the_submissions_train_sees_the_variables_keras_2_listed(tape):
    """Notes [The submission's train under Keras 3] and [Keras layers in a tf.Module]: while the
    submission's train runs, a Keras model lists its plain tf.Variables and a tf.Module the
    weights of its Keras layers, built inside the train (a tuple stays a tuple, a variable
    marked not trainable stays out); the model's class is put back afterwards."""

    class KerasModel(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(3)
            self.gamma = [tf.Variable(tf.ones([3]), name="gamma")]
            self.running = tf.Variable(tf.zeros([3]), trainable=False, name="running")

        def call(self, x, training=False):
            return self.dense(x) * self.gamma[0]

    class ModuleModel(tf.Module):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(3)
            self.beta = tf.Variable(tf.zeros([3]), name="beta")

        def __call__(self, x, training=False):
            return self.dense(x) + self.beta

    seen = {}

    def train(model, x, y, steps=1):
        model(tf.constant(x))                     # Keras layers make their variables here
        listed = model.trainable_variables
        seen[type(model).__name__] = (type(listed), sorted(v.name.split(":")[0] for v in listed))
        return len(listed)

    student = types.ModuleType("student_train_under_test")
    student.train = train
    sys.modules[student.__name__] = student
    try:
        x, y = np.ones([2, 4], np.float32), np.zeros([2], np.int64)
        for model in (KerasModel(), ModuleModel()):
            cls = type(model)
            tape.train_student(student.__name__, "train", model, x, y, steps=1)
            assert type(model) is cls
            assert cls.__name__ in seen
    finally:
        del sys.modules[student.__name__]
    assert seen["KerasModel"] == (list, ["bias", "gamma", "kernel"])
    assert seen["ModuleModel"] == (tuple, ["beta", "bias", "kernel"])
    assert len(ModuleModel().trainable_variables) == 1  # what Keras 3 alone gives: beta
