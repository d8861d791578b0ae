"""Settings of the query module refused at start-up rather than failing at run time."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from query_module.settings import Settings


@pytest.mark.parametrize("size", [0, 1001])
def test_a_feed_page_the_se_would_refuse_is_refused_at_start_up(size: int) -> None:
    # GET /api/v1/changes answers limit > 1000 with 422: every pull would fail.
    with pytest.raises(ValidationError, match="feed_page_size"):
        Settings(env="test", feed_page_size=size)


def test_the_largest_page_the_se_serves_is_accepted() -> None:
    assert Settings(env="test", feed_page_size=1000).feed_page_size == 1000
