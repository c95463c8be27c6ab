#!/usr/bin/python3
"""make_onnx.py - the ONNX Runtime peer of bench_encoder: build an ONNX graph
of the same BERT encoder with the same weights.

    /usr/bin/python3 bench/ort/make_onnx.py DIR/encoder OUT.onnx [--int8]

DIR/encoder is a folder written by `bench_encoder --dump DIR` (config.json,
f32 model.safetensors). The graph takes input_ids [B, S] (int64) and
returns the mean-pooled last hidden state [B, H] — what docrag computes for
a BertModel folder without sentence-transformers files. No padding mask:
the benchmark feeds equal-length sequences, like bench_encoder.

--int8 builds the graph ONNX Runtime's dynamic quantisation produces:
per-output-channel symmetric s8 weights, DynamicQuantizeLinear (per-tensor
u8 + zero point) on activations, MatMulInteger, rescale, bias (ORT fuses
this into MatMulIntegerToFloat). Needs python3-onnx and numpy only.
"""
import json
import math
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        out[name.removeprefix("bert.")] = np.frombuffer(
            raw[base + b:base + e], dtype="<f4").reshape(t["shape"])
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, dst, int8 = sys.argv[1], sys.argv[2], "--int8" in sys.argv
    cfg = json.load(open(src + "/config.json"))
    w = read_safetensors(src + "/model.safetensors")
    H, NH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    DH = H // NH
    nodes, inits = [], []
    counter = [0]

    def name(p):
        counter[0] += 1
        return "%s_%d" % (p, counter[0])

    def const(arr, p="c"):
        n = name(p)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def node(op, inputs, p=None, **attrs):
        out = name(p or op)
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x, prefix):
        wt = w[prefix + ".weight"]  # [out, in]
        b = const(w[prefix + ".bias"].astype(np.float32))
        if not int8:
            y = node("MatMul", [x, const(np.ascontiguousarray(wt.T))])
            return node("Add", [y, b])
        scale = np.maximum(np.abs(wt).max(axis=1), 1e-12) / 127.0
        q = np.clip(np.rint(wt / scale[:, None]), -127, 127).astype(np.int8)
        xq, xs, xz = name("xq"), name("xs"), name("xz")
        nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz]))
        acc = node("MatMulInteger", [xq, const(np.ascontiguousarray(q.T)), xz,
                                     const(np.int8(0))])
        accf = node("Cast", [acc], to=TensorProto.FLOAT)
        s = node("Mul", [xs, const(scale.astype(np.float32))])
        return node("Add", [node("Mul", [accf, s]), b])

    def layernorm(x, prefix):
        return node("LayerNormalization", [x, const(w[prefix + ".weight"]),
                                           const(w[prefix + ".bias"])],
                    axis=-1, epsilon=cfg.get("layer_norm_eps", 1e-12))

    ids = "input_ids"
    shape = node("Shape", [ids])
    seq = node("Gather", [shape, const(np.int64(1))], axis=0)
    pos_ids = node("Range", [const(np.int64(0)), seq, const(np.int64(1))])
    x = node("Gather", [const(w["embeddings.word_embeddings.weight"]), ids], axis=0)
    x = node("Add", [x, node("Gather", [const(w["embeddings.position_embeddings.weight"]),
                                        pos_ids], axis=0)])
    x = node("Add", [x, const(w["embeddings.token_type_embeddings.weight"][0])])
    x = layernorm(x, "embeddings.LayerNorm")
    heads_shape = const(np.array([0, 0, NH, DH], dtype=np.int64))
    flat_shape = const(np.array([0, 0, H], dtype=np.int64))
    inv_sqrt = const(np.float32(1.0 / math.sqrt(DH)))
    for i in range(L):
        p = "encoder.layer.%d." % i

        def heads(t):
            return node("Transpose", [node("Reshape", [t, heads_shape])], perm=[0, 2, 1, 3])
        q = heads(linear(x, p + "attention.self.query"))
        k = heads(linear(x, p + "attention.self.key"))
        v = heads(linear(x, p + "attention.self.value"))
        s = node("Mul", [node("MatMul", [q, node("Transpose", [k], perm=[0, 1, 3, 2])]),
                         inv_sqrt])
        a = node("Softmax", [s], axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [a, v])], perm=[0, 2, 1, 3]),
                               flat_shape])
        x = layernorm(node("Add", [x, linear(ctx, p + "attention.output.dense")]),
                      p + "attention.output.LayerNorm")
        u = linear(x, p + "intermediate.dense")
        erf = node("Erf", [node("Mul", [u, const(np.float32(1.0 / math.sqrt(2.0)))])])
        u = node("Mul", [node("Mul", [u, const(np.float32(0.5))]),
                         node("Add", [erf, const(np.float32(1.0))])])
        x = layernorm(node("Add", [x, linear(u, p + "output.dense")]),
                      p + "output.LayerNorm")
    pooled = node("ReduceMean", [x], axes=[1], keepdims=0)
    nodes.append(helper.make_node("Identity", [pooled], ["pooled"]))
    graph = helper.make_graph(
        nodes, "docrag_bert" + ("_int8" if int8 else ""),
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print("make_onnx.py: wrote", dst)


if __name__ == "__main__":
    main()
