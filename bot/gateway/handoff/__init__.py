"""The agent workspace on the gateway (URL ``/agent/``): pages, live socket, calls, assist."""
