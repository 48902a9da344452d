#!/usr/bin/env python3
"""Writes the .npz import fixtures with NumPy, named like a PyTorch state_dict, plus the equivalent
gradlab.model/1 JSON files. Run from this folder: python3 make_fixtures.py (NumPy only, no PyTorch).

The .npz files stand in for
    torch.save-free export:  np.savez("rnn.npz", **{k: v.detach().numpy() for k, v in rnn.state_dict().items()})
An optional array "inputs" (T x input_size) is the sequence gradlab drives layer 0 with.
"""
import io
import json
import zipfile

import numpy as np

rng = np.random.default_rng(20240611)


def uniform(shape, n):
    k = 1 / np.sqrt(n)  # PyTorch's default init U(-1/sqrt(n), 1/sqrt(n))
    return rng.uniform(-k, k, size=shape)


def layer(gates, n, d, prefix="", l=0, dtype=np.float64):
    return {
        f"{prefix}weight_ih_l{l}": uniform((gates * n, d), n).astype(dtype),
        f"{prefix}weight_hh_l{l}": uniform((gates * n, n), n).astype(dtype),
        f"{prefix}bias_ih_l{l}": uniform((gates * n,), n).astype(dtype),
        f"{prefix}bias_hh_l{l}": uniform((gates * n,), n).astype(dtype),
    }


def model_json(cell, arrays, l, inputs):
    """gradlab.model/1 for layer l, with h0 = 0 (and c0 = 0), values as exact float64 reprs."""
    wih = arrays[f"weight_ih_l{l}"].astype(np.float64)
    whh = arrays[f"weight_hh_l{l}"].astype(np.float64)
    n = whh.shape[1]
    m = {
        "format": "gradlab.model/1", "cell": cell, "hidden_size": n, "input_size": wih.shape[1],
        "weight_ih": wih.tolist(), "weight_hh": whh.tolist(),
        "bias_ih": arrays[f"bias_ih_l{l}"].astype(np.float64).tolist(),
        "bias_hh": arrays[f"bias_hh_l{l}"].astype(np.float64).tolist(),
        "h0": [0.0] * n, "inputs": inputs.astype(np.float64).tolist(),
    }
    if cell == "lstm":
        m["c0"] = [0.0] * n
    return m


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
        f.write("\n")


T = 25

# 1. A one-layer tanh RNN (nn.RNN, n = 6, d = 3), float64, np.savez (stored), with its input sequence.
rnn = layer(1, 6, 3)
x = rng.normal(size=(T, 3))
np.savez("rnn_tanh.npz", inputs=x, **rnn)
write_json("rnn_tanh.json", model_json("tanh", rnn, 0, x))

# 2. A two-layer LSTM (nn.LSTM(3, 5, num_layers=2)), float32, Fortran order, np.savez_compressed (deflate).
lstm = {**layer(4, 5, 3, l=0, dtype=np.float32), **layer(4, 5, 5, l=1, dtype=np.float32)}
x2 = rng.normal(size=(T, 3)).astype(np.float32)
np.savez_compressed("lstm2_f4.npz", inputs=np.asfortranarray(x2), **{k: np.asfortranarray(v) for k, v in lstm.items()})
write_json("lstm2_layer0.json", model_json("lstm", lstm, 0, x2))

# 3. A GRU in big-endian float64 with a module prefix ("encoder."), no inputs array.
gru = layer(3, 4, 2, prefix="encoder.")
np.savez("gru_be.npz", **{k: v.astype(">f8") for k, v in gru.items()})

# Broken files, for the error messages.
bad = dict(rnn)
bad["weight_hh_l0"] = uniform((6, 7), 6)
np.savez("bad_shape.npz", **bad)
missing = {k: v for k, v in rnn.items() if k != "weight_hh_l0"}
np.savez("missing_whh.npz", **missing)
np.savez("bad_dtype.npz", **{**rnn, "weight_ih_l0": np.arange(18, dtype=np.int64).reshape(6, 3)})

# A zip whose weight_hh_l0.npy is cut short (header intact, data truncated), written entry by entry.
buf = io.BytesIO()
np.save(buf, rnn["weight_hh_l0"])
raw = buf.getvalue()
with zipfile.ZipFile("truncated_array.npz", "w") as z:
    for k, v in rnn.items():
        b = io.BytesIO()
        np.save(b, v)
        z.writestr(k + ".npy", raw[: len(raw) - 40] if k == "weight_hh_l0" else b.getvalue())
print("fixtures written")
