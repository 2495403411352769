"""`true` is no number (core/numbers.py): every integer or real field of a REST body or a
robot line refuses it, as it takes an ordinary number."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from robodyne.web import bodies
from robodyne.wire import robot as wire


def _models() -> list[type[BaseModel]]:
    found = {model for module in (bodies, wire) for _, model in inspect.getmembers(module)
             if inspect.isclass(model) and issubclass(model, BaseModel)
             and model.__module__ == module.__name__}
    return sorted(found, key=lambda model: model.__name__)


def _takes(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def _is_bool(adapter: TypeAdapter[Any], boolean: Any) -> bool:
    """Whether the field is a boolean one (`available`, `done`), for which true is right."""
    # A number field that took true would have made it 1 or 1.0: only a boolean keeps "True".
    return _takes(adapter, boolean) and repr(adapter.validate_python(boolean)) == repr(boolean)


def _numeric_fields() -> list[tuple[str, TypeAdapter[Any], Any, Any]]:
    """Each field that takes the number 1 (or a list of it) and is no boolean: the field, its
    type, 1 and true."""
    fields = []
    for model in _models():
        for name, info in model.model_fields.items():
            typed = Annotated[(info.annotation, *info.metadata)] if info.metadata \
                else info.annotation
            adapter: TypeAdapter[Any] = TypeAdapter(typed)
            for number, boolean in ((1, True), ([1], [True])):
                if _takes(adapter, number) and not _is_bool(adapter, boolean):
                    fields.append((f"{model.__name__}.{name}", adapter, number, boolean))
    return fields


NUMERIC = _numeric_fields()


def test_the_bodies_and_lines_have_numeric_fields_to_check() -> None:
    names = {name for name, *_ in NUMERIC}
    assert {"TaskIn.priority", "TaskPatch.priority", "OrderItemIn.qty", "TableIn.seats",
            "State.battery", "RobotEvent.order_id", "PoseIn.x"} <= names, sorted(names)


@pytest.mark.parametrize("name,adapter,number,boolean", NUMERIC, ids=[f[0] for f in NUMERIC])
def test_a_numeric_field_refuses_true(name: str, adapter: TypeAdapter[Any], number: Any,
                                      boolean: Any) -> None:
    assert _takes(adapter, number)
    assert not _takes(adapter, boolean), f"{name} takes {boolean!r} for a number"
