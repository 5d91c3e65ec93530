"""What the work-order dialogue understands and says, without Rasa or HTTP.

The Rasa actions in ``actions/workorders/`` are thin: they read slots, call the
work-order desk and pass text through these functions. Keeping the reading of answers
(``answers``), of the first message (``intake``) and the wording of summaries and lists
(``summary``) here makes them testable with plain strings.
"""
