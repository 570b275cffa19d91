// IDX via zlib's gz* functions, which read uncompressed files unchanged as well.

#include "datasets/Idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>

namespace prisma::datasets {
namespace {

constexpr std::size_t kHeaderMagicBytes = 4;
constexpr std::size_t kDimBytes = 4;
constexpr std::size_t kChunk = 1 << 20;
// Deflate expands by at most about 1032:1.
constexpr std::size_t kMaxDeflateRatio = 1032;
// The magic's low byte is the number of dimensions.
constexpr std::uint32_t kDimCountMask = 0xFF;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::uint32_t be32(const unsigned char* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

std::string hex(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

// Reads up to `size` bytes; fewer only at end of file. Throws on gzip errors.
std::size_t readSome(gzFile file, unsigned char* out, std::size_t size, const std::string& path) {
  std::size_t total = 0;
  while (total < size) {
    const auto want = static_cast<unsigned>(std::min(size - total, kChunk));
    const int got = gzread(file, out + total, want);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw std::runtime_error(path + ": corrupt gzip data (" + (message ? message : "zlib error") + ")");
    }
    if (got == 0) break;
    total += static_cast<std::size_t>(got);
  }
  return total;
}

}  // namespace

IdxArray readIdx(const std::string& path, std::uint32_t expectedMagic) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw std::runtime_error(path + ": no such file");
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw std::runtime_error(path + ": cannot open");

  std::array<unsigned char, kHeaderMagicBytes> magicBytes{};
  const std::size_t got = readSome(file.get(), magicBytes.data(), magicBytes.size(), path);
  if (got != magicBytes.size())
    throw std::runtime_error(path + ": truncated IDX header (" + std::to_string(got) + " bytes)");
  const std::uint32_t magic = be32(magicBytes.data());
  if (magic != expectedMagic)
    throw std::runtime_error(path + ": wrong magic " + hex(magic) + ", expected " + hex(expectedMagic));

  IdxArray out;
  const std::size_t dimCount = expectedMagic & kDimCountMask;
  std::vector<unsigned char> dimBytes(dimCount * kDimBytes);
  if (readSome(file.get(), dimBytes.data(), dimBytes.size(), path) != dimBytes.size())
    throw std::runtime_error(path + ": truncated IDX header (dimensions missing)");
  std::size_t total = 1;
  for (std::size_t d = 0; d < dimCount; ++d) {
    out.dims.push_back(be32(&dimBytes[d * kDimBytes]));
    if (__builtin_mul_overflow(total, out.dims.back(), &total))
      throw std::runtime_error(path + ": the header's dimensions overflow");
  }
  // Neither raw nor gzipped data can hold more than this; a header promising more is
  // refused before anything is read.
  const std::uintmax_t fileSize = std::filesystem::file_size(path, ec);
  if (!ec && fileSize <= std::numeric_limits<std::size_t>::max() / kMaxDeflateRatio &&
      total > fileSize * kMaxDeflateRatio)
    throw std::runtime_error(path + ": the header promises " + std::to_string(total) + " bytes of data, more than a " +
                             std::to_string(fileSize) + "-byte file can hold even gzipped");

  // Grow as data arrives, so a corrupt header cannot make us allocate gigabytes up front.
  std::size_t have = 0;
  while (have < total) {
    const std::size_t want = std::min(total - have, kChunk);
    out.data.resize(have + want);
    const std::size_t n = readSome(file.get(), out.data.data() + have, want, path);
    have += n;
    if (n < want) {
      std::string shape;
      for (std::size_t d : out.dims) shape += (shape.empty() ? "" : "×") + std::to_string(d);
      throw std::runtime_error(path + ": truncated: the header promises " + shape + " = " +
                               std::to_string(total) + " bytes of data, the file has " +
                               std::to_string(have));
    }
  }
  return out;
}

}  // namespace prisma::datasets
