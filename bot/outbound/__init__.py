"""Outbound clients the actions call: the hand-off transcript posted to a staff Slack channel."""
