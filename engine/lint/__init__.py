"""The case-type linter (see linter.py): findings with a severity, a rule id, the element and the file."""
from .findings import ERROR, WARNING, Finding, N_
from .linter import lint_model

__all__ = ["ERROR", "WARNING", "Finding", "N_", "lint_model"]
