"""Evaluation and award: rubric, conflict declarations, independent scoring, consensus, award."""
