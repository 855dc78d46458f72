"""InnoShare: the regional innovation-resource exchange API."""

__version__ = "0.1.0"
