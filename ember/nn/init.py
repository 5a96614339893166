"""Weight initialisers, as torch.nn.init."""
