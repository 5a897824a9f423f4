"""Attention layers: MultiHeadAttention, GroupQueryAttention, Attention, AdditiveAttention.

Each lives in its own module; this one gathers them under the names of the layer table.

>>> from lamina.layers import attention
>>> attention.MultiHeadAttention(num_heads=2, key_dim=4).num_heads
2
"""

from lamina.layers.dot_attention import AdditiveAttention as AdditiveAttention
from lamina.layers.dot_attention import Attention as Attention
from lamina.layers.group_query_attention import GroupQueryAttention as GroupQueryAttention
from lamina.layers.multi_head_attention import MultiHeadAttention as MultiHeadAttention

GroupedQueryAttention = GroupQueryAttention

__all__ = ["MultiHeadAttention", "GroupQueryAttention", "GroupedQueryAttention", "Attention", "AdditiveAttention"]
