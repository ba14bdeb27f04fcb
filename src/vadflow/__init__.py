"""vadflow: a reproducible benchmark pipeline for video anomaly detection."""

__version__ = "0.1.0"
