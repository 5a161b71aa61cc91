"""Syncline: keeps a professional services firm's systems in step."""

__version__ = "0.1.0"
