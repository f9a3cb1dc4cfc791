"""hapair lab: multi-host topologies on one Linux machine (netns + systemd hosts, or UML).

See docs/lab.md.  Entry points: ``Lab`` (context manager), ``python -m lab``,
the pytest fixtures in ``lab.pytest_plugin`` and ``lab.uml.run_in_uml``.
"""

from .core import Lab
from .teardown import leftovers, teardown
from .topology import Host, Topology, TopologyError, load

__all__ = ["Host", "Lab", "Topology", "TopologyError", "leftovers", "load", "teardown"]
