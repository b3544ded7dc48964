"""anjian (安监): a multi-tenant backend for work-safety supervision campaigns."""

from anjian.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
__version__ = "0.1.0"
