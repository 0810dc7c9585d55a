// ONNX export through protobuf classes generated from Debian's onnx.proto (see
// ctl/CMakeLists.txt). The graph is what torch.onnx.export makes of nn.Sequential(Linear,
// ReLU, ..., Linear) plus a Softmax, so any ONNX runtime or converter understands it.
#include <onnx.pb.h>

#include "dust/export/export.h"

namespace dust {
namespace {

// IR version 7 is the one ONNX 1.8+ writes for opset 13; python3-onnx 1.12 (Debian 12)
// checks it.
constexpr int64_t kIrVersion = 7;
constexpr int64_t kOpset = 13;

// Appends a float initializer holding `values` (row-major with `dims`) as raw little-endian
// bytes, the encoding every ONNX runtime reads fastest.
void AddInitializer(onnx::GraphProto* graph, const std::string& name,
                    const std::vector<int64_t>& dims, const std::vector<float>& values) {
  onnx::TensorProto* t = graph->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  Bytes raw;
  raw.reserve(values.size() * 4);
  ByteWriter w(&raw);
  for (float v : values) w.F32(v);
  t->set_raw_data(raw.data(), raw.size());
}

void SetFloatTensorType(onnx::ValueInfoProto* v, const std::string& name, uint32_t width) {
  v->set_name(name);
  onnx::TypeProto_Tensor* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = tt->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  shape->add_dim()->set_dim_value(width);
}

onnx::NodeProto* AddNode(onnx::GraphProto* graph, const std::string& op, const std::string& name,
                         std::initializer_list<std::string> inputs, const std::string& output) {
  onnx::NodeProto* n = graph->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

void AddIntAttribute(onnx::NodeProto* node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

}  // namespace

Result<Bytes> ExportOnnx(const Mlp& model, const ExportMetadata& meta) {
  DUST_RETURN_IF_ERROR(CheckFinite(model));
  onnx::ModelProto m;
  m.set_ir_version(kIrVersion);
  // "dustctl 0.2.0" -> "dustctl": the program that asked for the export.
  m.set_producer_name(meta.producer.substr(0, meta.producer.find(' ')));
  m.set_producer_version(DUST_EXPORT_VERSION);
  m.set_domain("org.neural-dust");
  m.set_model_version(static_cast<int64_t>(meta.rounds));
  m.set_doc_string("Neural Dust " + ArchitectureString(model) + " MLP from node " + meta.node_id +
                   " after " + std::to_string(meta.rounds) + " gossip rounds");
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  for (const auto& [key, value] : MetadataEntries(model, meta)) {
    onnx::StringStringEntryProto* p = m.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }

  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("neural_dust_mlp");
  SetFloatTensorType(g->add_input(), "input", model.input_size());
  std::string x = "input";
  for (size_t l = 0; l < model.num_layers(); ++l) {
    ConstLayerView layer = model.layer(l);
    const std::string prefix = "layers." + std::to_string(l);
    // Transpose [in][out] -> [out][in]: Gemm with transB = 1 then computes x * W^T + b, exactly
    // nn.Linear.
    std::vector<float> wt(static_cast<size_t>(layer.in) * layer.out);
    for (uint32_t i = 0; i < layer.in; ++i) {
      for (uint32_t o = 0; o < layer.out; ++o) {
        wt[static_cast<size_t>(o) * layer.in + i] =
            layer.weight[static_cast<size_t>(i) * layer.out + o];
      }
    }
    AddInitializer(g, prefix + ".weight", {layer.out, layer.in}, wt);
    AddInitializer(g, prefix + ".bias", {layer.out},
                   std::vector<float>(layer.bias, layer.bias + layer.out));
    const bool last = l + 1 == model.num_layers();
    const std::string y = last ? "logits" : prefix + ".linear";
    onnx::NodeProto* gemm =
        AddNode(g, "Gemm", prefix + ".gemm", {x, prefix + ".weight", prefix + ".bias"}, y);
    AddIntAttribute(gemm, "transB", 1);
    x = y;
    if (!last) {
      const std::string r = prefix + ".relu";
      AddNode(g, "Relu", r, {x}, r);
      x = r;
    }
  }
  onnx::NodeProto* softmax = AddNode(g, "Softmax", "softmax", {"logits"}, "probabilities");
  AddIntAttribute(softmax, "axis", 1);
  SetFloatTensorType(g->add_output(), "logits", model.num_classes());
  SetFloatTensorType(g->add_output(), "probabilities", model.num_classes());

  std::string out;
  if (!m.SerializeToString(&out))
    return Status::InvalidArgument("protobuf refused to serialize the ONNX model");
  return Bytes(out.begin(), out.end());
}

}  // namespace dust
