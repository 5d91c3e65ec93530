"""Code that talks to systems outside the project: Rasa, channels, work-order platforms."""
