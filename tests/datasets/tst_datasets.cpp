// Qt Test suite of prisma::datasets: the exact counts of the original recipes, the pixel
// meaning of the generated images, determinism, the real MNIST / Fashion-MNIST files
// (skipped when absent), and clear failures on corrupt or unreadable files.

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

namespace {

constexpr int kInductionOffset = 7;  // the recipe's distance between shape A and B
constexpr double kPi = 3.14159265358979323846;

using Pixel = std::pair<int, int>;  // (row, col)

std::vector<Pixel> lit(const Item& item, std::uint8_t value) {
  std::vector<Pixel> out;
  for (int r = 0; r < item.height; ++r)
    for (int c = 0; c < item.width; ++c)
      if (item.pixels[static_cast<std::size_t>(r) * item.width + c] == value) out.emplace_back(r, c);
  return out;
}

std::vector<Pixel> nonZero(const Item& item) {
  std::vector<Pixel> out;
  for (int r = 0; r < item.height; ++r)
    for (int c = 0; c < item.width; ++c)
      if (item.pixels[static_cast<std::size_t>(r) * item.width + c] != 0) out.emplace_back(r, c);
  return out;
}

// Where the lit pixels along one axis leave an empty line between two groups: that
// line's coordinate, or -1 when they do not.
int gapAlong(const std::vector<Pixel>& pixels, bool rows) {
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
InductionReading readInduction(const Item& item) {
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

std::pair<Pixel, Pixel> boundingBox(const Item& item) {
  const std::vector<Pixel> pixels = nonZero(item);
  Pixel lo{item.height, item.width}, hi{-1, -1};
  for (const auto& [r, c] : pixels) {
    lo = {std::min(lo.first, r), std::min(lo.second, c)};
    hi = {std::max(hi.first, r), std::max(hi.second, c)};
  }
  return {lo, hi};
}

// A cheap fingerprint of the first items of a split: labels, factors and pixels.
std::vector<std::string> fingerprint(const Dataset& d, Split split, std::size_t count) {
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

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

template <typename T>
void putLe(std::string& out, T value) {
  for (std::size_t b = 0; b < sizeof(T); ++b) out += static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * b)) & 0xFF);
}

std::string npy(const std::string& descr, const std::vector<std::size_t>& shape, const std::string& data) {
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

std::string rawDeflate(const std::string& data) {
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
std::string zipArchive(const std::vector<ZipMember>& members, bool zip64) {
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
std::vector<std::uint8_t> gradient(int h, int w, int seed) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(h) * w * 3);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 7 + seed * 31) % 256);
  return px;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

template <typename F>
QString errorOf(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

}  // namespace

class TestDatasets : public QObject {
  Q_OBJECT

private slots:
  void balance_data();
  void balance();
  void inductionPixels_data();
  void inductionPixels();
  void polygenicLayout();
  void circlePairs();
  void circlePixels();
  void dspritesGrid();
  void dspritesGeometry_data();
  void dspritesGeometry();
  void dspritesItemsMatchFactors();
  void dspritesLabelFactor_data();
  void dspritesLabelFactor();
  void determinism_data();
  void determinism();
  void mnist();
  void fashionMnist();
  void mnistMissing();
  void idxCorrupt_data();
  void idxCorrupt();
  void idxGzip();
  void npzDSprites_data();
  void npzDSprites();
  void npzCorrupt();
  void imageFolder();
  void imageFolderSplit();
  void imageFiles();
  void batch();
  void registry();
};

void TestDatasets::balance_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<qulonglong>("train");
  QTest::addColumn<qulonglong>("test");
  QTest::addColumn<int>("classes");
  QTest::addColumn<qulonglong>("trainPerClass");  // 0: not balanced
  QTest::addColumn<qulonglong>("testPerClass");

  QTest::newRow("induction") << "induction" << 5872ULL << 656ULL << 4 << 1468ULL << 164ULL;
  // 736 positions × 12 pairs = 8,832 per balanced class; 884 of them (10 %, rounded up) test.
  QTest::newRow("induction-polygenic") << "induction-polygenic" << 95376ULL << 10608ULL << 12
                                       << 7948ULL << 884ULL;
  QTest::newRow("circle") << "circle" << 885ULL << 885ULL << 60 << 0ULL << 0ULL;
}

void TestDatasets::balance() {
  QFETCH(QString, name);
  QFETCH(qulonglong, train);
  QFETCH(qulonglong, test);
  QFETCH(int, classes);
  QFETCH(qulonglong, trainPerClass);
  QFETCH(qulonglong, testPerClass);

  const auto d = makeDataset(name.toStdString());
  QCOMPARE(qulonglong(d->size(Split::Train)), train);
  QCOMPARE(qulonglong(d->size(Split::Test)), test);
  QCOMPARE(int(d->classNames().size()), classes);
  if (trainPerClass == 0) return;
  for (std::size_t n : classCounts(*d, Split::Train)) QCOMPARE(qulonglong(n), trainPerClass);
  for (std::size_t n : classCounts(*d, Split::Test)) QCOMPARE(qulonglong(n), testPerClass);
}

void TestDatasets::inductionPixels_data() {
  QTest::addColumn<int>("label");
  QTest::addColumn<bool>("vertical");
  QTest::addColumn<bool>("same");
  QTest::newRow("vertical-same") << 0 << true << true;
  QTest::newRow("vertical-different") << 1 << true << false;
  QTest::newRow("horizontal-same") << 2 << false << true;
  QTest::newRow("horizontal-different") << 3 << false << false;
}

void TestDatasets::inductionPixels() {
  QFETCH(int, label);
  QFETCH(bool, vertical);
  QFETCH(bool, same);

  const InductionDataset d;
  QCOMPARE(d.rawCount(), InductionDataset::kRawCount);
  QCOMPARE(d.classNames()[label], std::string(QTest::currentDataTag()));
  int checked = 0;
  for (std::size_t i = 0; i < d.size(Split::Test); ++i) {
    const Item item = d.item(Split::Test, i);
    if (item.label != label) continue;
    QCOMPARE(item.height, 32);
    QCOMPARE(item.channels, 1);
    const InductionReading reading = readInduction(item);
    QVERIFY2(reading.valid, qPrintable(QString("test item %1: not two separate shapes").arg(i)));
    QCOMPARE(reading.vertical, vertical);
    QCOMPARE(reading.same, same);
    QCOMPARE(item.factors.at("shape_a") == item.factors.at("shape_b"), same);
    ++checked;
  }
  QCOMPARE(checked, 164);
}

void TestDatasets::polygenicLayout() {
  const PolygenicInductionDataset d;
  // 2 orientations × 16 × 46 positions × (16 AAAA + 5 patterns × 12 pairs).
  QCOMPARE(d.rawCount(), std::size_t{111872});
  for (std::size_t i = 0; i < 200; ++i) {
    const Item item = d.item(Split::Train, i);
    const bool horizontal = item.label < PolygenicInductionDataset::kPatternCount;
    QCOMPARE(d.classNames()[item.label].rfind(horizontal ? "horizontal" : "vertical", 0), std::size_t{0});
    // Four shapes in a line: three empty bands across the line's direction.
    const std::vector<Pixel> pixels = nonZero(item);
    std::set<int> along;
    for (const auto& [r, c] : pixels) along.insert(horizontal ? c : r);
    std::set<int> across;
    for (const auto& [r, c] : pixels) across.insert(horizontal ? r : c);
    QVERIFY(*across.rbegin() - *across.begin() <= 4);
    QVERIFY(*along.rbegin() - *along.begin() >= 3 * 7);
  }
}

void TestDatasets::circlePairs() {
  const CircleDataset d(3);
  std::set<std::pair<int, int>> seen;
  for (Split split : {Split::Train, Split::Test})
    for (std::size_t i = 0; i < d.size(split); ++i) {
      const Item item = d.item(split, i);
      const int a = int(item.factors.at("a")), b = int(item.factors.at("b"));
      QVERIFY(a < b);
      QCOMPARE(item.label, (a + b) % 60);
      QCOMPARE(d.label(split, i), item.label);
      seen.emplace(a, b);
    }
  QCOMPARE(seen.size(), CircleDataset::kPairCount);
  QCOMPARE(seen.size(), std::size_t{1770});
}

void TestDatasets::circlePixels() {
  const CircleDataset d;
  // The exact point of angle k·6° lies inside the pixel drawn for it.
  auto pixelHolding = [](int k, double radius) {
    const double angle = k * 6.0 * kPi / 180.0;
    return Pixel{int(std::floor(16.0 - radius * std::sin(angle))),
                 int(std::floor(16.0 + radius * std::cos(angle)))};
  };
  for (std::size_t i = 0; i < 40; ++i) {
    const Item item = d.item(Split::Train, i);
    QCOMPARE(item.height, 32);
    QCOMPARE(item.width, 32);
    const std::vector<Pixel> black = lit(item, 0);
    const std::vector<Pixel> grey = lit(item, 128);
    QCOMPARE(black.size(), std::size_t{60});
    QCOMPARE(grey.size(), std::size_t{2});
    QCOMPARE(lit(item, 255).size(), std::size_t{32 * 32 - 62});
    const std::set<Pixel> blackSet(black.begin(), black.end());
    for (int k = 0; k < 60; ++k) QVERIFY(blackSet.count(pixelHolding(k, CircleDataset::kRingRadius)));
    const std::set<Pixel> greySet(grey.begin(), grey.end());
    const int a = int(item.factors.at("a")), b = int(item.factors.at("b"));
    QVERIFY(greySet.count(pixelHolding(a, CircleDataset::kOperandRadius)));
    QVERIFY(greySet.count(pixelHolding(b, CircleDataset::kOperandRadius)));
    // And the grey marks sit at the operands' angles, seen from the centre.
    for (int k : {a, b}) {
      const Pixel p = pixelHolding(k, CircleDataset::kOperandRadius);
      const double seen = std::atan2(16.0 - (p.first + 0.5), (p.second + 0.5) - 16.0) * 180.0 / kPi;
      double diff = std::fmod(std::abs(seen - k * 6.0), 360.0);
      diff = std::min(diff, 360.0 - diff);
      QVERIFY2(diff < 4.0, qPrintable(QString("operand %1 drawn at %2°").arg(k).arg(seen)));
    }
  }
}

void TestDatasets::dspritesGrid() {
  QCOMPARE(DSpritesDataset::kCombinationCount, std::size_t{737280});
  const DSpritesDataset d;
  QCOMPARE(d.size(Split::Train) + d.size(Split::Test), std::size_t{737280});
  QCOMPARE(d.size(Split::Test), std::size_t{184320});
  std::vector<std::size_t> perShape(3, 0);
  for (Split split : {Split::Train, Split::Test}) {
    const auto counts = classCounts(d, split);
    QCOMPARE(counts.size(), std::size_t{3});
    for (int s = 0; s < 3; ++s) perShape[s] += counts[s];
  }
  for (std::size_t n : perShape) QCOMPARE(n, std::size_t{737280 / 3});
  for (std::size_t c : {std::size_t{0}, std::size_t{12345}, std::size_t{737279}})
    QCOMPARE(DSpritesDataset::combinationOf(DSpritesDataset::factorsOf(c)), c);
}

void TestDatasets::dspritesGeometry_data() {
  QTest::addColumn<int>("scale");
  QTest::addColumn<int>("posX");
  QTest::addColumn<int>("posY");
  QTest::newRow("smallest, top left") << 0 << 0 << 0;
  QTest::newRow("smallest, bottom right") << 0 << 31 << 31;
  QTest::newRow("middle scale, middle") << 3 << 15 << 16;
  QTest::newRow("largest, left bottom") << 5 << 0 << 31;
  QTest::newRow("largest, right top") << 5 << 31 << 0;
}

void TestDatasets::dspritesGeometry() {
  QFETCH(int, scale);
  QFETCH(int, posX);
  QFETCH(int, posY);
  // An unrotated square: its bounding box is exactly the factors' size and place.
  DSpritesDataset::Factors f;
  f.shape = 0;
  f.scale = scale;
  f.posX = posX;
  f.posY = posY;
  Item item;
  item.height = item.width = 64;
  item.channels = 1;
  item.pixels = DSpritesDataset::render(f);
  const auto [lo, hi] = boundingBox(item);
  const double side = 2 * DSpritesDataset::kMaxHalfExtent * DSpritesDataset::scaleValue(scale);
  const double span = DSpritesDataset::kMaxCentre - DSpritesDataset::kMinCentre;
  const double cx = DSpritesDataset::kMinCentre + span * posX / 31.0;
  const double cy = DSpritesDataset::kMinCentre + span * posY / 31.0;
  QVERIFY(std::abs((hi.second - lo.second + 1) - side) <= 1.0);
  QVERIFY(std::abs((hi.first - lo.first + 1) - side) <= 1.0);
  QVERIFY(std::abs((lo.second + hi.second + 1) / 2.0 - cx) <= 0.5);
  QVERIFY(std::abs((lo.first + hi.first + 1) / 2.0 - cy) <= 0.5);

  // Two steps bigger (3.6 px, more than pixel rounding) grows the box; a few steps right
  // or down move it that way.
  if (scale + 2 < DSpritesDataset::kScaleCount) {
    DSpritesDataset::Factors bigger = f;
    bigger.scale = scale + 2;
    item.pixels = DSpritesDataset::render(bigger);
    const auto [lo2, hi2] = boundingBox(item);
    QVERIFY(hi2.second - lo2.second > hi.second - lo.second);
  }
  if (posX + 4 < DSpritesDataset::kPositionCount) {
    DSpritesDataset::Factors right = f;
    right.posX = posX + 4;
    item.pixels = DSpritesDataset::render(right);
    const auto [lo2, hi2] = boundingBox(item);
    QVERIFY(lo2.second > lo.second);
    QCOMPARE(lo2.first, lo.first);
  }
  if (posY + 4 < DSpritesDataset::kPositionCount) {
    DSpritesDataset::Factors down = f;
    down.posY = posY + 4;
    item.pixels = DSpritesDataset::render(down);
    const auto [lo2, hi2] = boundingBox(item);
    QVERIFY(lo2.first > lo.first);
    QCOMPARE(lo2.second, lo.second);
  }
}

void TestDatasets::dspritesItemsMatchFactors() {
  DSpritesOptions o;
  o.subsample = 300;
  o.seed = 11;
  const DSpritesDataset d(o);
  QCOMPARE(d.size(Split::Train), std::size_t{225});
  QCOMPARE(d.size(Split::Test), std::size_t{75});
  const double span = DSpritesDataset::kMaxCentre - DSpritesDataset::kMinCentre;
  for (std::size_t i = 0; i < d.size(Split::Train); ++i) {
    const Item item = d.item(Split::Train, i);
    const auto [lo, hi] = boundingBox(item);
    QVERIFY(hi.first >= 0);
    const double cx = DSpritesDataset::kMinCentre + span * item.factors.at("posX");
    const double cy = DSpritesDataset::kMinCentre + span * item.factors.at("posY");
    // Squares and ellipses are symmetric about their centre; a turned heart's box is not
    // (up to 1.9 px off at scale 1).
    const double slack = item.factors.at("shape") == 2 ? 2.5 : 1.0;
    QVERIFY(std::abs((lo.second + hi.second + 1) / 2.0 - cx) <= slack);
    QVERIFY(std::abs((lo.first + hi.first + 1) / 2.0 - cy) <= slack);
    // Every shape spans 2·halfExtent along some direction and stays within the
    // halfExtent·√2 of a turned square's corners, so the scale bounds the box both ways.
    const double halfExtent = DSpritesDataset::kMaxHalfExtent * item.factors.at("scale");
    const int longer = std::max(hi.second - lo.second, hi.first - lo.first) + 1;
    QVERIFY(longer <= 2 * halfExtent * std::sqrt(2.0) + 1);
    QVERIFY(longer >= 2 * halfExtent / std::sqrt(2.0) - 1);
    for (std::uint8_t v : item.pixels) QVERIFY(v == 0 || v == 255);
  }
}

void TestDatasets::dspritesLabelFactor_data() {
  QTest::addColumn<QString>("factor");
  QTest::addColumn<int>("classes");
  QTest::newRow("shape") << "shape" << 3;
  QTest::newRow("scale") << "scale" << 6;
  QTest::newRow("orientation") << "orientation" << 40;
  QTest::newRow("posX") << "posX" << 32;
  QTest::newRow("posY") << "posy" << 32;
}

void TestDatasets::dspritesLabelFactor() {
  QFETCH(QString, factor);
  QFETCH(int, classes);
  DatasetOptions o;
  o.labelFactor = factor.toStdString();
  o.subsample = 500;
  const auto d = makeDataset("dsprites", o);
  QCOMPARE(int(d->classNames().size()), classes);
  const std::string key = toString(dspritesFactorFromString(factor.toStdString()));
  for (std::size_t i = 0; i < 50; ++i) {
    const Item item = d->item(Split::Test, i);
    const double value = item.factors.at(key);
    int expected = 0;
    if (key == "shape") expected = int(value);
    else if (key == "scale") expected = int(std::lround((value - 0.5) / 0.1));
    else if (key == "orientation") expected = int(std::lround(value / (2 * kPi) * 39));
    else expected = int(std::lround(value * 31));
    QCOMPARE(item.label, expected);
  }
}

void TestDatasets::determinism_data() {
  QTest::addColumn<QString>("name");
  QTest::newRow("induction") << "induction";
  QTest::newRow("induction-polygenic") << "induction-polygenic";
  QTest::newRow("circle") << "circle";
  QTest::newRow("dsprites") << "dsprites";
}

void TestDatasets::determinism() {
  QFETCH(QString, name);
  constexpr std::size_t kItems = 40;
  DatasetOptions a, b;
  a.seed = 7;
  b.seed = 8;
  a.subsample = b.subsample = name == "dsprites" ? 2000 : 0;
  const auto first = makeDataset(name.toStdString(), a);
  const auto again = makeDataset(name.toStdString(), a);
  const auto other = makeDataset(name.toStdString(), b);
  for (Split split : {Split::Train, Split::Test}) {
    QCOMPARE(fingerprint(*first, split, kItems), fingerprint(*again, split, kItems));
    QVERIFY(fingerprint(*first, split, kItems) != fingerprint(*other, split, kItems));
    QCOMPARE(first->size(split), other->size(split));
  }
}

void TestDatasets::mnist() {
  std::unique_ptr<Dataset> d;
  try {
    d = makeDataset("mnist");
  } catch (const std::runtime_error& e) {
    QSKIP(qPrintable(QString("MNIST absent (%1)").arg(e.what())));
  }
  QCOMPARE(d->size(Split::Train), std::size_t{60000});
  QCOMPARE(d->size(Split::Test), std::size_t{10000});
  const std::vector<int> firstLabels = {5, 0, 4, 1, 9};
  for (std::size_t i = 0; i < firstLabels.size(); ++i) QCOMPARE(d->label(Split::Train, i), firstLabels[i]);
  QCOMPARE(classCounts(*d, Split::Train)[0], std::size_t{5923});
  const Item item = d->item(Split::Train, 0);
  QCOMPARE(item.height, 28);
  QCOMPARE(item.width, 28);
  QCOMPARE(item.label, 5);
  QVERIFY(*std::max_element(item.pixels.begin(), item.pixels.end()) > 200);
}

void TestDatasets::fashionMnist() {
  std::unique_ptr<Dataset> d;
  try {
    d = makeDataset("fashion-mnist");
  } catch (const std::runtime_error& e) {
    QSKIP(qPrintable(QString("Fashion-MNIST absent (%1)").arg(e.what())));
  }
  QCOMPARE(d->size(Split::Train), std::size_t{60000});
  QCOMPARE(d->size(Split::Test), std::size_t{10000});
  for (std::size_t n : classCounts(*d, Split::Train)) QCOMPARE(n, std::size_t{6000});
  for (std::size_t n : classCounts(*d, Split::Test)) QCOMPARE(n, std::size_t{1000});
  QCOMPARE(d->classNames()[9], std::string("Ankle boot"));
}

void TestDatasets::mnistMissing() {
  QTemporaryDir dir;
  const std::string empty = dir.path().toStdString();
  const QString digits = errorOf([&] { MnistDataset(MnistVariant::Digits, empty); });
  QVERIFY2(digits.contains("train-images-idx3-ubyte"), qPrintable(digits));
  QVERIFY2(digits.contains("scripts/fetch-data.sh"), qPrintable(digits));
  const QString fashion = errorOf([&] { MnistDataset(MnistVariant::Fashion, empty); });
  QVERIFY2(fashion.contains("apt install dataset-fashion-mnist"), qPrintable(fashion));
}

void TestDatasets::idxCorrupt_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("message");
  const std::string labels2 = be32(kIdxLabelsMagic) + be32(2) + std::string("\x03\x07", 2);
  QTest::newRow("wrong magic")
      << QByteArray::fromStdString(be32(kIdxImagesMagic) + be32(2) + std::string("\x03\x07", 2))
      << "wrong magic 0x00000803, expected 0x00000801";
  QTest::newRow("truncated data")
      << QByteArray::fromStdString(be32(kIdxLabelsMagic) + be32(5) + std::string("\x03\x07", 2))
      << "truncated: the header promises 5 = 5 bytes of data, the file has 2";
  QTest::newRow("truncated header") << QByteArray::fromStdString(be32(kIdxLabelsMagic).substr(0, 3))
                                    << "truncated IDX header";
  QTest::newRow("no dimensions") << QByteArray::fromStdString(be32(kIdxLabelsMagic))
                                 << "truncated IDX header (dimensions missing)";
  QTest::newRow("empty") << QByteArray() << "truncated IDX header";
  QTest::newRow("valid") << QByteArray::fromStdString(labels2) << "";
}

void TestDatasets::idxCorrupt() {
  QFETCH(QByteArray, bytes);
  QFETCH(QString, message);
  QTemporaryDir dir;
  const std::string path = dir.filePath("train-labels-idx1-ubyte").toStdString();
  writeBytes(path, bytes.toStdString());
  const QString error = errorOf([&] { readIdx(path, kIdxLabelsMagic); });
  if (message.isEmpty()) {
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const IdxArray a = readIdx(path, kIdxLabelsMagic);
    QCOMPARE(a.dims, std::vector<std::size_t>{2});
    QCOMPARE(a.data, (std::vector<std::uint8_t>{3, 7}));
    return;
  }
  QVERIFY2(error.startsWith(QString::fromStdString(path) + ": "), qPrintable(error));
  QVERIFY2(error.contains(message), qPrintable(error));

  // The dataset built on such a file reports the same, and does not crash.
  std::vector<std::uint8_t> images(2 * 28 * 28, 0);
  const std::string imageHeader = be32(kIdxImagesMagic) + be32(2) + be32(28) + be32(28);
  for (const char* prefix : {"train", "t10k"}) {
    writeBytes(dir.filePath(QString(prefix) + "-images-idx3-ubyte").toStdString(),
               imageHeader + std::string(images.begin(), images.end()));
    if (std::string(prefix) == "t10k")
      writeBytes(dir.filePath("t10k-labels-idx1-ubyte").toStdString(),
                 be32(kIdxLabelsMagic) + be32(2) + std::string("\x01\x02", 2));
  }
  const QString datasetError = errorOf([&] { MnistDataset(MnistVariant::Digits, dir.path().toStdString()); });
  QVERIFY2(datasetError.contains(message), qPrintable(datasetError));
}

void TestDatasets::idxGzip() {
  QTemporaryDir dir;
  const std::string payload = be32(kIdxLabelsMagic) + be32(4) + std::string("\x01\x02\x03\x04", 4);
  const std::string path = dir.filePath("labels.gz").toStdString();
  gzFile gz = gzopen(path.c_str(), "wb");
  gzwrite(gz, payload.data(), static_cast<unsigned>(payload.size()));
  gzclose(gz);
  QCOMPARE(readIdx(path, kIdxLabelsMagic).data, (std::vector<std::uint8_t>{1, 2, 3, 4}));

  // A gzip cut short: an error naming the file, no crash.
  const std::string whole = readFile(path);
  const std::string cut = dir.filePath("cut.gz").toStdString();
  writeBytes(cut, whole.substr(0, whole.size() - 12));
  const QString error = errorOf([&] { readIdx(cut, kIdxLabelsMagic); });
  QVERIFY2(error.startsWith(QString::fromStdString(cut) + ": "), qPrintable(error));
}

void TestDatasets::npzDSprites_data() {
  QTest::addColumn<bool>("zip64");
  QTest::newRow("zip") << false;
  QTest::newRow("zip64") << true;
}

void TestDatasets::npzDSprites() {
  QFETCH(bool, zip64);
  // Four rows in DeepMind's layout; the images are distinctive so a mix-up shows.
  const std::vector<std::size_t> combos = {0, 5000, 400000, 737279};
  std::string classes, images;
  for (std::size_t c : combos) {
    const auto f = DSpritesDataset::factorsOf(c);
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{f.shape}, std::int64_t{f.scale},
                           std::int64_t{f.orientation}, std::int64_t{f.posX}, std::int64_t{f.posY}})
      putLe(classes, v);
    for (std::uint8_t p : DSpritesDataset::render(f)) images += static_cast<char>(p ? 1 : 0);
  }
  QTemporaryDir dir;
  const std::string path = dir.filePath("dsprites.npz").toStdString();
  writeBytes(path, zipArchive({{"latents_classes.npy", npy("<i8", {4, 6}, classes), false},
                               {"imgs.npy", npy("|u1", {4, 64, 64}, images), true}},
                              zip64));

  const NpzFile npz(path);
  QCOMPARE(npz.arrayNames(), (std::vector<std::string>{"latents_classes", "imgs"}));

  DSpritesOptions o;
  o.npzPath = path;
  o.labelFactor = DSpritesFactor::Scale;
  const DSpritesDataset d(o);
  QVERIFY(d.fromNpz());
  QCOMPARE(d.size(Split::Train), std::size_t{3});
  QCOMPARE(d.size(Split::Test), std::size_t{1});
  std::set<int> seenShapes;
  for (Split split : {Split::Train, Split::Test})
    for (std::size_t i = 0; i < d.size(split); ++i) {
      const Item item = d.item(split, i);
      DSpritesDataset::Factors f;
      f.shape = int(item.factors.at("shape"));
      f.scale = int(std::lround((item.factors.at("scale") - 0.5) / 0.1));
      f.orientation = int(std::lround(item.factors.at("orientation") / (2 * kPi) * 39));
      f.posX = int(std::lround(item.factors.at("posX") * 31));
      f.posY = int(std::lround(item.factors.at("posY") * 31));
      QCOMPARE(item.label, f.scale);
      QVERIFY(item.pixels == DSpritesDataset::render(f));
      seenShapes.insert(int(DSpritesDataset::combinationOf(f)));
    }
  QCOMPARE(seenShapes.size(), std::size_t{4});
}

void TestDatasets::npzCorrupt() {
  QTemporaryDir dir;
  const std::string garbage = dir.filePath("garbage.npz").toStdString();
  writeBytes(garbage, std::string(100, 'x'));
  QString error = errorOf([&] { NpzFile{garbage}; });
  QVERIFY2(error.startsWith(QString::fromStdString(garbage)) && error.contains("not a zip"), qPrintable(error));

  // Deflated data cut in half inside an otherwise valid archive.
  std::string images(2 * 64 * 64, '\0');
  for (std::size_t i = 0; i < images.size(); i += 3) images[i] = 1;
  std::string archive = zipArchive({{"imgs.npy", npy("|u1", {2, 64, 64}, images), true}}, false);
  const std::string cut = dir.filePath("cut.npz").toStdString();
  writeBytes(cut, archive);
  const NpzFile npz(cut);
  NpyReader reader = npz.open("imgs");
  std::vector<std::uint8_t> buffer(images.size());
  reader.read(buffer.data(), buffer.size());
  QCOMPARE(std::string(buffer.begin(), buffer.end()), images);
  error = errorOf([&] {
    NpyReader again = npz.open("imgs");
    std::vector<std::uint8_t> more(images.size() + 1);
    again.read(more.data(), more.size());
  });
  QVERIFY2(error.contains("truncated"), qPrintable(error));
  error = errorOf([&] { npz.open("latents_classes"); });
  QVERIFY2(error.contains("no array 'latents_classes'"), qPrintable(error));

  // A missing file through the registry says where to get it.
  DatasetOptions o;
  o.path = dir.filePath("absent.npz").toStdString();
  error = errorOf([&] { makeDataset("dsprites-npz", o); });
  QVERIFY2(error.contains("absent.npz") && error.contains("dsprites-dataset"), qPrintable(error));
}

void TestDatasets::imageFolder() {
  QTemporaryDir dir;
  const std::filesystem::path root = dir.path().toStdString();
  std::filesystem::create_directories(root / "cats");
  std::filesystem::create_directories(root / "dogs");
  const auto a = gradient(8, 6, 1), b = gradient(8, 6, 2), c = gradient(8, 6, 3);
  writeImage((root / "cats" / "a.png").string(), a.data(), 8, 6, 3);
  writeImage((root / "cats" / "b.png").string(), b.data(), 8, 6, 3);
  writeImage((root / "dogs" / "c.png").string(), c.data(), 8, 6, 3);
  writeBytes((root / "dogs" / "notes.png").string(), "this is not an image");
  const std::string whole = readFile((root / "cats" / "a.png").string());
  writeBytes((root / "dogs" / "truncated.png").string(), whole.substr(0, 40));

  const ImageFolderDataset d(root.string());
  QCOMPARE(d.classNames(), (std::vector<std::string>{"cats", "dogs"}));
  QCOMPARE(d.size(Split::Train), std::size_t{3});
  QCOMPARE(d.size(Split::Test), std::size_t{0});
  QCOMPARE(classCounts(d, Split::Train), (std::vector<std::size_t>{2, 1}));
  const std::vector<std::string> warnings = d.warnings();
  QCOMPARE(warnings.size(), std::size_t{2});
  QVERIFY(warnings[0].find("notes.png: skipped") != std::string::npos);
  QVERIFY(warnings[1].find("truncated.png: skipped") != std::string::npos);
  QCOMPARE(d.imageShape().height, 8);
  QCOMPARE(d.imageShape().width, 6);
  QCOMPARE(d.imageShape().channels, 3);

  const Item item = d.item(Split::Train, 2);
  QCOMPARE(item.label, 1);
  QCOMPARE(item.channels, 3);
  QVERIFY(item.pixels == c);  // PNG is lossless and RGB order survives the round trip

  // The quick header check lets the truncated file through; reading it then fails
  // with its name instead of crashing.
  const ImageFolderDataset quick(root.string(), ImageCheck::Header);
  QCOMPARE(quick.size(Split::Train), std::size_t{4});
  QCOMPARE(quick.warnings().size(), std::size_t{1});
  std::size_t truncatedIndex = 0;
  for (std::size_t i = 0; i < quick.size(Split::Train); ++i)
    if (quick.path(Split::Train, i).find("truncated.png") != std::string::npos) truncatedIndex = i;
  const QString error = errorOf([&] { quick.item(Split::Train, truncatedIndex); });
  QVERIFY2(error.contains("truncated.png"), qPrintable(error));

  QVERIFY(!errorOf([&] { ImageFolderDataset((root / "absent").string()); }).isEmpty());
  QVERIFY(!errorOf([&] { d.item(Split::Train, 3); }).isEmpty());
}

void TestDatasets::imageFolderSplit() {
  QTemporaryDir dir;
  const std::filesystem::path root = dir.path().toStdString();
  const auto px = gradient(4, 4, 0);
  for (const char* part : {"train/x", "train/y", "test/y"}) {
    std::filesystem::create_directories(root / part);
    writeImage((root / part / "0.png").string(), px.data(), 4, 4, 3);
  }
  const ImageFolderDataset d(root.string());
  QCOMPARE(d.classNames(), (std::vector<std::string>{"x", "y"}));
  QCOMPARE(d.size(Split::Train), std::size_t{2});
  QCOMPARE(d.size(Split::Test), std::size_t{1});
  QCOMPARE(d.label(Split::Test, 0), 1);
}

void TestDatasets::imageFiles() {
  QTemporaryDir dir;
  const auto px = gradient(5, 7, 4);
  const std::string good = dir.filePath("good.png").toStdString();
  writeImage(good, px.data(), 5, 7, 3);
  const std::string missing = dir.filePath("missing.png").toStdString();
  const ImageFilesDataset d({good, missing});
  QCOMPARE(d.size(Split::Train), std::size_t{1});
  QCOMPARE(d.warnings().size(), std::size_t{1});
  QVERIFY(d.warnings()[0].find("missing.png") != std::string::npos);
  const Item item = d.item(Split::Train, 0);
  QCOMPARE(item.label, kNoLabel);
  QCOMPARE(item.width, 7);
  QVERIFY(item.pixels == px);
  QCOMPARE(makeDataset(good)->size(Split::Train), std::size_t{1});
}

void TestDatasets::batch() {
  const InductionDataset d;
  Preprocess pre;
  pre.height = pre.width = 32;
  pre.channels = 1;
  pre.interpolation = Interpolation::Nearest;
  pre.mean = {0.0f};
  pre.std = {1.0f};
  const Batch b = makeBatch(d, Split::Train, {0, 1, 2}, pre);
  QCOMPARE(b.count, 3);
  QCOMPARE(b.inputs.size(), std::size_t{3 * 32 * 32});
  for (int n = 0; n < 3; ++n) {
    const Item item = d.item(Split::Train, n);
    QCOMPARE(b.labels[n], std::int64_t{item.label});
    for (std::size_t p = 0; p < item.pixels.size(); ++p)
      QCOMPARE(b.inputs[n * 32 * 32 + p], item.pixels[p] ? 1.0f : 0.0f);  // the original's 0/1
  }
}

void TestDatasets::registry() {
  for (const auto& info : builtinDatasets()) QVERIFY(!info.description.empty());
  QString error = errorOf([] { makeDataset("no-such-dataset"); });
  QVERIFY2(error.contains("unknown dataset 'no-such-dataset'") && error.contains("induction"), qPrintable(error));
  DatasetOptions o;
  o.labelFactor = "colour";
  error = errorOf([&] { makeDataset("dsprites", o); });
  QVERIFY2(error.contains("colour"), qPrintable(error));
  const auto d = makeDataset("circle");
  QVERIFY(!errorOf([&] { d->item(Split::Test, 885); }).isEmpty());
  QVERIFY(splitFromString("test") == Split::Test);
}

QTEST_GUILESS_MAIN(TestDatasets)
#include "tst_datasets.moc"
