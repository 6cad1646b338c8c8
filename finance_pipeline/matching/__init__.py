"""Matching engine: rules in YAML, candidates in Polars, one-use global assignment.

The public entry point is ``finance_pipeline.matching.engine.run_workflow``.
"""
