"""The gateway: the assistant's front door for every channel and console.

Grouped by who calls it: ``channels`` (citizens, and the work-order platform's webhooks
that become notices to them), ``handoff`` (agents), ``console`` (supervisors). Shared by
all: ``auth``, ``pages``, ``responses``, ``middleware``, ``health``. ``keys`` names every
dependency kept on the application, ``routes`` every URL, and ``app`` is the one module
that builds the application and hooks its parts together.
"""
