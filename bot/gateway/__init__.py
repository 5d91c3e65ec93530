"""The gateway: the assistant's front door for every channel and console."""
