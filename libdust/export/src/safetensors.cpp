// safetensors export, following the upstream format description
// (https://github.com/huggingface/safetensors#format): 8 bytes little-endian header size N,
// N bytes of UTF-8 JSON, then the raw tensor bytes. Upstream pads the header with spaces so
// the data starts 8-byte aligned; so do we. Offsets in "data_offsets" are [begin, end) relative
// to the start of the data and must tile it without holes.
#include "dust/export/export.h"

namespace dust {

Result<Bytes> ExportSafetensors(const Mlp& model, const ExportMetadata& meta) {
  DUST_RETURN_IF_ERROR(CheckFinite(model));
  // ordered_json keeps the header readable (metadata first, tensors in layer order); the
  // format does not care about key order.
  nlohmann::ordered_json header;
  nlohmann::ordered_json md = nlohmann::ordered_json::object();
  for (const auto& [key, value] : MetadataEntries(model, meta)) md[key] = value;
  header["__metadata__"] = md;

  Bytes data;
  data.reserve(model.num_params() * 4);
  ByteWriter w(&data);
  auto add = [&](const std::string& name, std::vector<uint64_t> shape, auto&& write_values) {
    const uint64_t begin = data.size();
    write_values();
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, data.size()}}};
  };
  for (size_t l = 0; l < model.num_layers(); ++l) {
    ConstLayerView layer = model.layer(l);
    const std::string prefix = "layers." + std::to_string(l);
    add(prefix + ".weight", {layer.out, layer.in}, [&] {
      for (uint32_t o = 0; o < layer.out; ++o) {
        for (uint32_t i = 0; i < layer.in; ++i) {
          w.F32(layer.weight[static_cast<size_t>(i) * layer.out + o]);
        }
      }
    });
    add(prefix + ".bias", {layer.out}, [&] {
      for (uint32_t o = 0; o < layer.out; ++o) w.F32(layer.bias[o]);
    });
  }

  std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');
  Bytes out;
  out.reserve(8 + text.size() + data.size());
  ByteWriter ow(&out);
  ow.U64(text.size());
  ow.Raw(AsBytes(text));
  ow.Raw(data);
  return out;
}

}  // namespace dust
