"""Fixes to Rasa 3.6 applied inside the Rasa server process (installed on import of our NLU components).

Action-response validation: ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``
on every custom-action reply, and jsonschema 4.17 (Rasa's pin) re-validates the *schema* against the
2020-12 meta-schema on each call. Profiling a knowledge question with py-spy showed 62% of the Rasa
server's CPU in that meta-schema check (~60 ms of a 135 ms reply). The replacement checks the schema
once, keeps one validator, and still validates every reply with the same error Rasa raises.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

import jsonschema
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_validator: Optional[Any] = None


def action_response_validator() -> Any:
    """One validator for Rasa's action-server response schema (the schema is checked once)."""
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    error: Optional[ValidationError] = best_match(action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
