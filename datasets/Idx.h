#pragma once
// Reader of the IDX format of MNIST and Fashion-MNIST (unsigned-byte arrays with a
// big-endian header), raw or gzipped.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace prisma::datasets {

// Magic numbers: 0x08 = unsigned bytes, then the number of dimensions.
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;
inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;

struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;  // row-major
};

// Reads `path` (gzip detected by content). Throws std::runtime_error naming the file and
// the problem: missing, wrong magic ("wrong magic 0x…, expected 0x00000803"), truncated
// header or data, corrupt gzip.
IdxArray readIdx(const std::string& path, std::uint32_t expectedMagic);

}  // namespace prisma::datasets
