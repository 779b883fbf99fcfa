# A normalization lab in the course template's form (our own code, in its style): a script that
# loads its data and trains at module level, around a `CNN` class whose methods the student
# extends: batch_norm_custom, layer_normalization, weight_normalization, and the library
# batch_normalization kept for the comparison the assignment asks for.  The constructor keeps the
# template's required (hidden_size, output_size), built from the module's constants.
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
x_train = x_train.reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
hidden_size = 64
output_size = 10


class CNN(object):
    def __init__(self, hidden_size, output_size, norm_type=None, device=None, seed=1234):
        self.norm_type = norm_type
        self.epsilon = 1e-3
        init = tf.initializers.GlorotUniform(seed=seed)
        self.W1 = tf.Variable(init([3, 3, 1, 16]))
        self.W2 = tf.Variable(init([3, 3, 16, 32]))
        self.W3 = tf.Variable(init([2 * 2 * 32, hidden_size]))
        self.W4 = tf.Variable(init([hidden_size, output_size]))
        self.b = [tf.Variable(tf.zeros([n])) for n in (16, 32, hidden_size, output_size)]
        self.g = [tf.Variable(tf.norm(tf.reshape(w, [-1, w.shape[-1]]), axis=0)) for w in (self.W1, self.W2, self.W3, self.W4)]
        self.gamma = [tf.Variable(tf.ones([n])) for n in (16, 32, hidden_size)]
        self.beta = [tf.Variable(tf.zeros([n])) for n in (16, 32, hidden_size)]
        self.running = [[tf.Variable(tf.zeros([n]), trainable=False), tf.Variable(tf.ones([n]), trainable=False)]
                        for n in (16, 32, hidden_size)]

    def batch_norm_custom(self, x, gamma, beta, epsilon=1e-3):
        axes = list(range(len(x.shape) - 1))
        mean = tf.reduce_mean(x, axes)
        var = tf.reduce_mean(tf.square(x - mean), axes)
        return gamma * (x - mean) / tf.sqrt(var + epsilon) + beta

    def batch_normalization(self, x, gamma, beta):
        mean, var = tf.nn.moments(x, list(range(len(x.shape) - 1)))
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, self.epsilon)

    def layer_normalization(self, x, gamma, beta):
        axes = list(range(1, len(x.shape)))
        mean = tf.reduce_mean(x, axes, keepdims=True)
        var = tf.reduce_mean(tf.square(x - mean), axes, keepdims=True)
        return gamma * (x - mean) / tf.sqrt(var + self.epsilon) + beta

    def weight_normalization(self, v, g):
        flat = tf.reshape(v, [-1, v.shape[-1]])
        return g * v / tf.sqrt(tf.reduce_sum(tf.square(flat), 0))

    def _norm(self, i, x, training):
        if self.norm_type == "batch":
            if training:
                axes = list(range(len(x.shape) - 1))
                mean_var = self.running[i]
                mean_var[0].assign(0.9 * mean_var[0] + 0.1 * tf.reduce_mean(x, axes))
                mean_var[1].assign(0.9 * mean_var[1] + 0.1 * tf.math.reduce_variance(x, axes))
                return self.batch_norm_custom(x, self.gamma[i], self.beta[i])
            mean, var = self.running[i]
            return self.gamma[i] * (x - mean) / tf.sqrt(var + 1e-3) + self.beta[i]
        if self.norm_type == "layer":
            return self.layer_normalization(x, self.gamma[i], self.beta[i])
        return x

    def _w(self, i):
        w = (self.W1, self.W2, self.W3, self.W4)[i]
        return self.weight_normalization(w, self.g[i]) if self.norm_type == "weight" else w

    def forward(self, X, training=False):
        h = X
        for i in range(2):
            h = tf.nn.conv2d(h, self._w(i), 1, "SAME") + self.b[i]
            h = tf.nn.max_pool2d(tf.nn.relu(self._norm(i, h, training)), 2, 2, "SAME")
        h = tf.reshape(h, [tf.shape(h)[0], -1])
        h = tf.nn.relu(self._norm(2, tf.matmul(h, self._w(2)) + self.b[2], training))
        return tf.matmul(h, self._w(3)) + self.b[3]


model = CNN(hidden_size, output_size, norm_type="batch")
optimizer = tf.keras.optimizers.Adam(1e-3)
for step in range(1000):
    idx = np.random.randint(0, len(x_train), 64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y_train[idx], logits=model.forward(x_train[idx], training=True)))
    variables = [model.W1, model.W2, model.W3, model.W4] + model.b + model.gamma + model.beta
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
