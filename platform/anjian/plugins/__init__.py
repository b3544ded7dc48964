"""Plugins: the contract (``hookspecs``: the hooks, ``catalogue``: the typed entries,
``views``: what policy hooks see), loading (``manager``), the core defaults
(``defaults``), what a plugin reads (``context``) and the skeleton of a new plugin
(``scaffold``). A plugin imports ``anjian.plugin_api`` alone."""
