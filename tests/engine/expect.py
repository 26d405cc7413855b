"""How the engine suite expects an SQS error: one place, so every test checks the same fields."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from consumerkit.engine import SqsError
from consumerkit.engine.errors import SPECS


async def fails(call: Awaitable[object]) -> SqsError:
    """The SqsError ``call`` raises (the test then checks what matters to it)."""
    with pytest.raises(SqsError) as info:
        await call
    return info.value


async def refused(call: Awaitable[object], shape: str, code: str | None = None, status: int = 400) -> SqsError:
    """A client error of ``shape``, with the query code clients match on (the shape's own unless given)."""
    error = await fails(call)
    assert error.shape == shape
    assert error.code == (code or SPECS[shape].query_code)
    assert error.status == status
    assert error.sender_fault
    return error


async def invalid(call: Awaitable[object]) -> SqsError:
    """SQS's catch-all for a bad parameter: InvalidParameterValue, 400."""
    return await refused(call, "InvalidParameterValueException", "InvalidParameterValue")
