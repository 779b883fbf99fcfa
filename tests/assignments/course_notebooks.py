"""The course's PyTorch and TensorFlow notebooks, rebuilt in the course's cell layout.

Why it exists: the framework assignments are graded from the notebooks students hand in,
so their starters, solutions and test fixtures must be notebooks laid out as the course's
are (seed 004's Q5-Pytorch / Q5-Tensorflow, and the cs231n 2019+ notebooks, which follow
the same parts): markdown sections, the course's own code cells (helpers, training loops,
tests that print shapes), and the TODO cells students fill in.  The text and code here
are this project's own, written to that layout; nothing is copied from the course.

`pytorch_cells(...)` / `tensorflow_cells(...)` give the cells, solved or as the starter
(TODO cells left as the course leaves them), for a course year: the course package the
notebook imports from (`ece662`, `ece697ls`, `cs231n`), the number of classes (6 for
ECE's CINIC-10 subset, 10 for CIFAR-10), a Colab mount cell or not.  Running this module
writes the assignments' starter and solution notebooks:

    PYTHONPATH=$PWD .venv/bin/python -m tests.assignments.course_notebooks
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]

PYTORCH_NOTEBOOK = "Q5-Pytorch.ipynb"
TENSORFLOW_NOTEBOOK = "Q5-Tensorflow.ipynb"


def _todo(starter: str, solution: str, solved: bool) -> str:
    return solution if solved else starter


def colab_cell(folder: str = "ece697ls/assignments/assignment3/") -> str:
    return ("# Mount Google Drive so that the notebook can import the course's package.\n"
            "from google.colab import drive\n"
            "drive.mount('/content/drive', force_remount=True)\n\n"
            f"FOLDERNAME = {folder!r}\n"
            "assert FOLDERNAME is not None, \"[!] Enter the foldername.\"\n\n"
            "import sys\n"
            "sys.path.append('/content/drive/My Drive/{}'.format(FOLDERNAME))\n"
            "%cd /content")


# ===========================================================================
# PyTorch (Q5-Pytorch; cs231n PyTorch.ipynb)
# ===========================================================================

TORCH_THREE_LAYER_CONVNET = (
    "    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params\n"
    "    scores = None\n"
    "    ################################################################################\n"
    "    # TODO: Implement the forward pass for the three-layer ConvNet.                #\n"
    "    ################################################################################\n"
    "    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
    "{body}"
    "    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
    "    return scores\n")


def pytorch_cells(solved: bool, *, package: str = "ece662", classes: int = 6, colab: bool = True,
                  data: str = "course") -> list[tuple[str, str]]:
    """The PyTorch notebook's cells as (kind, source).  `data`: "course" (the package's
    get_CINIC10_data, as ECE's notebook) or "torchvision" (cs231n's CIFAR-10 loaders)."""
    cells: list[tuple[str, str]] = [("markdown", "# What's this PyTorch business?\n\nThree levels of "
                                                 "abstraction: barebones tensors, nn.Module, nn.Sequential.")]
    if colab:
        cells.append(("code", colab_cell()))
    cells.append(("markdown", "# Part I. Preparation\n\nLoad the images and wrap them in loaders."))
    imports = ("import torch\nimport torch.nn as nn\nimport torch.optim as optim\n"
               "from torch.utils.data import DataLoader\nfrom torch.utils.data import sampler\n")
    if data == "course":
        imports += f"from {package}.data_utils import get_CINIC10_data\n"
    imports += "\nimport torchvision.datasets as dset\nimport torchvision.transforms as T\n\nimport numpy as np"
    cells.append(("code", imports))
    if data == "course":
        cells.append(("code",
                      "from torch.utils.data import TensorDataset\n\n"
                      "data = get_CINIC10_data()\n"
                      "def as_loader(x, y, shuffle):\n"
                      "    images = torch.from_numpy(np.asarray(x, dtype=np.float32))\n"
                      "    labels = torch.from_numpy(np.asarray(y)).long()\n"
                      "    return DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=shuffle)\n\n"
                      "loader_train = as_loader(data['X_train'], data['y_train'], True)\n"
                      "loader_val = as_loader(data['X_val'], data['y_val'], False)\n"
                      "loader_test = as_loader(data['X_test'], data['y_test'], False)\n"
                      "print('train batches:', len(loader_train))"))
    else:
        cells.append(("code",
                      "NUM_TRAIN = 49000\n\n"
                      "transform = T.Compose([\n    T.ToTensor(),\n"
                      "    T.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))\n])\n\n"
                      "cifar10_train = dset.CIFAR10('./cs231n/datasets', train=True, download=True,\n"
                      "                             transform=transform)\n"
                      "loader_train = DataLoader(cifar10_train, batch_size=64,\n"
                      "                          sampler=sampler.SubsetRandomSampler(range(NUM_TRAIN)))\n"
                      "cifar10_val = dset.CIFAR10('./cs231n/datasets', train=True, download=True,\n"
                      "                           transform=transform)\n"
                      "loader_val = DataLoader(cifar10_val, batch_size=64,\n"
                      "                        sampler=sampler.SubsetRandomSampler(range(NUM_TRAIN, 50000)))\n"
                      "cifar10_test = dset.CIFAR10('./cs231n/datasets', train=False, download=True,\n"
                      "                            transform=transform)\n"
                      "loader_test = DataLoader(cifar10_test, batch_size=64)"))
    cells.append(("code", "USE_GPU = True\n\ndtype = torch.float32\n\n"
                          "if USE_GPU and torch.cuda.is_available():\n    device = torch.device('cuda')\n"
                          "else:\n    device = torch.device('cpu')\n\n"
                          "# how often the training loops print the loss\nprint_every = 100\n\n"
                          "print('using device:', device)"))
    cells.append(("markdown", "# Part II. Barebones PyTorch\n\n### Flatten"))
    cells.append(("code", "def flatten(x):\n    N = x.shape[0]  # read in N, C, H, W\n"
                          "    return x.view(N, -1)  # one row of C * H * W values per image\n\n"
                          "def test_flatten():\n    x = torch.arange(12).view(2, 1, 3, 2)\n"
                          "    print('Before flattening: ', x)\n    print('After flattening: ', flatten(x))\n\n"
                          "test_flatten()"))
    cells.append(("markdown", "### Barebones PyTorch: Two-Layer Network\n\nRead this one; no code to write."))
    cells.append(("code", "import torch.nn.functional as F  # stateless functions\n\n"
                          "def two_layer_fc(x, params):\n"
                          "    \"\"\"fully connected -> ReLU -> fully connected, no biases; scores (N, C).\"\"\"\n"
                          "    x = flatten(x)\n    w1, w2 = params\n"
                          "    x = F.relu(x.mm(w1))\n    x = x.mm(w2)\n    return x\n\n"
                          "def two_layer_fc_test():\n    hidden_layer_size = 42\n"
                          "    x = torch.zeros((64, 50), dtype=dtype)\n"
                          "    w1 = torch.zeros((50, hidden_layer_size), dtype=dtype)\n"
                          f"    w2 = torch.zeros((hidden_layer_size, {classes}), dtype=dtype)\n"
                          "    scores = two_layer_fc(x, [w1, w2])\n"
                          f"    print(scores.size())  # you should see [64, {classes}]\n\n"
                          "two_layer_fc_test()"))
    cells.append(("markdown", "### Barebones PyTorch: Three-Layer ConvNet\n\n1. conv (bias) with channel_1 "
                              "filters KH1 x KW1, zero-padding two\n2. ReLU\n3. conv (bias) with channel_2 "
                              "filters KH2 x KW2, zero-padding one\n4. ReLU\n5. fully-connected (bias) to C "
                              "classes\n\nNo softmax: the cross-entropy loss applies it."))
    cells.append(("code", "def three_layer_convnet(x, params):\n"
                          "    \"\"\"\n    The three-layer ConvNet described above.\n\n"
                          "    - x: (N, 3, H, W) images\n    - params: [conv_w1, conv_b1, conv_w2, conv_b2, "
                          "fc_w, fc_b]\n    Returns scores (N, C).\n    \"\"\"\n"
                          + TORCH_THREE_LAYER_CONVNET.format(body=_todo(
                              "    pass\n",
                              "    hidden = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))\n"
                              "    hidden = F.relu(F.conv2d(hidden, conv_w2, conv_b2, padding=1))\n"
                              "    scores = flatten(hidden).mm(fc_w) + fc_b\n", solved))))
    cells.append(("code", "def three_layer_convnet_test():\n"
                          "    x = torch.zeros((64, 3, 32, 32), dtype=dtype)\n"
                          "    conv_w1 = torch.zeros((6, 3, 5, 5), dtype=dtype)\n"
                          "    conv_b1 = torch.zeros((6,))\n"
                          "    conv_w2 = torch.zeros((9, 6, 3, 3), dtype=dtype)\n"
                          "    conv_b2 = torch.zeros((9,))\n"
                          f"    fc_w = torch.zeros((9 * 32 * 32, {classes}))\n"
                          f"    fc_b = torch.zeros({classes})\n"
                          "    scores = three_layer_convnet(x, [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b])\n"
                          f"    print(scores.size())  # you should see [64, {classes}]\n\n"
                          "three_layer_convnet_test()"))
    cells.append(("markdown", "### Barebones PyTorch: Initialization\n\nKaiming normal: sqrt(2 / fan_in)."))
    cells.append(("code", "def random_weight(shape):\n"
                          "    \"\"\"A leaf tensor of Kaiming-normal weights that requires grad.\"\"\"\n"
                          "    if len(shape) == 2:  # fully-connected weight (D_in, D_out)\n"
                          "        fan_in = shape[0]\n    else:\n"
                          "        fan_in = np.prod(shape[1:])  # conv weight (C_out, C_in, KH, KW)\n"
                          "    w = torch.randn(shape, device=device, dtype=dtype) * np.sqrt(2. / fan_in)\n"
                          "    w.requires_grad = True\n    return w\n\n"
                          "def zero_weight(shape):\n"
                          "    return torch.zeros(shape, device=device, dtype=dtype, requires_grad=True)\n\n"
                          "random_weight((3, 5))"))
    cells.append(("code", "def check_accuracy_part2(loader, model_fn, params):\n"
                          "    num_correct, num_samples = 0, 0\n    with torch.no_grad():\n"
                          "        for x, y in loader:\n"
                          "            x = x.to(device=device, dtype=dtype)\n"
                          "            y = y.to(device=device, dtype=torch.int64)\n"
                          "            scores = model_fn(x, params)\n            _, preds = scores.max(1)\n"
                          "            num_correct += (preds == y).sum()\n            num_samples += preds.size(0)\n"
                          "        acc = float(num_correct) / num_samples\n"
                          "        print('Got %d / %d correct (%.2f%%)' % (num_correct, num_samples, 100 * acc))"))
    cells.append(("code", "def train_part2(model_fn, params, learning_rate):\n"
                          "    for t, (x, y) in enumerate(loader_train):\n"
                          "        x = x.to(device=device, dtype=dtype)\n"
                          "        y = y.to(device=device, dtype=torch.long)\n"
                          "        scores = model_fn(x, params)\n        loss = F.cross_entropy(scores, y)\n"
                          "        loss.backward()\n        with torch.no_grad():\n"
                          "            for w in params:\n                w -= learning_rate * w.grad\n"
                          "                w.grad.zero_()\n"
                          "        if t % print_every == 0:\n"
                          "            print('Iteration %d, loss = %.4f' % (t, loss.item()))\n"
                          "            check_accuracy_part2(loader_val, model_fn, params)\n            print()"))
    cells.append(("code", "hidden_layer_size = 4000\nlearning_rate = 1e-2\n\n"
                          "w1 = random_weight((3 * 32 * 32, hidden_layer_size))\n"
                          f"w2 = random_weight((hidden_layer_size, {classes}))\n\n"
                          "train_part2(two_layer_fc, [w1, w2], learning_rate)"))
    cells.append(("markdown", "### BareBones PyTorch: Training a ConvNet\n\n32 5x5 filters (padding 2), "
                              f"16 3x3 filters (padding 1), {classes} classes; random_weight for weights, "
                              "zero_weight for biases."))
    cells.append(("code", "learning_rate = 3e-3\n\nchannel_1 = 32\nchannel_2 = 16\n\n"
                          "conv_w1 = None\nconv_b1 = None\nconv_w2 = None\nconv_b2 = None\nfc_w = None\nfc_b = None\n\n"
                          "################################################################################\n"
                          "# TODO: Initialize the parameters of a three-layer ConvNet.                    #\n"
                          "################################################################################\n"
                          "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
                          + _todo("\npass\n\n",
                                  "conv_w1 = random_weight((channel_1, 3, 5, 5))\n"
                                  "conv_b1 = zero_weight((channel_1,))\n"
                                  "conv_w2 = random_weight((channel_2, channel_1, 3, 3))\n"
                                  "conv_b2 = zero_weight((channel_2,))\n"
                                  f"fc_w = random_weight((channel_2 * 32 * 32, {classes}))\n"
                                  f"fc_b = zero_weight(({classes},))\n", solved)
                          + "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n\n"
                          "params = [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b]\n"
                          "train_part2(three_layer_convnet, params, learning_rate)"))
    cells.append(("markdown", "# Part III. PyTorch Module API\n\n### Module API: Two-Layer Network"))
    cells.append(("code", "class TwoLayerFC(nn.Module):\n"
                          "    def __init__(self, input_size, hidden_size, num_classes):\n"
                          "        super().__init__()\n"
                          "        self.fc1 = nn.Linear(input_size, hidden_size)\n"
                          "        nn.init.kaiming_normal_(self.fc1.weight)\n"
                          "        self.fc2 = nn.Linear(hidden_size, num_classes)\n"
                          "        nn.init.kaiming_normal_(self.fc2.weight)\n\n"
                          "    def forward(self, x):\n        x = flatten(x)\n"
                          "        scores = self.fc2(F.relu(self.fc1(x)))\n        return scores\n\n"
                          "def test_TwoLayerFC():\n    input_size = 50\n"
                          "    x = torch.zeros((64, input_size), dtype=dtype)\n"
                          f"    model = TwoLayerFC(input_size, 42, {classes})\n"
                          "    scores = model(x)\n"
                          f"    print(scores.size())  # you should see [64, {classes}]\n\n"
                          "test_TwoLayerFC()"))
    cells.append(("markdown", "### Module API: Three-Layer ConvNet\n\nThe architecture of Part II; Kaiming "
                              "normal weights."))
    cells.append(("code", "class ThreeLayerConvNet(nn.Module):\n"
                          "    def __init__(self, in_channel, channel_1, channel_2, num_classes):\n"
                          "        super().__init__()\n"
                          "        ########################################################################\n"
                          "        # TODO: Set up the layers you need for a three-layer ConvNet with the  #\n"
                          "        # architecture defined above.                                          #\n"
                          "        ########################################################################\n"
                          "        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
                          + _todo("        pass\n",
                                  "        self.conv1 = nn.Conv2d(in_channel, channel_1, kernel_size=5, padding=2)\n"
                                  "        self.conv2 = nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1)\n"
                                  "        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)\n"
                                  "        for layer in (self.conv1, self.conv2, self.fc):\n"
                                  "            nn.init.kaiming_normal_(layer.weight)\n", solved)
                          + "        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n\n"
                          "    def forward(self, x):\n        scores = None\n"
                          "        ########################################################################\n"
                          "        # TODO: Implement the forward function for a 3-layer ConvNet.          #\n"
                          "        ########################################################################\n"
                          "        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
                          + _todo("        pass\n",
                                  "        hidden = F.relu(self.conv1(x))\n"
                                  "        hidden = F.relu(self.conv2(hidden))\n"
                                  "        scores = self.fc(flatten(hidden))\n", solved)
                          + "        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
                          "        return scores\n\n\n"
                          "def test_ThreeLayerConvNet():\n"
                          "    x = torch.zeros((64, 3, 32, 32), dtype=dtype)\n"
                          f"    model = ThreeLayerConvNet(in_channel=3, channel_1=12, channel_2=8, num_classes={classes})\n"
                          "    scores = model(x)\n"
                          f"    print(scores.size())  # you should see [64, {classes}]\n"
                          "test_ThreeLayerConvNet()"))
    cells.append(("code", "def check_accuracy_part34(loader, model):\n"
                          "    print('Checking accuracy')\n    num_correct = 0\n    num_samples = 0\n"
                          "    model.eval()\n    with torch.no_grad():\n        for x, y in loader:\n"
                          "            x = x.to(device=device, dtype=dtype)\n"
                          "            y = y.to(device=device, dtype=torch.long)\n"
                          "            scores = model(x)\n            _, preds = scores.max(1)\n"
                          "            num_correct += (preds == y).sum()\n"
                          "            num_samples += preds.size(0)\n"
                          "        acc = float(num_correct) / num_samples\n"
                          "        print('Got %d / %d correct (%.2f)' % (num_correct, num_samples, 100 * acc))"))
    cells.append(("code", "def train_part34(model, optimizer, epochs=1):\n"
                          "    model = model.to(device=device)\n    for e in range(epochs):\n"
                          "        for t, (x, y) in enumerate(loader_train):\n            model.train()\n"
                          "            x = x.to(device=device, dtype=dtype)\n"
                          "            y = y.to(device=device, dtype=torch.long)\n"
                          "            scores = model(x)\n            loss = F.cross_entropy(scores, y)\n"
                          "            optimizer.zero_grad()\n            loss.backward()\n"
                          "            optimizer.step()\n"
                          "            if t % print_every == 0:\n"
                          "                print('Iteration %d, loss = %.4f' % (t, loss.item()))\n"
                          "                check_accuracy_part34(loader_val, model)\n                print()"))
    cells.append(("code", "hidden_layer_size = 4000\nlearning_rate = 1e-2\n"
                          f"model = TwoLayerFC(3 * 32 * 32, hidden_layer_size, {classes})\n"
                          "optimizer = optim.SGD(model.parameters(), lr=learning_rate)\n\n"
                          "train_part34(model, optimizer)"))
    cells.append(("markdown", "### Module API: Train a Three-Layer ConvNet\n\nSGD without momentum."))
    cells.append(("code", "learning_rate = 3e-3\nchannel_1 = 32\nchannel_2 = 16\n\n"
                          "model = None\noptimizer = None\n"
                          "################################################################################\n"
                          "# TODO: Instantiate your ThreeLayerConvNet model and a corresponding optimizer #\n"
                          "################################################################################\n"
                          "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
                          + _todo("\npass\n\n",
                                  f"model = ThreeLayerConvNet(3, channel_1, channel_2, {classes})\n"
                                  "optimizer = optim.SGD(model.parameters(), lr=learning_rate)\n", solved)
                          + "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n\n"
                          "train_part34(model, optimizer)"))
    cells.append(("markdown", "# Part IV. PyTorch Sequential API\n\n### Sequential API: Two-Layer Network"))
    cells.append(("code", "# nn.Sequential stacks modules, so flatten becomes one\n"
                          "class Flatten(nn.Module):\n    def forward(self, x):\n        return flatten(x)\n\n"
                          "hidden_layer_size = 4000\nlearning_rate = 1e-2\n\n"
                          "model = nn.Sequential(\n    Flatten(),\n"
                          "    nn.Linear(3 * 32 * 32, hidden_layer_size),\n    nn.ReLU(),\n"
                          f"    nn.Linear(hidden_layer_size, {classes}),\n)\n\n"
                          "optimizer = optim.SGD(model.parameters(), lr=learning_rate,\n"
                          "                      momentum=0.9, nesterov=True)\n\n"
                          "train_part34(model, optimizer)"))
    cells.append(("markdown", "### Sequential API: Three-Layer ConvNet\n\n32 5x5 filters (padding 2), ReLU, "
                              f"16 3x3 filters (padding 1), ReLU, fully-connected to {classes} classes. "
                              "Initialise weights with random_weight and biases with zero_weight; SGD with "
                              "Nesterov momentum 0.9."))
    cells.append(("code", "channel_1 = 32\nchannel_2 = 16\nlearning_rate = 1e-2\n\n"
                          "model = None\noptimizer = None\n\n"
                          "################################################################################\n"
                          "# TODO: Rewrite the 3-layer ConvNet with bias from Part III with the           #\n"
                          "# Sequential API.                                                              #\n"
                          "################################################################################\n"
                          "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
                          + _todo("\npass\n\n",
                                  "model = nn.Sequential(\n"
                                  "    nn.Conv2d(3, channel_1, kernel_size=5, padding=2),\n"
                                  "    nn.ReLU(),\n"
                                  "    nn.Conv2d(channel_1, channel_2, kernel_size=3, padding=1),\n"
                                  "    nn.ReLU(),\n"
                                  "    Flatten(),\n"
                                  f"    nn.Linear(channel_2 * 32 * 32, {classes}),\n"
                                  ")\n"
                                  "for layer in model:\n"
                                  "    if isinstance(layer, (nn.Conv2d, nn.Linear)):\n"
                                  "        nn.init.kaiming_normal_(layer.weight)\n"
                                  "        nn.init.zeros_(layer.bias)\n"
                                  "optimizer = optim.SGD(model.parameters(), lr=learning_rate,\n"
                                  "                      momentum=0.9, nesterov=True)\n", solved)
                          + "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n\n"
                          "train_part34(model, optimizer)"))
    cells.append(("markdown", "# Part V. Open-ended challenge\n\nAny architecture; aim for 60% validation "
                              "accuracy within 10 epochs."))
    cells.append(("code", "model = None\noptimizer = None\n\n"
                          "################################################################################\n"
                          "# TODO:                                                                        #\n"
                          "# Experiment with any architectures, optimizers, and hyperparameters.         #\n"
                          "################################################################################\n"
                          "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
                          + _todo("\npass\n\n",
                                  "model = nn.Sequential(\n"
                                  "    nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),\n"
                                  "    nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(),\n"
                                  "    nn.MaxPool2d(2),\n"
                                  f"    Flatten(), nn.Linear(128 * 8 * 8, {classes}),\n)\n"
                                  "optimizer = optim.Adam(model.parameters(), lr=1e-3)\n", solved)
                          + "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n\n"
                          "train_part34(model, optimizer, epochs=10)"))
    cells.append(("code", "best_model = model\ncheck_accuracy_part34(loader_test, best_model)"))
    cells.append(("markdown", "## Describe what you did\n\n**Answer:** "
                              + ("two conv-batchnorm-relu-pool blocks and Adam." if solved else "")))
    return cells


# ===========================================================================
# TensorFlow (Q5-Tensorflow; cs231n TensorFlow.ipynb)
# ===========================================================================

def _tf_todo(comment: str, starter: str, solution: str, solved: bool, indent: str = "") -> str:
    bar = indent + "#" * 80 + "\n"
    return (bar + f"{indent}# TODO: {comment}\n" + bar
            + f"{indent}# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
            + _todo(starter, solution, solved)
            + f"{indent}# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n")


def tensorflow_cells(solved: bool, *, package: str = "ece662", classes: int = 6, colab: bool = True,
                     data: str = "course") -> list[tuple[str, str]]:
    """The TensorFlow notebook's cells as (kind, source).  `data`: "course" (the package's
    get_CINIC10_data, as ECE's notebook) or "keras" (cs231n's tf.keras.datasets.cifar10)."""
    cells: list[tuple[str, str]] = [("markdown", "# What's this TensorFlow business?\n\nOne ConvNet at "
                                                 "three levels of abstraction.")]
    if colab:
        cells.append(("code", colab_cell() + "\n!ls /content/drive/MyDrive"))
    cells.append(("markdown", "# Part I: Preparation"))
    cells.append(("code", "import os\nimport tensorflow as tf\nimport numpy as np\nimport math\n"
                          "import timeit\nimport matplotlib.pyplot as plt\n"
                          + (f"from {package}.data_utils import get_CINIC10_data\n" if data == "course" else "")
                          + "\n%matplotlib inline"))
    if data == "course":
        cells.append(("code", "def load_cinic10():\n    data = get_CINIC10_data()\n"
                              "    # the course's arrays are N x C x H x W; TensorFlow wants N x H x W x C\n"
                              "    X_train = data['X_train'].astype(np.float32).transpose(0, 2, 3, 1).copy()\n"
                              "    X_val = data['X_val'].astype(np.float32).transpose(0, 2, 3, 1).copy()\n"
                              "    X_test = data['X_test'].astype(np.float32).transpose(0, 2, 3, 1).copy()\n"
                              "    y_train = data['y_train'].astype(np.int32)\n"
                              "    y_val = data['y_val'].astype(np.int32)\n"
                              "    y_test = data['y_test'].astype(np.int32)\n"
                              "    return X_train, y_train, X_val, y_val, X_test, y_test\n\n"
                              "X_train, y_train, X_val, y_val, X_test, y_test = load_cinic10()\n"
                              "print('Train data shape: ', X_train.shape)"))
    else:
        cells.append(("code", "def load_cifar10(num_training=49000, num_validation=1000, num_test=10000):\n"
                              "    cifar10 = tf.keras.datasets.cifar10.load_data()\n"
                              "    (X_train, y_train), (X_test, y_test) = cifar10\n"
                              "    X_train = np.asarray(X_train, dtype=np.float32)\n"
                              "    y_train = np.asarray(y_train, dtype=np.int32).flatten()\n"
                              "    X_test = np.asarray(X_test, dtype=np.float32)\n"
                              "    y_test = np.asarray(y_test, dtype=np.int32).flatten()\n"
                              "    X_val = X_train[num_training:num_training + num_validation]\n"
                              "    y_val = y_train[num_training:num_training + num_validation]\n"
                              "    X_train, y_train = X_train[:num_training], y_train[:num_training]\n"
                              "    mean = X_train.mean(axis=(0, 1, 2), keepdims=True)\n"
                              "    std = X_train.std(axis=(0, 1, 2), keepdims=True)\n"
                              "    return ((X_train - mean) / std, y_train, (X_val - mean) / std, y_val,\n"
                              "            (X_test - mean) / std, y_test)\n\n"
                              "NHW = (0, 1, 2)\n"
                              "X_train, y_train, X_val, y_val, X_test, y_test = load_cifar10()"))
    cells.append(("code", "class Dataset(object):\n"
                          "    def __init__(self, X, y, batch_size, shuffle=False):\n"
                          "        assert X.shape[0] == y.shape[0], 'Got different numbers of data and labels'\n"
                          "        self.X, self.y = X, y\n"
                          "        self.batch_size, self.shuffle = batch_size, shuffle\n\n"
                          "    def __iter__(self):\n        N, B = self.X.shape[0], self.batch_size\n"
                          "        idxs = np.arange(N)\n        if self.shuffle:\n"
                          "            np.random.shuffle(idxs)\n"
                          "        return iter((self.X[idxs[i:i+B]], self.y[idxs[i:i+B]]) for i in range(0, N, B))\n\n"
                          "train_dset = Dataset(X_train, y_train, batch_size=64, shuffle=True)\n"
                          "val_dset = Dataset(X_val, y_val, batch_size=64, shuffle=False)\n"
                          "test_dset = Dataset(X_test, y_test, batch_size=64)"))
    cells.append(("code", "USE_GPU = False\n\nif USE_GPU:\n    device = '/device:GPU:0'\nelse:\n"
                          "    device = '/cpu:0'\n\nprint_every = 100\n\nprint('Using device: ', device)"))
    cells.append(("markdown", "# Part II: Barebones TensorFlow\n\n### TensorFlow warmup: Flatten Function"))
    cells.append(("code", "def flatten(x):\n    \"\"\"(N, D1, ..., DM) -> (N, D1 * ... * DM)\"\"\"\n"
                          "    N = tf.shape(x)[0]\n    return tf.reshape(x, (N, -1))\n\n"
                          "def test_flatten():\n    x_np = np.arange(24).reshape((2, 3, 4))\n"
                          "    print('x_flat_np:\\n', flatten(x_np), '\\n')\n\ntest_flatten()"))
    cells.append(("code", "def two_layer_fc(x, params):\n"
                          "    \"\"\"fully connected -> ReLU -> fully connected, no biases.\"\"\"\n"
                          "    w1, w2 = params\n    x = flatten(x)\n"
                          "    h = tf.nn.relu(tf.matmul(x, w1))\n    scores = tf.matmul(h, w2)\n"
                          "    return scores\n\n"
                          "def two_layer_fc_test():\n    hidden_layer_size = 42\n    with tf.device(device):\n"
                          "        x = tf.zeros((64, 32, 32, 3))\n"
                          "        w1 = tf.zeros((32 * 32 * 3, hidden_layer_size))\n"
                          f"        w2 = tf.zeros((hidden_layer_size, {classes}))\n"
                          "        scores = two_layer_fc(x, [w1, w2])\n    print(scores.shape)\n\n"
                          "two_layer_fc_test()"))
    cells.append(("markdown", "### Barebones TensorFlow: Three-Layer ConvNet\n\nconv 5x5 (zero-padding 2) "
                              "- ReLU - conv 3x3 (zero-padding 1) - ReLU - fully-connected, all with biases."))
    cells.append(("code", "def three_layer_convnet(x, params):\n"
                          "    \"\"\"\n    - x: (N, H, W, 3) images\n"
                          "    - params: [conv_w1 (KH1, KW1, 3, channel_1), conv_b1, conv_w2, conv_b2, fc_w, fc_b]\n"
                          "    \"\"\"\n"
                          "    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params\n    scores = None\n"
                          + _tf_todo("Implement the forward pass for the three-layer ConvNet.", "    pass\n",
                                     "    hidden = tf.nn.conv2d(x, conv_w1, strides=1, padding='SAME') + conv_b1\n"
                                     "    hidden = tf.nn.relu(hidden)\n"
                                     "    hidden = tf.nn.conv2d(hidden, conv_w2, strides=1, padding='SAME') + conv_b2\n"
                                     "    hidden = tf.nn.relu(hidden)\n"
                                     "    scores = tf.matmul(flatten(hidden), fc_w) + fc_b\n", solved, "    ")
                          + "    return scores"))
    cells.append(("code", "def three_layer_convnet_test():\n    with tf.device(device):\n"
                          "        x = tf.zeros((64, 32, 32, 3))\n        conv_w1 = tf.zeros((5, 5, 3, 6))\n"
                          "        conv_b1 = tf.zeros((6,))\n        conv_w2 = tf.zeros((3, 3, 6, 9))\n"
                          "        conv_b2 = tf.zeros((9,))\n"
                          f"        fc_w = tf.zeros((32 * 32 * 9, {classes}))\n        fc_b = tf.zeros(({classes},))\n"
                          "        params = [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b]\n"
                          "        scores = three_layer_convnet(x, params)\n"
                          "    print('scores_np has shape: ', scores.shape)\n\nthree_layer_convnet_test()"))
    cells.append(("code", "def training_step(model_fn, x, y, params, learning_rate):\n"
                          "    with tf.GradientTape() as tape:\n        scores = model_fn(x, params)\n"
                          "        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=scores)\n"
                          "        total_loss = tf.reduce_mean(loss)\n"
                          "        grad_params = tape.gradient(total_loss, params)\n"
                          "        for w, grad_w in zip(params, grad_params):\n"
                          "            w.assign_sub(learning_rate * grad_w)\n"
                          "        return total_loss"))
    cells.append(("code", "def train_part2(model_fn, init_fn, learning_rate):\n    params = init_fn()\n"
                          "    for t, (x_np, y_np) in enumerate(train_dset):\n"
                          "        loss = training_step(model_fn, x_np, y_np, params, learning_rate)\n"
                          "        if t % print_every == 0:\n"
                          "            print('Iteration %d, loss = %.4f' % (t, loss))\n"
                          "            check_accuracy(val_dset, x_np, model_fn, params)"))
    cells.append(("code", "def check_accuracy(dset, x, model_fn, params):\n"
                          "    num_correct, num_samples = 0, 0\n    for x_batch, y_batch in dset:\n"
                          "        scores_np = model_fn(x_batch, params).numpy()\n"
                          "        y_pred = scores_np.argmax(axis=1)\n        num_samples += x_batch.shape[0]\n"
                          "        num_correct += (y_pred == y_batch).sum()\n"
                          "    acc = float(num_correct) / num_samples\n"
                          "    print('Got %d / %d correct (%.2f%%)' % (num_correct, num_samples, 100 * acc))"))
    cells.append(("markdown", "### Barebones TensorFlow: Initialization"))
    cells.append(("code", "def create_matrix_with_kaiming_normal(shape):\n    if len(shape) == 2:\n"
                          "        fan_in, fan_out = shape[0], shape[1]\n    elif len(shape) == 4:\n"
                          "        fan_in, fan_out = np.prod(shape[:3]), shape[3]\n"
                          "    return tf.keras.backend.random_normal(shape) * np.sqrt(2.0 / fan_in)"))
    cells.append(("code", "def two_layer_fc_init():\n    hidden_layer_size = 4000\n"
                          "    w1 = tf.Variable(create_matrix_with_kaiming_normal((3 * 32 * 32, 4000)))\n"
                          f"    w2 = tf.Variable(create_matrix_with_kaiming_normal((4000, {classes})))\n"
                          "    return [w1, w2]\n\nlearning_rate = 1e-2\n"
                          "train_part2(two_layer_fc, two_layer_fc_init, learning_rate)"))
    cells.append(("markdown", "### Barebones TensorFlow: Train a three-layer ConvNet\n\n32 5x5 filters, "
                              f"16 3x3 filters, {classes} classes."))
    cells.append(("code", "def three_layer_convnet_init():\n    params = None\n"
                          + _tf_todo("Initialize the parameters of the three-layer network.", "    pass\n",
                                     "    conv_w1 = tf.Variable(create_matrix_with_kaiming_normal((5, 5, 3, 32)))\n"
                                     "    conv_b1 = tf.Variable(tf.zeros((32,)))\n"
                                     "    conv_w2 = tf.Variable(create_matrix_with_kaiming_normal((3, 3, 32, 16)))\n"
                                     "    conv_b2 = tf.Variable(tf.zeros((16,)))\n"
                                     f"    fc_w = tf.Variable(create_matrix_with_kaiming_normal((32 * 32 * 16, {classes})))\n"
                                     f"    fc_b = tf.Variable(tf.zeros(({classes},)))\n"
                                     "    params = [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b]\n", solved, "    ")
                          + "    return params\n\nlearning_rate = 3e-3\n"
                          "train_part2(three_layer_convnet, three_layer_convnet_init, learning_rate)"))
    cells.append(("markdown", "# Part III: Keras Model Subclassing API\n\n### Two-Layer Network"))
    cells.append(("code", "class TwoLayerFC(tf.keras.Model):\n"
                          "    def __init__(self, hidden_size, num_classes):\n"
                          "        super(TwoLayerFC, self).__init__()\n"
                          "        initializer = tf.initializers.VarianceScaling(scale=2.0)\n"
                          "        self.fc1 = tf.keras.layers.Dense(hidden_size, activation='relu',\n"
                          "                                         kernel_initializer=initializer)\n"
                          "        self.fc2 = tf.keras.layers.Dense(num_classes, activation='softmax',\n"
                          "                                         kernel_initializer=initializer)\n"
                          "        self.flatten = tf.keras.layers.Flatten()\n\n"
                          "    def call(self, x, training=False):\n"
                          "        return self.fc2(self.fc1(self.flatten(x)))\n\n"
                          "def test_TwoLayerFC():\n    x = tf.zeros((64, 50))\n"
                          f"    model = TwoLayerFC(42, {classes})\n"
                          "    with tf.device(device):\n        print(model(x).shape)\n\ntest_TwoLayerFC()"))
    cells.append(("markdown", "### Keras Model Subclassing API: Three-Layer ConvNet\n\nconv 5x5 (padding 2), "
                              "ReLU, conv 3x3 (padding 1), ReLU, fully-connected, softmax; initialise as the "
                              "two-layer network does."))
    cells.append(("code", "class ThreeLayerConvNet(tf.keras.Model):\n"
                          "    def __init__(self, channel_1, channel_2, num_classes):\n"
                          "        super(ThreeLayerConvNet, self).__init__()\n"
                          + _tf_todo("Implement the __init__ method for a three-layer ConvNet.", "        pass\n",
                                     "        initializer = tf.initializers.VarianceScaling(scale=2.0)\n"
                                     "        self.conv1 = tf.keras.layers.Conv2D(channel_1, 5, padding='same',\n"
                                     "            activation='relu', kernel_initializer=initializer)\n"
                                     "        self.conv2 = tf.keras.layers.Conv2D(channel_2, 3, padding='same',\n"
                                     "            activation='relu', kernel_initializer=initializer)\n"
                                     "        self.flatten = tf.keras.layers.Flatten()\n"
                                     "        self.fc = tf.keras.layers.Dense(num_classes, activation='softmax',\n"
                                     "            kernel_initializer=initializer)\n", solved, "        ")
                          + "\n    def call(self, x, training=False):\n        scores = None\n"
                          + _tf_todo("Implement the forward pass for a three-layer ConvNet.", "        pass\n",
                                     "        scores = self.fc(self.flatten(self.conv2(self.conv1(x))))\n",
                                     solved, "        ")
                          + "        return scores"))
    cells.append(("code", "def test_ThreeLayerConvNet():\n"
                          f"    model = ThreeLayerConvNet(12, 8, {classes})\n"
                          "    with tf.device(device):\n        x = tf.zeros((64, 32, 32, 3))\n"
                          "        print(model(x).shape)\n\ntest_ThreeLayerConvNet()"))
    cells.append(("code", "def train_part34(model_init_fn, optimizer_init_fn, num_epochs=1, is_training=False):\n"
                          "    with tf.device(device):\n"
                          "        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()\n"
                          "        model = model_init_fn()\n        optimizer = optimizer_init_fn()\n"
                          "        train_loss = tf.keras.metrics.Mean(name='train_loss')\n"
                          "        train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name='train_accuracy')\n"
                          "        t = 0\n        for epoch in range(num_epochs):\n"
                          "            train_loss.reset_state()\n            train_accuracy.reset_state()\n"
                          "            for x_np, y_np in train_dset:\n"
                          "                with tf.GradientTape() as tape:\n"
                          "                    scores = model(x_np, training=is_training)\n"
                          "                    loss = loss_fn(y_np, scores)\n"
                          "                    gradients = tape.gradient(loss, model.trainable_variables)\n"
                          "                    optimizer.apply_gradients(zip(gradients, model.trainable_variables))\n"
                          "                    train_loss.update_state(loss)\n"
                          "                    train_accuracy.update_state(y_np, scores)\n"
                          "                    if t % print_every == 0:\n"
                          "                        print('Iteration %d, Epoch %d, Loss: %.4f, Accuracy: %.2f' % (\n"
                          "                            t, epoch + 1, train_loss.result(), train_accuracy.result() * 100))\n"
                          "                    t += 1"))
    cells.append(("code", f"hidden_size, num_classes = 4000, {classes}\nlearning_rate = 1e-2\n\n"
                          "def model_init_fn():\n    return TwoLayerFC(hidden_size, num_classes)\n\n"
                          "def optimizer_init_fn():\n    return tf.keras.optimizers.SGD(learning_rate=learning_rate)\n\n"
                          "train_part34(model_init_fn, optimizer_init_fn)"))
    cells.append(("markdown", "### Keras Model Subclassing API: Train a Three-Layer ConvNet\n\n32 and 16 "
                              "filters; SGD with Nesterov momentum 0.9."))
    cells.append(("code", f"learning_rate = 3e-3\nchannel_1, channel_2, num_classes = 32, 16, {classes}\n\n"
                          "def model_init_fn():\n    model = None\n"
                          + _tf_todo("Complete the implementation of model_fn.", "    pass\n",
                                     "    model = ThreeLayerConvNet(channel_1, channel_2, num_classes)\n",
                                     solved, "    ")
                          + "    return model\n\ndef optimizer_init_fn():\n    optimizer = None\n"
                          + _tf_todo("Complete the implementation of model_fn.", "    pass\n",
                                     "    optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate,\n"
                                     "                                        momentum=0.9, nesterov=True)\n",
                                     solved, "    ")
                          + "    return optimizer\n\ntrain_part34(model_init_fn, optimizer_init_fn)"))
    cells.append(("markdown", "# Part IV: Keras Sequential API\n\n### Keras Sequential API: Two-Layer Network"))
    cells.append(("code", "learning_rate = 1e-2\n\ndef model_init_fn():\n    input_shape = (32, 32, 3)\n"
                          f"    hidden_layer_size, num_classes = 4000, {classes}\n"
                          "    initializer = tf.initializers.VarianceScaling(scale=2.0)\n    layers = [\n"
                          "        tf.keras.layers.Flatten(input_shape=input_shape),\n"
                          "        tf.keras.layers.Dense(hidden_layer_size, activation='relu',\n"
                          "                              kernel_initializer=initializer),\n"
                          "        tf.keras.layers.Dense(num_classes, activation='softmax',\n"
                          "                              kernel_initializer=initializer),\n    ]\n"
                          "    model = tf.keras.Sequential(layers)\n    return model\n\n"
                          "def optimizer_init_fn():\n    return tf.keras.optimizers.SGD(learning_rate=learning_rate)\n\n"
                          "train_part34(model_init_fn, optimizer_init_fn)"))
    cells.append(("markdown", "### Keras Sequential API: Three-Layer ConvNet\n\n32 5x5 kernels (padding 2), "
                              "ReLU, 16 3x3 kernels (padding 1), ReLU, fully-connected, softmax; "
                              "VarianceScaling initialisation; Nesterov momentum 0.9."))
    cells.append(("code", "def model_init_fn():\n    model = None\n"
                          + _tf_todo("Construct a three-layer ConvNet using tf.keras.Sequential.", "    pass\n",
                                     "    initializer = tf.initializers.VarianceScaling(scale=2.0)\n"
                                     "    model = tf.keras.Sequential([\n"
                                     "        tf.keras.layers.Conv2D(32, 5, padding='same', activation='relu',\n"
                                     "                               kernel_initializer=initializer,\n"
                                     "                               input_shape=(32, 32, 3)),\n"
                                     "        tf.keras.layers.Conv2D(16, 3, padding='same', activation='relu',\n"
                                     "                               kernel_initializer=initializer),\n"
                                     "        tf.keras.layers.Flatten(),\n"
                                     f"        tf.keras.layers.Dense({classes}, activation='softmax',\n"
                                     "                              kernel_initializer=initializer),\n"
                                     "    ])\n", solved, "    ")
                          + "    return model\n\nlearning_rate = 5e-4\n"
                          "def optimizer_init_fn():\n    optimizer = None\n"
                          + _tf_todo("Complete the implementation of model_fn.", "    pass\n",
                                     "    optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate,\n"
                                     "                                        momentum=0.9, nesterov=True)\n",
                                     solved, "    ")
                          + "    return optimizer\n\ntrain_part34(model_init_fn, optimizer_init_fn)"))
    cells.append(("code", "model = model_init_fn()\n"
                          "model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True),\n"
                          "              loss='sparse_categorical_crossentropy',\n"
                          "              metrics=[tf.keras.metrics.sparse_categorical_accuracy])\n"
                          "model.fit(X_train, y_train, batch_size=64, epochs=1, validation_data=(X_val, y_val))\n"
                          "model.evaluate(X_test, y_test)"))
    cells.append(("markdown", "## Part IV: Functional API\n\n### Demonstration with a Two-Layer Network"))
    cells.append(("code", "def two_layer_fc_functional(input_shape, hidden_size, num_classes):\n"
                          "    initializer = tf.initializers.VarianceScaling(scale=2.0)\n"
                          "    inputs = tf.keras.Input(shape=input_shape)\n"
                          "    flattened_inputs = tf.keras.layers.Flatten()(inputs)\n"
                          "    fc1_output = tf.keras.layers.Dense(hidden_size, activation='relu',\n"
                          "                                       kernel_initializer=initializer)(flattened_inputs)\n"
                          "    scores = tf.keras.layers.Dense(num_classes, activation='softmax',\n"
                          "                                   kernel_initializer=initializer)(fc1_output)\n"
                          "    return tf.keras.Model(inputs=inputs, outputs=scores)\n\n"
                          "def test_two_layer_fc_functional():\n"
                          f"    model = two_layer_fc_functional((50,), 42, {classes})\n"
                          "    with tf.device(device):\n        print(model(tf.zeros((64, 50))).shape)\n\n"
                          "test_two_layer_fc_functional()"))
    cells.append(("code", f"input_shape = (32, 32, 3)\nhidden_size, num_classes = 4000, {classes}\n"
                          "learning_rate = 1e-2\n\n"
                          "def model_init_fn():\n    return two_layer_fc_functional(input_shape, hidden_size, num_classes)\n\n"
                          "def optimizer_init_fn():\n    return tf.keras.optimizers.SGD(learning_rate=learning_rate)\n\n"
                          "train_part34(model_init_fn, optimizer_init_fn)"))
    cells.append(("markdown", "# Part V: Open-ended challenge\n\nAim for 60% validation accuracy in 10 epochs."))
    cells.append(("code", "class CustomConvNet(tf.keras.Model):\n    def __init__(self):\n"
                          "        super(CustomConvNet, self).__init__()\n"
                          + _tf_todo("Construct a model that performs well on the data set.", "        pass\n",
                                     "        self.body = [tf.keras.layers.Conv2D(32, 3, padding='same', activation='relu'),\n"
                                     "                     tf.keras.layers.MaxPool2D(),\n"
                                     "                     tf.keras.layers.Flatten(),\n"
                                     f"                     tf.keras.layers.Dense({classes}, activation='softmax')]\n",
                                     solved, "        ")
                          + "\n    def call(self, input_tensor, training=False):\n        x = input_tensor\n"
                          + _tf_todo("Construct a model that performs well on the data set.", "        pass\n",
                                     "        for layer in self.body:\n            x = layer(x)\n",
                                     solved, "        ")
                          + "        return x\n\n"
                          "print_every = 700\nnum_epochs = 10\n\n"
                          "def model_init_fn():\n    return CustomConvNet()\n\n"
                          "def optimizer_init_fn():\n    return tf.keras.optimizers.Adam(learning_rate=1e-3)\n\n"
                          "train_part34(model_init_fn, optimizer_init_fn, num_epochs=num_epochs, is_training=True)"))
    cells.append(("markdown", "## Describe what you did\n\n**Answer:** "
                              + ("one conv-pool block." if solved else "")))
    return cells


def write(cells: list[tuple[str, str]], path: Path) -> Path:
    """`cells` as an nbformat-4 notebook at `path` (world-readable: the worker is another uid)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) if kind == "code"
                      else nbformat.v4.new_markdown_cell(source) for kind, source in cells]
    for cell in notebook.cells:  # stable files: no random cell ids
        cell.pop("id", None)
    notebook.nbformat_minor = 4
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    path.chmod(0o644)
    return path


def main() -> None:
    for kind, cells, name in (("pytorch", pytorch_cells, PYTORCH_NOTEBOOK),
                              ("tensorflow", tensorflow_cells, TENSORFLOW_NOTEBOOK)):
        folder = ROOT / "assignments" / kind
        write(cells(False), folder / "starter" / name)
        write(cells(True), folder / "solution" / name)


if __name__ == "__main__":
    main()
