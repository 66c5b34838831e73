"""The diffusion vocoder (mel -> waveform): its network and representation, preset and checkpoint, the vocoding
pipeline beside Griffin-Lim, training and evaluation."""
