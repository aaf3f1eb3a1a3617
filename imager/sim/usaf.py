"""Geometry of the USAF 1951 resolution target (MIL-STD-150A), in micrometres.

Sizes are exact: element ``e`` of group ``g`` has ``2**(g + (e - 1)/6)`` line
pairs per mm, so its line width is ``1000 / (2 * 2**(g + (e - 1)/6))`` um; each
bar is five line widths long and bars are one line width apart. Every element
has a set of three horizontal bars and, to its right, a set of three vertical
bars.

Layout, as on the real target: groups pair into layers (even group ``g`` with
odd group ``g + 1``); each layer has a right column holding the odd group's
elements 1-6 from the top, followed by the even group's element 1 at the lower
right, and a left column holding the even group's elements 2-6; the next
(smaller) layer sits centred between the columns. To fit groups 5-7 in a 400 um
field the spacings are tighter than on the printed target: one line width
between the two bar sets of an element, half a line width between elements,
and 1.5 line widths of the layer's largest element between columns. The digits
are not drawn.

Coordinates: x to the right, y upwards, origin at the lower-left corner of the
layout's bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SET_GAP_LW = 1.0
"""Gap between the horizontal- and vertical-bar sets of one element, in line widths."""
ELEMENT_GAP_LW = 0.5
"""Vertical gap between elements in a column, in line widths of the larger of the two."""
COLUMN_GAP_LW = 1.5
"""Gap between a column and the nested layer, in line widths of the layer's largest element."""


def line_width_um(group: int, element: int) -> float:
    """Width of one bar (half a line pair) of ``group``/``element``, micrometres."""
    if not 1 <= element <= 6:
        raise ValueError(f"USAF element must be 1..6, got {element!r}")
    return 1000.0 / (2.0 * 2.0 ** (group + (element - 1) / 6.0))


@dataclass(frozen=True)
class Bar:
    """One clear bar: a rectangle ``[x_min, x_max] x [y_min, y_max]`` in um."""

    group: int
    element: int
    orientation: str  # "horizontal" (long along x) or "vertical" (long along y)
    x_min_um: float
    x_max_um: float
    y_min_um: float
    y_max_um: float


@dataclass(frozen=True)
class Element:
    """Bounding boxes ``(x_min, x_max, y_min, y_max)`` in um of one element's bar sets."""

    group: int
    element: int
    line_width_um: float
    horizontal_set_um: tuple[float, float, float, float]
    vertical_set_um: tuple[float, float, float, float]


@dataclass
class Layout:
    """All bars and elements of a target, with the bounding box size."""

    width_um: float
    height_um: float
    elements: list[Element] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)

    def element(self, group: int, element: int) -> Element:
        """The :class:`Element` for ``group``/``element``."""
        for el in self.elements:
            if el.group == group and el.element == element:
                return el
        raise KeyError(f"no element {group}/{element} in this layout")


# Internally boxes are placed top-down (y grows downwards) and flipped at the end.
_Placed = tuple[int, int, float, float]  # group, element, x_left, y_top


def _cell_width(w: float) -> float:
    return (10.0 + SET_GAP_LW) * w


def _column(items: list[tuple[int, int]]) -> tuple[float, float, list[tuple[int, int, float]]]:
    """Stack elements; return (width, height, [(group, element, y_top)])."""
    y = 0.0
    width = 0.0
    out = []
    for k, (g, e) in enumerate(items):
        w = line_width_um(g, e)
        out.append((g, e, y))
        y += 5.0 * w
        if k < len(items) - 1:
            y += ELEMENT_GAP_LW * max(w, line_width_um(*items[k + 1]))
        width = max(width, _cell_width(w))
    return width, y, out


def _layer(groups: set[int], even: int, inner: tuple[float, float, list[_Placed]] | None):
    """Place one layer (groups ``even`` and ``even + 1``) around ``inner``."""
    odd = even + 1
    left_items = [(even, e) for e in range(2, 7)] if even in groups else []
    right_items = [(odd, e) for e in range(1, 7)] if odd in groups else []
    if even in groups:
        right_items.append((even, 1))
    lw, lh, left = _column(left_items)
    rw, rh, right = _column(right_items)
    w_ref = line_width_um(even, 1) if even in groups else line_width_um(odd, 1)
    gap = COLUMN_GAP_LW * w_ref
    iw, ih, inner_placed = inner if inner is not None else (0.0, 0.0, [])
    parts = [p for p in (lw, iw, rw) if p > 0]
    width = sum(parts) + gap * max(len(parts) - 1, 0)
    height = max(lh, rh, ih)
    placed: list[_Placed] = []
    x = 0.0
    if lw > 0:
        for g, e, y in left:  # right-aligned towards the centre
            placed.append((g, e, x + lw - _cell_width(line_width_um(g, e)), y))
        x += lw + gap
    if iw > 0:
        dy = 0.5 * (height - ih)
        placed.extend((g, e, x + xi, dy + yi) for g, e, xi, yi in inner_placed)
        x += iw + gap
    if rw > 0:
        placed.extend((g, e, x, y) for g, e, y in right)  # left-aligned
    return width, height, placed


def usaf1951_layout(groups: tuple[int, ...] | list[int] = (5, 6, 7)) -> Layout:
    """Bars and elements of a USAF 1951 target holding ``groups``.

    Parameters
    ----------
    groups : sequence of int
        Group numbers (e.g. ``(5, 6, 7)``); need not be contiguous.
    """
    gset = {int(g) for g in groups}
    if not gset:
        raise ValueError("usaf1951: at least one group is required")
    layers = sorted({g - (g % 2) for g in gset}, reverse=True)  # innermost (smallest) first
    block: tuple[float, float, list[_Placed]] | None = None
    for even in layers:
        block = _layer(gset, even, block)
    assert block is not None
    width, height, placed = block
    layout = Layout(width_um=width, height_um=height)
    for g, e, x_left, y_top in sorted(placed):
        w = line_width_um(g, e)
        y_up_max = height - y_top
        y_up_min = y_up_max - 5.0 * w
        hx = (x_left, x_left + 5.0 * w)
        vx = (x_left + (5.0 + SET_GAP_LW) * w, x_left + (10.0 + SET_GAP_LW) * w)
        layout.elements.append(
            Element(g, e, w, (*hx, y_up_min, y_up_max), (*vx, y_up_min, y_up_max))
        )
        for k in range(3):
            # Horizontal bars stacked in y; vertical bars side by side in x.
            y0 = y_up_max - (2 * k + 1) * w
            layout.bars.append(Bar(g, e, "horizontal", hx[0], hx[1], y0, y0 + w))
            x0 = vx[0] + 2 * k * w
            layout.bars.append(Bar(g, e, "vertical", x0, x0 + w, y_up_min, y_up_max))
    return layout
