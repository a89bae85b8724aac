"""Distillation: the losses of the DistilBERT recipe (and its TinyBERT-style extras).

``losses`` holds one small ``nn.Module`` per loss term plus ``DistillationObjective``,
which weighs them; the training loop that feeds them teacher and student outputs
lives beside it.
"""
