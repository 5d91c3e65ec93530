"""The work-order dialogue: file a request, check, supplement and rate orders.

Four forms do the asking (domain.yml), one module each: ``request`` (``workorder_form``:
诉求内容, 地点, 联系电话, 称呼, consent, confidentiality, and the decision after the
summary), ``lookup`` (``ticket_form``: a number, or a phone and a proof of owning it),
``supplement`` (``supplement_form``) and ``rating`` (``rating_form``). Each is started by
an ``action_start_*`` that takes over what the first message already says and then hands
over to the form (FollowupAction), or declines (an emergency or a matter outside 12345's
remit is told its proper route instead). ``forms`` holds what the four share (asking,
validating, stopping), ``tracker`` the reading of the tracker. Answers are read by
``bot.workorders.dialogue``; the work-order desk (``desk``) does the filing, so a request
is accepted with a number even when the work-order system is down.
"""
