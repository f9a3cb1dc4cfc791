"""The load-balancing plane: desired state -> minimal ops -> a data-plane backend (docs/load-balancing.md)."""

from .backend import Applied, Backend
from .desired import QuorumChange
from .memory import MemoryBackend
from .plane import LoadBalancer, Result

__all__ = ["Applied", "Backend", "LoadBalancer", "MemoryBackend", "QuorumChange", "Result"]
