"""anjian (安监): a multi-tenant backend for work-safety supervision campaigns.

Importing the package imports nothing else: each module names what it needs (a
plugin imports ``anjian.plugin_api`` alone)."""

__version__ = "0.1.0"
