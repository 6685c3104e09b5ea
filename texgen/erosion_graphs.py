"""The erosion's data-parallel passes as ONNX graphs, so onnxruntime runs them on the GPU.

texgen's runtime has no torch (docs/architecture.md): its GPU is onnxruntime's. The droplets
(`rain`) and the talus (`thermal`) are each one set of array operations a step over every
droplet or cell, which is what a GPU does well, so they are written here a second time, as
graphs built with `onnx.helper`, node for node the numpy of `texgen.erosion`: the same
operations in the same order, in float64. On the CPU provider the heights come out as numpy's
to the last bit (tests/core/test_erosion_graphs.py); on a GPU the
sums of droplets that meet in one cell are added in whatever order its threads finish, so a run
can differ from the next in the last bits, and a droplet that rounds to the other side of a cell
takes another path. The rivers stay in numpy: each iteration's drainage areas and incision run
from the outlets upstream, one step of a flow path after another, thousands of steps on a large
map, which a GPU cannot run at once.

A graph is built and its session opened once per map shape and setting, and kept (`_session`);
the droplets' start points and the directions they take where they stall on a flat come from
the caller's numpy generator, so a seed starts the same droplets on every device.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from texgen.devices import available_devices, create_session
from texgen.erosion import _NEIGHBOURS, Erosion, _brush
from texgen.errors import ModelError

__all__ = ["GraphPasses", "available_devices", "droplet_model", "talus_model"]

OPSET = 18  # ScatterElements' reduction="add" (16), ReduceSum/ReduceMax with axes as an input (18)
F64 = TensorProto.DOUBLE


class _Graph:
    """Nodes added in order, each op returning its output's name; constants become initializers
    of the outermost graph (a loop's body reads them from there)."""

    def __init__(self, prefix: str, root: _Graph | None = None):
        self.nodes: list[onnx.NodeProto] = []
        self.prefix = prefix
        self.root = root or self
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, hint: str = "t") -> str:
        self.root.count += 1
        return f"{self.prefix}{hint}{self.root.count}"

    def __call__(self, op: str, *inputs: str, n_out: int = 1, **attrs) -> str | list[str]:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=np.float64) -> str:
        name = self.name("c")
        self.root.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    # Shorthands, so the graph reads like the numpy it mirrors.
    def add(self, a, b):
        return self("Add", a, b)

    def sub(self, a, b):
        return self("Sub", a, b)

    def mul(self, a, b):
        return self("Mul", a, b)

    def div(self, a, b):
        return self("Div", a, b)

    def where(self, c, a, b):
        return self("Where", c, a, b)

    def floor_int(self, a):
        return self("Cast", self("Floor", a), to=TensorProto.INT64)


def _value(name: str, elem: int, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _model(g: _Graph, inputs, outputs) -> bytes:
    graph = helper.make_graph(g.nodes, "erosion", inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="texgen")
    model.ir_version = 9  # onnxruntime 1.17, the oldest this project supports, reads up to IR 9
    return model.SerializeToString()


# --- droplets ---------------------------------------------------------------------------------


def _sample(g: _Graph, flat: str, y: str, x: str, hgt: int, wid: int, wrap: bool):
    """texgen.erosion._sample: bilinear height and gradient at (y, x), the four corners and weights."""
    one, i_one = g.const(1.0), g.const(1, np.int64)
    iy, ix = g.floor_int(y), g.floor_int(x)
    fy = g.sub(y, g("Cast", iy, to=F64))
    fx = g.sub(x, g("Cast", ix, to=F64))
    y1, x1 = g.add(iy, i_one), g.add(ix, i_one)
    h_i, w_i = g.const(hgt, np.int64), g.const(wid, np.int64)
    if wrap:
        iy, ix, y1, x1 = g("Mod", iy, h_i), g("Mod", ix, w_i), g("Mod", y1, h_i), g("Mod", x1, w_i)
    else:
        y1, x1 = g("Min", y1, g.const(hgt - 1, np.int64)), g("Min", x1, g.const(wid - 1, np.int64))
    rows = (g.mul(iy, w_i), g.mul(y1, w_i))
    c = [g.add(rows[0], ix), g.add(rows[0], x1), g.add(rows[1], ix), g.add(rows[1], x1)]
    h00, h01, h10, h11 = (g("Gather", flat, k) for k in c)
    gfy, gfx = g.sub(one, fy), g.sub(one, fx)
    gx = g.add(g.mul(g.sub(h01, h00), gfy), g.mul(g.sub(h11, h10), fy))
    gy = g.add(g.mul(g.sub(h10, h00), gfx), g.mul(g.sub(h11, h01), fx))
    h = g.add(
        g.add(g.add(g.mul(g.mul(h00, gfx), gfy), g.mul(g.mul(h01, fx), gfy)), g.mul(g.mul(h10, gfx), fy)),
        g.mul(g.mul(h11, fx), fy),
    )
    weights = [g.mul(gfx, gfy), g.mul(fx, gfy), g.mul(gfx, fy), g.mul(fx, fy)]
    return h, gy, gx, c, weights


def _columns(g: _Graph, names: list[str]) -> str:
    """n-vectors side by side: n x k (as numpy's stack(axis=1))."""
    axis = g.const([1], np.int64)
    return g("Concat", *[g("Unsqueeze", n, axis) for n in names], axis=1)


def _splat(g: _Graph, n_cells: int, cells: str, weights: str) -> str:
    """np.bincount(cells.ravel(), weights.ravel(), minlength=n_cells) of two n x k arrays."""
    flat_shape = g.const([-1], np.int64)
    zeros = g("ConstantOfShape", g.const([n_cells], np.int64), value=helper.make_tensor("z", F64, [1], [0.0]))
    return g(
        "ScatterElements",
        zeros,
        g("Reshape", cells, flat_shape),
        g("Reshape", weights, flat_shape),
        axis=0,
        reduction="add",
    )


def _mod_float(g: _Graph, a: str, m: float) -> str:
    """numpy's float `a % m` for m > 0: C's fmod, moved up by m where it is negative."""
    mc = g.const(m)
    r = g("Mod", a, mc, fmod=1)
    return g.where(g("Less", r, g.const(0.0)), g.add(r, mc), r)


def droplet_model(hgt: int, wid: int, wrap: bool, params: tuple) -> bytes:
    """One batch of droplets (texgen.erosion._hydraulic's inner loop, and the settling after it).
    Inputs: `heights` (cells), `y`, `x` (a start point per droplet), `angles` (steps x droplets:
    the direction a droplet takes where it stalls on a flat). Output: `eroded` (cells)."""
    inertia, capacity, deposition, erosion, evaporation, gravity, min_slope, radius, steps = params
    n_cells = hgt * wid
    root = _Graph("")
    b = _Graph("b_", root)  # the loop's body: one step of every droplet
    it, cond_in = "b_iter", "b_cond"
    carried = ["flat", "y", "x", "dy", "dx", "speed", "water", "sediment", "alive"]
    v = {k: f"b_{k}_in" for k in carried}
    alive = v["alive"]
    step_angle = b("Gather", "angles", it, axis=0)
    h0, gy, gx, corners, weights = _sample(b, v["flat"], v["y"], v["x"], hgt, wid, wrap)
    # Direction: a little of the old one, the rest downhill.
    keep, turn = b.const(inertia), b.const(1 - inertia)
    ndy = b.sub(b.mul(v["dy"], keep), b.mul(gy, turn))
    ndx = b.sub(b.mul(v["dx"], keep), b.mul(gx, turn))
    norm = b("Sqrt", b.add(b.mul(ndy, ndy), b.mul(ndx, ndx)))
    still = b("Less", norm, b.const(1e-12))
    ndy = b.where(still, b("Sin", step_angle), ndy)
    ndx = b.where(still, b("Cos", step_angle), ndx)
    norm = b.where(still, b.const(1.0), norm)
    ndy, ndx = b.div(ndy, norm), b.div(ndx, norm)
    ny, nx = b.add(v["y"], ndy), b.add(v["x"], ndx)
    if wrap:
        ny, nx = _mod_float(b, ny, float(hgt)), _mod_float(b, nx, float(wid))
        gone = None  # nothing leaves a wrapped map
        h1 = _sample(b, v["flat"], ny, nx, hgt, wid, wrap)[0]
    else:
        zero = b.const(0.0)
        gone = b("Or", b("Or", b("Less", ny, zero), b("GreaterOrEqual", ny, b.const(hgt - 1.0))),
                 b("Or", b("Less", nx, zero), b("GreaterOrEqual", nx, b.const(wid - 1.0))))  # fmt: skip
        cy = b("Clip", ny, zero, b.const(hgt - 1.001))
        cx = b("Clip", nx, zero, b.const(wid - 1.001))
        h1 = b.where(gone, h0, _sample(b, v["flat"], cy, cx, hgt, wid, wrap)[0])
    dh = b.sub(h1, h0)
    sed, wat, spd = v["sediment"], v["water"], v["speed"]
    zero = b.const(0.0)
    neg_dh = b("Neg", dh)
    cap = b.mul(b.mul(b.mul(b("Max", neg_dh, b.const(min_slope)), spd), wat), b.const(capacity))
    rising = b("Greater", dh, zero)
    deposit = b("Or", b("Greater", sed, cap), rising)
    put = b.where(rising, b("Min", dh, sed), b.mul(b.sub(sed, cap), b.const(deposition)))
    put = b.where(b("And", deposit, alive), put, zero)
    take = b.where(deposit, zero, b("Min", b.mul(b.sub(cap, sed), b.const(erosion)), b("Max", neg_dh, zero)))
    take = b.where(alive, take, zero)
    # What is put down at the four corners, and what the brush takes around the cell.
    col = b.const([1], np.int64)
    put_sum = _splat(b, n_cells, _columns(b, corners), b.mul(_columns(b, weights), b("Unsqueeze", put, col)))
    by, bx, bw = _brush(radius)
    iy, ix = b.floor_int(v["y"]), b.floor_int(v["x"])
    py = b.add(b("Unsqueeze", iy, col), b.const(by[None, :], np.int64))
    px = b.add(b("Unsqueeze", ix, col), b.const(bx[None, :], np.int64))
    h_i, w_i = b.const(hgt, np.int64), b.const(wid, np.int64)
    if wrap:  # the whole brush is on the map: the same weights for every droplet
        cells = b.add(b.mul(b("Mod", py, h_i), w_i), b("Mod", px, w_i))
        w = b.const((bw / np.maximum(bw.sum(keepdims=True), 1e-12))[None, :])
    else:
        i_zero = b.const(0, np.int64)
        inside = b("And", b("And", b("GreaterOrEqual", py, i_zero), b("Less", py, h_i)),
                   b("And", b("GreaterOrEqual", px, i_zero), b("Less", px, w_i)))  # fmt: skip
        w = b.where(inside, b.const(bw[None, :]), zero)
        total = zero
        for k in range(len(bw)):  # in order, as numpy adds them
            total = b.add(total, b("Gather", w, b.const([k], np.int64), axis=1))
        w = b.div(w, b("Max", total, b.const(1e-12)))
        cells = b.where(inside, b.add(b.mul(py, w_i), px), i_zero)
    take_sum = _splat(b, n_cells, cells, b.mul(w, b("Unsqueeze", take, col)))
    out = {"flat": b.add(v["flat"], b.sub(put_sum, take_sum))}
    # Every droplet carried on; the dead ones keep their last state (they no longer act).
    out["sediment"] = b.where(alive, b.sub(b.add(sed, take), put), sed)
    new_speed = b("Sqrt", b("Max", b.add(b.mul(spd, spd), b.mul(dh, b.const(gravity))), zero))
    out["speed"] = b.where(alive, new_speed, spd)
    out["water"] = b.where(alive, b.mul(wat, b.const(1 - evaporation)), wat)
    still_in = alive if gone is None else b("And", alive, b("Not", gone))
    for k, new in (("y", ny), ("x", nx), ("dy", ndy), ("dx", ndx)):
        out[k] = b.where(still_in, new, v[k])
    out["alive"] = still_in
    cond_out = b("Cast", b("ReduceMax", b("Cast", still_in, to=TensorProto.INT64), keepdims=0), to=TensorProto.BOOL)
    body_outputs = [b("Identity", cond_out)] + [b("Identity", out[k]) for k in carried]
    body = helper.make_graph(
        b.nodes,
        "droplet_step",
        [_value(it, TensorProto.INT64, []), _value(cond_in, TensorProto.BOOL, [])]
        + [_value(v[k], TensorProto.BOOL if k == "alive" else F64, None) for k in carried],
        [_value(body_outputs[0], TensorProto.BOOL, [])]
        + [_value(o, TensorProto.BOOL if k == "alive" else F64, None) for k, o in zip(carried, body_outputs[1:])],
    )

    # The outer graph: every droplet starts still, with one unit of water, carrying nothing.
    g = root
    n_shape = g("Shape", "y")
    zeros = g("ConstantOfShape", n_shape, value=helper.make_tensor("z", F64, [1], [0.0]))
    ones = g("ConstantOfShape", n_shape, value=helper.make_tensor("o", F64, [1], [1.0]))
    alive0 = g("ConstantOfShape", n_shape, value=helper.make_tensor("a", TensorProto.BOOL, [1], [True]))
    start = ["heights", "y", "x", zeros, zeros, ones, ones, zeros, alive0]
    final = g("Loop", g.const(steps, np.int64), g.const(True, np.bool_), *start, n_out=len(carried), body=body)
    end = dict(zip(carried, final))
    # What the droplets still carry settles where they end.
    _, _, _, corners, weights = _sample(g, end["flat"], end["y"], end["x"], hgt, wid, wrap)
    load = g.where(g("And", end["alive"], g("Greater", end["sediment"], g.const(0.0))), end["sediment"], g.const(0.0))
    col = g.const([1], np.int64)
    settled = _splat(g, n_cells, _columns(g, corners), g.mul(_columns(g, weights), g("Unsqueeze", load, col)))
    g.nodes.append(helper.make_node("Add", [end["flat"], settled], ["eroded"]))
    return _model(
        g,
        [
            _value("heights", F64, [n_cells]),
            _value("y", F64, ["n"]),
            _value("x", F64, ["n"]),
            _value("angles", F64, [steps, "n"]),
        ],  # fmt: skip
        [_value("eroded", F64, [n_cells])],
    )


# --- talus ------------------------------------------------------------------------------------


def _slice(g: _Graph, a: str, start: int, end: int, axis: int) -> str:
    return g("Slice", a, g.const([start], np.int64), g.const([end], np.int64), g.const([axis], np.int64))


def _pad1(g: _Graph, a: str, hgt: int, wid: int, wrap: bool) -> str:
    """np.pad(a, 1, mode="wrap" or "edge"), by concatenating rows and columns."""
    top, bottom = (_slice(g, a, hgt - 1, hgt, 0), _slice(g, a, 0, 1, 0)) if wrap else (
        _slice(g, a, 0, 1, 0), _slice(g, a, hgt - 1, hgt, 0))  # fmt: skip
    a = g("Concat", top, a, bottom, axis=0)
    left, right = (_slice(g, a, wid - 1, wid, 1), _slice(g, a, 0, 1, 1)) if wrap else (
        _slice(g, a, 0, 1, 1), _slice(g, a, wid - 1, wid, 1))  # fmt: skip
    return g("Concat", left, a, right, axis=1)


def _shift(g: _Graph, a: str, dy: int, dx: int, hgt: int, wid: int, wrap: bool) -> str:
    """texgen.erosion._shift: `a` moved by (dy, dx), round the borders or with zeros coming in."""
    for d, size, axis in ((dy, hgt, 0), (dx, wid, 1)):
        if d == 0:
            continue
        if wrap:  # np.roll
            a = g("Concat", _slice(g, a, size - d if d > 0 else -d, size, axis),
                  _slice(g, a, 0, size - d if d > 0 else -d, axis), axis=axis)  # fmt: skip
        else:
            edge_shape = [hgt, wid]
            edge_shape[axis] = abs(d)
            zeros = g.const(np.zeros(edge_shape))
            a = (g("Concat", zeros, _slice(g, a, 0, size - d, axis), axis=axis) if d > 0
                 else g("Concat", _slice(g, a, -d, size, axis), zeros, axis=axis))  # fmt: skip
        # the other axis' size is unchanged, so the next shift's edge has the right shape
    return a


def talus_model(hgt: int, wid: int, wrap: bool, rate: float) -> bytes:
    """texgen.erosion._thermal's iterations. Inputs: `heights` (H x W), `talus` (the slope, a
    scalar), `iterations` (int64 scalar). Output: `eroded` (H x W)."""
    root = _Graph("")
    b = _Graph("b_", root)
    u = "b_u_in"
    p = _pad1(b, u, hgt, wid, wrap)
    zero = b.const(0.0)
    excess = []
    for a, c in _NEIGHBOURS:
        neighbour = _slice(b, _slice(b, p, 1 + a, 1 + a + hgt, 0), 1 + c, 1 + c + wid, 1)
        e = b.sub(b.sub(u, neighbour), b.mul("talus", b.const(math.hypot(a, c))))
        excess.append(b("Max", e, zero))
    total, biggest = b.add(zero, excess[0]), b("Max", zero, excess[0])
    for e in excess[1:]:
        total, biggest = b.add(total, e), b("Max", biggest, e)
    share = b.div(b.mul(b.const(rate * 0.5), biggest), b("Max", total, b.const(1e-12)))
    moved = b.where(b("Greater", total, zero), share, zero)
    outs = [b.mul(e, moved) for e in excess]
    gone = outs[0]
    for o in outs[1:]:
        gone = b.add(gone, o)
    u = b.sub(u, gone)
    for o, (a, c) in zip(outs, _NEIGHBOURS):
        u = b.add(u, _shift(b, o, a, c, hgt, wid, wrap))
    cond = b("Identity", b.const(True, np.bool_))
    u_out = b("Identity", u)
    body = helper.make_graph(
        b.nodes,
        "talus_step",
        [_value("b_iter", TensorProto.INT64, []), _value("b_cond", TensorProto.BOOL, []), _value("b_u_in", F64, None)],
        [_value(cond, TensorProto.BOOL, []), _value(u_out, F64, None)],
    )
    g = root
    (result,) = [g("Loop", "iterations", g.const(True, np.bool_), "heights", body=body)]
    g.nodes.append(helper.make_node("Identity", [result], ["eroded"]))
    return _model(
        g,
        [_value("heights", F64, [hgt, wid]), _value("talus", F64, []), _value("iterations", TensorProto.INT64, [])],
        [_value("eroded", F64, [hgt, wid])],
    )


# --- running them -----------------------------------------------------------------------------


def _params(s: Erosion) -> tuple:
    return (s.inertia, s.capacity, s.deposition, s.erosion, s.evaporation, s.gravity, s.min_slope, s.radius, s.steps)


@functools.lru_cache(maxsize=8)
def _session(build, args: tuple, device: str):
    """A session of `build(*args)` on `device`, kept: building and optimising a graph takes a
    fraction of a second, a map's worth of droplet batches reuses it."""
    return create_session(build(*args), device).session


@functools.cache
def _start_problem(device: str) -> str | None:
    """Why the graphs cannot run on `device` (None: they can), tried once a process."""
    try:
        _session(talus_model, (16, 16, True, 0.5), device)
    except ModelError as exc:
        return exc.problem
    return None


class GraphPasses:
    """The droplets and the talus as graphs on an onnxruntime device ("cuda"; "cpu" runs the
    same graphs on the CPU, for the tests and the benchmarks). Raises ModelError where the
    device cannot start."""

    def __init__(self, device: str):
        problem = _start_problem(device)
        if problem:
            raise ModelError(problem, "the erosion runs in numpy on the CPU instead")
        self.device = device

    def droplets(self, flat, y, x, angles, shape: tuple[int, int], wrap: bool, s: Erosion) -> np.ndarray:
        """One batch of droplets: texgen.erosion._droplets, returning the heights (raveled)."""
        sess = _session(droplet_model, (*shape, wrap, _params(s)), self.device)
        feed = {"heights": flat, "y": y, "x": x, "angles": angles}
        return sess.run(["eroded"], {k: np.ascontiguousarray(v, np.float64) for k, v in feed.items()})[0]

    def talus(self, u: np.ndarray, talus: float, iterations: int, wrap: bool, rate: float) -> np.ndarray:
        """texgen.erosion._thermal's iterations at the given talus slope."""
        sess = _session(talus_model, (*u.shape, wrap, rate), self.device)
        feed = {"heights": np.ascontiguousarray(u, np.float64), "talus": np.array(talus, np.float64),
                "iterations": np.array(iterations, np.int64)}  # fmt: skip
        return sess.run(["eroded"], feed)[0]
