"""models/listing.py: the aliases and architectures, as a report."""

from __future__ import annotations

from distilcli.models.listing import run_models_list


def test_models_listing_is_a_report() -> None:
    report = run_models_list()
    assert report.command == "models"
    assert report.metrics["aliases"] == len(report.body["aliases"]) and report.metrics["architectures"] >= 4
    assert {"bert", "distilbert"} <= {row["model_type"] for row in report.body["architectures"]}
