"""The sandbox's controllers, one behaviour a module.

Each controller (``base.Controller``) declares the kind it reconciles (``primary``), the kinds
it creates children of (``owns``) and any others it reacts to (``watches``), and reconciles one
key at a time; ``Simulation.tick`` (``sim.py``) dispatches the changed keys by those
declarations and runs the controllers in the order listed here (the same order every tick).

To add a behaviour: write a module with a ``Controller`` subclass and add it to
``build_controllers``. Nothing else changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import DS, STS, Controller
from .daemonset import DaemonSetController, HistoryController
from .deployment import DeploymentController, MachineDeploymentController
from .disruption import DisruptionController
from .endpoints import EndpointsController
from .hpa import HPAController
from .jobs import CronJobController, JobController
from .machines import CRDCleanupController, MachineController
from .nodes import ConfigRetryController, KubeletAdmissionController, NodeLifecycleController
from .replicas import MachineSetController, ReplicaSetController, ReplicationControllerController
from .ttl import TTLAfterFinishedController

if TYPE_CHECKING:
    from ..sim import Simulation

__all__ = ["Controller", "build_controllers"]


def build_controllers(sim: Simulation) -> list[Controller]:
    """Every controller of one cluster, in the order a tick runs them: what starts pods and
    reacts to nodes first, then owners before the children they size, statuses that read
    pods last."""
    return [
        CRDCleanupController(sim),
        MachineController(sim),
        sim.scheduler,
        NodeLifecycleController(sim),
        ConfigRetryController(sim),
        KubeletAdmissionController(sim),
        HistoryController(sim, DS),
        HistoryController(sim, STS),
        DaemonSetController(sim),
        MachineDeploymentController(sim),
        DeploymentController(sim),
        ReplicaSetController(sim),
        ReplicationControllerController(sim),
        MachineSetController(sim),
        CronJobController(sim),
        JobController(sim),
        TTLAfterFinishedController(sim),
        HPAController(sim),
        DisruptionController(sim),
        EndpointsController(sim),
    ]
