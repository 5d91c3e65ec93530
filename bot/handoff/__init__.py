"""Human handoff (转人工) and the agent workspace's domain logic.

- ``states``: the state machine bot → waiting → with_agent → bot (or closed);
- ``service``: every change of state (tracker pause/resume, transcript, notices, events),
  agents' messages; ``queue``: the place and expected wait; ``notes``: 留言 and their
  answers; ``calls``: phone calls; ``outbound``: what all of them send to citizens and
  consoles; ``actors``: who acts and the refusal the gateway turns into JSON;
- ``gate``: the hook that keeps the bot silent while a human holds a conversation;
- ``assist``/``draft``/``feedback``: suggested answers, classification, the draft work
  order, and what agents did with each suggestion;
- ``config``: service hours on the official holiday calendar (config/handoff.yml).

Nothing here knows about HTTP: the gateway (bot/gateway/handoff/) supplies delivery to
channels, the event bus and Rasa's tracker client.
"""
