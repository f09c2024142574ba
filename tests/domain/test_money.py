"""The canonical decimal strings of the API, worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from avd.domain.money import DecimalIn, DecimalOut, Money, MoneyOut, decimal_out, money_out

NUMBER = 'decimals are JSON strings like "100.50", not JSON numbers'


@pytest.mark.parametrize(
    ("value", "plain", "money"),
    [
        ("0E-8", "0", "0.00"),
        ("-0", "0", "0.00"),
        ("-0E-8", "0", "0.00"),
        ("0.00000000", "0", "0.00"),
        ("721.9047000000000000", "721.9047", "721.9047"),
        ("6.5E+4", "65000", "65000.00"),
        ("65000", "65000", "65000.00"),
        ("0.00151000", "0.00151", "0.00151"),
        ("1E-8", "0.00000001", "0.00000001"),
        ("-3.57", "-3.57", "-3.57"),
        ("100.5", "100.5", "100.50"),
        ("2.50", "2.5", "2.50"),
        ("10", "10", "10.00"),
        # money keeps eight decimals at most (half-even); the plain form keeps all
        ("0.123456785", "0.123456785", "0.12345678"),
        ("-0.000000001", "-0.000000001", "0.00"),
    ],
)
def test_canonical_forms(value: str, plain: str, money: str) -> None:
    assert decimal_out(Decimal(value)) == plain
    assert money_out(Decimal(value)) == money


class _Request(BaseModel):
    percent: Annotated[DecimalIn, Field(gt=0, le=50, max_digits=8, decimal_places=4)]
    amount: Money = Decimal(0)


class _Response(BaseModel):
    pnl: MoneyOut
    price: DecimalOut


def test_responses_serialize_one_string_per_field() -> None:
    out = _Response(pnl=Decimal("0E-8"), price=Decimal("6.50E+4")).model_dump(mode="json")
    assert out == {"pnl": "0.00", "price": "65000"}
    # Python dumps keep the Decimal
    assert _Response(pnl=Decimal(1), price=Decimal(2)).model_dump()["pnl"] == Decimal(1)


def test_requests_take_strings_and_refuse_numbers_with_one_message() -> None:
    ok = _Request.model_validate_json('{"percent": "2.50", "amount": "1.5"}')
    assert ok.percent == Decimal("2.5") and ok.amount == Decimal("1.5")
    assert ok.model_dump(mode="json") == {"percent": "2.5", "amount": "1.50"}
    for body in ('{"percent": 2.5}', '{"percent": 2}', '{"percent": "1", "amount": 1}'):
        with pytest.raises(ValidationError) as e:
            _Request.model_validate_json(body)
        assert [err["msg"] for err in e.value.errors()] == [NUMBER], body
    for text in ("1e1", "NaN", "Infinity", "", "1.", ".5", "1,5", "0x10"):
        with pytest.raises(ValidationError):
            _Request.model_validate_json(f'{{"percent": "{text}"}}')
    with pytest.raises(ValidationError):
        _Request.model_validate_json('{"percent": "50.0001"}')  # the field's bound
    # Python callers pass Decimal objects (and ints, which are exact), not floats
    assert _Request(percent=Decimal("1"), amount=Decimal("2")).percent == Decimal(1)
    assert _Request.model_validate({"percent": 3}).percent == Decimal(3)
    with pytest.raises(ValidationError) as e:
        _Request.model_validate({"percent": 0.1})
    assert e.value.errors()[0]["msg"] == NUMBER


def test_the_schema_says_string() -> None:
    req = _Request.model_json_schema()["properties"]
    resp = _Response.model_json_schema(mode="serialization")["properties"]
    for prop in (req["percent"], req["amount"], resp["pnl"], resp["price"]):
        assert prop["type"] == "string" and "pattern" in prop
