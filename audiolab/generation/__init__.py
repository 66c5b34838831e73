"""Sound generation: the mel diffusion generator, its conditioning (text, label, reference) and text–audio space,
its data (ESC-50 and procedural sounds), training and evaluation, and the built-in generation backend."""
