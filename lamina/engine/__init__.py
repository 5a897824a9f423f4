"""The layer and model machinery: Layer, KerasTensor and Node, Functional, Sequential, Model."""
