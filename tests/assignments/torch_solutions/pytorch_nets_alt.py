"""Another correct `pytorch` submission, written differently on purpose.

The notebook's own idioms (np.prod fan-in, `.clamp(min=0)`, `x.view(x.size(0), -1)`,
torch.flatten, nn.Flatten, in-place init of a Sequential's layers) and a
ThreeLayerConvNet whose __init__ registers the fully-connected layer first:
none of that may cost a point.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

dtype = torch.float32


def flatten(x):
    return torch.flatten(x, start_dim=1)


def two_layer_fc(x, params):
    w1, w2 = params
    return (x.reshape(x.shape[0], -1) @ w1).clamp(min=0) @ w2


def three_layer_convnet(x, params):
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    x = F.conv2d(x, conv_w1, bias=conv_b1, padding=conv_w1.shape[-1] // 2).clamp(min=0)
    x = F.conv2d(x, conv_w2, bias=conv_b2, padding=(1, 1)).clamp(min=0)
    return torch.addmm(fc_b, x.view(x.size(0), -1), fc_w)


def random_weight(shape):
    if len(shape) == 2:
        fan_in = shape[0]
    else:
        fan_in = np.prod(shape[1:])
    w = torch.randn(shape, dtype=dtype) * np.sqrt(2. / fan_in)
    w.requires_grad = True
    return w


def zero_weight(shape):
    return torch.zeros(shape, dtype=dtype, requires_grad=True)


class TwoLayerFC(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.hidden = nn.Linear(input_size, hidden_size)
        self.out = nn.Linear(hidden_size, num_classes)
        for layer in (self.hidden, self.out):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x.flatten(1))))


class ThreeLayerConvNet(nn.Module):
    def __init__(self, in_channel, channel_1, channel_2, num_classes):
        super().__init__()
        self.classifier = nn.Linear(channel_2 * 32 * 32, num_classes)
        self.features = nn.Sequential(
            nn.Conv2d(in_channel, channel_1, (5, 5), padding=2), nn.ReLU(),
            nn.Conv2d(channel_1, channel_2, (3, 3), padding="same"), nn.ReLU())
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        return self.classifier(self.features(x).view(x.size(0), -1))


def three_layer_convnet_sequential(in_channel, channel_1, channel_2, num_classes):
    model = nn.Sequential(
        nn.Conv2d(in_channel, channel_1, 5, padding=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(channel_1, channel_2, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(channel_2 * 32 * 32, num_classes),
    )
    with torch.no_grad():
        for layer in model:
            if hasattr(layer, "weight"):
                nn.init.kaiming_normal_(layer.weight, mode="fan_in")
                layer.bias.zero_()
    return model
