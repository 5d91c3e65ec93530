"""The supervisor console on the gateway (URL ``/console/``): server-rendered pages."""
