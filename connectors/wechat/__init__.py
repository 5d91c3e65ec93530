"""The WeChat Official Account (公众号) protocol: signatures, AES envelopes, XML, the HTTP API.

Kept apart the way wechatpy keeps them: ``signature`` and ``crypto`` know nothing of XML,
``messages`` and ``replies`` nothing of HTTP, ``api`` is the only module that talks to
WeChat's servers. The gateway's handler (``bot.gateway.wechat``) puts them together.
"""
