"""A deterministic simulator of a small consulting firm's event stream, with optional delivery
faults (duplicates, reordering, late arrivals) and data faults (bad records). See
docs/simulator.md.
"""

from syncline.simulator.model import (
    FAULT_KINDS,
    Event,
    InjectedFault,
    Simulation,
    SimulationConfig,
    StreamItem,
)
from syncline.simulator.stream import end_of_stream, simulate

__all__ = [
    "FAULT_KINDS",
    "Event",
    "InjectedFault",
    "Simulation",
    "SimulationConfig",
    "StreamItem",
    "end_of_stream",
    "simulate",
]
