"""Reading the console's form posts: each field checked as the JSON bodies are (length, no control characters).

Forms are read by hand rather than into a struct: a refusal re-renders the form with what the agent typed and the
reason, instead of a generic validation page. The CSRF token (``_csrf_token``) is the middleware's business.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from server.lib.exceptions import FieldError, ValidationFailed

if TYPE_CHECKING:
    from litestar import Request
    from litestar.datastructures import FormMultiDict

__all__ = ["FORM_BODY_LIMIT", "read_form", "text_field"]

# The longest field is a reply (10,000 characters); percent-encoded, one character can take 12 bytes.
FORM_BODY_LIMIT = 128 * 1024
# What PostgreSQL text cannot store (NUL) or has no business in typed input: C0 controls but tab, newline, return.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The posted form (URL-encoded or multipart), as the CSRF middleware may already have read it."""
    return await request.form()


def text_field(form: FormMultiDict, name: str, *, max_chars: int, strip: bool = True) -> str:
    """The text of field ``name`` (empty when absent); 422 when too long or holding control characters."""
    raw = form.get(name, "")
    value = raw if isinstance(raw, str) else ""
    value = value.strip() if strip else value
    if len(value) > max_chars:
        message = f"at most {max_chars} characters"
        raise ValidationFailed(f"{name}: {message}", errors=[FieldError(name, message)])
    if _CONTROLS.search(value):
        message = "contains control characters that are not allowed"
        raise ValidationFailed(f"{name} {message}", errors=[FieldError(name, message)])
    return value
