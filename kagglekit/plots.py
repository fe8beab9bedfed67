"""A run's pictures as PNG files: loss and accuracy curves, the learning rate, the confusion matrix and
a gallery of the most confidently wrong validation digits. The only module that imports matplotlib
(the optional extra kagglekit[plot]), and only inside its functions; `available()` says whether it can."""
import importlib.util

import numpy as np

INSTALL_HINT = "pip install 'kagglekit[plot]'"
DPI = 100
CURVE_SIZE = (6.4, 4.0)  # inches: 640 × 400 pixels at DPI
CONFUSION_SIZE = (5.6, 5.0)
GALLERY_COLUMNS = 8


def available():
    """Whether matplotlib can be imported (without importing it)."""
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only: no window, no display needed
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    fig.savefig(path, dpi=DPI)  # no tight bbox: every file has the size its figure says
    _pyplot().close(fig)
    return path


def curves(path, epochs, train, val, ylabel, title):
    """Train and validation values per epoch (val may be all NaN: no validation rows)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=CURVE_SIZE)
    ax.plot(epochs, train, "o-", label="train", markersize=3)
    if not np.all(np.isnan(val)):
        ax.plot(epochs, val, "o-", label="validation", markersize=3)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole: no ticks at 1.5
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def learning_rate(path, epochs, rates):
    """The learning rate of every step, against the epoch (fractional: steps within an epoch)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=CURVE_SIZE)
    ax.plot(epochs, rates, drawstyle="steps-post")
    ax.set(xlabel="epoch", ylabel="learning rate", title="Learning rate per step")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def confusion(path, matrix):
    """The confusion matrix (rows: true label, columns: predicted), each cell's count written in it."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=CONFUSION_SIZE)
    ax.imshow(matrix, cmap="Blues")
    top = matrix.max() or 1
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > top / 2 else "black")
    ticks = range(len(matrix))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title="Confusion matrix (validation)")
    fig.tight_layout()
    return _save(fig, path)


def gallery(path, images, true, predicted, probability):
    """Digits (n, 784) in [0, 1] captioned "true → predicted (probability)", GALLERY_COLUMNS a row, drawn
    as one mosaic image (one axes draws far faster than a subplot per digit)."""
    plt = _pyplot()
    rows = max(1, -(-len(images) // GALLERY_COLUMNS))
    cell_w, cell_h = 36, 40  # pixels of the mosaic per digit: 28 plus margins, and room for the caption
    mosaic = np.zeros((rows * cell_h, GALLERY_COLUMNS * cell_w), np.float32)
    fig = plt.figure(figsize=(GALLERY_COLUMNS, 1.3 * rows))
    ax = fig.add_axes((0, 0, 1, 1 - 0.25 / rows))
    for k, image in enumerate(images):
        top, left = (k // GALLERY_COLUMNS) * cell_h + 10, (k % GALLERY_COLUMNS) * cell_w + 4
        mosaic[top:top + 28, left:left + 28] = np.reshape(image, (28, 28))
        ax.text(left + 14, top - 2, f"{true[k]} → {predicted[k]} ({probability[k]:.2f})", ha="center",
                fontsize=8)
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.axis("off")
    if not len(images):
        ax.text(4, cell_h / 2, "no misclassified validation digits", fontsize=9)
    fig.suptitle("Most confidently wrong (true → predicted, probability)", fontsize=9)
    return _save(fig, path)


def member_curves(path, members):
    """The members of an ensemble side by side: each one's validation loss and accuracy per epoch.
    members: [(label, epochs, val_loss, val_acc)]."""
    plt = _pyplot()
    fig, (loss, acc) = plt.subplots(1, 2, figsize=(2 * CURVE_SIZE[0], CURVE_SIZE[1]))
    for label, epochs, val_loss, val_acc in members:
        loss.plot(epochs, val_loss, "o-", label=label, markersize=3)
        acc.plot(epochs, val_acc, "o-", label=label, markersize=3)
    loss.set(xlabel="epoch", ylabel="cross-entropy", title="Validation loss per member")
    acc.set(xlabel="epoch", ylabel="accuracy", title="Validation accuracy per member")
    for ax in (loss, acc):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
