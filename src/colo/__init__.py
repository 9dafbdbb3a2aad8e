"""colo: run latency-sensitive online services and offline work on the same Kubernetes nodes."""

__version__ = "0.1.0"
