"""pykeepalived: a keepalived-compatible VRRP and load-balancing daemon."""

__version__ = "0.1.0"
