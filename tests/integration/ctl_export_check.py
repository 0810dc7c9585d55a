#!/usr/bin/python3
"""Checks dustctl's model exports independently of our C++ code (numpy + python3-onnx only).

Usage: ctl_export_check.py DIR

DIR holds the files one export run produced:
  model.onnx, model.safetensors, model.json   the exports of one model
  inputs.f32     N x in float32 samples (little-endian), row-major
  expected.f32   N x classes float32 probabilities our Predict gave for them
  meta.json      {"n": N, "in": in, "classes": C, "content_hash": "64 hex", "rounds": R,
                  "node_id": "...", "tolerance": 1e-5}

For each format: loads it with a parser written here from the format's own specification
(onnx.load + onnx.checker for ONNX, header parsing for safetensors, json for JSON), checks the
metadata (architecture, rounds, node, content hash) and recomputes the content hash from the
file's weights (BLAKE2b-256 of the parameters in dust layout, little-endian fp32), runs the
network with numpy (for ONNX: interpreting the graph's own nodes), and compares the
probabilities and arg-max classes with expected.f32. Prints one line per check; exits 1 on the
first failure.
"""
import hashlib
import json
import struct
import sys

import numpy as np


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mlp_forward(layers, x):
    """layers: [(W [out][in], b [out])]; ReLU between layers; returns softmax probabilities."""
    a = x.astype(np.float64)
    for i, (w, b) in enumerate(layers):
        a = a @ w.astype(np.float64).T + b.astype(np.float64)
        if i + 1 < len(layers):
            a = np.maximum(a, 0)
    return softmax(a)


def content_hash(layers):
    """BLAKE2b-256 over the params in dust layout: per layer W as [in][out], then b."""
    h = hashlib.blake2b(digest_size=32)
    for w, b in layers:
        h.update(np.ascontiguousarray(w.T).astype("<f4").tobytes())
        h.update(b.astype("<f4").tobytes())
    return h.hexdigest()


def compare(name, probs, expected, tol):
    if probs.shape != expected.shape:
        fail(f"{name}: output shape {probs.shape}, expected {expected.shape}")
    err = float(np.abs(probs - expected).max())
    if err > tol:
        fail(f"{name}: probabilities differ from Predict by up to {err:g} (tolerance {tol:g})")
    # Arg-max must agree wherever the top two are not a near tie.
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * tol
    agree = probs.argmax(axis=1) == expected.argmax(axis=1)
    if not np.all(agree[clear]):
        fail(f"{name}: arg-max differs on {int((~agree[clear]).sum())} samples")
    if int(clear.sum()) == 0:
        fail(f"{name}: no sample has a clear arg-max; the check would prove nothing")
    print(f"ok: {name}: {len(expected)} samples, max |p - p_ours| = {err:.2e}, "
          f"arg-max agrees on {int(clear.sum())} clear samples")


def check_meta(name, md, meta, layers):
    for key in ("architecture", "training_rounds", "node_id", "content_hash"):
        if key not in md:
            fail(f"{name}: metadata lacks {key}: {sorted(md)}")
    sizes = [layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]
    arch = "mlp " + "-".join(str(s) for s in sizes) + " relu"
    if md["architecture"] != arch:
        fail(f"{name}: architecture {md['architecture']!r}, weights say {arch!r}")
    if md["training_rounds"] != str(meta["rounds"]):
        fail(f"{name}: training_rounds {md['training_rounds']}, expected {meta['rounds']}")
    if md["node_id"] != meta["node_id"]:
        fail(f"{name}: node_id {md['node_id']!r}, expected {meta['node_id']!r}")
    if md["content_hash"] != meta["content_hash"]:
        fail(f"{name}: content_hash {md['content_hash']}, expected {meta['content_hash']}")
    recomputed = content_hash(layers)
    if recomputed != meta["content_hash"]:
        fail(f"{name}: the weights hash to {recomputed}, metadata says {meta['content_hash']}")
    print(f"ok: {name}: metadata ({arch}, {md['training_rounds']} rounds) and content hash")


def run_onnx_graph(model, x):
    """A numpy interpreter for the operators our exporter emits (Gemm, Relu, Softmax)."""
    from onnx import numpy_helper
    env = {init.name: numpy_helper.to_array(init).astype(np.float64)
           for init in model.graph.initializer}
    env[model.graph.input[0].name] = x.astype(np.float64)
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        ins = [env[i] for i in node.input]
        if node.op_type == "Gemm":
            a, b = ins[0], ins[1]
            if "transA" in attrs and attrs["transA"].i:
                a = a.T
            if "transB" in attrs and attrs["transB"].i:
                b = b.T
            alpha = attrs["alpha"].f if "alpha" in attrs else 1.0
            beta = attrs["beta"].f if "beta" in attrs else 1.0
            y = alpha * (a @ b) + (beta * ins[2] if len(ins) > 2 else 0)
        elif node.op_type == "Relu":
            y = np.maximum(ins[0], 0)
        elif node.op_type == "Softmax":
            axis = attrs["axis"].i if "axis" in attrs else -1
            z = ins[0] - ins[0].max(axis=axis, keepdims=True)
            y = np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)
        else:
            fail(f"onnx: unexpected operator {node.op_type}")
        env[node.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}


def check_onnx(path, meta, x, expected, tol):
    import onnx
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    print(f"ok: onnx: checker accepts {path} (ir_version {model.ir_version}, opset "
          f"{model.opset_import[0].version})")
    outs = run_onnx_graph(model, x)
    if set(outs) != {"logits", "probabilities"}:
        fail(f"onnx: outputs are {sorted(outs)}")
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    layers = []
    while f"layers.{len(layers)}.weight" in inits:
        n = len(layers)
        layers.append((inits[f"layers.{n}.weight"], inits[f"layers.{n}.bias"]))
    check_meta("onnx", {p.key: p.value for p in model.metadata_props}, meta, layers)
    compare("onnx probabilities output", outs["probabilities"], expected, tol)
    compare("onnx softmax(logits output)", softmax(outs["logits"]), expected, tol)


def check_safetensors(path, meta, x, expected, tol):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 != 0 or 8 + n > len(raw):
        fail(f"safetensors: header length {n} (file {len(raw)} bytes)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    md = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in md.items()):
        fail("safetensors: __metadata__ must map strings to strings")
    spans = sorted((t["data_offsets"][0], t["data_offsets"][1], name) for name, t in header.items())
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            fail(f"safetensors: {name} starts at {begin}, expected {pos} (holes or overlap)")
        pos = end
    if pos != len(data):
        fail(f"safetensors: tensors cover {pos} bytes, data holds {len(data)}")
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            fail(f"safetensors: {name} has dtype {t['dtype']}")
        b, e = t["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype="<f4")
        if arr.size != int(np.prod(t["shape"])):
            fail(f"safetensors: {name} shape {t['shape']} vs {arr.size} values")
        tensors[name] = arr.reshape(t["shape"])
    layers = []
    while f"layers.{len(layers)}.weight" in tensors:
        n_ = len(layers)
        layers.append((tensors[f"layers.{n_}.weight"], tensors[f"layers.{n_}.bias"]))
    if len(layers) * 2 != len(tensors):
        fail(f"safetensors: unexpected tensors {sorted(tensors)}")
    print(f"ok: safetensors: header of {n} bytes, {len(tensors)} tensors tile the data exactly")
    check_meta("safetensors", md, meta, layers)
    compare("safetensors", mlp_forward(layers, x), expected, tol)
    return layers


def check_json(path, meta, x, expected, tol, reference_layers):
    doc = json.load(open(path))
    if doc.get("format") != "neural-dust-mlp":
        fail(f"json: format {doc.get('format')!r}")
    layers = [(np.array(l["weight"], dtype=np.float64).astype(np.float32),
               np.array(l["bias"], dtype=np.float64).astype(np.float32)) for l in doc["layers"]]
    for i, ((w, b), (rw, rb)) in enumerate(zip(layers, reference_layers)):
        if not (np.array_equal(w, rw) and np.array_equal(b, rb)):
            fail(f"json: layer {i} weights are not bit-identical to the safetensors export")
    print("ok: json: weights bit-identical to the safetensors export after fp32 rounding")
    check_meta("json", doc["metadata"], meta, layers)
    compare("json", mlp_forward(layers, x), expected, tol)


def main():
    if len(sys.argv) != 2:
        fail("usage: ctl_export_check.py DIR")
    d = sys.argv[1]
    meta = json.load(open(f"{d}/meta.json"))
    x = np.fromfile(f"{d}/inputs.f32", dtype="<f4").reshape(meta["n"], meta["in"])
    expected = np.fromfile(f"{d}/expected.f32", dtype="<f4").reshape(meta["n"], meta["classes"])
    tol = meta.get("tolerance", 1e-5)
    check_onnx(f"{d}/model.onnx", meta, x, expected, tol)
    layers = check_safetensors(f"{d}/model.safetensors", meta, x, expected, tol)
    check_json(f"{d}/model.json", meta, x, expected, tol, layers)
    print("all export checks passed")


if __name__ == "__main__":
    main()
