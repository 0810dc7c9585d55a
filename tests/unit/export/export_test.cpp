// The exporters (libdust/export) and the decoder of the daemon's model.export reply. The format
// checks that need an independent implementation run outside C++: tests/integration/
// ctl_export_check.py (numpy + python3-onnx) for ONNX, safetensors and JSON, and the system C
// compiler for the C header.
#include "dust/export/export.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "dust/ml/idx_reader.h"
#include "dust/ml/model.h"
#include "dust/util/crypto.h"
#include "dust/util/file.h"
#include "testutil/source_file.h"
#include "testutil/temp_dir.h"

using namespace dust;
using dust::testutil::TempDir;

namespace {

const std::string kMnistDir = std::string(DUST_SOURCE_DIR) + "/data/mnist-10k";

// A model trained for a few hundred steps on real MNIST so its outputs are far from uniform
// (a random-init model would make "predictions agree" nearly vacuous), and the test samples.
struct Fixture {
  Mlp model;
  Dataset test;
  ExportMetadata meta;
};

const Fixture& TrainedFixture() {
  static const Fixture f = [] {
    REQUIRE(InitCrypto().ok());
    auto train = LoadIdx(kMnistDir + "/train-images-idx3-ubyte.gz",
                         kMnistDir + "/train-labels-idx1-ubyte.gz", LoadOptions{});
    auto test = LoadIdx(kMnistDir + "/t10k-images-idx3-ubyte.gz",
                        kMnistDir + "/t10k-labels-idx1-ubyte.gz", LoadOptions{});
    REQUIRE(train.ok());
    REQUIRE(test.ok());
    auto m = Mlp::Create(Mlp::DefaultLayers());
    REQUIRE(m.ok());
    m->Init(42);
    Trainer trainer(*m, SgdOptions{});
    std::vector<uint32_t> batch(32);
    for (uint32_t step = 0; step < 300; ++step) {
      for (uint32_t k = 0; k < 32; ++k) batch[k] = (step * 32 + k) % train->size();
      trainer.Step(*m, *train, batch);
    }
    Fixture out{std::move(*m),
                test->Subset(std::vector<uint32_t>{0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                   11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                   22, 23, 24, 25, 26, 27, 28, 29, 30, 31}),
                {}};
    out.meta.steps = 300;
    out.meta.rounds = 17;
    out.meta.node_id = "ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ23-4567ABC-DEFGHIJ-KLMNOPQ-RSTUVWX";
    out.meta.display_name = "unit-test";
    out.meta.fingerprint = "0011223344556677";
    out.meta.exported_ms = 1795000000000;
    out.meta.content_hash = ContentHashHex(out.model);
    return out;
  }();
  return f;
}

std::vector<float> Dense(const SampleView& s, uint32_t width) {
  std::vector<float> x(width, 0.0f);
  for (size_t n = 0; n < s.index.size(); ++n) x[s.index[n]] = s.value[n];
  return x;
}

void WriteBytes(const std::string& path, const void* data, size_t size) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  REQUIRE(f.good());
}

// Writes inputs.f32, expected.f32 (our Predict's probabilities) and meta.json to `dir`.
void WriteSamples(const TempDir& dir, const Fixture& f) {
  const uint32_t in = f.model.input_size(), classes = f.model.num_classes();
  std::vector<float> inputs, expected;
  std::vector<float> probs(classes);
  for (size_t i = 0; i < f.test.size(); ++i) {
    std::vector<float> x = Dense(f.test.sample(i), in);
    inputs.insert(inputs.end(), x.begin(), x.end());
    Predict(f.model, f.test.sample(i), probs);
    expected.insert(expected.end(), probs.begin(), probs.end());
  }
  WriteBytes(dir.Path("inputs.f32"), inputs.data(), inputs.size() * 4);
  WriteBytes(dir.Path("expected.f32"), expected.data(), expected.size() * 4);
  nlohmann::json meta = {{"n", f.test.size()},      {"in", in},
                         {"classes", classes},      {"content_hash", f.meta.content_hash},
                         {"rounds", f.meta.rounds}, {"node_id", f.meta.node_id},
                         {"tolerance", 1e-5}};
  dir.WriteFile("meta.json", meta.dump());
}

nlohmann::json DaemonReply(const Mlp& model, const std::string& content_hash) {
  Bytes raw;
  ByteWriter w(&raw);
  for (float v : model.params()) w.F32(v);
  std::string b64(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), raw.data(), raw.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.size() - 1);  // the terminating NUL
  return {{"format", "dust-mlp-v1"},
          {"architecture",
           {{"layers", model.layer_sizes()}, {"hidden_activation", "relu"}, {"output", "logits"}}},
          {"steps", 12500},
          {"rounds", 140},
          {"node_id", "N4QZ"},
          {"display_name", "kitchen-hub"},
          {"fingerprint", "9c0e5b2a11d04f7e"},
          {"accuracy", 0.912},
          {"exported_ms", 1795000000000},
          {"num_params", model.num_params()},
          {"content_hash", content_hash},
          {"params_b64", b64}};
}

}  // namespace

TEST_CASE("content hash is blake2b-256 of the little-endian params and tracks every change") {
  const Fixture& f = TrainedFixture();
  const std::span<const float> p = f.model.params();
  Bytes raw(p.size() * 4);
  std::memcpy(raw.data(), p.data(), raw.size());  // this host is little-endian (x86-64)
  CHECK(ContentHashHex(f.model) == ToHex(Blake2b256(raw)));
  Mlp copy = f.model;
  copy.params()[copy.num_params() - 1] += 1e-6f;
  CHECK(ContentHashHex(copy) != ContentHashHex(f.model));
}

TEST_CASE("daemon export reply decodes to the same parameters and metadata") {
  const Fixture& f = TrainedFixture();
  auto decoded = DecodeDaemonExport(DaemonReply(f.model, ContentHashHex(f.model)));
  REQUIRE(decoded.ok());
  CHECK(decoded->model.layer_sizes() == f.model.layer_sizes());
  CHECK(std::equal(f.model.params().begin(), f.model.params().end(),
                   decoded->model.params().begin()));
  CHECK(decoded->meta.rounds == 140);
  CHECK(decoded->meta.steps == 12500);
  CHECK(decoded->meta.node_id == "N4QZ");
  CHECK(decoded->meta.accuracy.value() == Approx(0.912));
  CHECK(decoded->meta.content_hash == ContentHashHex(f.model));
}

TEST_CASE("daemon export reply with a wrong hash or count or base64 or architecture is rejected") {
  const Fixture& f = TrainedFixture();
  nlohmann::json good = DaemonReply(f.model, ContentHashHex(f.model));

  nlohmann::json bad_hash = good;
  bad_hash["content_hash"] = std::string(64, '0');
  CHECK(DecodeDaemonExport(bad_hash).status().code() == StatusCode::kCorrupt);

  nlohmann::json short_params = good;
  std::string b64 = good["params_b64"];
  short_params["params_b64"] = b64.substr(0, b64.size() - 8);
  CHECK(DecodeDaemonExport(short_params).status().code() == StatusCode::kCorrupt);

  nlohmann::json not_b64 = good;
  not_b64["params_b64"] = "!!!!" + b64.substr(4);
  CHECK(DecodeDaemonExport(not_b64).status().code() == StatusCode::kCorrupt);

  nlohmann::json wrong_arch = good;
  wrong_arch["architecture"]["layers"] = {784, 16, 10};
  CHECK_FALSE(DecodeDaemonExport(wrong_arch).ok());

  nlohmann::json no_arch = good;
  no_arch.erase("architecture");
  CHECK_FALSE(DecodeDaemonExport(no_arch).ok());
  CHECK_FALSE(DecodeDaemonExport(nlohmann::json::array()).ok());
}

TEST_CASE("every exporter refuses a model with a non-finite parameter") {
  Mlp m = TrainedFixture().model;
  m.params()[5] = std::numeric_limits<float>::quiet_NaN();
  ExportMetadata meta;
  CHECK_FALSE(ExportOnnx(m, meta).ok());
  CHECK_FALSE(ExportSafetensors(m, meta).ok());
  CHECK_FALSE(ExportCHeader(m, meta).ok());
  CHECK_FALSE(ExportJson(m, meta).ok());
}

TEST_CASE("safetensors header is 8-aligned and holds transposed weights at its offsets") {
  const Fixture& f = TrainedFixture();
  auto st = ExportSafetensors(f.model, f.meta);
  REQUIRE(st.ok());
  ByteReader r(*st);
  const uint64_t n = r.U64();
  REQUIRE(n % 8 == 0);
  REQUIRE(8 + n <= st->size());
  ByteView header_bytes = r.Raw(n);
  auto header = nlohmann::json::parse(header_bytes.begin(), header_bytes.end(), nullptr, false);
  REQUIRE(header.is_object());
  CHECK(header["__metadata__"]["content_hash"] == f.meta.content_hash);
  CHECK(header["__metadata__"]["training_rounds"] == "17");
  const uint8_t* data = st->data() + 8 + n;
  const auto& w1 = header["layers.1.weight"];
  CHECK(w1["dtype"] == "F32");
  CHECK(w1["shape"] == nlohmann::json({10, 32}));
  const size_t begin = w1["data_offsets"][0];
  ConstLayerView l1 = f.model.layer(1);
  // Element [o][i] of the file is our weight[i][o].
  for (uint32_t o : {0u, 3u, 9u}) {
    for (uint32_t i : {0u, 17u, 31u}) {
      float v;
      std::memcpy(&v, data + begin + 4 * (o * 32 + i), 4);
      CHECK(v == l1.weight[i * 10 + o]);
    }
  }
}

TEST_CASE("json export floats parse back to the identical fp32 weights") {
  const Fixture& f = TrainedFixture();
  auto text = ExportJson(f.model, f.meta);
  REQUIRE(text.ok());
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc["architecture"]["layer_sizes"] == nlohmann::json({784, 32, 10}));
  CHECK(doc["metadata"]["node_id"] == f.meta.node_id);
  size_t mismatches = 0;
  for (size_t l = 0; l < f.model.num_layers(); ++l) {
    ConstLayerView layer = f.model.layer(l);
    const auto& w = doc["layers"][l]["weight"];
    for (uint32_t o = 0; o < layer.out; ++o) {
      for (uint32_t i = 0; i < layer.in; ++i) {
        if (static_cast<float>(w[o][i].get<double>()) != layer.weight[i * layer.out + o]) {
          ++mismatches;
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("c header refuses a prefix that is not a C identifier") {
  const Fixture& f = TrainedFixture();
  CHECK_FALSE(ExportCHeader(f.model, f.meta, "1abc").ok());
  CHECK_FALSE(ExportCHeader(f.model, f.meta, "a-b").ok());
  CHECK_FALSE(ExportCHeader(f.model, f.meta, "").ok());
  CHECK(ExportCHeader(f.model, f.meta, "_ok_1").ok());
}

TEST_CASE("c header compiles as strict c99 and predicts like Predict") {
  const Fixture& f = TrainedFixture();
  TempDir dir("dust-ctl-cheader");
  auto header = ExportCHeader(f.model, f.meta, "mnist");
  REQUIRE(header.ok());
  dir.WriteFile("mnist_model.h", *header);
  WriteSamples(dir, f);
  dir.WriteFile("main.c",
                "#include <stdio.h>\n#include \"mnist_model.h\"\n"
                "int main(int argc, char **argv) {\n"
                "  static float x[MNIST_INPUTS];\n  float p[MNIST_CLASSES];\n  int c;\n"
                "  FILE *f = fopen(argv[1], \"rb\");\n  if (f == NULL || argc < 2) return 2;\n"
                "  while (fread(x, sizeof(float), MNIST_INPUTS, f) == MNIST_INPUTS) {\n"
                "    int k = mnist_predict(x, p);\n    printf(\"%d\", k);\n"
                "    for (c = 0; c < MNIST_CLASSES; ++c) printf(\" %.9g\", p[c]);\n"
                "    printf(\"\\n\");\n    if (mnist_predict(x, NULL) != k) return 3;\n  }\n"
                "  fclose(f);\n  printf(\"%s\\n\", MNIST_CONTENT_HASH);\n  return 0;\n}\n");
  const std::string cmd = "cd " + dir.path() +
                          " && cc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -o predict main.c "
                          "-lm 2> cc.log && ./predict inputs.f32 > out.txt";
  INFO(dust::testutil::FileText(dir.Path("cc.log")));
  REQUIRE(std::system(cmd.c_str()) == 0);

  std::istringstream out(dust::testutil::FileText(dir.Path("out.txt")));
  std::vector<float> probs(f.model.num_classes());
  size_t agreed = 0;
  for (size_t i = 0; i < f.test.size(); ++i) {
    int k = -1;
    out >> k;
    const uint32_t ours = Predict(f.model, f.test.sample(i), probs);
    CHECK(k == static_cast<int>(ours));
    agreed += k == static_cast<int>(ours);
    for (uint32_t c = 0; c < f.model.num_classes(); ++c) {
      float p = -1;
      out >> p;
      CHECK(p == Approx(probs[c]).margin(1e-5));
    }
  }
  std::string hash;
  out >> hash;
  CHECK(hash == f.meta.content_hash);
  CHECK(agreed == f.test.size());
}

TEST_CASE("onnx and safetensors and json exports pass the python checks and match Predict") {
  const Fixture& f = TrainedFixture();
  TempDir dir("dust-ctl-export");
  auto onnx = ExportOnnx(f.model, f.meta);
  auto st = ExportSafetensors(f.model, f.meta);
  auto js = ExportJson(f.model, f.meta);
  REQUIRE(onnx.ok());
  REQUIRE(st.ok());
  REQUIRE(js.ok());
  dir.WriteFile("model.onnx", *onnx);
  dir.WriteFile("model.safetensors", *st);
  dir.WriteFile("model.json", *js);
  WriteSamples(dir, f);
  const std::string cmd = "/usr/bin/python3 " + std::string(DUST_SOURCE_DIR) +
                          "/tests/integration/ctl_export_check.py " + dir.path() + " > " +
                          dir.Path("check.log") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO(dust::testutil::FileText(dir.Path("check.log")));
  CHECK(rc == 0);
}
