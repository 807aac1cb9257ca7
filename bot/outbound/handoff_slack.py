"""Posts a hand-off transcript to a staff Slack channel (optional; off unless both variables are set).

    MADOGUCHI_HANDOFF_SLACK_TOKEN    a bot token with chat:write
    MADOGUCHI_HANDOFF_SLACK_CHANNEL  the channel ID (C0123…) or name
    SLACK_API_BASE                   https://slack.com/api by default (tests point it at a local fake)

The text is masked (bot.privacy.masking) here, whatever the caller passes.
"""
from __future__ import annotations

import logging
import os
from typing import Mapping

import aiohttp

from bot.privacy.masking import mask

logger = logging.getLogger(__name__)
DEFAULT_API_BASE = "https://slack.com/api"


def configured(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool((env.get("MADOGUCHI_HANDOFF_SLACK_TOKEN") or "").strip()
                and (env.get("MADOGUCHI_HANDOFF_SLACK_CHANNEL") or "").strip())


async def post_transcript(text: str, env: Mapping[str, str] | None = None, timeout: float = 10.0) -> bool:
    """True when Slack accepted the message; failures are logged (without the text) and return False."""
    env = os.environ if env is None else env
    if not configured(env):
        return False
    base = (env.get("SLACK_API_BASE") or DEFAULT_API_BASE).rstrip("/")
    payload = {"channel": env["MADOGUCHI_HANDOFF_SLACK_CHANNEL"].strip(), "text": mask(text)[:39000]}
    headers = {"Authorization": f"Bearer {env['MADOGUCHI_HANDOFF_SLACK_TOKEN'].strip()}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.post(f"{base}/chat.postMessage", json=payload, headers=headers) as response:
                body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        logger.warning("hand-off transcript not posted to Slack: %s", type(exc).__name__)
        return False
    if not (isinstance(body, dict) and body.get("ok")):
        logger.warning("hand-off transcript refused by Slack: %s",
                       (body or {}).get("error") if isinstance(body, dict) else "?")
        return False
    return True
