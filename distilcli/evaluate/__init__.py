"""Evaluation: task metrics (GLUE, ...) and the scores the DistilBERT paper reports."""
