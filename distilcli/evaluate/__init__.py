"""Evaluation recipes: eval-glue and eval-squad over the tasks layer, and their quality gates."""
