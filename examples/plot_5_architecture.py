"""
Neural network architecture
===========================

Two linear models make a non-linear one: take each model's probability, weight them
(the course uses 7 and 5), add a bias (-6) and apply the sigmoid,
``p = sigmoid(7 p1 + 5 p2 - 6)``.  That is a network with one hidden layer of two units;
more units and more layers make deeper networks.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import crash_core as cc
from crash_core import functional as F

print("sigmoid(0.7 + 0.8) =", round(F.sigmoid(0.7 + 0.8), 2))
first = (np.array([-1.0, -1.5]), 10.0)
second = (np.array([1.2, -1.0]), -1.5)
cc.plot.combined_models(first, second, weights=(7, 5), bias=-6, extent=(0, 10, 0, 10))
plt.show()

# %%
# The same computation as a :class:`crash_core.Network` 2-2-1 with those weights.
net = cc.Network((2, 2, 1), activation="sigmoid", output="sigmoid")
net.weights[0][:] = np.column_stack([first[0], second[0]])
net.biases[0][:] = [first[1], second[1]]
net.weights[1][:, 0] = [7.0, 5.0]
net.biases[1][:] = -6.0
x = np.array([[6.0, 1.0]])
p1 = F.sigmoid(x @ first[0] + first[1])
p2 = F.sigmoid(x @ second[0] + second[1])
by_hand = F.sigmoid(7 * p1 + 5 * p2 - 6)
print("network:", net.forward(x)[0, 0], " by hand:", by_hand[0])

# %%
# A deep network: several hidden layers.
cc.plot.network_diagram(cc.Network((3, 6, 6, 4, 2), output="softmax", random_state=0))
plt.show()
