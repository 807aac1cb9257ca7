"""Custom Rasa input channels and channel helpers. Importing the package masks personal data in logs."""
from bot.privacy import logging as _privacy_logging

_privacy_logging.install()
