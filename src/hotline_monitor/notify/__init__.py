"""Delivery of messages to people: the outbox, channels and templates."""
