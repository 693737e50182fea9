"""Training on cached features, fine-tuning, evaluation, cross-validation, metrics, torchrun."""
