"""The 12345 citizen-service assistant: domain logic, the gateway and the tooling around Rasa."""
