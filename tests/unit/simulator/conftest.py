from __future__ import annotations

import pytest

from syncline.simulator import Simulation, SimulationConfig, simulate


@pytest.fixture(scope="session")
def clean() -> Simulation:
    return simulate(SimulationConfig())


@pytest.fixture(scope="session")
def delivered() -> Simulation:
    return simulate(SimulationConfig(delivery_faults=True))


@pytest.fixture(scope="session")
def faulty() -> Simulation:
    return simulate(SimulationConfig(data_faults=True))


@pytest.fixture(scope="session")
def both() -> Simulation:
    return simulate(SimulationConfig(data_faults=True, delivery_faults=True))
