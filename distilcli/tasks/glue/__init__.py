"""GLUE: the task table (spec), its readers (TSV, CSV/JSONL; the hub's parquet in hub), one entry
point for a task's split (sources), features, the classifier head, predictions and metrics."""
