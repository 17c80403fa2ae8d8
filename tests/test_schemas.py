"""Table contracts (tailor.schemas): no table past bronze has a personal column; every table declares its
customers."""

from __future__ import annotations

from tailor import schemas as S
from tailor import tables
from tailor.privacy import pseudonym as P


def test_no_table_past_bronze_has_a_personal_column_and_every_table_declares_its_customers():
    for name, spec in tables.REGISTRY.items():
        assert spec.customer_columns is not None, f"{name}: declare customer_columns (or NO_CUSTOMERS)"
        fields = spec.schema.fieldNames()
        assert not [f for f in fields if P.is_personal(f)], name
        ids = {f for f in fields if f in (S.USER_ID, S.CUSTOMER_ID)}
        assert ids <= set(spec.customer_columns) | {"record"}, f"{name}: {ids} not declared"
        assert set(spec.customer_columns) <= set(fields), name
    assert P.is_personal("E-Mail".replace("-", "_")) and P.is_personal("phone") and P.is_personal("surname")


