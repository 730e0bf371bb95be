"""workflows/tramite.bpmn's own layout (its BPMN DI), the diagram every Seguimiento shows with the expediente's path.

Read from the DI alone: no label overlaps another label or a shape other than its own, each label is big enough for its
text, no two sequence flows cross and none runs through a shape it does not connect, every flow leaves and enters its
shapes on their borders with horizontal and vertical segments only, every shape lies inside its lane and its
participant, and each lane is just big enough for what it holds.

Labels of events, gateways and flows must carry their own bounds (``bpmndi:BPMNLabel``): bpmn.io places a label that
has none where it sees fit, and nothing here could check it.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import pytest

from mpv.engine.bpmn_xml import safe_xml

BPMN_FILE = Path(__file__).resolve().parent.parent / "workflows" / "tramite.bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}

# bpmn.io writes external labels in 11 px Arial, 1.2 line height: an average character is under 6 px wide.
CHAR_WIDTH = 6.0
LINE_HEIGHT = 14.0
HEADER = 30  # the band of a participant or lane that holds its own name
SLACK = 40  # the most room a lane may keep above or below what it holds
TOLERANCE = 1.0  # px: a waypoint this close to a border is on it

# Pairs of flows that must cross, each with the reason (none today).
MUST_CROSS: dict[frozenset, str] = {}

CONTAINERS = {"participant", "lane", "subProcess"}  # shapes that hold others (expanded)
EXTERNAL_LABELS = {"startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent",
                   "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "sequenceFlow",
                   "dataObjectReference", "dataStoreReference"}


@dataclasses.dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self):
        return self.x + self.w

    @property
    def bottom(self):
        return self.y + self.h

    def overlaps(self, other: "Rect") -> bool:
        """The interiors meet (touching edges do not count)."""
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom

    def contains(self, other: "Rect") -> bool:
        return (self.x <= other.x and self.y <= other.y and other.right <= self.right
                and other.bottom <= self.bottom)

    def on_border(self, x: float, y: float) -> bool:
        inside_x = self.x - TOLERANCE <= x <= self.right + TOLERANCE
        inside_y = self.y - TOLERANCE <= y <= self.bottom + TOLERANCE
        return (inside_x and inside_y and (min(abs(x - self.x), abs(x - self.right)) <= TOLERANCE
                                           or min(abs(y - self.y), abs(y - self.bottom)) <= TOLERANCE))

    def midpoints(self):
        cx, cy = self.x + self.w / 2, self.y + self.h / 2
        return [(cx, self.y), (cx, self.bottom), (self.x, cy), (self.right, cy)]


@dataclasses.dataclass
class Shape:
    id: str
    kind: str  # the BPMN element's local name
    name: str
    bounds: Rect
    label: Rect | None
    expanded: bool


@dataclasses.dataclass
class Edge:
    id: str
    name: str
    source: str
    target: str
    points: list[tuple[float, float]]
    label: Rect | None


@dataclasses.dataclass
class Diagram:
    shapes: dict[str, Shape]
    edges: dict[str, Edge]
    lanes: dict[str, list[str]]  # lane id → its flow node ids
    attached: dict[str, str]  # boundary event → the activity it is attached to
    parent: dict[str, str]  # element → the subprocess that holds it ("" at the process level)


def _rect(node) -> Rect:
    return Rect(*(float(node.get(k)) for k in ("x", "y", "width", "height")))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read(path: Path = BPMN_FILE) -> Diagram:
    root = safe_xml(path.read_bytes(), path.name)
    elements, parent, attached, lanes = {}, {}, {}, {}
    for node in root.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith("{" + NS["bpmn"]) or not node.get("id"):
            continue
        elements[node.get("id")] = node
        holder = node.getparent()
        parent[node.get("id")] = holder.get("id") if holder is not None and _local(holder.tag) == "subProcess" else ""
        if node.get("attachedToRef"):
            attached[node.get("id")] = node.get("attachedToRef")
    for lane in root.iterfind(".//bpmn:lane", NS):
        lanes[lane.get("id")] = [ref.text.strip() for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
    shapes, edges = {}, {}
    for node in root.iterfind(".//bpmndi:BPMNShape", NS):
        element = elements[node.get("bpmnElement")]
        label = node.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        shapes[element.get("id")] = Shape(element.get("id"), _local(element.tag), (element.get("name") or "").strip(),
                                          _rect(node.find("dc:Bounds", NS)), _rect(label) if label is not None else None,
                                          node.get("isExpanded") == "true")
    for node in root.iterfind(".//bpmndi:BPMNEdge", NS):
        element = elements[node.get("bpmnElement")]
        label = node.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        points = [(float(p.get("x")), float(p.get("y"))) for p in node.iterfind("di:waypoint", NS)]
        edges[element.get("id")] = Edge(element.get("id"), (element.get("name") or "").strip(),
                                        element.get("sourceRef"), element.get("targetRef"), points,
                                        _rect(label) if label is not None else None)
    return Diagram(shapes, edges, lanes, attached, parent)


@pytest.fixture(scope="module")
def diagram() -> Diagram:
    return read()


def lines_needed(text: str, width: float) -> int:
    """How many lines ``text`` takes wrapped at ``width`` (greedy, by words); a word wider than it: infinite."""
    lines, current = 1, 0.0
    for word in text.split():
        size = len(word) * CHAR_WIDTH
        if size > width:
            return math.inf
        if current and current + CHAR_WIDTH + size > width:
            lines, current = lines + 1, size
        else:
            current = current + CHAR_WIDTH + size if current else size
    return lines


def labels(d: Diagram) -> dict[str, Rect]:
    """Every label drawn outside its shape (by its element's id), and the title of each expanded subprocess."""
    found = {}
    for item in [*d.shapes.values(), *d.edges.values()]:
        if getattr(item, "label", None) is not None and item.name:
            found[item.id] = item.label
    for s in d.shapes.values():
        if s.kind == "subProcess" and s.expanded and s.name:
            # bpmn.io writes it centred at the top, in 12 px: a line takes some 16 px below a 4 px margin.
            width = min(len(s.name) * CHAR_WIDTH * 1.1, s.bounds.w - 10)
            height = lines_needed(s.name, (s.bounds.w - 10) / 1.1) * 16
            found[s.id] = Rect(s.bounds.x + (s.bounds.w - width) / 2, s.bounds.y + 4, width, height)
    return found


def solid(d: Diagram) -> dict[str, Shape]:
    """The shapes drawn as a body (tasks, events, gateways, collapsed subprocesses): not those that hold others."""
    return {k: s for k, s in d.shapes.items() if not (s.kind in CONTAINERS and (s.expanded or s.kind != "subProcess"))}


def segments(edge: Edge):
    return list(zip(edge.points, edge.points[1:]))


def test_named_events_gateways_and_flows_carry_label_bounds_that_fit_their_text(diagram):
    problems = []
    for item in [*diagram.shapes.values(), *diagram.edges.values()]:
        kind = getattr(item, "kind", "sequenceFlow")
        if not item.name or kind not in EXTERNAL_LABELS:
            continue
        if item.label is None:
            problems.append(f"{item.id}: «{item.name}» sin bpmndi:BPMNLabel")
        elif lines_needed(item.name, item.label.w) * LINE_HEIGHT > item.label.h + 1:
            problems.append(f"{item.id}: «{item.name}» no cabe en {item.label}")
    assert not problems, "\n".join(problems)


def test_no_two_labels_overlap(diagram):
    found = labels(diagram)
    pairs = [f"{a} × {b}" for (a, ra), (b, rb) in itertools.combinations(sorted(found.items()), 2) if ra.overlaps(rb)]
    assert not pairs, "\n".join(pairs)


def test_no_label_overlaps_another_shape(diagram):
    found = labels(diagram)
    bodies = solid(diagram)
    hits = [f"{owner} × {shape}" for owner, rect in sorted(found.items()) for shape, s in sorted(bodies.items())
            if shape != owner and rect.overlaps(s.bounds)]
    assert not hits, "\n".join(hits)


def _cross(s1, s2) -> bool:
    """One segment horizontal, the other vertical, meeting inside both (not at an end)."""
    (a, b), (c, d) = s1, s2
    if a[1] == b[1] and c[0] == d[0]:
        (a, b), (c, d) = (c, d), (a, b)
    if not (a[0] == b[0] and c[1] == d[1]):
        return False  # parallel (an overlap of collinear segments leaving one gateway is not a crossing)
    x, y = a[0], c[1]
    return min(a[1], b[1]) < y < max(a[1], b[1]) and min(c[0], d[0]) < x < max(c[0], d[0])


def test_no_two_flows_cross(diagram):
    crossings = []
    for e1, e2 in itertools.combinations(sorted(diagram.edges.values(), key=lambda e: e.id), 2):
        if frozenset((e1.id, e2.id)) in MUST_CROSS:
            continue
        if any(_cross(s1, s2) for s1 in segments(e1) for s2 in segments(e2)):
            crossings.append(f"{e1.id} × {e2.id}")
    assert not crossings, "\n".join(crossings)


def _through(segment, rect: Rect) -> bool:
    (x1, y1), (x2, y2) = segment
    return (min(x1, x2) < rect.right and rect.x < max(x1, x2) or x1 == x2 and rect.x < x1 < rect.right) and (
        min(y1, y2) < rect.bottom and rect.y < max(y1, y2) or y1 == y2 and rect.y < y1 < rect.bottom)


def test_no_flow_runs_through_a_shape_it_does_not_connect(diagram):
    bodies = solid(diagram)
    hits = []
    for edge in diagram.edges.values():
        own = {edge.source, edge.target, diagram.attached.get(edge.source)}
        for shape_id, shape in bodies.items():
            if shape_id not in own and any(_through(s, shape.bounds) for s in segments(edge)):
                hits.append(f"{edge.id} × {shape_id}")
    assert not hits, "\n".join(sorted(hits))


def _touches(shape: Shape, point) -> bool:
    """On the shape's outline: anywhere on a task's or subprocess's border; an event's or a gateway's at one of the
    four points where the circle or the diamond meets its box."""
    if shape.kind.endswith("Event") or shape.kind.endswith("Gateway"):
        return any(abs(point[0] - x) <= TOLERANCE and abs(point[1] - y) <= TOLERANCE
                   for x, y in shape.bounds.midpoints())
    return shape.bounds.on_border(*point)


def test_flows_are_orthogonal_and_start_and_end_on_their_shapes(diagram):
    problems = []
    for edge in diagram.edges.values():
        if len(edge.points) < 2:
            problems.append(f"{edge.id}: menos de dos puntos")
            continue
        for (x1, y1), (x2, y2) in segments(edge):
            if x1 != x2 and y1 != y2:
                problems.append(f"{edge.id}: tramo oblicuo ({x1}, {y1}) → ({x2}, {y2})")
        if not _touches(diagram.shapes[edge.source], edge.points[0]):
            problems.append(f"{edge.id}: no sale del borde de {edge.source} ({edge.points[0]})")
        if not _touches(diagram.shapes[edge.target], edge.points[-1]):
            problems.append(f"{edge.id}: no llega al borde de {edge.target} ({edge.points[-1]})")
    assert not problems, "\n".join(problems)


def _inner(rect: Rect) -> Rect:
    """A lane's or participant's room for shapes: without the band that holds its name."""
    return Rect(rect.x + HEADER, rect.y, rect.w - HEADER, rect.h)


def test_every_shape_lies_inside_its_lane_and_the_participant(diagram):
    participant = next(s for s in diagram.shapes.values() if s.kind == "participant")
    problems = []
    for lane_id, refs in diagram.lanes.items():
        lane = diagram.shapes[lane_id].bounds
        if not participant.bounds.contains(lane):
            problems.append(f"{lane_id} fuera del participante")
        for ref in refs:
            shape = diagram.shapes[ref]
            if not _inner(lane).contains(shape.bounds):
                problems.append(f"{ref} fuera de su carril {lane_id}")
            if shape.label is not None and not lane.contains(shape.label):
                problems.append(f"la etiqueta de {ref} sale de su carril {lane_id}")
    for shape in diagram.shapes.values():
        if shape.kind not in ("participant", "lane") and not _inner(participant.bounds).contains(shape.bounds):
            problems.append(f"{shape.id} fuera del participante")
    for edge in diagram.edges.values():
        if any(not participant.bounds.contains(Rect(x, y, 0, 0)) for x, y in edge.points):
            problems.append(f"{edge.id} sale del participante")
    lanes = sorted((diagram.shapes[k].bounds for k in diagram.lanes), key=lambda r: r.y)
    if lanes[0].y != participant.bounds.y or lanes[-1].bottom != participant.bounds.bottom:
        problems.append("los carriles no cubren el participante de arriba abajo")
    problems += [f"hueco o solape entre carriles en y={a.bottom}" for a, b in zip(lanes, lanes[1:]) if a.bottom != b.y]
    assert not problems, "\n".join(problems)


def _content(d: Diagram, lane: Rect) -> list[Rect]:
    """What is drawn within the lane's band: shapes, labels, and the points where flows turn."""
    found = [s.bounds for s in d.shapes.values() if s.kind not in ("participant", "lane")]
    found += [r for r in labels(d).values()]
    found += [Rect(x, y, 0, 0) for e in d.edges.values() for x, y in e.points]
    return [r for r in found if lane.y <= r.y + r.h / 2 <= lane.bottom]


def test_each_lane_is_just_big_enough(diagram):
    problems = []
    for lane_id in diagram.lanes:
        lane = diagram.shapes[lane_id].bounds
        content = _content(diagram, lane)
        top, bottom = min(r.y for r in content), max(r.bottom for r in content)
        if top - lane.y > SLACK or lane.bottom - bottom > SLACK:
            problems.append(f"{lane_id}: {top - lane.y:.0f} px libres arriba, {lane.bottom - bottom:.0f} abajo "
                            f"(a lo más {SLACK})")
    participant = next(s for s in diagram.shapes.values() if s.kind == "participant").bounds
    right = max(r.right for lane_id in diagram.lanes for r in _content(diagram, diagram.shapes[lane_id].bounds))
    if participant.right - right > SLACK:
        problems.append(f"el participante tiene {participant.right - right:.0f} px libres a la derecha")
    assert not problems, "\n".join(problems)


def test_the_checks_catch_an_overlap_and_a_crossing(tmp_path):
    """The checks can fail: two labels put on top of each other, two flows made to cross."""
    text = BPMN_FILE.read_text(encoding="utf-8")
    d = read()
    first, second = [e for e in d.edges.values() if e.label is not None][:2]
    moved = tmp_path / "movido.bpmn"
    a, b = first.label, second.label
    old = f'<dc:Bounds x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.w)}" height="{_n(b.h)}"/>'
    assert old in text
    moved.write_text(text.replace(old, f'<dc:Bounds x="{_n(a.x)}" y="{_n(a.y)}" width="{_n(b.w)}" '
                                       f'height="{_n(b.h)}"/>', 1), encoding="utf-8")
    changed = read(moved)
    assert changed.edges[second.id].label.overlaps(changed.edges[first.id].label)
    with pytest.raises(AssertionError):
        test_no_two_labels_overlap(changed)
    h = ((0.0, 10.0), (20.0, 10.0))
    assert _cross(h, ((10.0, 0.0), (10.0, 20.0))) and not _cross(h, ((0.0, 10.0), (0.0, 30.0)))


def _n(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
