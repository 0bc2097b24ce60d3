"""Adapters to other systems: one folder per system with the same files (``docs/connectors.md``).

They learn about work from the engine's outbox (``engine.outbox``) and deliver it with
``connectors.delivery.deliver``; the engine never calls them.
"""
