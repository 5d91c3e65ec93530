"""Run by the Rasa runtime's Python: one "replica" asking a lock store for a ticket.

Usage: issue_ticket.py {stock|atomic} PORT CONVERSATION. Prints the ticket number.
"""

import sys

from connectors.rasa_lock_store import AtomicRedisLockStore
from rasa.core.lock_store import RedisLockStore

kind, port, conversation = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == "stock":
    store = RedisLockStore(host="127.0.0.1", port=port, db=0, key_prefix="hotline")
else:
    store = AtomicRedisLockStore(url="127.0.0.1", port=port, db=0, key_prefix="hotline")
print(store.issue_ticket(conversation, 60), flush=True)
