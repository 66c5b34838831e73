"""Speech restoration: DiffGMM, score-based denoising and posterior sampling (bandwidth extension, declipping,
inpainting), degradations, noisy-speech data, training, evaluation and the restoration pipeline."""
