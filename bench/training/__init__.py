"""Fine-tuning: the training pairs of each fine-tuned arm, and the LoRA / full fine-tuning loop."""
