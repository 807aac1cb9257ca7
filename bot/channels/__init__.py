"""Custom Rasa input channels and channel helpers."""
