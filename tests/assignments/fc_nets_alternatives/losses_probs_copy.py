# softmax_loss as normalised probabilities edited in place on a copy, loss from
# the shifted log-sum-exp; svm_loss looped over the rows with a vectorised row.


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted), axis=1, keepdims=True)
    log_probs = shifted - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def svm_loss(x, y):
    N = x.shape[0]
    loss = 0.0
    dx = np.zeros(x.shape)
    for i in range(N):
        margin = x[i] - x[i, y[i]] + 1
        margin[y[i]] = 0
        positive = margin > 0
        loss += margin[positive].sum()
        dx[i, positive] = 1
        dx[i, y[i]] = -positive.sum()
    return loss / N, dx / N
