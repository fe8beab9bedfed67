"""Digits as terminal text, two pixel rows a character. In colour each cell is a ▀ whose foreground is
the upper pixel's grey and whose background the lower one's (24 grey levels, ANSI 256 colours); plain
text shows the pixels above half intensity with ▀, ▄ and █. Images are (n, 784) floats in [0, 1]."""
import numpy as np

from .errors import DataError

SIDE = 28
GAP = "  "
HALVES = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def _grey(value):
    return 232 + int(round(float(value) * 23))  # the ANSI greys run from 232 (black) to 255 (white)


def digit_lines(image, color=False):
    """The SIDE // 2 lines of one image (784,), each SIDE characters wide on screen."""
    pixels = np.clip(np.reshape(image, (SIDE, SIDE)), 0, 1)
    lines = []
    for top, bottom in zip(pixels[0::2], pixels[1::2]):
        if color:
            cells = "".join(f"\x1b[38;5;{_grey(t)};48;5;{_grey(b)}m▀" for t, b in zip(top, bottom))
            lines.append(cells + "\x1b[0m")
        else:
            lines.append("".join(HALVES[bool(t > 0.5), bool(b > 0.5)] for t, b in zip(top, bottom)))
    return lines


def render(images, captions, color=False, width=80):
    """Images side by side, as many as fit in `width` columns, each under its caption (cut to SIDE)."""
    per_row = max(1, (width + len(GAP)) // (SIDE + len(GAP)))
    blocks = []
    for start in range(0, len(images), per_row):
        chunk = range(start, min(start + per_row, len(images)))
        drawn = [digit_lines(images[i], color) for i in chunk]
        lines = [GAP.join(captions[i][:SIDE].ljust(SIDE) for i in chunk).rstrip()]
        lines += [GAP.join(parts) for parts in zip(*drawn)]
        blocks.append("\n".join(line if color else line.rstrip() for line in lines))
    return "\n\n".join(blocks)


def parse_rows(text, n):
    """Row numbers from text such as "0-7" or "3,10,12-14" (0-based, ranges inclusive), each below n."""
    rows = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            rows += range(int(first), int(last or first) + 1)
    except ValueError:
        raise DataError(f"rows must be numbers or ranges such as 0-7 or 3,10,12-14, got {text!r}") from None
    bad = [r for r in rows if not 0 <= r < n]
    if bad or not rows:
        raise DataError(f"rows must be between 0 and {n - 1} (the file has {n} rows), got {text!r}")
    return rows
