"""Pretrained diffusers pipelines from the Hugging Face hub (AudioLDM 2, Stable Audio) as generation backends.

A hub model is a second implementation of `generation.pipeline.GenerationBackend`. This package finds a model
(a hub id or a local diffusers folder), names its pipeline class from `model_index.json`, and explains plainly
why it cannot be loaded (no network, a gated model without a token) so the built-in models keep working.
"""
