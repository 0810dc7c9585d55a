// libFuzzer target for dustctl predict's image path (ctl/predict_input.h): arbitrary bytes are a
// PNG file, decoded by libpng (DecodePng) and area-averaged to a model's square input. Whatever
// decodes must give exactly `width` features in [0, 1], and the inverted image 1 - each of them
// (up to rounding); anything else must be an error, never a crash or a huge allocation
// (DecodePng refuses images over kMaxPngPixels before allocating).
// Seed corpus: tests/fuzz/corpus/png_features/ (small grey, palette, RGB and alpha PNGs).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "predict_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const dust::ByteView png(data, size);
  for (uint32_t width : {784u, 9u}) {
    auto f = dust::ctl::PngFeatures(png, width, false);
    if (!f.ok()) continue;
    auto g = dust::ctl::PngFeatures(png, width, true);
    if (!g.ok() || f->size() != width || g->size() != width) std::abort();
    for (size_t i = 0; i < width; ++i) {
      const float v = (*f)[i];
      if (!(v >= 0.0f && v <= 1.0f)) std::abort();
      if (std::fabs(v + (*g)[i] - 1.0f) > 1e-5f) std::abort();
    }
  }
  // A width that is no square is refused whatever the image.
  if (dust::ctl::PngFeatures(png, 19, false).ok()) std::abort();
  return 0;
}
