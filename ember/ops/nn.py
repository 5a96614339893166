"""Neural-network ops: linear, softmax, losses, dropout, embedding, normalisation, attention."""

__all__: list = []
