"""Column types: JSON that is validated by a pydantic model on the way in and out.

`PydanticJSON(Model)` stores `Model.model_dump(mode="json")` and loads `Model` back, so a
row can never hold a config the code does not understand, and the code never reads a config
through string keys. The database column stays plain JSON: no migration is needed to adopt
it, and old rows are read through the model's defaults and validators."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

ModelT = TypeVar("ModelT")


class PydanticJSON(TypeDecorator[ModelT], Generic[ModelT]):
    impl = JSON
    cache_ok = True

    def __init__(self, model: Any) -> None:
        """`model`: a pydantic model class, or any type pydantic can validate (a tagged
        union of models, for example)."""
        super().__init__()
        self.model = model
        self._adapter: TypeAdapter[Any] = TypeAdapter(model)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, BaseModel):
            value = self._adapter.validate_python(value)  # refuse what the model refuses
        return self._adapter.dump_python(value, mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self._adapter.validate_python(value)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return JSON()
