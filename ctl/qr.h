// QR codes for pairing: encode a pairing URI (libqrencode), draw it in a terminal with Unicode
// half blocks, write it as a PNG (libpng), and read one back from a PNG (libpng + libzbar).
//
// All functions are pure over bytes except where a path is named; none prints anything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dust/util/bytes.h"
#include "dust/util/status.h"

namespace dust::ctl {

// A QR symbol without quiet zone: size x size modules, row-major, 1 = dark.
struct QrCode {
  int size = 0;
  std::vector<uint8_t> dark;
  bool IsDark(int x, int y) const { return dark[static_cast<size_t>(y) * size + x] != 0; }
};

// The spec's minimum quiet zone (ISO/IEC 18004: 4 modules on every side).
inline constexpr int kQrQuietZone = 4;

// Encodes `text` as 8-bit data, error correction level M, the smallest version that fits.
// kInvalidArgument if it is empty or too long for any version.
Result<QrCode> EncodeQr(std::string_view text);

// The code as text, two module rows per line using ' ', U+2580, U+2584 and U+2588, with a
// quiet zone of `quiet_zone` modules. By default light modules are drawn as blocks, so the code
// reads correctly on a dark terminal background (most terminals); `invert` draws dark modules
// as blocks instead, for light backgrounds.
std::string RenderQrText(const QrCode& code, int quiet_zone = kQrQuietZone, bool invert = false);

// An 8-bit greyscale image, row-major, no padding.
struct GreyImage {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<uint8_t> pixels;  // width * height; 0 black, 255 white
};

// The code as a greyscale image: each module is `scale` x `scale` pixels (scale in [1, 64]),
// with `quiet_zone` white modules around it.
GreyImage RasterizeQr(const QrCode& code, int scale, int quiet_zone = kQrQuietZone);

// PNG codec for greyscale images (libpng's simplified API). DecodePng converts any PNG (grey,
// palette, RGB, with alpha composited onto white) to 8-bit grey (zbar's Y800); it refuses
// images over kMaxPngPixels instead of allocating for them.
inline constexpr uint64_t kMaxPngPixels = uint64_t{1} << 26;  // 8192 x 8192
Result<Bytes> EncodePng(const GreyImage& image);
Result<GreyImage> DecodePng(ByteView png);

// Every QR code zbar finds in the image, as decoded text, in zbar's order.
Result<std::vector<std::string>> ScanQrCodes(const GreyImage& image);

// JPEG (libjpeg) to 8-bit grey, with the same pixel limit as DecodePng: phone photos.
Result<GreyImage> DecodeJpeg(ByteView jpeg);

// Reads the image at `path` (at most 32 MiB; a JPEG photo or a PNG screenshot, told apart by
// their first bytes) and returns the text of the single QR code in it; kInvalidArgument naming
// the path if it holds none or more than one.
Result<std::string> ReadQrFromImageFile(const std::string& path);
// The same (the name it had when only PNG was read).
Result<std::string> ReadQrFromPngFile(const std::string& path);

}  // namespace dust::ctl
