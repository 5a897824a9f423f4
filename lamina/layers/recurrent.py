"""Recurrent layers: `RNN` and its cells, `SimpleRNN`, `LSTM`, `GRU`, `StackedRNNCells`, `ConvLSTM2D`.

Each lives in its own module (`rnn_base`, `rnn_cells`, `simple_rnn`, `lstm`, `gru`,
`conv_lstm`); this module is the family's public face.

>>> import torch
>>> from lamina import layers
>>> layers.GRU(2, return_sequences=True)(torch.ones(1, 3, 4)).shape
torch.Size([1, 3, 2])
"""

from lamina.layers.conv_lstm import ConvLSTM2D as ConvLSTM2D
from lamina.layers.gru import GRU as GRU
from lamina.layers.gru import GRUCell as GRUCell
from lamina.layers.lstm import LSTM as LSTM
from lamina.layers.lstm import LSTMCell as LSTMCell
from lamina.layers.rnn_base import RNN as RNN
from lamina.layers.rnn_cells import StackedRNNCells as StackedRNNCells
from lamina.layers.simple_rnn import SimpleRNN as SimpleRNN
from lamina.layers.simple_rnn import SimpleRNNCell as SimpleRNNCell

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "ConvLSTM2D"]
