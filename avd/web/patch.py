"""Whole and partial updates: PUT replaces every field, PATCH merges (RFC 7396).

A settings resource (the bot parameters, the global parameters) is always
shown whole: every field present, ``null`` for an optional setting that is
off. So:

* ``PUT`` replaces the resource and takes every top-level field; a missing
  one is refused (:func:`every_field_required` builds that body model), never
  silently reset to its default.
* ``PATCH`` is a JSON merge patch (RFC 7396, :func:`merge_patch`): the members
  given replace the stored ones, objects are merged member by member, arrays
  are replaced whole. ``null`` removes a member; since every member of a
  whole resource is present, a removed optional setting reads back as
  ``null`` (the patch sets it to ``null``) and a required one is refused
  when the result is validated. :func:`patch_model` builds the model that
  documents such a body.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

M = TypeVar("M", bound=BaseModel)


def merge_patch(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target`` (a new value; neither argument is changed).

    RFC 7396, on a whole resource: a ``null`` member sets the member to
    ``null`` (see the module docstring) instead of dropping it.
    """
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if isinstance(value, dict):
            out[key] = merge_patch(out.get(key), value)
        else:
            out[key] = value
    return out


def every_field_required(model: type[M], name: str) -> type[M]:
    """A subclass of ``model`` whose every field is required (the body of a PUT)."""
    fields: dict[str, Any] = {
        field: (info.rebuild_annotation(), Field(description=info.description))
        for field, info in model.model_fields.items()
    }
    doc = f"{model.__doc__ or model.__name__} Every field is required (PUT replaces them all)."
    return cast("type[M]", create_model(name, __base__=model, __doc__=doc, **fields))


def _no_defaults(schema: dict[str, Any]) -> None:
    # a field left out of a patch is unchanged, not reset to a default
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


def patch_model(
    model: type[BaseModel], name: str, nested: dict[str, type[BaseModel]] | None = None
) -> type[BaseModel]:
    """A model documenting a merge patch of ``model``: every field optional, no defaults.

    ``nested`` maps a field to the patch model of its object (merged member
    by member). The model only documents the body: the patch is applied to
    the stored resource and the result is validated with ``model``.
    """
    nested = nested or {}
    fields: dict[str, Any] = {
        field: (
            nested[field] if field in nested else info.rebuild_annotation(),
            Field(default=None, description=info.description),
        )
        for field, info in model.model_fields.items()
    }
    doc = (
        f"A JSON merge patch (RFC 7396) of {model.__name__}: only the fields given "
        "change; null clears an optional setting."
    )
    config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)
    return create_model(name, __config__=config, __doc__=doc, **fields)
