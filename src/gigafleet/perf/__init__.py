"""Pure performance models: FLOPs and bytes per layer, collectives, training step time."""
