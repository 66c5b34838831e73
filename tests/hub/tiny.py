"""Tiny random diffusers pipelines, built in memory and saved as real checkpoint folders (nothing downloaded).

Each builder mirrors how diffusers' own fast pipeline tests build their dummy components: the same classes as the
real checkpoints (CLAP, Flan-T5, GPT-2, the projection model, the two-encoder UNet, the VAE and HiFi-GAN for
AudioLDM 2; T5, the DiT, Oobleck and the cosine DPM-Solver for Stable Audio Open; T5Gemma, the SA3 DiT and SAME
for Stable Audio 3), only a few channels wide, seeded, and with tokenizers made in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

SAMPLE_RATE_16K = 16_000
AUDIOLDM2_HOP = 16  # the tiny HiFi-GAN upsamples 4 × 4: one mel frame per 16 samples (1 ms at 16 kHz)
AUDIOLDM2_MELS = 16
STABLE_AUDIO_RATE = 8_000
STABLE_AUDIO_SECONDS = 1.0  # the tiny DiT's whole window (sample_size × hop / rate)


def _tiny_hifigan(mels: int, rate: int) -> "torch.nn.Module":
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    return SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=mels, sampling_rate=rate, upsample_initial_channel=16, upsample_rates=[4, 4],
        upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        normalize_before=False))


def audioldm2_folder(folder: Path, language_model_as: str = "GPT2Model") -> Path:
    """A tiny AudioLDM 2 checkpoint laid out like `cvssp/audioldm2` (its `language_model` saved as `GPT2Model`)."""
    from diffusers import (
        AudioLDM2Pipeline,
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        GPT2Config,
        GPT2LMHeadModel,
        GPT2Model,
        RobertaTokenizer,
        T5Config,
        T5EncoderModel,
        T5Tokenizer,
    )

    torch.manual_seed(0)
    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4, sample_size=8, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=([None, 16, 32], [None, 16, 32]),
        attention_head_dim=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False)
    vae = AutoencoderKL(block_out_channels=[8, 16], norm_num_groups=4, in_channels=1, out_channels=1,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4)
    text = ClapTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=16, intermediate_size=37, num_attention_heads=2,
                          num_hidden_layers=2, pad_token_id=1, vocab_size=1000, projection_dim=16)
    audio = ClapAudioConfig(spec_size=64, window_size=4, num_mel_bins=64, intermediate_size=37, depths=[2, 2],
                            num_attention_heads=[2, 2], num_hidden_layers=2, hidden_size=192, projection_dim=16,
                            patch_size=2, patch_stride=2, patch_embed_input_channels=4)
    clap = ClapModel(ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=16))
    t5 = T5EncoderModel(T5Config(vocab_size=200, d_model=32, d_ff=37, d_kv=8, num_heads=2, num_layers=2))
    gpt_config = GPT2Config(n_embd=16, n_head=2, n_layer=2, vocab_size=1000, n_ctx=99, n_positions=99)
    language_model = (GPT2Model if language_model_as == "GPT2Model" else GPT2LMHeadModel)(gpt_config)
    language_model.config.max_new_tokens = 8
    projection = AudioLDM2ProjectionModel(text_encoder_dim=16, text_encoder_1_dim=32, langauge_model_dim=16)
    pipe = AudioLDM2Pipeline(
        vae=vae, text_encoder=clap, text_encoder_2=t5, projection_model=projection, language_model=language_model,
        tokenizer=RobertaTokenizer(model_max_length=77), tokenizer_2=T5Tokenizer(model_max_length=77),
        feature_extractor=ClapFeatureExtractor(), unet=unet, scheduler=scheduler,
        vocoder=_tiny_hifigan(AUDIOLDM2_MELS, SAMPLE_RATE_16K))
    pipe.save_pretrained(folder)
    index = json.loads((folder / "model_index.json").read_text())
    assert index["language_model"][1] == language_model_as  # the layout the real checkpoints have
    return folder


def stable_audio_folder(folder: Path) -> Path:
    """A tiny Stable Audio Open checkpoint (stereo Oobleck VAE, DiT, T5, cosine DPM-Solver)."""
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    torch.manual_seed(0)
    hop = 16  # Oobleck downsampling 4 × 4
    transformer = StableAudioDiTModel(
        sample_size=int(STABLE_AUDIO_SECONDS * STABLE_AUDIO_RATE / hop), in_channels=3, num_layers=2,
        attention_head_dim=4, num_key_value_attention_heads=2, out_channels=3, cross_attention_dim=4,
        time_proj_dim=8, global_states_input_dim=8, cross_attention_input_dim=4)
    scheduler = CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential")
    vae = AutoencoderOobleck(encoder_hidden_size=6, downsampling_ratios=[4, 4], decoder_channels=3,
                             decoder_input_channels=3, audio_channels=2, channel_multiples=[2, 4],
                             sampling_rate=STABLE_AUDIO_RATE)
    text_encoder = T5EncoderModel(T5Config(vocab_size=200, d_model=32, d_ff=37, d_kv=8, num_heads=2, num_layers=2))
    projection = StableAudioProjectionModel(text_encoder_dim=32, conditioning_dim=4, min_value=0, max_value=32)
    pipe = StableAudioPipeline(vae=vae, text_encoder=text_encoder, projection_model=projection,
                               tokenizer=T5Tokenizer(model_max_length=25), transformer=transformer, scheduler=scheduler)
    pipe.save_pretrained(folder)
    return folder


def stable_audio_3_folder(folder: Path, pipeline_class: str = "StableAudio3Pipeline") -> Path:
    """A tiny Stable Audio 3 checkpoint (SAME VAE, rectified-flow DiT with the inpainting path, T5Gemma)."""
    import diffusers
    from diffusers import (
        AutoencoderSAME,
        FlowMatchEulerDiscreteScheduler,
        StableAudio3DiTModel,
    )
    from diffusers.pipelines.stable_audio_3.modeling_stable_audio_3 import (
        StableAudio3DurationEmbedder,
    )
    from transformers import GemmaTokenizer, T5GemmaConfig, T5GemmaEncoderModel
    from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig

    cond = 16  # text width = DiT conditioning width = duration embedding width (it joins the text tokens)
    torch.manual_seed(0)
    transformer = StableAudio3DiTModel(io_channels=8, patch_size=1, embed_dim=32, depth=2, num_heads=4,
                                       cond_token_dim=cond, global_cond_dim=cond, local_add_cond_dim=9,
                                       timestep_features_dim=16, ff_mult=2, num_memory_tokens=3,
                                       use_differential_attention=False)
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, stochastic_sampling=True)
    vae = AutoencoderSAME(audio_channels=2, patch_size=8, encoder_channels=8, encoder_c_mults=(2,),
                          encoder_strides=(2,), encoder_transformer_depths=(1,), latent_dim=8,
                          use_differential_attention=False, dim_heads=4, ff_mult=2, sampling_rate=STABLE_AUDIO_RATE)
    for weight in (*transformer.parameters(), *vae.parameters()):  # zero-initialised projections (adaLN-zero
        if weight.dim() >= 2 and not weight.any():  # gates, the inpainting path, residual outputs) are not zero once
            torch.nn.init.normal_(weight, std=0.2)  # trained: the conditioning and the latents must reach the audio
    tokenizer = GemmaTokenizer(model_max_length=32)
    module = T5GemmaModuleConfig(vocab_size=max(len(tokenizer), 8), hidden_size=cond, intermediate_size=32,
                                 num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                                 max_position_embeddings=64, sliding_window=64,
                                 layer_types=["full_attention", "full_attention"])
    text_encoder = T5GemmaEncoderModel(T5GemmaConfig(encoder=module.to_dict(), decoder=module.to_dict(),
                                                     is_encoder_decoder=False))
    duration = StableAudio3DurationEmbedder(output_dim=cond, fourier_dim=16)
    pipe = getattr(diffusers, pipeline_class)(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                              duration_embedder=duration, transformer=transformer, scheduler=scheduler)
    pipe.save_pretrained(folder)
    return folder
