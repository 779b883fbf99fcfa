# A normalization lab written the way the IST597 lab is (our own code, in its style):
# module-level batch_norm / layer_norm / weight_norm with eps 1e-5, a Keras CNN(norm_type=...)
# using layer norm over the last axis of NHWC maps and weight norm with a per-unit axis, and
# a script that loads Fashion-MNIST and trains at module level with its own train_step.
import numpy as np
import tensorflow as tf
import matplotlib.pyplot as plt

EPOCHS = 10
BATCH = 128

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
x_train = (x_train / 255.0).astype("float32")[..., None]
x_test = (x_test / 255.0).astype("float32")[..., None]


def batch_norm(x, gamma, beta, epsilon=1e-5):
    axes = list(range(len(x.shape) - 1))
    mu = tf.reduce_mean(x, axis=axes, keepdims=True)
    sigma2 = tf.reduce_mean(tf.square(x - mu), axis=axes, keepdims=True)
    x_hat = (x - mu) / tf.sqrt(sigma2 + epsilon)
    return gamma * x_hat + beta


def layer_norm(x, gamma, beta, epsilon=1e-5):
    mu = tf.reduce_mean(x, axis=-1, keepdims=True)
    sigma2 = tf.reduce_mean(tf.square(x - mu), axis=-1, keepdims=True)
    return gamma * (x - mu) / tf.sqrt(sigma2 + epsilon) + beta


def weight_norm(v, g, axis=None, epsilon=1e-5):
    norm = tf.sqrt(tf.reduce_sum(tf.square(v), axis=axis, keepdims=True) + epsilon)
    return g * v / norm


class NormLayer(tf.keras.layers.Layer):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def build(self, shape):
        c = shape[-1]
        self.gamma = self.add_weight(name="gamma", shape=(c,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(c,), initializer="zeros")
        self.mean = self.add_weight(name="mean", shape=(c,), initializer="zeros", trainable=False)
        self.var = self.add_weight(name="var", shape=(c,), initializer="ones", trainable=False)

    def call(self, x, training=False):
        if self.kind == "layer":
            return layer_norm(x, self.gamma, self.beta)
        if training:
            axes = list(range(len(x.shape) - 1))
            self.mean.assign(0.9 * self.mean + 0.1 * tf.reduce_mean(x, axis=axes))
            self.var.assign(0.9 * self.var + 0.1 * tf.math.reduce_variance(x, axis=axes))
            return batch_norm(x, self.gamma, self.beta)
        return self.gamma * (x - self.mean) / tf.sqrt(self.var + 1e-5) + self.beta


class WNConv(tf.keras.layers.Layer):
    def __init__(self, filters):
        super().__init__()
        self.filters = filters

    def build(self, shape):
        self.v = self.add_weight(name="v", shape=(3, 3, shape[-1], self.filters), initializer="he_normal")
        self.g = self.add_weight(name="g", shape=(self.filters,), initializer="ones")
        self.b = self.add_weight(name="b", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        w = weight_norm(self.v, self.g, axis=[0, 1, 2])
        return tf.nn.conv2d(x, w, 1, "SAME") + self.b


class WNDense(tf.keras.layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.units = units

    def build(self, shape):
        self.v = self.add_weight(name="v", shape=(shape[-1], self.units), initializer="he_normal")
        self.g = self.add_weight(name="g", shape=(self.units,), initializer="ones")
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")

    def call(self, x):
        return tf.matmul(x, weight_norm(self.v, self.g, axis=0)) + self.b


class CNN(tf.keras.Model):
    def __init__(self, norm_type="none"):
        super().__init__()
        self.norm_type = norm_type
        if norm_type == "weight_norm":
            self.conv1, self.conv2 = WNConv(16), WNConv(32)
            self.fc1, self.fc2 = WNDense(64), WNDense(10)
        else:
            self.conv1 = tf.keras.layers.Conv2D(16, 3, padding="same")
            self.conv2 = tf.keras.layers.Conv2D(32, 3, padding="same")
            self.fc1 = tf.keras.layers.Dense(64)
            self.fc2 = tf.keras.layers.Dense(10)
        kind = {"batch_norm": "batch", "layer_norm": "layer"}.get(norm_type)
        self.norms = [NormLayer(kind) for _ in range(3)] if kind else None
        self.pool = tf.keras.layers.MaxPool2D(2, padding="same")
        self.flatten = tf.keras.layers.Flatten()

    def call(self, x, training=False):
        for i, conv in enumerate([self.conv1, self.conv2]):
            x = conv(x)
            if self.norms:
                x = self.norms[i](x, training=training)
            x = self.pool(tf.nn.relu(x))
        x = self.fc1(self.flatten(x))
        if self.norms:
            x = self.norms[2](x, training=training)
        return self.fc2(tf.nn.relu(x))


optimizer = tf.keras.optimizers.Adam(1e-3)
model = CNN(norm_type="batch_norm")


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        logits = model(images, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


for epoch in range(EPOCHS):
    for start in range(0, len(x_train), BATCH):
        train_step(x_train[start:start + BATCH], y_train[start:start + BATCH])
    print(epoch, np.mean(np.argmax(model(x_test), 1) == y_test))

x = tf.random.normal((4, 7, 7, 16))
gamma, beta = tf.ones(16), tf.zeros(16)
print(np.abs(layer_norm(x, gamma, beta) - tf.keras.layers.LayerNormalization(epsilon=1e-5)(x)).max())
plt.plot([1, 2, 3])
plt.show()
