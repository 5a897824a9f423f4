"""State shared by nested layer calls: depth, the inherited ``training`` flag, loss owners.

One module-level object, read and written directly on the hot path.
"""


class CallContext:
    __slots__ = ("depth", "training", "loss_owners", "probe_size", "deferred_relu")

    def __init__(self):
        self.depth = 0          # how many Layer.__call__ frames are active
        self.training = None    # the training value of the nearest outer call that set one
        self.loss_owners = []   # layers holding losses added since the last top-level call
        self.probe_size = None  # the stand-in for unknown sizes while a symbolic call runs on fake tensors
        self.deferred_relu = None  # the conv layer whose relu the functional model applies after a max pool


CONTEXT = CallContext()


def clear_call_losses():
    """Empties ``_losses`` of every layer that added one (done at each top-level call)."""
    owners = CONTEXT.loss_owners
    for layer in owners:
        layer._losses.clear()
    owners.clear()
