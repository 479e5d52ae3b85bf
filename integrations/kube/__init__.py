"""The Kubernetes adapter: implements mitigate.ports.ClusterPort with the official client.

Entry point: ``KubeCluster.from_kubeconfig(path, contexts, protected_patterns, qps, burst)``.
"""

from __future__ import annotations

from .actions import BatchHalted
from .cluster import KubeCluster
from .transport import ApiError, CircuitBreaker, ConnectionFailed, RetryPolicy, TokenBucket

__all__ = ["KubeCluster", "BatchHalted", "ApiError", "ConnectionFailed", "TokenBucket", "RetryPolicy",
           "CircuitBreaker"]
