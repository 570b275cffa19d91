#pragma once
// A minimal reader of NumPy .npz files (a zip archive of .npy arrays), enough for
// DeepMind's dSprites file: stored or deflated entries, zip64 sizes, little-endian
// numeric arrays in C order. Arrays are read sequentially in chunks, so a multi-gigabyte
// array never has to sit in memory whole.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prisma::datasets {

// One entry of a zip archive's central directory, zip64 sizes resolved.
struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint16_t flags = 0;
  std::uint64_t compressedSize = 0;
  std::uint64_t uncompressedSize = 0;
  std::uint64_t localHeaderOffset = 0;
};

// The central directory of the zip archive at `path` (also what torch.save writes), read
// without touching any entry's data: what each entry declares, to be checked before it is
// inflated. Throws std::runtime_error naming the file when it is missing, not a regular
// file or not a zip archive.
std::vector<ZipEntry> readZipDirectory(const std::string& path);

// Deflate cannot expand data by more than about 1032:1 (258-byte matches coded in about
// 2 bits); an entry declaring more than that from its compressed size is lying.
inline constexpr std::uint64_t kMaxDeflateRatio = 1032;

struct NpyHeader {
  std::string descr;  // NumPy dtype string, e.g. "|u1", "<i8", "<f8"
  char kind = 0;      // 'u', 'i', 'f' or 'b'
  std::size_t itemSize = 0;
  bool fortranOrder = false;
  std::vector<std::size_t> shape;

  std::size_t count() const;  // number of elements
};

// Reads one array of an .npz from start to end. Move-only.
class NpyReader {
public:
  NpyReader(NpyReader&&) noexcept;
  NpyReader& operator=(NpyReader&&) noexcept;
  ~NpyReader();

  const NpyHeader& header() const;
  // Copies the next `bytes` bytes of array data; throws std::runtime_error naming the
  // file and the array when the entry ends early or its compressed data is corrupt.
  void read(void* destination, std::size_t bytes);
  // The next `count` elements of an integer array, widened (any little-endian size).
  std::vector<std::int64_t> readIntegers(std::size_t count);

private:
  friend class NpzFile;
  struct Impl;
  explicit NpyReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class NpzFile {
public:
  // Reads the archive's directory; throws std::runtime_error naming the file when it is
  // missing or not a zip archive.
  explicit NpzFile(std::string path);

  const std::string& path() const { return path_; }
  std::vector<std::string> arrayNames() const;  // entry names without ".npy"
  bool contains(const std::string& array) const;
  // Throws when the array is absent, encrypted, compressed with something other than
  // deflate, or has a malformed .npy header.
  NpyReader open(const std::string& array) const;

private:
  using Entry = ZipEntry;
  const Entry* find(const std::string& array) const;

  std::string path_;
  std::vector<Entry> entries_;
};

}  // namespace prisma::datasets
