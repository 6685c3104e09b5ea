"""texgen trainer: GAN training (DCGAN, WGAN, WGAN-GP, conditional) exported to texgen ONNX."""
