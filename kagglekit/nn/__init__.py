"""The NumPy network, written plainly: layers, the loss, the network, optimizers, augmentation and the
training loop. Read it to learn backprop; the speed machinery lives apart, in kagglekit.fast."""
