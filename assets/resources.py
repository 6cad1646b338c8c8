"""The one resource every asset uses: where the pipeline lives and what it reads."""

from __future__ import annotations

import dagster as dg

from finance_pipeline.config import Home, PipelineConfig, default_config_path, load_config


class PipelineResource(dg.ConfigurableResource):
    """Home folder and configuration file; empty strings mean the documented defaults."""

    home: str = ""
    config_path: str = ""

    def home_dir(self) -> Home:
        return Home.resolve(self.home or None).ensure()

    def load(self) -> PipelineConfig:
        return load_config(self.config_path or default_config_path())
