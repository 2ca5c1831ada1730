"""The source model: loading a Hugging Face / ModelScope directory, its tokenizer, the logits-only adapter every
exporter traces, and the one eager fp32 reference. torch and transformers are imported lazily, where used."""
