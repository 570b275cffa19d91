#pragma once
// Reading images of any kind OpenCV decodes (8/16-bit, grey, RGB, RGBA, any size) into
// one canonical form: float32 RGB or grey in [0, 1], so preprocessing never cares
// about the file's depth or channel order.
//
// Images come from strangers, so reading is defensive: only regular files are opened (a
// FIFO would block forever, a device never ends), the dimensions are read from the
// file's header and checked against a pixel cap *before* anything is decoded (a PNG of a
// few KB can declare 20,000 x 20,000 pixels, 4.8 GB as float RGB), and a JPEG that ends
// before its end-of-image marker is an error rather than a silently grey-filled picture.

#include <opencv2/core/mat.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prisma::datasets {

// 50 megapixels: a 7,000 x 7,000 photo, beyond any camera a user drops in, while the
// canonical float RGB form of it (600 MB) still fits a laptop.
inline constexpr std::uint64_t kDefaultMaxImagePixels = 50'000'000;
// Environment variables the command line's --max-image-pixels / --accept-truncated-images
// set, so the explorer and worker processes honour them too.
inline constexpr const char* kMaxImagePixelsEnv = "PRISMA_MAX_IMAGE_PIXELS";
inline constexpr const char* kAcceptTruncatedEnv = "PRISMA_ACCEPT_TRUNCATED_IMAGES";

struct ImageReadOptions {
  std::uint64_t max_pixels = kDefaultMaxImagePixels;  // width x height, checked before decoding
  bool accept_truncated = false;                      // decode a JPEG cut short anyway
};

// The defaults, overridden by PRISMA_MAX_IMAGE_PIXELS (a positive integer) and
// PRISMA_ACCEPT_TRUNCATED_IMAGES=1. Throws std::runtime_error naming the variable when
// its value is not a valid one.
ImageReadOptions imageReadOptionsFromEnvironment();

// What a file's header says, without decoding: the format and its dimensions.
struct ImageHeader {
  std::string format;  // "png", "jpeg", "bmp", "webp", "tiff", "pnm", "sunras", "gif"
  std::uint64_t width = 0;
  std::uint64_t height = 0;
};

// The header of an encoded image in memory; std::nullopt for formats it does not know
// (readImage refuses those).
std::optional<ImageHeader> readImageHeader(const unsigned char* data, std::size_t size);

// True when a JPEG stream reaches its end-of-image marker (false also for non-JPEG data).
bool jpegComplete(const unsigned char* data, std::size_t size);

// The whole of `path` when it is a regular file; throws std::runtime_error naming it when
// it is missing, not a regular file (directory, FIFO, device) or unreadable. Opened
// non-blocking, so a FIFO never hangs the caller.
std::vector<unsigned char> readRegularFile(const std::string& path);

// Decodes `path`. The result is CV_32FC1 (grey files) or CV_32FC3 in RGB order, values
// in [0, 1]; alpha is composited onto white, as image viewers show it.
// Throws std::runtime_error naming the file when it is missing, not a regular file, not
// an image in a format whose header readImageHeader reads (others are never decoded),
// larger than the pixel cap, or a truncated JPEG (unless accepted).
cv::Mat readImage(const std::string& path);  // options from the environment
cv::Mat readImage(const std::string& path, const ImageReadOptions& options);

// Same canonical form from an 8-bit buffer already in memory (dataset items, clipboard).
cv::Mat fromPixels(const unsigned char* data, int height, int width, int channels);

// The inverse of readImage for 8-bit buffers: writes an RGB(A) or grey HWC buffer in the
// format the extension names (.png, .jpg, ...). Throws std::runtime_error naming the file.
void writeImage(const std::string& path, const unsigned char* data, int height, int width,
                int channels);

// A canonical image (see readImage) back to 8-bit HWC pixels, RGB or grey as it is.
std::vector<unsigned char> toPixels(const cv::Mat& image);

}  // namespace prisma::datasets
