"""The outbox: what Meetbot owes people, queued with each change and delivered until it lands."""
