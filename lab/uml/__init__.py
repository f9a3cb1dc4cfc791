"""The `uml` kernel: a user-mode-linux guest with IPVS (recipes/ipvs-uml.md)."""

from .guest import GuestResult, run_in_uml
from .kernel import UmlKernel, ensure_kernel

__all__ = ["GuestResult", "UmlKernel", "ensure_kernel", "run_in_uml"]
