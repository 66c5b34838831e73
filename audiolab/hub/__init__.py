"""Pretrained diffusers pipelines from the Hugging Face hub (AudioLDM 2, Stable Audio) as generation backends.

A hub model is a second implementation of `generation.pipeline.GenerationBackend`: `backend.HubGenerator` yields
the same Steps (x_t and x̂_0, decoded) and Result as a built-in preset. `models` finds a model (a hub id or a
local diffusers folder) and names its pipeline class; `loading` loads it and explains plainly why it cannot be
loaded (no network, a gated model without a token, a missing package, too little memory) so the built-in models
keep working; `sampling` runs the reverse process over the checkpoint's own scheduler; `audioldm2`,
`stable_audio` and `stable_audio_3` expose each family's pieces; `hifigan` is AudioLDM 2's vocoder on its own;
`spaces` lends a ZeroGPU Space's GPU to the sampling.
"""
