#include "datasets/ImageIO.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace prisma::datasets {
namespace {

// The widest pixel OpenCV decodes is 16-bit RGBA (8 bytes); a file larger than the pixel
// cap's worth of those, plus room for metadata, holds no image within the cap.
constexpr std::uint64_t kMaxBytesPerPixel = 8;
constexpr std::uint64_t kFileSlackBytes = std::uint64_t(16) << 20;
constexpr std::size_t kReadChunk = std::size_t(1) << 20;

std::uint32_t be16(const unsigned char* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const unsigned char* p) { return (be16(p) << 16) | be16(p + 2); }
std::uint32_t le16(const unsigned char* p) { return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8); }
std::uint32_t le24(const unsigned char* p) { return le16(p) | (std::uint32_t(p[2]) << 16); }
std::uint32_t le32(const unsigned char* p) { return le16(p) | (le16(p + 2) << 16); }
bool startsWith(const unsigned char* data, std::size_t size, const char* magic, std::size_t n) {
  return size >= n && std::memcmp(data, magic, n) == 0;
}

std::optional<ImageHeader> pngHeader(const unsigned char* d, std::size_t n) {
  // Signature, then the IHDR chunk: length, "IHDR", width, height (big-endian).
  if (!startsWith(d, n, "\x89PNG\r\n\x1a\n", 8) || n < 24 || std::memcmp(d + 12, "IHDR", 4) != 0) return std::nullopt;
  return ImageHeader{"png", be32(d + 16), be32(d + 20)};
}

std::optional<ImageHeader> jpegHeader(const unsigned char* d, std::size_t n) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return std::nullopt;
  std::size_t p = 2;
  while (p + 1 < n) {
    if (d[p] != 0xFF) return std::nullopt;
    while (p < n && d[p] == 0xFF) ++p;  // fill bytes
    if (p >= n) break;
    const unsigned char m = d[p++];
    if (m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;  // markers without a length
    if (m == 0xD9 || m == 0xDA || p + 2 > n) break;                     // no frame header before the data
    const std::size_t len = be16(d + p);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      if (len < 7 || p + 7 > n) break;
      return ImageHeader{"jpeg", be16(d + p + 5), be16(d + p + 3)};
    }
    if (len < 2) break;
    p += len;
  }
  return std::nullopt;
}

std::optional<ImageHeader> bmpHeader(const unsigned char* d, std::size_t n) {
  if (!startsWith(d, n, "BM", 2) || n < 26) return std::nullopt;
  const std::uint32_t info = le32(d + 14);
  if (info == 12) return ImageHeader{"bmp", le16(d + 18), le16(d + 20)};  // BITMAPCOREHEADER
  // Height is negative for top-down bitmaps.
  const auto w = static_cast<std::int32_t>(le32(d + 18)), h = static_cast<std::int32_t>(le32(d + 22));
  return ImageHeader{"bmp", static_cast<std::uint64_t>(std::abs(static_cast<std::int64_t>(w))),
                     static_cast<std::uint64_t>(std::abs(static_cast<std::int64_t>(h)))};
}

std::optional<ImageHeader> webpHeader(const unsigned char* d, std::size_t n) {
  // The longest read below ends at byte 30 (VP8X's 24-bit height at 27..29).
  if (n < 30 || !startsWith(d, n, "RIFF", 4) || std::memcmp(d + 8, "WEBP", 4) != 0) return std::nullopt;
  const unsigned char* c = d + 12;
  if (std::memcmp(c, "VP8X", 4) == 0)  // extended: canvas width-1, height-1 in 24 bits
    return ImageHeader{"webp", std::uint64_t(le24(c + 12)) + 1, std::uint64_t(le24(c + 15)) + 1};
  if (std::memcmp(c, "VP8L", 4) == 0) {  // lossless: 14-bit width-1, height-1 after the signature
    const std::uint32_t bits = le32(c + 9);
    return ImageHeader{"webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (std::memcmp(c, "VP8 ", 4) == 0)  // lossy: 14-bit sizes after the key-frame start code
    return ImageHeader{"webp", le16(c + 14) & 0x3FFF, le16(c + 16) & 0x3FFF};
  return std::nullopt;
}

std::optional<ImageHeader> tiffHeader(const unsigned char* d, std::size_t n) {
  const bool little = startsWith(d, n, "II*\0", 4), big = startsWith(d, n, "MM\0*", 4);
  if (!little && !big) return std::nullopt;
  auto u16 = [&](std::size_t p) { return little ? le16(d + p) : be16(d + p); };
  auto u32 = [&](std::size_t p) { return little ? le32(d + p) : be32(d + p); };
  if (n < 8) return std::nullopt;
  const std::size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return std::nullopt;
  const std::size_t entries = u16(ifd);
  constexpr std::uint32_t kImageWidth = 256, kImageLength = 257, kShort = 3, kLong = 4;
  ImageHeader h{"tiff", 0, 0};
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    if (e + 12 > n) return std::nullopt;
    const std::uint32_t tag = u16(e), type = u16(e + 2);
    if (tag != kImageWidth && tag != kImageLength) continue;
    const std::uint64_t v = type == kShort ? u16(e + 8) : type == kLong ? u32(e + 8) : 0;
    (tag == kImageWidth ? h.width : h.height) = v;
  }
  if (h.width == 0 || h.height == 0) return std::nullopt;
  return h;
}

// Netpbm (P1-P6, PF/Pf): whitespace-separated width and height after the magic, with
// '#' comments; PAM (P7): WIDTH and HEIGHT lines.
std::optional<ImageHeader> pnmHeader(const unsigned char* d, std::size_t n) {
  if (n < 3 || d[0] != 'P') return std::nullopt;
  const bool pam = d[1] == '7';
  if (!(pam || (d[1] >= '1' && d[1] <= '6') || d[1] == 'F' || d[1] == 'f')) return std::nullopt;
  std::size_t p = 2;
  auto token = [&]() -> std::string {
    while (p < n) {
      if (d[p] == '#') {
        while (p < n && d[p] != '\n') ++p;
      } else if (std::isspace(d[p])) {
        ++p;
      } else {
        break;
      }
    }
    std::string t;
    while (p < n && !std::isspace(d[p]) && t.size() < 32) t += static_cast<char>(d[p++]);
    return t;
  };
  auto number = [](const std::string& t) -> std::optional<std::uint64_t> {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
    return v;
  };
  ImageHeader h{"pnm", 0, 0};
  if (!pam) {
    const auto w = number(token()), ht = number(token());
    if (!w || !ht) return std::nullopt;
    h.width = *w;
    h.height = *ht;
    return h;
  }
  for (int i = 0; i < 64; ++i) {
    const std::string t = token();
    if (t.empty() || t == "ENDHDR") break;
    if (t == "WIDTH" || t == "HEIGHT") {
      const auto v = number(token());
      if (!v) return std::nullopt;
      (t == "WIDTH" ? h.width : h.height) = *v;
    }
  }
  if (h.width == 0 || h.height == 0) return std::nullopt;
  return h;
}

std::optional<ImageHeader> sunRasterHeader(const unsigned char* d, std::size_t n) {
  if (n < 12 || be32(d) != 0x59A66A95u) return std::nullopt;
  return ImageHeader{"sunras", be32(d + 4), be32(d + 8)};
}

std::optional<ImageHeader> gifHeader(const unsigned char* d, std::size_t n) {
  if (n < 10 || !(startsWith(d, n, "GIF87a", 6) || startsWith(d, n, "GIF89a", 6))) return std::nullopt;
  return ImageHeader{"gif", le16(d + 6), le16(d + 8)};
}

std::optional<std::uint64_t> positiveFromEnvironment(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  std::uint64_t v = 0;
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, v);
  if (ec != std::errc() || ptr != end || v == 0)
    throw std::runtime_error(std::string(name) + ": '" + text + "' is not a positive integer");
  return v;
}

cv::Mat toUnitFloat(const cv::Mat& raw, const std::string& what) {
  double scale = 1.0;
  switch (raw.depth()) {
    case CV_8U: scale = 1.0 / 255.0; break;
    case CV_16U: scale = 1.0 / 65535.0; break;
    case CV_32F:
    case CV_64F: scale = 1.0; break;
    default:
      throw std::runtime_error(what + ": unsupported pixel depth (need 8-bit, 16-bit or float)");
  }
  cv::Mat f;
  raw.convertTo(f, CV_MAKETYPE(CV_32F, raw.channels()), scale);

  switch (f.channels()) {
    case 1: return f;
    case 3: {
      cv::Mat rgb;
      cv::cvtColor(f, rgb, cv::COLOR_BGR2RGB);
      return rgb;
    }
    case 4: {
      // Composite onto white: transparent pixels look white in every viewer.
      std::vector<cv::Mat> ch;
      cv::split(f, ch);
      cv::Mat inv = 1.0 - ch[3];
      std::vector<cv::Mat> rgb = {ch[2].mul(ch[3]) + inv, ch[1].mul(ch[3]) + inv,
                                  ch[0].mul(ch[3]) + inv};
      cv::Mat out;
      cv::merge(rgb, out);
      return out;
    }
    default:
      throw std::runtime_error(what + ": unsupported channel count " +
                               std::to_string(f.channels()));
  }
}

std::string pixelCapMessage(std::uint64_t width, std::uint64_t height, std::uint64_t cap) {
  return std::to_string(width) + "x" + std::to_string(height) + " pixels is more than the " + std::to_string(cap) +
         "-pixel limit (raise it with --max-image-pixels or " + kMaxImagePixelsEnv + ")";
}

}  // namespace

std::optional<ImageHeader> readImageHeader(const unsigned char* data, std::size_t size) {
  for (auto probe : {pngHeader, jpegHeader, bmpHeader, webpHeader, tiffHeader, pnmHeader, sunRasterHeader, gifHeader})
    if (auto h = probe(data, size)) return h;
  return std::nullopt;
}

bool jpegComplete(const unsigned char* d, std::size_t n) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return false;
  std::size_t p = 2;
  while (p < n) {
    // Bytes between segments are a decoder warning, not truncation: resynchronise.
    if (d[p] != 0xFF) {
      const void* next = std::memchr(d + p, 0xFF, n - p);
      if (!next) return false;
      p = static_cast<std::size_t>(static_cast<const unsigned char*>(next) - d);
    }
    while (p < n && d[p] == 0xFF) ++p;
    if (p >= n) return false;
    const unsigned char m = d[p++];
    if (m == 0xD9) return true;  // end of image
    if (m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (p + 2 > n) return false;
    const std::size_t len = be16(d + p);
    if (len < 2 || len > n - p) return false;
    p += len;
    if (m != 0xDA) continue;
    // Entropy-coded data after a start-of-scan runs to the next marker that is neither a
    // stuffed 0xFF00 nor a restart marker.
    while (true) {
      const void* ff = std::memchr(d + p, 0xFF, n - p);
      if (!ff) return false;
      std::size_t q = static_cast<std::size_t>(static_cast<const unsigned char*>(ff) - d) + 1;
      while (q < n && d[q] == 0xFF) ++q;
      if (q >= n) return false;
      if (d[q] == 0x00 || (d[q] >= 0xD0 && d[q] <= 0xD7)) {
        p = q + 1;
        continue;
      }
      p = q - 1;  // at the marker's 0xFF
      break;
    }
  }
  return false;
}

ImageReadOptions imageReadOptionsFromEnvironment() {
  ImageReadOptions o;
  if (auto cap = positiveFromEnvironment(kMaxImagePixelsEnv)) o.max_pixels = *cap;
  if (const char* accept = std::getenv(kAcceptTruncatedEnv)) o.accept_truncated = std::strcmp(accept, "1") == 0;
  return o;
}

std::vector<unsigned char> readRegularFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error(path + (err == ENOENT ? ": no such file" : ": cannot open (" + std::string(std::strerror(err)) + ")"));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error(path + ": cannot stat (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error(path + ": not a regular file (" +
                             (S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" : "a device or socket") +
                             ")");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t have = 0;
  while (have < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + have, std::min(bytes.size() - have, kReadChunk));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error(path + ": cannot read (" + std::strerror(errno) + ")");
    if (got == 0) break;  // shrank while we read
    have += static_cast<std::size_t>(got);
  }
  bytes.resize(have);
  return bytes;
}

cv::Mat readImage(const std::string& path) { return readImage(path, imageReadOptionsFromEnvironment()); }

cv::Mat readImage(const std::string& path, const ImageReadOptions& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) > kFileSlackBytes &&
      (static_cast<std::uint64_t>(st.st_size) - kFileSlackBytes) / kMaxBytesPerPixel > options.max_pixels)
    throw std::runtime_error(path + ": " + std::to_string(st.st_size) +
                             " bytes, more than any image within the " + std::to_string(options.max_pixels) +
                             "-pixel limit can take");
  const std::vector<unsigned char> bytes = readRegularFile(path);
  if (bytes.empty()) throw std::runtime_error(path + ": empty file");
  const auto header = readImageHeader(bytes.data(), bytes.size());
  // Only formats whose header is read here reach OpenCV: their size is known before
  // decoding, and the rest of what OpenCV links (DICOM through GDCM, which aborts the
  // process on a malformed file, OpenEXR, JPEG 2000, ...) never sees a stranger's bytes.
  if (!header)
    throw std::runtime_error(path + ": not an image in a supported format (PNG, JPEG, BMP, WebP, TIFF, PNM, Sun raster)");
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw std::runtime_error(path + ": " + std::to_string(bytes.size()) + " bytes, more than OpenCV decodes");
  // A zero dimension (a JPEG whose height follows in a DNL marker) is checked once decoded.
  if (header && header->width > 0 && header->height > 0) {
    if (header->width > options.max_pixels / header->height)
      throw std::runtime_error(path + ": " + pixelCapMessage(header->width, header->height, options.max_pixels));
    if (header->format == "jpeg" && !options.accept_truncated && !jpegComplete(bytes.data(), bytes.size()))
      throw std::runtime_error(path + ": truncated JPEG (no end-of-image marker); set " +
                               std::string(kAcceptTruncatedEnv) + "=1 or pass --accept-truncated-images to decode what is there");
  }
  cv::Mat raw;
  try {
    raw = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<unsigned char*>(bytes.data())),
                       cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH);
  } catch (const cv::Exception& e) {
    throw std::runtime_error(path + ": cannot decode (" + e.msg + ")");
  }
  if (raw.empty()) throw std::runtime_error(path + ": not an image OpenCV can read");
  // A header whose size was zero (a JPEG's DNL marker) is checked once decoded.
  if (static_cast<std::uint64_t>(raw.cols) > options.max_pixels / static_cast<std::uint64_t>(raw.rows))
    throw std::runtime_error(path + ": " + pixelCapMessage(raw.cols, raw.rows, options.max_pixels));
  return toUnitFloat(raw, path);
}

cv::Mat fromPixels(const unsigned char* data, int height, int width, int channels) {
  if (height <= 0 || width <= 0 || (channels != 1 && channels != 3 && channels != 4))
    throw std::invalid_argument("fromPixels: bad image geometry");
  // The buffer is RGB(A); OpenCV's conversion expects BGR(A), so swap first.
  cv::Mat view(height, width, CV_MAKETYPE(CV_8U, channels), const_cast<unsigned char*>(data));
  cv::Mat bgr;
  if (channels == 3) cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  else if (channels == 4) cv::cvtColor(view, bgr, cv::COLOR_RGBA2BGRA);
  else bgr = view;
  return toUnitFloat(bgr, "pixel buffer");
}

void writeImage(const std::string& path, const unsigned char* data, int height, int width,
                int channels) {
  if (height <= 0 || width <= 0 || (channels != 1 && channels != 3 && channels != 4))
    throw std::invalid_argument(path + ": bad image geometry");
  cv::Mat view(height, width, CV_MAKETYPE(CV_8U, channels), const_cast<unsigned char*>(data));
  cv::Mat bgr;
  if (channels == 3) cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  else if (channels == 4) cv::cvtColor(view, bgr, cv::COLOR_RGBA2BGRA);
  else bgr = view;
  bool written = false;
  try {
    written = cv::imwrite(path, bgr);
  } catch (const cv::Exception& e) {
    throw std::runtime_error(path + ": cannot write image (" + e.msg + ")");
  }
  if (!written) throw std::runtime_error(path + ": cannot write image");
}

std::vector<unsigned char> toPixels(const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("toPixels: empty image");
  cv::Mat bytes;
  // Canonical images are in [0, 1]; convertTo rounds and saturates.
  image.convertTo(bytes, CV_MAKETYPE(CV_8U, image.channels()), 255.0);
  if (!bytes.isContinuous()) bytes = bytes.clone();
  return {bytes.datastart, bytes.dataend};
}

}  // namespace prisma::datasets
