// QR pairing codes: encode, terminal rendering, PNG writing and reading, JPEG photos, zbar
// decoding, and agreement with Debian's zbarimg.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

// jpeglib.h needs FILE and size_t declared first: the test makes its photo with libjpeg.
#include <jpeglib.h>

#include "dust/net/identity.h"
#include "dust/util/crypto.h"
#include "qr.h"
#include "testutil/source_file.h"
#include "testutil/temp_dir.h"

using namespace dust;
using namespace dust::ctl;
using dust::testutil::TempDir;

namespace {

std::string PairingUriForTest() {
  std::array<uint8_t, kSeedBytes> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i * 7 + 1);
  REQUIRE(InitCrypto().ok());
  auto uri = FormatPairingUri(KeyPairFromSeed(seed).public_key, "kitchen hub/ü");
  REQUIRE(uri.ok());
  return *uri;
}

// Splits UTF-8 text into code points' byte strings, per line.
std::vector<std::vector<std::string>> Glyphs(const std::string& text) {
  std::vector<std::vector<std::string>> lines(1);
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\n') {
      lines.emplace_back();
      ++i;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    lines.back().push_back(text.substr(i, len));
    i += len;
  }
  if (lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace

TEST_CASE("qr code of a pairing uri survives png write and zbar read") {
  const std::string uri = PairingUriForTest();
  auto code = EncodeQr(uri);
  REQUIRE(code.ok());
  auto png = EncodePng(RasterizeQr(*code, 4));
  REQUIRE(png.ok());
  auto img = DecodePng(*png);
  REQUIRE(img.ok());
  CHECK(img->width == static_cast<uint32_t>((code->size + 2 * kQrQuietZone) * 4));
  auto texts = ScanQrCodes(*img);
  REQUIRE(texts.ok());
  REQUIRE(texts->size() == 1);
  CHECK(texts->front() == uri);
}

TEST_CASE("zbarimg and our decoder read the same uri from a png we wrote") {
  const std::string uri = PairingUriForTest();
  TempDir dir("dust-ctl-qr");
  auto code = EncodeQr(uri);
  REQUIRE(code.ok());
  auto png = EncodePng(RasterizeQr(*code, 8));
  REQUIRE(png.ok());
  const std::string path = dir.WriteFile("pair.png", *png);
  const std::string cmd = "zbarimg --quiet --raw -Sdisable -Sqrcode.enable " + path + " > " +
                          dir.Path("zbarimg.txt") + " 2> " + dir.Path("zbarimg.err");
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::string theirs = dust::testutil::FileText(dir.Path("zbarimg.txt"));
  if (!theirs.empty() && theirs.back() == '\n') theirs.pop_back();
  auto ours = ReadQrFromPngFile(path);
  REQUIRE(ours.ok());
  CHECK(*ours == theirs);
  CHECK(*ours == uri);
}

TEST_CASE("terminal rendering packs two module rows per line inside a quiet zone") {
  auto code = EncodeQr("dust://v1/test");
  REQUIRE(code.ok());
  for (bool invert : {false, true}) {
    const std::string text = RenderQrText(*code, kQrQuietZone, invert);
    auto lines = Glyphs(text);
    const int total = code->size + 2 * kQrQuietZone;
    REQUIRE(static_cast<int>(lines.size()) == (total + 1) / 2);
    // Decode the half blocks back into modules and compare with the matrix.
    const std::string full = "\u2588", upper = "\u2580", lower = "\u2584";
    int mismatches = 0;
    for (int y = 0; y < total; ++y) {
      const auto& line = lines[static_cast<size_t>(y / 2)];
      REQUIRE(static_cast<int>(line.size()) == total);
      for (int x = 0; x < total; ++x) {
        const std::string& g = line[static_cast<size_t>(x)];
        bool lit = g == full || (y % 2 == 0 ? g == upper : g == lower);
        int cx = x - kQrQuietZone, cy = y - kQrQuietZone;
        bool dark =
            cx >= 0 && cy >= 0 && cx < code->size && cy < code->size && code->IsDark(cx, cy);
        mismatches += lit != (invert ? dark : !dark);
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("rasterized code has a white quiet zone and square modules of the given scale") {
  auto code = EncodeQr("x");
  REQUIRE(code.ok());
  const int scale = 3;
  GreyImage img = RasterizeQr(*code, scale);
  const int border = kQrQuietZone * scale;
  for (uint32_t y = 0; y < img.height; ++y) {
    for (uint32_t x = 0; x < img.width; ++x) {
      bool in_border = x < static_cast<uint32_t>(border) || y < static_cast<uint32_t>(border) ||
                       x >= img.width - border || y >= img.height - border;
      if (in_border) REQUIRE(img.pixels[y * img.width + x] == 255);
    }
  }
  // The top-left finder pattern's corner module is dark, and so is every pixel of it.
  for (int dy = 0; dy < scale; ++dy) {
    for (int dx = 0; dx < scale; ++dx) {
      CHECK(img.pixels[static_cast<size_t>(border + dy) * img.width + border + dx] == 0);
    }
  }
}

TEST_CASE("qr reader reports an image without a code and a non-png and a missing file") {
  TempDir dir("dust-ctl-qr");
  GreyImage blank;
  blank.width = blank.height = 64;
  blank.pixels.assign(64 * 64, 255);
  auto png = EncodePng(blank);
  REQUIRE(png.ok());
  auto none = ReadQrFromPngFile(dir.WriteFile("blank.png", *png));
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("no QR code") != std::string::npos);

  auto garbage = ReadQrFromPngFile(dir.WriteFile("x.png", "not a png at all"));
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.status().message().find("x.png") != std::string::npos);

  CHECK(ReadQrFromPngFile(dir.Path("missing.png")).status().code() == StatusCode::kNotFound);
}

TEST_CASE("qr reader refuses two codes in one image") {
  auto a = EncodeQr("dust://v1/a");
  auto b = EncodeQr("dust://v1/b");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  GreyImage ia = RasterizeQr(*a, 4), ib = RasterizeQr(*b, 4);
  REQUIRE(ia.height == ib.height);
  GreyImage both;
  both.width = ia.width + ib.width;
  both.height = ia.height;
  for (uint32_t y = 0; y < both.height; ++y) {
    both.pixels.insert(both.pixels.end(), ia.pixels.begin() + y * ia.width,
                       ia.pixels.begin() + (y + 1) * ia.width);
    both.pixels.insert(both.pixels.end(), ib.pixels.begin() + y * ib.width,
                       ib.pixels.begin() + (y + 1) * ib.width);
  }
  auto texts = ScanQrCodes(both);
  REQUIRE(texts.ok());
  CHECK(texts->size() == 2);
  TempDir dir("dust-ctl-qr");
  auto png = EncodePng(both);
  REQUIRE(png.ok());
  auto r = ReadQrFromPngFile(dir.WriteFile("two.png", *png));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("2 QR codes") != std::string::npos);
}

TEST_CASE("qr encoder rejects empty text and text too long for any version") {
  CHECK_FALSE(EncodeQr("").ok());
  CHECK_FALSE(EncodeQr(std::string(4000, 'a')).ok());
}

namespace {

// A phone photo of a QR code, made here: the code rasterized, rotated by `degrees` and scaled
// (bilinear resampling, so its edges blur as a camera's would), a little tilted contrast, on
// a noisy grey background (uniform noise of +-noise on every pixel), then JPEG-compressed by
// libjpeg at `quality`.
Bytes PhotoOfQr(const GreyImage& code, double degrees, double scale, int noise, int quality,
                uint32_t width, uint32_t height) {
  const double a = degrees * 3.14159265358979 / 180.0, ca = std::cos(a), sa = std::sin(a);
  const double cx = width / 2.0, cy = height / 2.0;
  const double qx = code.width / 2.0, qy = code.height / 2.0;
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  auto next_noise = [&]() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return static_cast<int>(rng % (2 * noise + 1)) - noise;
  };
  std::vector<uint8_t> px(size_t{width} * height);
  for (uint32_t y = 0; y < height; ++y) {
    for (uint32_t x = 0; x < width; ++x) {
      // Inverse map: photo pixel -> code coordinates.
      const double dx = (x - cx) / scale, dy = (y - cy) / scale;
      const double u = ca * dx + sa * dy + qx, v = -sa * dx + ca * dy + qy;
      double value = 150 + 30.0 * x / width;  // the paper-less table under the phone
      if (u >= 0 && v >= 0 && u < code.width - 1 && v < code.height - 1) {
        const uint32_t u0 = static_cast<uint32_t>(u), v0 = static_cast<uint32_t>(v);
        const double fu = u - u0, fv = v - v0;
        auto at = [&](uint32_t uu, uint32_t vv) {
          return code.pixels[size_t{vv} * code.width + uu];
        };
        value = (1 - fv) * ((1 - fu) * at(u0, v0) + fu * at(u0 + 1, v0)) +
                fv * ((1 - fu) * at(u0, v0 + 1) + fu * at(u0 + 1, v0 + 1));
        value = 30 + value * 0.8;  // a photo's black is not 0 nor its white 255
      }
      px[size_t{y} * width + x] =
          static_cast<uint8_t>(std::clamp(static_cast<int>(value) + next_noise(), 0, 255));
    }
  }
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  jpeg_mem_dest(&cinfo, &out, &out_size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = px.data() + size_t{cinfo.next_scanline} * width;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  Bytes jpeg(out, out + out_size);
  jpeg_destroy_compress(&cinfo);
  std::free(out);
  return jpeg;
}

}  // namespace

TEST_CASE("a JPEG photo of a QR code, rotated, scaled and noisy, is read", "[qr]") {
  const std::string uri = PairingUriForTest();
  auto code = EncodeQr(uri);
  REQUIRE(code.ok());
  const GreyImage raster = RasterizeQr(*code, 4);
  TempDir dir("dust-ctl-qr");
  // 20 degrees, scaled up 1.7x, noise +-25, quality 70: a hand-held phone photo.
  Bytes photo = PhotoOfQr(raster, 20, 1.7, 25, 70, 640, 480);
  REQUIRE(photo.size() > 3);
  CHECK(photo[0] == 0xFF);  // it is a JPEG, not a PNG in disguise
  const std::string path = dir.WriteFile("photo.jpg", std::string(photo.begin(), photo.end()));
  Result<std::string> text = ReadQrFromImageFile(path);
  REQUIRE(text.ok());
  CHECK(*text == uri);
  // The same scene with no code in it reads as no code, naming the file.
  GreyImage blank = raster;
  std::fill(blank.pixels.begin(), blank.pixels.end(), 255);
  Bytes empty = PhotoOfQr(blank, 20, 1.7, 25, 70, 640, 480);
  Result<std::string> none =
      ReadQrFromImageFile(dir.WriteFile("empty.jpg", std::string(empty.begin(), empty.end())));
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.status().message(), Catch::Contains("empty.jpg"));
  // A truncated JPEG is refused with libjpeg's reason, not read past its end.
  Bytes cut(photo.begin(), photo.begin() + 200);
  Result<GreyImage> broken = DecodeJpeg(cut);
  if (broken.ok()) {
    // libjpeg pads a truncated stream with grey rather than failing: then no code is found.
    CHECK_FALSE(ScanQrCodes(*broken)->size() == 1);
  }
  CHECK_FALSE(DecodeJpeg(Bytes{0xFF, 0xD8, 0xFF, 0x00}).ok());
}
