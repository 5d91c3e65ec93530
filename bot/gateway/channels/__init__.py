"""Citizens' channels on the gateway: web chat, REST, WeChat, and work-order notices."""
