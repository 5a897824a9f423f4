"""Drawing a laid-out layer graph: PNG/JPEG/PDF with Pillow, SVG as text.

Boxes are lists of rows (a coloured title row, then plain rows); sizes come from
Pillow's built-in font, so no system font or Graphviz program is needed.

>>> scene = Scene(dpi=72)
>>> scene.box_size(["dense (Dense)", "Output shape: (None, 3)"])[0] > 0
True
"""

from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from lamina.utils.graph_layout import layout

BACKGROUND = "#ffffff"
BORDER = "#3c4858"
TEXT = "#1f2933"
EDGE = "#3c4858"
CLUSTER_BORDER = "#8a9bb0"
CLUSTER_FILL = "#f4f7fb"
ROW_FILL = "#ffffff"

_TITLE_PT, _ROW_PT = 11.0, 9.5


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, AttributeError, OSError, ImportError):  # Pillow < 10.1 or no FreeType: bitmap font
        return ImageFont.load_default()


class Scene:
    """Measures and draws boxes, edges and cluster frames at a resolution of ``dpi``."""

    def __init__(self, dpi=96):
        self.scale = max(float(dpi), 10.0) / 72.0
        self.title_font = _font(round(_TITLE_PT * self.scale))
        self.row_font = _font(round(_ROW_PT * self.scale))
        self.pad_x = 8 * self.scale
        self.pad_y = 4 * self.scale
        self.line = max(1, round(self.scale * 0.75))

    def font(self, index):
        return self.title_font if index == 0 else self.row_font

    def text_size(self, text, font):
        left, top, right, bottom = font.getbbox(text or " ")
        _, full_top, _, full_bottom = font.getbbox("Ag(|y")
        return right - left, full_bottom - min(full_top, 0)

    def row_heights(self, rows):
        return [self.text_size(text, self.font(i))[1] + 2 * self.pad_y for i, text in enumerate(rows)]

    def box_size(self, rows):
        width = max(self.text_size(text, self.font(i))[0] for i, text in enumerate(rows)) + 2 * self.pad_x
        return max(width, 60 * self.scale), sum(self.row_heights(rows))

    def arrange(self, boxes, edges, clusters, rankdir):
        """``boxes``: id -> (rows, title fill); ``clusters``: id -> (parent, members, label)."""
        sizes = {n: self.box_size(rows) for n, (rows, _) in boxes.items()}
        labels = {}
        for c, (_, _, text) in clusters.items():
            width, height = self.text_size(text, self.row_font)
            labels[c] = (width + 2 * self.pad_x, height + 4 * self.scale)
        return layout(sizes, edges, {c: (p, m) for c, (p, m, _) in clusters.items()}, rankdir=rankdir,
                      node_sep=18 * self.scale, rank_sep=26 * self.scale, cluster_pad=8 * self.scale,
                      cluster_labels=labels, margin=10 * self.scale)


def _arrow_head(points, size):
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-6)
    dx, dy = (x1 - x0) / length, (y1 - y0) / length
    base_x, base_y = x1 - dx * size, y1 - dy * size
    half = size * 0.45
    return [(x1, y1), (base_x - dy * half, base_y + dx * half), (base_x + dy * half, base_y - dx * half)]


def _shorten(points, amount):
    """The polyline without its last ``amount`` units, so the line stops where the arrow head starts."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-6)
    cut = min(amount, length)
    return points[:-1] + [(x1 - (x1 - x0) * cut / length, y1 - (y1 - y0) * cut / length)]


def draw_image(scene, boxes, edges, clusters, rankdir):
    """The graph as an RGB Pillow image."""
    result = scene.arrange(boxes, edges, clusters, rankdir)
    image = Image.new("RGB", (max(1, round(result.width)), max(1, round(result.height))), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for c in sorted(result.clusters, key=lambda c: _nesting(c, clusters)):
        x, y, w, h = result.clusters[c]
        draw.rectangle([x, y, x + w, y + h], fill=CLUSTER_FILL, outline=CLUSTER_BORDER, width=scene.line)
        draw.text((x + scene.pad_x, y + 3 * scene.scale), clusters[c][2], fill=TEXT, font=scene.row_font)
    head = 7 * scene.scale
    for points in result.edges.values():
        points = [tuple(p) for p in points]
        draw.line(_shorten(points, head * 0.8), fill=EDGE, width=scene.line, joint="curve")
        draw.polygon(_arrow_head(points, head), fill=EDGE)
    for n, (rows, title_fill) in boxes.items():
        x, y, w, _ = result.boxes[n]
        for i, (text, height) in enumerate(zip(rows, scene.row_heights(rows))):
            draw.rectangle([x, y, x + w, y + height], fill=title_fill if i == 0 else ROW_FILL, outline=BORDER,
                           width=scene.line)
            draw.text((x + w / 2, y + height / 2), text, fill=TEXT, font=scene.font(i), anchor="mm")
            y += height
    return image


def draw_svg(scene, boxes, edges, clusters, rankdir):
    """The graph as SVG source; the physical size matches the PNG at ``dpi``."""
    result = scene.arrange(boxes, edges, clusters, rankdir)
    width, height = result.width, result.height
    points_per_unit = 1.0 / scene.scale  # drawing units are pixels at dpi; SVG sizes are in points
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * points_per_unit:.1f}pt" '
        f'height="{height * points_per_unit:.1f}pt" viewBox="0 0 {width:.1f} {height:.1f}">',
        f'<rect x="0" y="0" width="{width:.1f}" height="{height:.1f}" fill="{BACKGROUND}"/>',
        f'<g font-family="Helvetica, Arial, sans-serif" fill="{TEXT}">',
    ]
    for c in sorted(result.clusters, key=lambda c: _nesting(c, clusters)):
        x, y, w, h = result.clusters[c]
        out.append(f'<g class="cluster" id="cluster_{escape(str(c))}"><rect x="{x:.1f}" y="{y:.1f}" '
                   f'width="{w:.1f}" height="{h:.1f}" fill="{CLUSTER_FILL}" stroke="{CLUSTER_BORDER}" '
                   f'stroke-width="{scene.line}"/>')
        out.append(f'<text x="{x + scene.pad_x:.1f}" y="{y + 3 * scene.scale:.1f}" dominant-baseline="hanging" '
                   f'font-size="{_ROW_PT * scene.scale:.1f}">{escape(clusters[c][2])}</text></g>')
    head = 7 * scene.scale
    for points in result.edges.values():
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in _shorten(list(points), head * 0.8))
        tip = " ".join(f"{x:.1f},{y:.1f}" for x, y in _arrow_head(list(points), head))
        out.append(f'<g class="edge"><polyline points="{line}" fill="none" stroke="{EDGE}" '
                   f'stroke-width="{scene.line}"/><polygon points="{tip}" fill="{EDGE}"/></g>')
    for n, (rows, title_fill) in boxes.items():
        x, y, w, _ = result.boxes[n]
        out.append('<g class="node">')
        for i, (text, row_height) in enumerate(zip(rows, scene.row_heights(rows))):
            size = (_TITLE_PT if i == 0 else _ROW_PT) * scene.scale
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row_height:.1f}" '
                       f'fill="{title_fill if i == 0 else ROW_FILL}" stroke="{BORDER}" stroke-width="{scene.line}"/>')
            out.append(f'<text x="{x + w / 2:.1f}" y="{y + row_height / 2:.1f}" text-anchor="middle" '
                       f'dominant-baseline="central" font-size="{size:.1f}">{escape(text)}</text>')
            y += row_height
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _nesting(cluster, clusters):
    depth = 0
    while cluster is not None:
        cluster = clusters[cluster][0]
        depth += 1
    return depth


def save(boxes, edges, clusters, path, rankdir="TB", dpi=200):
    """Writes the drawing to ``path``; the format comes from the extension (png, jpg/jpeg, svg, pdf)."""
    extension = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if extension not in ("png", "jpg", "jpeg", "svg", "pdf"):
        raise ValueError(
            "plot_model can write .png, .jpg, .jpeg, .svg and .pdf files; the format is taken from the "
            f"file extension. Received: to_file={str(path)!r}"
        )
    scene = Scene(dpi)
    if extension == "svg":
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(draw_svg(scene, boxes, edges, clusters, rankdir))
        return extension
    image = draw_image(scene, boxes, edges, clusters, rankdir)
    if extension == "png":
        image.save(path, "PNG", dpi=(dpi, dpi))
    elif extension == "pdf":
        image.save(path, "PDF", resolution=float(dpi))
    else:
        image.save(path, "JPEG", quality=95, dpi=(dpi, dpi))
    return extension
