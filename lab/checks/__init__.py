"""Self-checks that run inside a lab (e.g. in the UML guest) and report to $HAPAIR_SHARE."""
