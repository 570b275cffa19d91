// libFuzzer target for the image reader: the input is an image file from a stranger.
// readImageHeader and jpegComplete see the bytes directly; readImage opens them as a file
// (an in-memory one) and must either decode within the pixel cap or throw
// std::runtime_error naming the file. Any other exception aborts, so the fuzzer reports
// it like a crash, as it does AddressSanitizer and UBSan findings.

#include "datasets/ImageIO.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace {
// Small enough that a decodable forged header cannot make one run slow or large.
constexpr std::uint64_t kFuzzMaxPixels = std::uint64_t(1) << 22;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto header = prisma::datasets::readImageHeader(data, size);
  (void)header;
  (void)prisma::datasets::jpegComplete(data, size);

  const int fd = ::memfd_create("fuzz-image", 0);
  if (fd < 0) return 0;
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  prisma::datasets::ImageReadOptions options;
  options.max_pixels = kFuzzMaxPixels;
  options.accept_truncated = size % 2 == 0;  // both answers to a truncated JPEG
  try {
    const cv::Mat image = prisma::datasets::readImage("/proc/self/fd/" + std::to_string(fd), options);
    if (static_cast<std::uint64_t>(image.rows) * static_cast<std::uint64_t>(image.cols) > kFuzzMaxPixels) std::abort();
    (void)prisma::datasets::toPixels(image);
  } catch (const std::runtime_error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "readImage threw something other than std::runtime_error: %s\n", e.what());
    std::abort();
  }
  ::close(fd);
  return 0;
}
