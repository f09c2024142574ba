"""JSON merge patch, checked against the examples of RFC 7396, appendix A."""

from __future__ import annotations

from typing import Any

import pytest

from avd.web.patch import merge_patch


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": {"b": "c"}}, {"a": {"b": "d"}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b", "c": None}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {"ccc": None}}}),
        # where the RFC drops a member, a whole resource shows it as null
        ({"a": "b"}, {"a": None}, {"a": None}),
        ({"a": "b", "b": "c"}, {"a": None}, {"a": None, "b": "c"}),
        (
            {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}},
            {"title": "Hello!", "author": {"familyName": None}, "phoneNumber": "+01-123"},
            {
                "title": "Hello!",
                "author": {"givenName": "John", "familyName": None},
                "phoneNumber": "+01-123",
            },
        ),
    ],
)
def test_rfc_7396_examples(target: Any, patch: Any, result: Any) -> None:
    before = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == before  # the stored value is not changed in place
