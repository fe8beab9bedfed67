"""Learning-rate schedules: the rate of each optimizer step as a function of the step's number (0 for
the first batch of the first epoch), the steps per epoch and the config. "none" is the per-epoch decay
kagglekit always had; "cosine" and "onecycle" change the rate every batch, as PyTorch's schedulers
stepped per batch do."""
import math


def per_epoch(config, step, steps_per_epoch):
    """config.lr, multiplied by lr_decay after each finished epoch (one multiplication an epoch, as the
    loop always did, so that runs repeat bit for bit)."""
    lr = config.lr
    for _ in range(step // steps_per_epoch):
        lr *= config.lr_decay
    return lr


def cosine(config, step, steps_per_epoch):
    """A linear warm-up over config.warmup epochs (lr·1/W, lr·2/W, …, lr), then lr·(1 + cos(π·t))/2 with
    t going from 0 towards 1 over the remaining steps: the rate ends close to 0."""
    total, warm = config.epochs * steps_per_epoch, round(config.warmup * steps_per_epoch)
    if step < warm:
        return config.lr * (step + 1) / warm
    return config.lr * (1 + math.cos(math.pi * (step - warm) / (total - warm))) / 2


def _anneal(start, end, t):
    """Cosine from start (t = 0) to end (t = 1)."""
    return end + (start - end) / 2 * (math.cos(math.pi * t) + 1)


def onecycle(config, step, steps_per_epoch, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """PyTorch's OneCycleLR (two phases, cosine annealing) with max_lr = config.lr: from lr/25 up to lr
    over the first 30% of the steps, then down to lr/25/1e4 at the last step. Unlike PyTorch's default,
    the momentum is not cycled."""
    total = config.epochs * steps_per_epoch
    initial = config.lr / div_factor
    peak_step = float(pct_start * total) - 1
    if step <= peak_step:
        return _anneal(initial, config.lr, step / peak_step)
    return _anneal(config.lr, initial / final_div_factor, (step - peak_step) / (total - 1 - peak_step))


SCHEDULES = {"none": per_epoch, "cosine": cosine, "onecycle": onecycle}
