"""Training: the compile/fit/evaluate/predict machinery that `Model` mixes in."""
