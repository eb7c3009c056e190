"""Errors the runner reports to the user, each with the exit code the command ends with."""


class CompendiumError(Exception):
    """Base class of errors that end a ``compendium`` command with a message and no traceback."""

    exit_code = 1


class ConfigurationError(CompendiumError):
    """Raised when ``_config.yml``, ``_toc.yml`` or a chapter's metadata is invalid."""

    exit_code = 2


class ParameterError(CompendiumError):
    """Raised when a parameter override is unknown or cannot be converted to its default's type."""

    exit_code = 2


class RenderError(CompendiumError):
    """Raised when Jupyter Book fails to build the staged book."""

    exit_code = 1
