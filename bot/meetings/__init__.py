"""Meetings: what they are, what can go wrong, and the services that change them."""
