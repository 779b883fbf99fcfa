# A normalization lab on the course template's own convolution and pooling (our own code, in
# its style): every window is cut out of the image with tf.slice in a Python loop over the output
# positions, so a training step runs one op per position, and the first dense layer is sized
# for 28x28 images.  Correct, and slow to train (checks.py Note [Training time of the course's
# template]); the tests use it to drive a training run past a shortened limit.
import tensorflow as tf

hidden_size = 32
output_size = 10


class CNN(object):
    def __init__(self, hidden_size, output_size, norm_type="none"):
        self.norm_type = norm_type
        init = tf.initializers.GlorotUniform(seed=3)
        self.W1 = tf.Variable(init([3, 3, 1, 8]))
        self.b1 = tf.Variable(tf.zeros([8]))
        self.W2 = tf.Variable(init([14 * 14 * 8, hidden_size]))
        self.b2 = tf.Variable(tf.zeros([hidden_size]))
        self.W3 = tf.Variable(init([hidden_size, output_size]))
        self.b3 = tf.Variable(tf.zeros([output_size]))
        self.gamma = tf.Variable(tf.ones([8]))
        self.beta = tf.Variable(tf.zeros([8]))

    def windows(self, X, size, out_h, out_w, stride, padding):
        padded = tf.pad(X, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
        cut = []
        for row in range(out_h):
            for col in range(out_w):
                cut.append(tf.slice(padded, [0, row * stride, col * stride, 0], [-1, size, size, -1]))
        return tf.stack(cut)

    def convolution(self, X, W, b):
        size, channels, filters = W.shape[0], W.shape[2], W.shape[3]
        height, width = X.shape[1], X.shape[2]
        cut = self.windows(X, size, height, width, 1, size // 2)
        flat = tf.reshape(cut, [height * width, -1, size * size * channels])
        out = tf.matmul(flat, tf.reshape(W, [-1, filters])) + b
        return tf.transpose(tf.reshape(out, [height, width, -1, filters]), [2, 0, 1, 3])

    def max_pool(self, X):
        height, width, channels = X.shape[1] // 2, X.shape[2] // 2, X.shape[3]
        cut = self.windows(X, 2, height, width, 2, 0)
        pooled = tf.reduce_max(tf.reshape(cut, [height, width, -1, 4, channels]), axis=3)
        return tf.transpose(pooled, [2, 0, 1, 3])

    def batch_norm(self, x, gamma, beta, epsilon=1e-5):
        axes = list(range(len(x.shape) - 1))
        mean = tf.reduce_mean(x, axes)
        var = tf.reduce_mean(tf.square(x - mean), axes)
        return gamma * (x - mean) / tf.sqrt(var + epsilon) + beta

    def layer_norm(self, x, gamma, beta, epsilon=1e-5):
        mean = tf.reduce_mean(x, -1, keepdims=True)
        var = tf.reduce_mean(tf.square(x - mean), -1, keepdims=True)
        return gamma * (x - mean) / tf.sqrt(var + epsilon) + beta

    def forward(self, X, training=False):
        h = self.convolution(X, self.W1, self.b1)
        if self.norm_type == "batch":
            h = self.batch_norm(h, self.gamma, self.beta)
        elif self.norm_type == "layer":
            h = self.layer_norm(h, self.gamma, self.beta)
        h = self.max_pool(tf.nn.relu(h))
        h = tf.reshape(h, [tf.shape(h)[0], -1])
        h = tf.nn.relu(tf.matmul(h, self.W2) + self.b2)
        return tf.matmul(h, self.W3) + self.b3
