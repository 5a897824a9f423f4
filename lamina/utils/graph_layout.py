"""A layered ("Sugiyama") layout for layer graphs, in pure Python.

Boxes go on ranks by longest path from the inputs; edges that skip ranks get
invisible waypoints; the order within each rank is improved by barycenter sweeps
(keeping the order with the fewest crossings), with the boxes of one cluster kept
together; positions inside a rank are the closest ones to the neighbours'
positions that keep the boxes apart (isotonic regression); clusters are then
pushed clear of the boxes that are not theirs.

>>> result = layout({"a": (40, 20), "b": (40, 20), "c": (40, 20)}, [("a", "b"), ("a", "c"), ("b", "c")])
>>> result.boxes["a"][1] < result.boxes["b"][1] < result.boxes["c"][1]
True
>>> len(result.edges[("a", "c")]) > 2  # the long edge bends round "b"
True
"""

from collections import namedtuple

Layout = namedtuple("Layout", "boxes edges clusters width height")
Layout.__doc__ = """boxes: id -> (x, y, w, h); edges: (src, dst) -> [(x, y), ...]; clusters: id -> (x, y, w, h)."""

_SWEEPS = 12


def layout(sizes, edges, clusters=None, rankdir="TB", node_sep=24.0, rank_sep=36.0, cluster_pad=12.0,
           cluster_labels=None, margin=12.0):
    """Places boxes of the given sizes on ranks and routes the edges between them.

    Args:
        sizes: ``{id: (width, height)}`` in drawing order (inputs first reads best).
        edges: ``[(src, dst), ...]``; duplicates are drawn once.
        clusters: ``{cluster_id: (parent_cluster_id or None, [member ids])}``: boxes of a
            cluster are drawn inside one frame.
        cluster_labels: ``{cluster_id: (width, height)}`` of each frame's title, kept clear in the
            frame's top-left corner, beside the boxes (so that no edge crosses it).
        rankdir: ``"TB"`` (top to bottom), ``"BT"``, ``"LR"`` (left to right) or ``"RL"``.
        node_sep, rank_sep, cluster_pad, margin: spacings, in the units of ``sizes``.

    Returns:
        A `Layout`.
    """
    horizontal = rankdir in ("LR", "RL")
    # Work in (u, v): u along a rank, v across ranks; breadth is a box's extent along u.
    breadth = {n: (h if horizontal else w) for n, (w, h) in sizes.items()}
    depth = {n: (w if horizontal else h) for n, (w, h) in sizes.items()}
    edges = list(dict.fromkeys((s, d) for s, d in edges if s in sizes and d in sizes and s != d))
    owner, parents = _cluster_maps(clusters or {})
    rank = _ranks(list(sizes), edges)
    succ, pred, chains = _split_long_edges(edges, rank, owner, parents, breadth, depth)
    ranks = _initial_order(list(sizes), rank, succ, chains)
    ranks = _order(ranks, succ, pred, owner, parents)

    labels = {c: (cluster_labels or {}).get(c, (0.0, 0.0)) for c in parents}
    # Room for titles: TB keeps a band above the boxes and the title's width left of them; LR keeps a
    # band above the boxes (along u) and frames at least as wide as the title.
    label_u = {c: (h if horizontal else w) for c, (w, h) in labels.items()}
    label_v = {c: (0.0 if horizontal else h) for c, (w, h) in labels.items()}
    nesting = max((len(_path(c, parents)) for c in parents), default=0)
    gap_v = rank_sep + nesting * (cluster_pad + max(label_v.values(), default=0.0))
    v_top, v = {}, 0.0
    for r, row in enumerate(ranks):
        v_top[r] = v
        v += max(depth[n] for n in row) + gap_v
    center_v = {n: v_top[r] + max(depth[m] for m in ranks[r]) / 2 for r, row in enumerate(ranks) for n in row}
    u = _positions(ranks, succ, pred, breadth, owner, parents, node_sep, cluster_pad)
    frames = _separate_clusters(ranks, u, breadth, owner, parents, node_sep, cluster_pad, label_u) if parents else {}

    # Frames grow by their title and padding along v; edges attach at spread-out ports.
    frame_v = {}
    for c, members in _members(parents, owner).items():
        top = min(center_v[n] - depth[n] / 2 for n in members) - cluster_pad - label_v[c]
        bottom = max(center_v[n] + depth[n] / 2 for n in members) + cluster_pad
        if horizontal:
            bottom = max(bottom, top + labels[c][0] + 2 * cluster_pad)
        frame_v[c] = (top, bottom)
    lo_u = min([u[n] - breadth[n] / 2 for n in u] + [f[0] for f in frames.values()])
    lo_v = min([center_v[n] - depth[n] / 2 for n in center_v] + [f[0] for f in frame_v.values()])
    hi_u = max([u[n] + breadth[n] / 2 for n in u] + [f[1] for f in frames.values()])
    hi_v = max([center_v[n] + depth[n] / 2 for n in center_v] + [f[1] for f in frame_v.values()])
    extent_v = hi_v - lo_v

    def point(pu, pv):
        pu, pv = pu - lo_u + margin, pv - lo_v
        if rankdir in ("BT", "RL"):
            pv = extent_v - pv
        pv += margin
        return (pv, pu) if horizontal else (pu, pv)

    def rect(u0, u1, v0, v1):
        (x0, y0), (x1, y1) = point(u0, v0), point(u1, v1)
        return (min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))

    boxes = {n: rect(u[n] - breadth[n] / 2, u[n] + breadth[n] / 2, center_v[n] - depth[n] / 2,
                     center_v[n] + depth[n] / 2) for n in sizes}
    routes = {}
    out_port = _ports(succ, u, breadth, sizes)
    in_port = _ports(pred, u, breadth, sizes)
    for (s, d), chain in chains.items():
        path = [s] + chain + [d]
        points = [point(out_port[s][path[1]], center_v[s] + depth[s] / 2)]
        points += [point(u[w], center_v[w]) for w in chain]
        points.append(point(in_port[d][path[-2]], center_v[d] - depth[d] / 2))
        routes[(s, d)] = points
    frame_rects = {c: rect(frames[c][0], frames[c][1], frame_v[c][0], frame_v[c][1]) for c in frames}
    width, height = (extent_v, hi_u - lo_u) if horizontal else (hi_u - lo_u, extent_v)
    return Layout(boxes, routes, frame_rects, width + 2 * margin, height + 2 * margin)


# ---- ranks and waypoints -----------------------------------------------------------------------------

def _cluster_maps(clusters):
    owner, parents = {}, {}
    for c, (parent, members) in clusters.items():
        parents[c] = parent
        for n in members:
            owner[n] = c
    return owner, parents


def _path(cluster, parents):
    """Clusters from the outermost down to ``cluster``."""
    out = []
    while cluster is not None:
        out.append(cluster)
        cluster = parents.get(cluster)
    return out[::-1]


def _members(parents, owner):
    out = {c: [] for c in parents}
    for n, c in owner.items():
        for ancestor in _path(c, parents):
            out[ancestor].append(n)
    return {c: m for c, m in out.items() if m}


def _ranks(nodes, edges):
    incoming = {n: 0 for n in nodes}
    outgoing = {n: [] for n in nodes}
    for s, d in edges:
        incoming[d] += 1
        outgoing[s].append(d)
    rank = {n: 0 for n in nodes}
    ready = [n for n in nodes if incoming[n] == 0]
    while ready:
        n = ready.pop(0)
        for d in outgoing[n]:
            rank[d] = max(rank[d], rank[n] + 1)
            incoming[d] -= 1
            if incoming[d] == 0:
                ready.append(d)
    return rank


def _split_long_edges(edges, rank, owner, parents, breadth, depth):
    succ = {n: [] for n in rank}
    pred = {n: [] for n in rank}
    chains = {}
    for s, d in edges:
        chain, previous = [], s
        common = _common_cluster(owner.get(s), owner.get(d), parents)
        for r in range(rank[s] + 1, rank[d]):
            waypoint = ("__waypoint__", s, d, r)
            rank[waypoint], breadth[waypoint], depth[waypoint] = r, 2.0, 0.0
            succ[waypoint], pred[waypoint] = [], []
            if common is not None:
                owner[waypoint] = common
            chain.append(waypoint)
            succ[previous].append(waypoint)
            pred[waypoint].append(previous)
            previous = waypoint
        succ[previous].append(d)
        pred[d].append(previous)
        chains[(s, d)] = chain
    return succ, pred, chains


def _common_cluster(a, b, parents):
    common = None
    for x, y in zip(_path(a, parents), _path(b, parents)):
        if x != y:
            break
        common = x
    return common


def _initial_order(nodes, rank, succ, chains):
    ranks = [[] for _ in range(max(rank.values(), default=0) + 1)]
    seen = set()

    def visit(n):
        stack = [n]
        while stack:
            m = stack.pop()
            if m in seen:
                continue
            seen.add(m)
            ranks[rank[m]].append(m)
            stack.extend(reversed(succ[m]))

    for n in nodes:
        visit(n)
    return ranks


# ---- order within ranks ------------------------------------------------------------------------------

def _order(ranks, succ, pred, owner, parents):
    best, best_crossings = [list(r) for r in ranks], _crossings(ranks, succ)
    for sweep in range(_SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(ranks)) if down else range(len(ranks) - 2, -1, -1)
        for r in indices:
            fixed = {n: i for i, n in enumerate(ranks[r - 1 if down else r + 1])}
            neighbours = pred if down else succ
            keys = {}
            for i, n in enumerate(ranks[r]):
                positions = [fixed[m] for m in neighbours[n] if m in fixed]
                keys[n] = sum(positions) / len(positions) if positions else i
            ranks[r] = _grouped_sort(ranks[r], keys, owner, parents, 0)
        crossings = _crossings(ranks, succ)
        if crossings < best_crossings:
            best, best_crossings = [list(r) for r in ranks], crossings
    return best


def _grouped_sort(row, keys, owner, parents, level):
    """Sorts by key, keeping each cluster (at nesting ``level`` and below) contiguous."""
    groups = {}
    for n in row:
        path = _path(owner.get(n), parents)
        group = path[level] if len(path) > level else ("__node__", n)
        groups.setdefault(group, []).append(n)
    ordered = sorted(groups.items(), key=lambda item: sum(keys[n] for n in item[1]) / len(item[1]))
    out = []
    for group, members in ordered:
        if isinstance(group, tuple) and group[0] == "__node__":
            out.extend(members)
        else:
            out.extend(_grouped_sort(members, keys, owner, parents, level + 1))
    return out


def _crossings(ranks, succ):
    total = 0
    for r in range(len(ranks) - 1):
        below = {n: i for i, n in enumerate(ranks[r + 1])}
        pairs = [(i, below[d]) for i, n in enumerate(ranks[r]) for d in succ[n] if d in below]
        total += sum(1 for a in range(len(pairs)) for b in range(a + 1, len(pairs))
                     if (pairs[a][0] - pairs[b][0]) * (pairs[a][1] - pairs[b][1]) < 0)
    return total


# ---- positions within ranks --------------------------------------------------------------------------

def _gap(a, b, breadth, owner, parents, node_sep, cluster_pad):
    """The distance between the centres of neighbours ``a`` and ``b`` in a rank."""
    pa, pb = _path(owner.get(a), parents), _path(owner.get(b), parents)
    common = len(_path(_common_cluster(owner.get(a), owner.get(b), parents), parents))
    frames = (len(pa) - common) + (len(pb) - common)
    sep = node_sep if min(breadth[a], breadth[b]) > 2.0 else node_sep / 2
    return breadth[a] / 2 + breadth[b] / 2 + sep + frames * cluster_pad


def _positions(ranks, succ, pred, breadth, owner, parents, node_sep, cluster_pad):
    u = {}
    for row in ranks:
        x = 0.0
        for i, n in enumerate(row):
            if i:
                x += _gap(row[i - 1], n, breadth, owner, parents, node_sep, cluster_pad)
            u[n] = x
    for sweep in range(8):
        down = sweep % 2 == 0
        neighbours = pred if down else succ
        for row in (ranks if down else ranks[::-1]):
            desired = []
            for n in row:
                linked = [u[m] for m in neighbours[n]]
                if sweep > 3:  # later sweeps look both ways, so a box centres between its inputs and outputs
                    linked += [u[m] for m in (succ if down else pred)[n]]
                desired.append(sum(linked) / len(linked) if linked else u[n])
            offsets = [0.0]
            for i in range(1, len(row)):
                offsets.append(offsets[-1] + _gap(row[i - 1], row[i], breadth, owner, parents, node_sep, cluster_pad))
            fitted = _isotonic([d - o for d, o in zip(desired, offsets)])
            for n, q, o in zip(row, fitted, offsets):
                u[n] = q + o
    return u


def _isotonic(values):
    """The non-decreasing sequence closest to ``values`` in least squares (pool adjacent violators)."""
    blocks = []  # [mean, count]
    for value in values:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count),
                          blocks[-1][1] + count]
    out = []
    for mean, count in blocks:
        out.extend([mean] * count)
    return out


def _separate_clusters(ranks, u, breadth, owner, parents, node_sep, cluster_pad, label_u):
    """Pushes boxes out of the frames of clusters they are not in; returns frame extents along u."""
    rank_of = {n: r for r, row in enumerate(ranks) for n in row}
    members = _members(parents, owner)
    # Outer frames must contain inner frames, so deeper clusters get more padding.
    pad = {c: cluster_pad * (1 + max((len(_path(d, parents)) - len(_path(c, parents))
                                      for d in parents if c in _path(d, parents)), default=0)) for c in members}
    frames = {}
    for _ in range(20):
        moved = False
        for c, inside in members.items():
            inside_set = set(inside)
            lo = min(u[n] - breadth[n] / 2 for n in inside) - pad[c] - label_u[c]
            hi = max(u[n] + breadth[n] / 2 for n in inside) + pad[c]
            frames[c] = (lo, hi)
            spanned = {rank_of[n] for n in inside}
            for r in range(min(spanned), max(spanned) + 1):
                row = ranks[r]
                first = min((i for i, n in enumerate(row) if n in inside_set), default=None)
                if first is None:
                    continue
                last = max(i for i, n in enumerate(row) if n in inside_set)
                for i in range(first - 1, -1, -1):  # boxes left of the cluster
                    limit = (lo - node_sep / 2 if i == first - 1 else u[row[i + 1]] - _gap(
                        row[i], row[i + 1], breadth, owner, parents, node_sep, cluster_pad) + breadth[row[i]] / 2)
                    if u[row[i]] + breadth[row[i]] / 2 > limit + 1e-6:
                        u[row[i]] = limit - breadth[row[i]] / 2
                        moved = True
                for i in range(last + 1, len(row)):  # boxes right of the cluster
                    limit = (hi + node_sep / 2 if i == last + 1 else u[row[i - 1]] + _gap(
                        row[i - 1], row[i], breadth, owner, parents, node_sep, cluster_pad) - breadth[row[i]] / 2)
                    if u[row[i]] - breadth[row[i]] / 2 < limit - 1e-6:
                        u[row[i]] = limit + breadth[row[i]] / 2
                        moved = True
        if not moved:
            break
    return frames


def _ports(adjacent, u, breadth, sizes):
    """Where each edge leaves or enters a box: spread over the middle of the box's side, in order."""
    ports = {}
    for n, others in adjacent.items():
        if n not in sizes:
            continue
        others = sorted(dict.fromkeys(others), key=lambda m: u[m])
        span = breadth[n] * 0.5
        ports[n] = {m: u[n] + (span * (i / (len(others) - 1) - 0.5) if len(others) > 1 else 0.0)
                    for i, m in enumerate(others)}
    return ports
