"""Versioned JSON reports: one envelope for every command, written atomically."""

from distilcli.reports.schema import SCHEMA_VERSION, Report, load_report, write_report

__all__ = ["SCHEMA_VERSION", "Report", "load_report", "write_report"]
