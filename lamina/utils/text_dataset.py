"""`text_dataset_from_directory`: batches of ``.txt`` file contents and labels from class folders.

Texts are yielded as NumPy arrays of ``str`` (torch has no string tensors; lamina's
``TextVectorization`` takes them), labels as torch tensors.
"""

import numpy as np

from lamina.utils import directory_index


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """A dataset of ``(texts, labels)`` batches from ``directory/<class>/<file>.txt`` (Keras 3 arguments).

    Args:
        directory: the folder; with ``labels="inferred"`` each sub-folder is a class.
        labels: ``"inferred"``, ``None`` (texts only), or a list of int labels in file order.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or ``None`` (as `image_dataset_from_directory`).
        class_names: the classes to use, in label order (default: sorted sub-folder names).
        batch_size: texts per batch (``None``: single texts).
        max_length: keep at most this many characters of each text.
        shuffle: shuffle the files (once, as Keras) and the order at each epoch.
        seed: seed of the shuffling; required with ``validation_split`` and ``shuffle``.
        validation_split: fraction of the files held out for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"``.
        follow_links: follow symbolic links to sub-folders.
        verbose: print the numbers of files and classes.

    Returns:
        A `lamina.utils.batch_dataset.BatchDataset` with ``class_names`` and ``file_paths`` attributes.
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the "
                             "number of text files in the target directory. If you wish to infer the labels from "
                             'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
                             f"to get a dataset that only contains text samples (no labels), pass `labels=None`. "
                             f"Received: labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                             f"and class_names={class_names}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. Received: '
                         f"label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    directory_index.check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = directory_index.index_directory(
        directory, labels, (".txt",), class_names=class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={class_names}")

    def read_texts(batch_paths):
        texts = []
        for path in batch_paths:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            texts.append(text if max_length is None else text[:max_length])
        out = np.empty(len(texts), dtype=object)
        out[:] = texts
        return out

    return directory_index.build(read_texts, paths, labels, label_mode, class_names, batch_size, shuffle, seed,
                                 validation_split, subset, verbose, "text files (.txt) ")
