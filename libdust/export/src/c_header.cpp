// C header export: the model as constant arrays and one allocation-free C99 function, for
// microcontrollers and anything else without a runtime. The generated code is deliberately
// plain (no SIMD, no pragmas) so every C compiler builds it.
#include <cctype>
#include <charconv>

#include "dust/export/export.h"

namespace dust {
namespace {

bool IsCIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// The shortest decimal that reads back as exactly `v` (std::to_chars guarantees the round
// trip), made a float literal: "0.125f", "3.0f", "1e-07f".
std::string FloatLiteral(float v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

// Text inside a C comment must not close it.
std::string CommentSafe(std::string s) {
  for (size_t p; (p = s.find("*/")) != std::string::npos;) s.replace(p, 2, "* /");
  return s;
}

// A C string literal: printable ASCII kept, everything else as octal escapes.
std::string CString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f && c != '?') {  // '?' avoids trigraphs
      out += static_cast<char>(c);
    } else {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\%03o", c);
      out += esc;
    }
  }
  return out + "\"";
}

void AppendValues(std::string& out, const float* values, size_t n, const char* indent) {
  for (size_t i = 0; i < n; ++i) {
    if (i % 8 == 0) out += indent;
    out += FloatLiteral(values[i]);
    if (i + 1 < n) out += ",";
    out += (i % 8 == 7 || i + 1 == n) ? "\n" : " ";
  }
}

}  // namespace

Result<std::string> ExportCHeader(const Mlp& model, const ExportMetadata& meta,
                                  const std::string& prefix) {
  DUST_RETURN_IF_ERROR(CheckFinite(model));
  if (!IsCIdentifier(prefix)) {
    return Status::InvalidArgument("C prefix '" + prefix +
                                   "' is not a C identifier of at most 64 characters");
  }
  std::string upper;
  for (char c : prefix) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  uint32_t max_width = 0;
  for (size_t l = 0; l < model.num_layers(); ++l)
    max_width = std::max(max_width, model.layer(l).out);

  std::string o;
  o += "/* Neural Dust model, exported by " + CommentSafe(meta.producer) + ".\n *\n";
  for (const auto& [key, value] : MetadataEntries(model, meta)) {
    o += " * " + CommentSafe(key) + ": " + CommentSafe(value) + "\n";
  }
  o += " *\n"
       " * int " +
       prefix +
       "_predict(const float *input, float *probs);\n"
       " *   input: " +
       std::to_string(model.input_size()) +
       " floats, scaled as in training (MNIST pixels: value / 255).\n"
       " *   probs: NULL, or room for " +
       std::to_string(model.num_classes()) +
       " floats that receive the softmax probabilities\n"
       " *          (uses expf from <math.h>: link with -lm where that is separate).\n"
       " *   returns the predicted class (arg-max of the logits, lowest index on ties).\n"
       " * No allocation; stack use is 2 * " +
       upper +
       "_MAX_WIDTH floats.\n"
       " * Weights are [out][in] (PyTorch nn.Linear layout).\n */\n";
  o += "#ifndef " + upper + "_H_\n#define " + upper +
       "_H_\n\n#include <math.h>\n#include <stddef.h>\n\n";
  o += "#define " + upper + "_INPUTS " + std::to_string(model.input_size()) + "\n";
  o += "#define " + upper + "_CLASSES " + std::to_string(model.num_classes()) + "\n";
  o += "#define " + upper + "_LAYERS " + std::to_string(model.num_layers()) + "\n";
  o += "#define " + upper + "_MAX_WIDTH " + std::to_string(max_width) + "\n";
  o += "#define " + upper + "_ARCHITECTURE " + CString(ArchitectureString(model)) + "\n";
  o += "#define " + upper + "_TRAINING_ROUNDS " + std::to_string(meta.rounds) + "ULL\n";
  o += "#define " + upper + "_NODE_ID " + CString(meta.node_id) + "\n";
  o += "#define " + upper + "_CONTENT_HASH " +
       CString(meta.content_hash.empty() ? ContentHashHex(model) : meta.content_hash) + "\n\n";

  std::vector<float> wt;
  for (size_t l = 0; l < model.num_layers(); ++l) {
    ConstLayerView layer = model.layer(l);
    const std::string name = prefix + "_l" + std::to_string(l);
    wt.assign(static_cast<size_t>(layer.in) * layer.out, 0.0f);
    for (uint32_t i = 0; i < layer.in; ++i) {
      for (uint32_t k = 0; k < layer.out; ++k) {
        wt[static_cast<size_t>(k) * layer.in + i] =
            layer.weight[static_cast<size_t>(i) * layer.out + k];
      }
    }
    o += "static const float " + name + "_weight[" + std::to_string(layer.out) + "][" +
         std::to_string(layer.in) + "] = {\n";
    for (uint32_t k = 0; k < layer.out; ++k) {
      o += "  {\n";
      AppendValues(o, &wt[static_cast<size_t>(k) * layer.in], layer.in, "    ");
      o += k + 1 < layer.out ? "  },\n" : "  }\n";
    }
    o += "};\n";
    o += "static const float " + name + "_bias[" + std::to_string(layer.out) + "] = {\n";
    AppendValues(o, layer.bias, layer.out, "  ");
    o += "};\n\n";
  }

  o += "static inline int " + prefix + "_predict(const float *input, float *probs) {\n";
  o += "  float buf_a[" + upper + "_MAX_WIDTH];\n";
  o += "  float buf_b[" + upper + "_MAX_WIDTH];\n";
  o += "  const float *x = input;\n  float *y = buf_a;\n  int i, o, best;\n"
       "  (void)buf_b; /* unused by single-layer models */\n";
  for (size_t l = 0; l < model.num_layers(); ++l) {
    ConstLayerView layer = model.layer(l);
    const std::string name = prefix + "_l" + std::to_string(l);
    const bool last = l + 1 == model.num_layers();
    o += "  /* layer " + std::to_string(l) + ": " + std::to_string(layer.in) + " -> " +
         std::to_string(layer.out) + (last ? ", logits */\n" : ", relu */\n");
    o += "  for (o = 0; o < " + std::to_string(layer.out) + "; ++o) {\n";
    o += "    float s = " + name + "_bias[o];\n";
    o += "    for (i = 0; i < " + std::to_string(layer.in) + "; ++i) s += " + name +
         "_weight[o][i] * x[i];\n";
    o += last ? "    y[o] = s;\n" : "    y[o] = s > 0.0f ? s : 0.0f;\n";
    o += "  }\n";
    if (!last) o += "  x = y;\n  y = (y == buf_a) ? buf_b : buf_a;\n";
  }
  const std::string classes = std::to_string(model.num_classes());
  o += "  best = 0;\n";
  o += "  for (o = 1; o < " + classes + "; ++o) {\n    if (y[o] > y[best]) best = o;\n  }\n";
  o += "  if (probs != NULL) {\n";
  o += "    float sum = 0.0f;\n";
  o += "    for (o = 0; o < " + classes + "; ++o) {\n";
  o += "      probs[o] = expf(y[o] - y[best]);\n      sum += probs[o];\n    }\n";
  o += "    for (o = 0; o < " + classes + "; ++o) probs[o] /= sum;\n";
  o += "  }\n  return best;\n}\n\n#endif /* " + upper + "_H_ */\n";
  return o;
}

}  // namespace dust
