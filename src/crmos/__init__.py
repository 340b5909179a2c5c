"""crmos: a real-time, explainable customer operating system."""

__version__ = "0.1.0"
