"""Figures, tables and the report page built from the pipeline's metrics."""
