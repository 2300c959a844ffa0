"""Answer models: they turn retrieved passages and ranked evidence into a cited Reply."""

from qa.answering.base import AnswerModel, Context
from qa.answering.extractive import ExtractiveModel

__all__ = ["AnswerModel", "Context", "ExtractiveModel"]
