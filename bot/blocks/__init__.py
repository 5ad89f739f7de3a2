"""Block Kit builders: pure functions from meetings to Slack views and messages."""
