"""SystemFlow model of a data-acquisition system: a DAG of detectors, processors and one storage sink.

Messages (event size in B/event, rate in event/s, and the irrelevant and
relevant rates they carry) propagate through the graph in topological order.
A processor with a reduction ratio ``r > 1`` is a filtering stage: it solves
its classifier threshold so that it keeps exactly ``1/r`` of its input and
passes the accepted row of its 2x2 contingency on.  :func:`evaluate` returns
the sizes, rates, node and link power, the pipeline confusion matrix and the
metrics (precision, recall, F1, productivity) of the system.

Every numeric parameter may be a NumPy array: then the system stands for a
batch of configurations that broadcast together, and one :func:`evaluate`
call computes them all.  After Olin-Ammentorp, Wu and Chien, "Modeling
Performance of Data Collection Systems for High-Energy Physics"
(arXiv 2407.00123).
"""

import dataclasses
import graphlib

import numpy as np

from lib.costmodels import daq_classifiers, daq_power
from lib.units import Q_, ureg

DEFAULT_YEAR = 2032


class DaqInputError(ValueError):
    """Raised when a node, link or system parameter is invalid; the message names it and the expected unit."""


def _magnitude(value, unit, where, *, dimensions=None):
    """Return the magnitude of ``value`` in ``unit`` (or in the unit of its matching dimension).

    ``dimensions`` maps alternative pint dimensionalities to the unit used for
    each, e.g. a rate given in Hz or in event/s.
    """
    if not isinstance(value, ureg.Quantity):
        raise DaqInputError(f"{where} must be a quantity in {unit}, got the bare value {value!r}")
    for dimensionality, target in (dimensions or {unit: unit}).items():
        if value.check(dimensionality):
            return np.asarray(value.to(target).magnitude, dtype=float)
    raise DaqInputError(f"{where} must be a quantity in {unit}, got {value.units:~P} ({value.dimensionality})")


def _rate(value, where):
    magnitude = _magnitude(value, "Hz (event/s)", where,
                           dimensions={"1/[time]": "1/s", "[event]/[time]": "event/s"})
    _check_non_negative(magnitude, where, "Hz")
    return magnitude


def _size(value, where):
    # pint counts bits and bytes as dimensionless, so a size given per message
    # ("B") is recognised by its unit name rather than its dimension.
    if isinstance(value, ureg.Quantity) and value.dimensionless and _names_bytes(value):
        value = value.to("B").magnitude * ureg("B/event")
    magnitude = _magnitude(value, "B/event", where, dimensions={"1/[event]": "B/event"})
    _check_non_negative(magnitude, where, "B/event")
    return magnitude


def _names_bytes(value):
    return any("byte" in name or "bit" in name for name in dict(value.unit_items()))


def _efficiency(value, unit, where):
    # NOTE: pint treats bits as dimensionless, so J where J/bit is expected passes this check.
    magnitude = _magnitude(value, unit, where, dimensions={ureg.Quantity(1, unit).dimensionality: unit})
    _check_non_negative(magnitude, where, unit)
    return magnitude


def _check_non_negative(magnitude, where, unit):
    if np.any(~np.isfinite(magnitude)) or np.any(magnitude < 0):
        raise DaqInputError(f"{where} must be finite and >= 0 {unit}, got {magnitude!r}")


def _fraction(value, where):
    value = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(value)) or np.any(value < 0) or np.any(value >= 1):
        raise DaqInputError(f"{where} must lie in [0, 1) (fraction), got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Detector:
    """A source node: emits ``event_size`` bytes per event at ``rate`` events per second.

    Attributes
    ----------
    name : str
    event_size : pint.Quantity
        Bytes per event (B/event).
    rate : pint.Quantity
        Sampling rate (Hz, i.e. event/s).
    compression : float
        Fraction of its bytes removed before the next node (0 = none).
    """

    name: str
    event_size: object
    rate: object
    compression: float = 0.0

    def __post_init__(self):
        _size(self.event_size, f"detector {self.name!r}: event_size")
        _rate(self.rate, f"detector {self.name!r}: rate")
        _fraction(self.compression, f"detector {self.name!r}: compression")


@dataclasses.dataclass(frozen=True)
class Processor:
    """A merge, trigger or compute stage.

    Attributes
    ----------
    name : str
    reduction_ratio : float or numpy.ndarray
        Input events per output event, >= 1; above 1 the stage filters with ``classifier``.
    classifier : object, optional
        Score model with ``cdfs`` and ``bracket`` (see :mod:`lib.costmodels.daq_classifiers`).
    complexity : object, optional
        Callable object with ``ops(size_bytes)``: operations per event for a message size.
    op_efficiency : pint.Quantity
        Energy per operation (J/op).
    added_size : pint.Quantity
        Bytes the stage adds to each event (B/event), e.g. the Level-1 trigger record.
    compression : float
        Fraction of its output bytes removed before the next node.
    """

    name: str
    reduction_ratio: object = 1.0
    classifier: object = None
    complexity: object = None
    op_efficiency: object = Q_(0.0, "J/op")
    added_size: object = Q_(0.0, "B/event")
    compression: float = 0.0

    def __post_init__(self):
        ratio = np.asarray(self.reduction_ratio, dtype=float)
        if np.any(~np.isfinite(ratio)) or np.any(ratio < 1):
            raise DaqInputError(f"processor {self.name!r}: reduction_ratio must be >= 1 "
                                f"(input events per output event, dimensionless), got {self.reduction_ratio!r}")
        if np.any(ratio > 1) and self.classifier is None:
            raise DaqInputError(f"processor {self.name!r}: a reduction_ratio above 1 needs a classifier")
        _efficiency(self.op_efficiency, "J/op", f"processor {self.name!r}: op_efficiency")
        _size(self.added_size, f"processor {self.name!r}: added_size")
        _fraction(self.compression, f"processor {self.name!r}: compression")

    @property
    def filters(self):
        """True if the stage rejects events in at least one configuration."""
        return bool(np.any(np.asarray(self.reduction_ratio) > 1))


@dataclasses.dataclass(frozen=True)
class Storage:
    """The sink: the one node with no outgoing link."""

    name: str


@dataclasses.dataclass(frozen=True)
class Link:
    """A directed edge ``source -> target`` that carries the source's messages.

    Attributes
    ----------
    source, target : str
        Node names.
    efficiency : pint.Quantity
        Transmission energy (J/bit).
    """

    source: str
    target: str
    efficiency: object = Q_(0.0, "J/bit")

    def __post_init__(self):
        _efficiency(self.efficiency, "J/bit", f"link {self.source!r} -> {self.target!r}: efficiency")


class System:
    """A validated DAG of detectors, processors and exactly one storage sink.

    Parameters
    ----------
    nodes : iterable of Detector, Processor or Storage
        Node names must be unique.
    links : iterable of Link
        Edges between named nodes.

    Raises
    ------
    DaqInputError
        On a duplicate node name, a link to an unknown node, a cycle, a sink
        count other than one, a sink that is not a :class:`Storage`, a detector
        with inputs, or a processor or storage without inputs.
    """

    def __init__(self, nodes, links):
        self.nodes = {}
        for node in nodes:
            if not isinstance(node, (Detector, Processor, Storage)):
                raise DaqInputError(f"node {node!r} is not a Detector, Processor or Storage")
            if node.name in self.nodes:
                raise DaqInputError(f"duplicate node name {node.name!r}")
            self.nodes[node.name] = node

        self.links = {}
        for link in links:
            for end in (link.source, link.target):
                if end not in self.nodes:
                    raise DaqInputError(f"link {link.source!r} -> {link.target!r} names the unknown node {end!r}")
            self.links[(link.source, link.target)] = link

        self.predecessors = {name: [] for name in self.nodes}
        self.successors = {name: [] for name in self.nodes}
        for source, target in self.links:
            self.predecessors[target].append(source)
            self.successors[source].append(target)

        self.order = self._topological_order()
        self.sink = self._check_roles()

    def _topological_order(self):
        sorter = graphlib.TopologicalSorter({name: self.predecessors[name] for name in self.nodes})
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as error:
            cycle = " -> ".join(error.args[1])
            raise DaqInputError(f"the system graph has a cycle: {cycle}") from error

    def _check_roles(self):
        sinks = [name for name in self.nodes if not self.successors[name]]
        if len(sinks) != 1:
            raise DaqInputError(f"the system needs exactly one sink (node without outgoing links), got {sinks}")
        sink = sinks[0]
        if not isinstance(self.nodes[sink], Storage):
            raise DaqInputError(f"the sink {sink!r} must be a Storage node")

        for name, node in self.nodes.items():
            if isinstance(node, Storage) and name != sink:
                raise DaqInputError(f"storage node {name!r} has outgoing links; storage must be the sink")
            if isinstance(node, Detector) and self.predecessors[name]:
                raise DaqInputError(f"detector {name!r} has inputs {self.predecessors[name]}; detectors are sources")
            if not isinstance(node, Detector) and not self.predecessors[name]:
                raise DaqInputError(f"node {name!r} has no inputs; only detectors may be sources")
        return sink

    def descendants(self, name):
        """Return the set of nodes reachable from ``name``."""
        found, stack = set(), list(self.successors[name])
        while stack:
            node = stack.pop()
            if node not in found:
                found.add(node)
                stack.extend(self.successors[node])
        return found

    def global_ratio(self, name):
        """Return ``g``: the product of the reduction ratios of ``name`` and every node downstream of it."""
        ratio = np.asarray(_reduction(self.nodes[name]))
        for node in self.descendants(name):
            ratio = ratio * _reduction(self.nodes[node])
        return ratio


def _reduction(node):
    return np.asarray(node.reduction_ratio, dtype=float) if isinstance(node, Processor) else np.asarray(1.0)


@dataclasses.dataclass
class Flow:
    """The evaluated system: per-node and per-link results and the system metrics.

    Attributes
    ----------
    size : dict
        Node name to message size seen by the node (B/event).
    rate_in, rate_out : dict
        Node name to input and output event rate (event/s).
    counts : dict
        Node name to the (irrelevant, relevant) rates it passes on (event/s), as an array ``(2, ...)``.
    contingency : dict
        Filtering-stage name to its 2x2 contingency ``[[TN, FN], [FP, TP]]`` (event/s).
    threshold : dict
        Filtering-stage name to its solved threshold (score units).
    node_power : dict
        Node name to processing power at today's technology (W).
    link_power : dict
        ``(source, target)`` to link power at today's technology (W).
    year : float
        Projection year of :attr:`total_power`.
    scale : float or numpy.ndarray
        ``D(year)``, the technology-scaling divisor.
    total_power : pint.Quantity
        Sum of node and link power divided by ``scale`` (W).
    confusion : numpy.ndarray
        Pipeline ``[[TN, FN], [FP, TP]]`` (event/s).
    precision, recall, f1 : numpy.ndarray
        Pipeline metrics (fractions).
    productivity : pint.Quantity
        Relevant samples stored per joule, ``F1 R_stored / total_power`` (relevant_sample/J).
    energy_per_relevant_sample : pint.Quantity
        ``1 / productivity`` (J/relevant_sample).
    """

    size: dict
    rate_in: dict
    rate_out: dict
    counts: dict
    contingency: dict
    threshold: dict
    node_power: dict
    link_power: dict
    year: float
    scale: object
    total_power: object
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    productivity: object
    energy_per_relevant_sample: object

    def power_table(self):
        """Return the projected power of every node and link, largest first, as a pandas DataFrame (W)."""
        import pandas as pd

        rows = [{"element": name, "kind": "node", "power_W": _scalar(power.to("W").magnitude / self.scale)}
                for name, power in self.node_power.items()]
        rows += [{"element": f"{source} -> {target}", "kind": "link",
                  "power_W": _scalar(power.to("W").magnitude / self.scale)}
                 for (source, target), power in self.link_power.items()]
        return pd.DataFrame(rows).sort_values("power_W", ascending=False, ignore_index=True)


def _scalar(value):
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError("power_table needs a system with scalar parameters, not a batch")
    return float(value)


def evaluate(system, year=DEFAULT_YEAR):
    """Propagate messages through ``system`` and compute power and selection metrics.

    Parameters
    ----------
    system : System
    year : float
        Technology year for the projected total power (``D(year)`` divides it).

    Returns
    -------
    Flow
    """
    size, rate_in, rate_out, counts = {}, {}, {}, {}
    contingency, threshold, node_power, link_power = {}, {}, {}, {}

    for name in system.order:
        node = system.nodes[name]

        if isinstance(node, Detector):
            size[name] = _size(node.event_size, name)
            rate_in[name] = rate_out[name] = _rate(node.rate, name)
            relevant = rate_out[name] / system.global_ratio(name)
            counts[name] = np.array(np.broadcast_arrays(rate_out[name] - relevant, relevant))
            continue

        # Merge the inputs: sizes add (after each input's compression), rates and
        # class counts are averaged.
        # NOTE: averaging is exact only when every input carries the same events,
        # as in the CMS graph; inputs at different rates are not modelled.
        inputs = system.predecessors[name]
        size[name] = sum(size[source] * (1.0 - _compression(system.nodes[source])) for source in inputs)
        rate_in[name] = sum(rate_out[source] for source in inputs) / len(inputs)
        incoming = sum(counts[source] for source in inputs) / len(inputs)

        if isinstance(node, Storage):
            rate_out[name], counts[name] = rate_in[name], incoming
            node_power[name] = Q_(np.zeros_like(rate_in[name]), "W")
            continue

        size[name] = size[name] + _size(node.added_size, name)
        ratio = np.asarray(node.reduction_ratio, dtype=float)
        rate_out[name] = rate_in[name] / ratio
        if node.filters:
            contingency[name], threshold[name] = daq_classifiers.contingency(
                node.classifier, incoming[0], incoming[1], ratio)
            counts[name] = contingency[name][1]
        else:
            counts[name] = incoming

        ops = node.complexity.ops(size[name]) if node.complexity is not None else 0.0
        node_power[name] = daq_power.node_power(node.op_efficiency, Q_(ops, "op/event"),
                                                Q_(rate_in[name], "event/s"))

    for (source, target), link in system.links.items():
        # Links carry the source's uncompressed bytes at its output rate.
        link_power[(source, target)] = daq_power.link_power(
            link.efficiency, Q_(size[source], "B/event"), Q_(rate_out[source], "event/s"))

    return _finish(system, year, size, rate_in, rate_out, counts, contingency, threshold, node_power, link_power)


def _compression(node):
    return 0.0 if isinstance(node, Storage) else np.asarray(node.compression, dtype=float)


def _finish(system, year, size, rate_in, rate_out, counts, contingency, threshold, node_power, link_power):
    scale = daq_power.density_scale(year)
    raw_power = sum(power.magnitude for power in node_power.values())
    raw_power = raw_power + sum(power.magnitude for power in link_power.values())
    total_power = raw_power / scale

    confusion = pipeline_confusion(contingency, counts[system.sink])
    true_negative, false_negative = confusion[0]
    false_positive, true_positive = confusion[1]
    precision = _ratio(true_positive, true_positive + false_positive)
    recall = _ratio(true_positive, true_positive + false_negative)
    f1 = f1_score(precision, recall)

    stored_rate = rate_in[system.sink]
    productivity = _ratio(f1 * stored_rate, total_power)

    return Flow(
        size={name: Q_(value, "B/event") for name, value in size.items()},
        rate_in={name: Q_(value, "event/s") for name, value in rate_in.items()},
        rate_out={name: Q_(value, "event/s") for name, value in rate_out.items()},
        counts=counts, contingency=contingency, threshold=threshold,
        node_power=node_power, link_power=link_power, year=year, scale=scale,
        total_power=Q_(total_power, "W"), confusion=confusion,
        precision=precision, recall=recall, f1=f1,
        productivity=Q_(productivity, "relevant_sample/J"),
        energy_per_relevant_sample=Q_(_ratio(1.0, productivity, fill=np.inf), "J/relevant_sample"),
    )


def pipeline_confusion(contingencies, stored_counts):
    """Return the pipeline confusion matrix ``[[TN, FN], [FP, TP]]`` (event/s).

    The rejected row sums the rejections of every filtering stage; the
    accepted row is what reaches storage.

    Parameters
    ----------
    contingencies : dict
        Stage name to its 2x2 contingency, shape ``(2, 2, ...)``.
    stored_counts : numpy.ndarray
        (irrelevant, relevant) rates entering storage, shape ``(2, ...)``.
    """
    rejected = sum(matrix[0] for matrix in contingencies.values()) if contingencies else np.zeros_like(stored_counts)
    rejected, accepted = np.broadcast_arrays(rejected, stored_counts)
    return np.array([rejected, accepted])


def f1_score(precision, recall):
    """Return the harmonic mean ``2pq/(p+q)`` (0 where both are 0)."""
    return _ratio(2.0 * precision * recall, precision + recall)


def _ratio(numerator, denominator, fill=0.0):
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.full(numerator.shape, fill)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out if out.ndim else float(out)


def power_reduction(baseline, improved):
    """Return ``1 - improved/baseline`` for two total powers (fraction)."""
    return float((1.0 - improved / baseline).to("dimensionless").magnitude)
