"""The domain contract on the pricing plug-in, with a 30-product slice of the Online Retail log."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract import DomainContract

SLICE = Path(__file__).resolve().parent / "data" / "pricing_retail_slice.csv.gz"


def small_pricing_params() -> dict:
    """Return pricing params for the slice: 4-week valid and test periods, small models."""
    return {
        "dataset": "online-retail",
        "online_retail_path": str(SLICE),
        "valid_weeks": 4,
        "test_weeks": 4,
        "deep": {"epochs": 3},
        "classic": {"n_estimators": 60},
        "max_decisions": 8,
        "report_products": 5,
        "curve_plots": 1,
    }


class TestPricingContract(DomainContract):
    domain_name = "pricing"

    @pytest.fixture(scope="class")
    @classmethod
    def params(cls):
        return small_pricing_params()

    def make_request(self, data):
        return {"product_id": str(data.test["product_id"].iloc[0])}

    def bad_requests(self, data):
        known = str(data.test["product_id"].iloc[0])
        return [
            {},
            {"product_id": "NO-SUCH-PRODUCT"},
            {"product_id": known, "objective": "volume"},
            {"product_id": known, "objective": "profit"},
            {"product_id": known, "unit_cost": "cheap"},
            {"product_id": known, "guardrails": {"min_price": 5.0, "max_price": 1.0}},
            {"product_id": known, "guardrails": {"max_chnage_fraction": 0.1}},
        ]

    def check_decision(self, decision, request, bundle):
        guardrails = bundle.domain.config.guardrails
        current = decision["current_price"]
        assert decision["product_id"] == request["product_id"]
        assert current * (1 - guardrails.max_change_fraction) - 1e-9 <= decision["price"]
        assert decision["price"] <= current * (1 + guardrails.max_change_fraction) + 1e-9
        assert decision["expected_revenue"] == pytest.approx(decision["price"] * decision["expected_units"], rel=1e-3, abs=0.01)
        assert decision["reason"]
        assert decision["blend"]["driver"] in {"deep", "classic", "both"}
