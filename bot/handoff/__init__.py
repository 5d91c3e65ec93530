"""Human handoff (转人工) and the agent workspace's domain logic.

- ``states``: the state machine bot → waiting → with_agent → bot (or closed);
- ``service``: every change of state (tracker pause/resume, transcript, notices, events),
  the queue and its expected wait, agents' messages, calls, 留言;
- ``gate``: the hook that keeps the bot silent while a human holds a conversation;
- ``assist``/``draft``/``feedback``: suggested answers, classification, the draft work
  order, and what agents did with each suggestion;
- ``config``: service hours on the official holiday calendar (config/handoff.yml).

Nothing here knows about HTTP: the gateway (bot/gateway/agent*.py) supplies delivery to
channels, the event bus and Rasa's tracker client.
"""
