#pragma once
// What the dataset suites share: pixel readers for the synthetic recipes and writers for
// IDX, .npy / .npz and zip files made on the fly (nothing is shipped as a fixture).

#include "datasets/Batch.h"
#include "datasets/CircleDataset.h"
#include "datasets/DSpritesDataset.h"
#include "datasets/Dataset.h"
#include "datasets/DatasetRegistry.h"
#include "datasets/Idx.h"
#include "datasets/ImageFilesDataset.h"
#include "datasets/ImageFolderDataset.h"
#include "datasets/ImageIO.h"
#include "datasets/InductionDataset.h"
#include "datasets/MnistDataset.h"
#include "datasets/Npz.h"
#include "datasets/PolygenicInductionDataset.h"

#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace prisma::datasets;


namespace prisma::datasets::test {

constexpr int kInductionOffset = 7;  // the recipe's distance between shape A and B
constexpr double kPi = 3.14159265358979323846;

using Pixel = std::pair<int, int>;  // (row, col)

inline std::vector<Pixel> lit(const Item& item, std::uint8_t value) {
  std::vector<Pixel> out;
  for (int r = 0; r < item.height; ++r)
    for (int c = 0; c < item.width; ++c)
      if (item.pixels[static_cast<std::size_t>(r) * item.width + c] == value) out.emplace_back(r, c);
  return out;
}

inline std::vector<Pixel> nonZero(const Item& item) {
  std::vector<Pixel> out;
  for (int r = 0; r < item.height; ++r)
    for (int c = 0; c < item.width; ++c)
      if (item.pixels[static_cast<std::size_t>(r) * item.width + c] != 0) out.emplace_back(r, c);
  return out;
}

// Where the lit pixels along one axis leave an empty line between two groups: that
// line's coordinate, or -1 when they do not.
inline int gapAlong(const std::vector<Pixel>& pixels, bool rows) {
  std::set<int> used;
  for (const auto& [r, c] : pixels) used.insert(rows ? r : c);
  int previous = -1;
  for (int v : used) {
    if (previous >= 0 && v > previous + 1) return previous + 1;
    previous = v;
  }
  return -1;
}

struct InductionReading {
  bool valid = false;
  bool vertical = false;
  bool same = false;
};

// Reads an induction image the way a person would: two groups of pixels separated by an
// empty band of rows (one above the other) or columns (side by side), and whether the
// second group is the first moved by the recipe's offset.
inline InductionReading readInduction(const Item& item) {
  const std::vector<Pixel> pixels = nonZero(item);
  const int rowGap = gapAlong(pixels, true);
  const int colGap = gapAlong(pixels, false);
  InductionReading out;
  if ((rowGap >= 0) == (colGap >= 0)) return out;
  out.valid = true;
  out.vertical = rowGap >= 0;
  std::set<Pixel> first, second;
  for (const auto& p : pixels) {
    const int along = out.vertical ? p.first : p.second;
    const int gap = out.vertical ? rowGap : colGap;
    if (along < gap) first.insert(p);
    else second.insert(out.vertical ? Pixel{p.first - kInductionOffset, p.second}
                                    : Pixel{p.first, p.second - kInductionOffset});
  }
  out.same = first == second;
  return out;
}

inline std::pair<Pixel, Pixel> boundingBox(const Item& item) {
  const std::vector<Pixel> pixels = nonZero(item);
  Pixel lo{item.height, item.width}, hi{-1, -1};
  for (const auto& [r, c] : pixels) {
    lo = {std::min(lo.first, r), std::min(lo.second, c)};
    hi = {std::max(hi.first, r), std::max(hi.second, c)};
  }
  return {lo, hi};
}

// A cheap fingerprint of the first items of a split: labels, factors and pixels.
inline std::vector<std::string> fingerprint(const Dataset& d, Split split, std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::min(count, d.size(split)); ++i) {
    const Item item = d.item(split, i);
    std::string key = std::to_string(item.label);
    for (const auto& [name, value] : item.factors) key += "|" + name + "=" + std::to_string(value);
    key += "|" + std::to_string(std::hash<std::string>{}(
                     std::string(item.pixels.begin(), item.pixels.end())));
    out.push_back(key);
  }
  return out;
}

inline void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

template <typename T>
inline void putLe(std::string& out, T value) {
  for (std::size_t b = 0; b < sizeof(T); ++b) out += static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * b)) & 0xFF);
}

inline std::string npy(const std::string& descr, const std::vector<std::size_t>& shape, const std::string& data) {
  std::string shapeText = "(";
  for (std::size_t d : shape) shapeText += std::to_string(d) + ", ";
  shapeText += ")";
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }";
  const std::size_t preamble = 10;
  while ((preamble + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  putLe(out, static_cast<std::uint16_t>(dict.size()));
  return out + dict + data;
}

inline std::string rawDeflate(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct ZipMember {
  std::string name;
  std::string data;
  bool deflated = false;
};

// A zip as NumPy writes one; with zip64, sizes and offsets go to zip64 extra fields the
// way numpy's force_zip64 does.
inline std::string zipArchive(const std::vector<ZipMember>& members, bool zip64) {
  constexpr std::uint32_t kSat = 0xFFFFFFFF;
  std::string out, directory;
  for (const auto& m : members) {
    const std::string body = m.deflated ? rawDeflate(m.data) : m.data;
    const auto crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
    const std::uint16_t method = m.deflated ? 8 : 0;
    const std::uint64_t offset = out.size();

    std::string localExtra;
    if (zip64) {
      putLe(localExtra, std::uint16_t{1});
      putLe(localExtra, std::uint16_t{16});
      putLe(localExtra, std::uint64_t{m.data.size()});
      putLe(localExtra, std::uint64_t{body.size()});
    }
    putLe(out, std::uint32_t{0x04034b50});
    putLe(out, std::uint16_t{45});
    putLe(out, std::uint16_t{0});
    putLe(out, method);
    putLe(out, std::uint32_t{0});  // time and date
    putLe(out, crc);
    putLe(out, zip64 ? kSat : static_cast<std::uint32_t>(body.size()));
    putLe(out, zip64 ? kSat : static_cast<std::uint32_t>(m.data.size()));
    putLe(out, static_cast<std::uint16_t>(m.name.size()));
    putLe(out, static_cast<std::uint16_t>(localExtra.size()));
    out += m.name + localExtra + body;

    std::string centralExtra;
    if (zip64) {
      putLe(centralExtra, std::uint16_t{1});
      putLe(centralExtra, std::uint16_t{24});
      putLe(centralExtra, std::uint64_t{m.data.size()});
      putLe(centralExtra, std::uint64_t{body.size()});
      putLe(centralExtra, offset);
    }
    putLe(directory, std::uint32_t{0x02014b50});
    putLe(directory, std::uint16_t{45});
    putLe(directory, std::uint16_t{45});
    putLe(directory, std::uint16_t{0});
    putLe(directory, method);
    putLe(directory, std::uint32_t{0});
    putLe(directory, crc);
    putLe(directory, zip64 ? kSat : static_cast<std::uint32_t>(body.size()));
    putLe(directory, zip64 ? kSat : static_cast<std::uint32_t>(m.data.size()));
    putLe(directory, static_cast<std::uint16_t>(m.name.size()));
    putLe(directory, static_cast<std::uint16_t>(centralExtra.size()));
    putLe(directory, std::uint16_t{0});  // comment
    putLe(directory, std::uint16_t{0});  // disk
    putLe(directory, std::uint16_t{0});  // internal attributes
    putLe(directory, std::uint32_t{0});  // external attributes
    putLe(directory, zip64 ? kSat : static_cast<std::uint32_t>(offset));
    directory += m.name + centralExtra;
  }
  const auto directoryOffset = static_cast<std::uint32_t>(out.size());
  out += directory;
  putLe(out, std::uint32_t{0x06054b50});
  putLe(out, std::uint16_t{0});
  putLe(out, std::uint16_t{0});
  putLe(out, static_cast<std::uint16_t>(members.size()));
  putLe(out, static_cast<std::uint16_t>(members.size()));
  putLe(out, static_cast<std::uint32_t>(directory.size()));
  putLe(out, directoryOffset);
  putLe(out, std::uint16_t{0});
  return out;
}

// An image the test writes with OpenCV through the library, 8-bit RGB.
inline std::vector<std::uint8_t> gradient(int h, int w, int seed) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(h) * w * 3);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 7 + seed * 31) % 256);
  return px;
}

inline std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

template <typename F>
inline QString errorOf(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

}  // namespace prisma::datasets::test


using namespace prisma::datasets::test;
