"""The machinery that executes the chapters, caches their results and renders the book."""

__version__ = "0.1.0"
