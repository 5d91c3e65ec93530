"""The WeChat Official Account (公众号) protocol: signatures, AES envelopes, XML, the HTTP API.

Kept apart the way wechatpy keeps them: ``signature`` and ``crypto`` know nothing of XML,
``messages`` and ``replies`` nothing of HTTP, ``api`` is the only module that talks to
WeChat's servers. The interfaces they fill are declared in ``bot.wechat.ports``; the
gateway's app factory builds them for the channel (``bot.wechat.channel``), and the
gateway's handler (``bot.gateway.channels.wechat``) uses the wire format.
"""
