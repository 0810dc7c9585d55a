#include "qr.h"

#include <png.h>
#include <qrencode.h>
#include <zbar.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include "dust/util/file.h"

namespace dust::ctl {
namespace {

constexpr size_t kMaxPngFileBytes = size_t{32} << 20;

// libjpeg reports fatal errors through error_exit, which must not return: it longjmps back
// to DecodeJpegInto. Nothing with a destructor lives in that function's frame between the
// setjmp and the longjmp (the pixels belong to the caller), so the jump skips no cleanup.
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegErrorExit(j_common_ptr cinfo) {
  // Found through client_data, not by casting cinfo->err: that cast raises the required
  // alignment (jmp_buf's), which -Wcast-align refuses on 32-bit ARM.
  auto* err = static_cast<JpegError*>(cinfo->client_data);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void JpegSilence(j_common_ptr, int) {}  // warnings (e.g. corrupt data recovered): not fatal

// 0 on success; 1 on a libjpeg error (message in err.message); 2 if the image is too large.
int DecodeJpegInto(ByteView data, GreyImage* out, JpegError& err) {
  jpeg_decompress_struct cinfo;
  cinfo.client_data = &err;  // jpeg_create_decompress keeps it (and err)
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = JpegErrorExit;
  err.mgr.emit_message = JpegSilence;
  if (setjmp(err.jump) != 0) {
    jpeg_destroy_decompress(&cinfo);
    return 1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data.data(), static_cast<unsigned long>(data.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
      static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height > kMaxPngPixels) {
    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return 2;
  }
  cinfo.out_color_space = JCS_GRAYSCALE;  // libjpeg converts colour to luminance itself
  jpeg_start_decompress(&cinfo);
  out->width = cinfo.output_width;
  out->height = cinfo.output_height;
  out->pixels.assign(static_cast<size_t>(out->width) * out->height, 255);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->pixels.data() + static_cast<size_t>(cinfo.output_scanline) * out->width;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return 0;
}

bool IsJpeg(ByteView b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

}  // namespace

Result<GreyImage> DecodeJpeg(ByteView jpeg) {
  GreyImage img;
  JpegError err{};
  switch (DecodeJpegInto(jpeg, &img, err)) {
    case 0:
      return img;
    case 2:
      return Status::ResourceExhausted("JPEG is " + std::to_string(img.width) + "x" +
                                       std::to_string(img.height) + " pixels, more than " +
                                       std::to_string(kMaxPngPixels) + " allowed");
    default:
      return Status::InvalidArgument(std::string("not a readable JPEG: ") + err.message);
  }
}

Result<QrCode> EncodeQr(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("nothing to encode in a QR code");
  // libqrencode wants a NUL-terminated string; 8-bit mode keeps the URI byte for byte.
  std::string copy(text);
  if (copy.find('\0') != std::string::npos) {
    return Status::InvalidArgument("QR text contains a NUL byte");
  }
  std::unique_ptr<QRcode, void (*)(QRcode*)> qr(
      QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M), QRcode_free);
  if (!qr) {
    return Status::InvalidArgument("cannot encode " + std::to_string(text.size()) +
                                   " bytes as a QR code: " + std::strerror(errno));
  }
  QrCode code;
  code.size = qr->width;
  code.dark.resize(static_cast<size_t>(qr->width) * qr->width);
  // Bit 0 of each libqrencode byte is the module colour; the others are encoder bookkeeping.
  for (size_t i = 0; i < code.dark.size(); ++i) code.dark[i] = qr->data[i] & 1;
  return code;
}

std::string RenderQrText(const QrCode& code, int quiet_zone, bool invert) {
  const int total = code.size + 2 * quiet_zone;
  // A "lit" module is drawn with ink (block); which colour is lit depends on the background.
  auto lit = [&](int x, int y) {
    int cx = x - quiet_zone, cy = y - quiet_zone;
    bool dark = cx >= 0 && cy >= 0 && cx < code.size && cy < code.size && code.IsDark(cx, cy);
    return invert ? dark : !dark;
  };
  std::string out;
  for (int y = 0; y < total; y += 2) {
    for (int x = 0; x < total; ++x) {
      bool top = lit(x, y);
      bool bottom = y + 1 < total ? lit(x, y + 1) : invert ? false : true;
      if (top && bottom) {
        out += "\u2588";
      } else if (top) {
        out += "\u2580";
      } else if (bottom) {
        out += "\u2584";
      } else {
        out += " ";
      }
    }
    out += "\n";
  }
  return out;
}

GreyImage RasterizeQr(const QrCode& code, int scale, int quiet_zone) {
  scale = std::clamp(scale, 1, 64);
  quiet_zone = std::max(quiet_zone, 0);
  GreyImage img;
  const uint32_t modules = static_cast<uint32_t>(code.size + 2 * quiet_zone);
  img.width = img.height = modules * static_cast<uint32_t>(scale);
  img.pixels.assign(static_cast<size_t>(img.width) * img.height, 255);
  for (int y = 0; y < code.size; ++y) {
    for (int x = 0; x < code.size; ++x) {
      if (!code.IsDark(x, y)) continue;
      size_t px = static_cast<size_t>(x + quiet_zone) * scale;
      size_t py = static_cast<size_t>(y + quiet_zone) * scale;
      for (int dy = 0; dy < scale; ++dy) {
        std::memset(&img.pixels[(py + dy) * img.width + px], 0, static_cast<size_t>(scale));
      }
    }
  }
  return img;
}

Result<Bytes> EncodePng(const GreyImage& image) {
  if (image.width == 0 || image.height == 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height) {
    return Status::InvalidArgument("cannot write an empty or inconsistent image as PNG");
  }
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = image.width;
  png.height = image.height;
  png.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  // First call measures, second writes (libpng's documented two-pass use).
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr)) {
    Status st = Status::IoError(std::string("libpng: ") + png.message);
    png_image_free(&png);
    return st;
  }
  Bytes out(size);
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.pixels.data(), 0, nullptr)) {
    Status st = Status::IoError(std::string("libpng: ") + png.message);
    png_image_free(&png);
    return st;
  }
  out.resize(size);
  return out;
}

Result<GreyImage> DecodePng(ByteView data) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, data.data(), data.size())) {
    Status st = Status::InvalidArgument(std::string("not a readable PNG: ") + png.message);
    png_image_free(&png);
    return st;
  }
  if (png.width == 0 || png.height == 0 ||
      static_cast<uint64_t>(png.width) * png.height > kMaxPngPixels) {
    Status st = Status::ResourceExhausted("PNG is " + std::to_string(png.width) + "x" +
                                          std::to_string(png.height) + " pixels, more than " +
                                          std::to_string(kMaxPngPixels) + " allowed");
    png_image_free(&png);
    return st;
  }
  png.format = PNG_FORMAT_GRAY;
  GreyImage img;
  img.width = png.width;
  img.height = png.height;
  img.pixels.resize(PNG_IMAGE_SIZE(png));
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&png, &white, img.pixels.data(), 0, nullptr)) {
    Status st = Status::InvalidArgument(std::string("cannot decode PNG: ") + png.message);
    png_image_free(&png);
    return st;
  }
  return img;
}

Result<std::vector<std::string>> ScanQrCodes(const GreyImage& image) {
  if (image.pixels.size() != static_cast<size_t>(image.width) * image.height ||
      image.pixels.empty()) {
    return Status::InvalidArgument("empty or inconsistent image");
  }
  using ScannerPtr =
      std::unique_ptr<zbar::zbar_image_scanner_t, void (*)(zbar::zbar_image_scanner_t*)>;
  using ImagePtr = std::unique_ptr<zbar::zbar_image_t, void (*)(zbar::zbar_image_t*)>;
  ScannerPtr scanner(zbar::zbar_image_scanner_create(), zbar::zbar_image_scanner_destroy);
  ImagePtr zimg(zbar::zbar_image_create(), zbar::zbar_image_destroy);
  if (!scanner || !zimg) return Status::ResourceExhausted("zbar: out of memory");
  // Only QR codes: other symbologies could "find" a barcode in noise.
  zbar::zbar_image_scanner_set_config(scanner.get(), zbar::ZBAR_NONE, zbar::ZBAR_CFG_ENABLE, 0);
  zbar::zbar_image_scanner_set_config(scanner.get(), zbar::ZBAR_QRCODE, zbar::ZBAR_CFG_ENABLE, 1);
  zbar::zbar_image_set_format(zimg.get(), zbar_fourcc('Y', '8', '0', '0'));
  zbar::zbar_image_set_size(zimg.get(), image.width, image.height);
  // zbar borrows the pixels (no cleanup handler); `image` outlives zimg.
  zbar::zbar_image_set_data(zimg.get(), image.pixels.data(), image.pixels.size(), nullptr);
  int n = zbar::zbar_scan_image(scanner.get(), zimg.get());
  if (n < 0) return Status::InvalidArgument("zbar could not scan the image");
  std::vector<std::string> texts;
  for (const zbar::zbar_symbol_t* s = zbar::zbar_image_first_symbol(zimg.get()); s != nullptr;
       s = zbar::zbar_symbol_next(s)) {
    if (zbar::zbar_symbol_get_type(s) != zbar::ZBAR_QRCODE) continue;
    texts.emplace_back(zbar::zbar_symbol_get_data(s), zbar::zbar_symbol_get_data_length(s));
  }
  return texts;
}

Result<std::string> ReadQrFromPngFile(const std::string& path) { return ReadQrFromImageFile(path); }

Result<std::string> ReadQrFromImageFile(const std::string& path) {
  Result<Bytes> bytes = ReadFile(path, kMaxPngFileBytes);
  if (!bytes.ok()) return bytes.status();
  Result<GreyImage> img = IsJpeg(*bytes) ? DecodeJpeg(*bytes) : DecodePng(*bytes);
  if (!img.ok()) return img.status().WithContext(path);
  Result<std::vector<std::string>> texts = ScanQrCodes(*img);
  if (!texts.ok()) return texts.status().WithContext(path);
  if (texts->empty()) return Status::InvalidArgument(path + ": no QR code found in the image");
  if (texts->size() > 1) {
    return Status::InvalidArgument(path + ": " + std::to_string(texts->size()) +
                                   " QR codes found; crop the image to the one to pair with");
  }
  return std::move(texts->front());
}

}  // namespace dust::ctl
