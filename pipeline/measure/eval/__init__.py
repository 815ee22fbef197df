"""Evaluation of pipeline stages on labelled data (read from ../shared/eval by default)."""
