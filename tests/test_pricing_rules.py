"""Readable price rules from a shallow tree: a step in demand at a known price is found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domains.pricing.rules import explain_price_rules


def test_rules_find_price_step():
    # 100 units per week below 5.00, 10 units from 5.00 up: the first split must sit at 5.
    rng = np.random.default_rng(0)
    prices = rng.uniform(3.0, 7.0, size=600)
    quantity = np.where(prices < 5.0, 100.0, 10.0)
    rules = explain_price_rules(pd.DataFrame({"price": prices, "quantity": quantity}), max_depth=1)
    first_line = rules.splitlines()[0]
    threshold = float(first_line.split("<=")[1])
    assert threshold == pytest.approx(5.0, abs=0.02)
    assert "units ~ 100" in rules
    assert "units ~ 10\n" in rules + "\n"


def test_rules_missing_column():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['deal'\]"):
        explain_price_rules(pd.DataFrame({"price": [1.0] * 200, "quantity": [1.0] * 200}), features=("price", "deal"))


def test_rules_too_few_rows():
    with pytest.raises(ValueError, match="10 rows, need at least 100"):
        explain_price_rules(pd.DataFrame({"price": np.arange(10.0), "quantity": np.ones(10)}))
