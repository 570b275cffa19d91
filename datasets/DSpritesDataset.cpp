// Procedural dSprites and the reader of DeepMind's npz. Procedural sprites are rendered
// per item from the grid index, so the whole 737,280-image grid costs 3 MB of indices.

#include "datasets/DSpritesDataset.h"

#include "datasets/Npz.h"
#include "datasets/Splits.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace prisma::datasets {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kFactorCount = 5;
// DeepMind's latents_classes has a constant colour column before the five factors.
constexpr std::size_t kNpzLatentColumns = 6;
constexpr std::size_t kNpzFirstFactorColumn = 1;
constexpr std::uint32_t kNotKept = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kBitsPerByte = 8;

// Ellipse: semi-axes 1 and this, in units of the half extent.
constexpr double kEllipseMinorAxis = 0.5;
// Heart: the curve (x² + y² − 1)³ = x²y³ spans x ∈ [−1.139, 1.139], y ∈ [−1, 1.236];
// these map it onto the unit square, lobes up.
constexpr double kHeartHalfWidth = 1.139;
constexpr double kHeartHalfHeight = (1.236 + 1.0) / 2.0;
constexpr double kHeartMidY = (1.236 - 1.0) / 2.0;
// Pixels are sampled at their centres.
constexpr double kPixelCentre = 0.5;

const std::array<const char*, DSpritesDataset::kShapeCount> kShapeNames = {"square", "ellipse", "heart"};

bool inside(int shape, double u, double v) {
  switch (shape) {
    case 0: return std::abs(u) <= 1.0 && std::abs(v) <= 1.0;
    case 1: return u * u + (v / kEllipseMinorAxis) * (v / kEllipseMinorAxis) <= 1.0;
    default: {
      const double x = u * kHeartHalfWidth;
      const double y = kHeartMidY - v * kHeartHalfHeight;
      const double r = x * x + y * y - 1.0;
      return r * r * r - x * x * y * y * y <= 0.0;
    }
  }
}

std::string formatValue(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

int factorCount(DSpritesFactor factor) {
  switch (factor) {
    case DSpritesFactor::Shape: return DSpritesDataset::kShapeCount;
    case DSpritesFactor::Scale: return DSpritesDataset::kScaleCount;
    case DSpritesFactor::Orientation: return DSpritesDataset::kOrientationCount;
    case DSpritesFactor::PosX:
    case DSpritesFactor::PosY: return DSpritesDataset::kPositionCount;
  }
  return DSpritesDataset::kShapeCount;
}

}  // namespace

std::string toString(DSpritesFactor factor) {
  switch (factor) {
    case DSpritesFactor::Shape: return "shape";
    case DSpritesFactor::Scale: return "scale";
    case DSpritesFactor::Orientation: return "orientation";
    case DSpritesFactor::PosX: return "posX";
    case DSpritesFactor::PosY: return "posY";
  }
  return "shape";
}

DSpritesFactor dspritesFactorFromString(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (auto f : {DSpritesFactor::Shape, DSpritesFactor::Scale, DSpritesFactor::Orientation,
                 DSpritesFactor::PosX, DSpritesFactor::PosY}) {
    std::string candidate = toString(f);
    std::transform(candidate.begin(), candidate.end(), candidate.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (candidate == lower) return f;
  }
  throw std::invalid_argument("unknown dSprites factor '" + name +
                              "' (expected shape, scale, orientation, posX or posY)");
}

DSpritesDataset::Factors DSpritesDataset::factorsOf(std::size_t combination) {
  if (combination >= kCombinationCount)
    throw std::out_of_range("dSprites combination " + std::to_string(combination) + " out of range");
  Factors f;
  f.posY = static_cast<int>(combination % kPositionCount);
  combination /= kPositionCount;
  f.posX = static_cast<int>(combination % kPositionCount);
  combination /= kPositionCount;
  f.orientation = static_cast<int>(combination % kOrientationCount);
  combination /= kOrientationCount;
  f.scale = static_cast<int>(combination % kScaleCount);
  f.shape = static_cast<int>(combination / kScaleCount);
  return f;
}

std::size_t DSpritesDataset::combinationOf(const Factors& f) {
  return (((static_cast<std::size_t>(f.shape) * kScaleCount + f.scale) * kOrientationCount +
           f.orientation) * kPositionCount + f.posX) * kPositionCount + f.posY;
}

double DSpritesDataset::scaleValue(int scale) {
  return kMinScale + (kMaxScale - kMinScale) * scale / (kScaleCount - 1);
}

double DSpritesDataset::orientationValue(int orientation) {
  return 2.0 * kPi * orientation / (kOrientationCount - 1);
}

double DSpritesDataset::positionValue(int position) {
  return static_cast<double>(position) / (kPositionCount - 1);
}

std::vector<std::uint8_t> DSpritesDataset::render(const Factors& f) {
  const double cx = kMinCentre + positionValue(f.posX) * (kMaxCentre - kMinCentre);
  const double cy = kMinCentre + positionValue(f.posY) * (kMaxCentre - kMinCentre);
  const double halfExtent = kMaxHalfExtent * scaleValue(f.scale);
  const double angle = orientationValue(f.orientation);
  const double c = std::cos(angle) / halfExtent;
  const double s = std::sin(angle) / halfExtent;

  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(kImageSize) * kImageSize, 0);
  for (int row = 0; row < kImageSize; ++row) {
    const double y = row + kPixelCentre - cy;
    for (int col = 0; col < kImageSize; ++col) {
      const double x = col + kPixelCentre - cx;
      // Undo a counter-clockwise turn (as seen, rows growing downwards).
      const double u = x * c - y * s;
      const double v = x * s + y * c;
      if (inside(f.shape, u, v)) pixels[static_cast<std::size_t>(row) * kImageSize + col] = kInk;
    }
  }
  return pixels;
}

DSpritesDataset::DSpritesDataset(const DSpritesOptions& options) : options_(options) {
  std::size_t rows = kCombinationCount;
  if (fromNpz()) {
    NpzFile npz(options_.npzPath);
    NpyReader latents = npz.open("latents_classes");
    const NpyHeader& h = latents.header();
    if (h.shape.size() != 2 || h.shape[1] != kNpzLatentColumns)
      throw std::runtime_error(options_.npzPath + ": latents_classes has the wrong shape (expected N×6)");
    rows = h.shape[0];
    if (rows > kNotKept) throw std::runtime_error(options_.npzPath + ": too many rows");
    const std::vector<std::int64_t> classes = latents.readIntegers(rows * kNpzLatentColumns);
    const std::array<int, kFactorCount> limits = {kShapeCount, kScaleCount, kOrientationCount,
                                                  kPositionCount, kPositionCount};
    rowFactors_.resize(rows);
    for (std::size_t r = 0; r < rows; ++r)
      for (int k = 0; k < kFactorCount; ++k) {
        const std::int64_t value = classes[r * kNpzLatentColumns + kNpzFirstFactorColumn + k];
        if (value < 0 || value >= limits[k])
          throw std::runtime_error(options_.npzPath + ": latents_classes row " + std::to_string(r) +
                                   " has " + toString(static_cast<DSpritesFactor>(k)) + " " +
                                   std::to_string(value) + " outside [0, " +
                                   std::to_string(limits[k]) + ")");
        rowFactors_[r][k] = static_cast<std::uint8_t>(value);
      }
  }

  std::size_t kept = rows;
  if (options_.subsample != 0) {
    if (options_.subsample > rows)
      throw std::invalid_argument("dsprites: subsample " + std::to_string(options_.subsample) +
                                  " exceeds the " + std::to_string(rows) + " items available");
    kept = options_.subsample;
  }
  std::vector<std::uint32_t> order(rows);
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  Rng rng(options_.seed);
  rng.shuffle(order);
  const std::size_t nTest = testCount(kept, options_.testFraction);
  train_.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kept - nTest));
  test_.assign(order.begin() + static_cast<std::ptrdiff_t>(kept - nTest),
               order.begin() + static_cast<std::ptrdiff_t>(kept));

  if (fromNpz()) loadNpz();
}

void DSpritesDataset::loadNpz() {
  const std::size_t rows = rowFactors_.size();
  slotOfRow_.assign(rows, kNotKept);
  std::uint32_t slots = 0;
  for (const auto* split : {&train_, &test_})
    for (std::uint32_t row : *split) slotOfRow_[row] = slots++;

  NpzFile npz(options_.npzPath);
  NpyReader images = npz.open("imgs");
  const NpyHeader& h = images.header();
  if (h.shape.size() != 3 || h.shape[0] != rows || h.shape[1] != kImageSize ||
      h.shape[2] != kImageSize || h.itemSize != 1)
    throw std::runtime_error(options_.npzPath + ": imgs must be " + std::to_string(rows) +
                             "×64×64 bytes, one per row of latents_classes");

  // One image at a time: the whole array is 3 GB, the kept images one bit per pixel.
  packedImages_.assign(static_cast<std::size_t>(slots) * kPackedImageBytes, 0);
  std::vector<std::uint8_t> image(static_cast<std::size_t>(kImageSize) * kImageSize);
  for (std::size_t r = 0; r < rows; ++r) {
    images.read(image.data(), image.size());
    if (slotOfRow_[r] == kNotKept) continue;
    std::uint8_t* packed = &packedImages_[static_cast<std::size_t>(slotOfRow_[r]) * kPackedImageBytes];
    for (std::size_t p = 0; p < image.size(); ++p)
      if (image[p] != 0) packed[p / kBitsPerByte] |= static_cast<std::uint8_t>(1u << (p % kBitsPerByte));
  }
}

std::size_t DSpritesDataset::size(Split split) const {
  return split == Split::Train ? train_.size() : test_.size();
}

std::vector<std::string> DSpritesDataset::classNames() const {
  std::vector<std::string> names;
  const int n = factorCount(options_.labelFactor);
  for (int k = 0; k < n; ++k) {
    switch (options_.labelFactor) {
      case DSpritesFactor::Shape: names.emplace_back(kShapeNames[k]); break;
      case DSpritesFactor::Scale: names.push_back(formatValue(scaleValue(k))); break;
      case DSpritesFactor::Orientation: names.push_back(formatValue(orientationValue(k))); break;
      case DSpritesFactor::PosX:
      case DSpritesFactor::PosY: names.push_back(formatValue(positionValue(k))); break;
    }
  }
  return names;
}

std::vector<std::string> DSpritesDataset::factorNames() const {
  return {"shape", "scale", "orientation", "posX", "posY"};
}

std::uint32_t DSpritesDataset::rowAt(Split split, std::size_t index) const {
  checkIndex(*this, split, index);
  return split == Split::Train ? train_[index] : test_[index];
}

DSpritesDataset::Factors DSpritesDataset::factorsAt(std::uint32_t row) const {
  if (!fromNpz()) return factorsOf(row);
  const PackedFactors& p = rowFactors_[row];
  return {p[0], p[1], p[2], p[3], p[4]};
}

int DSpritesDataset::labelOf(const Factors& f) const {
  switch (options_.labelFactor) {
    case DSpritesFactor::Shape: return f.shape;
    case DSpritesFactor::Scale: return f.scale;
    case DSpritesFactor::Orientation: return f.orientation;
    case DSpritesFactor::PosX: return f.posX;
    case DSpritesFactor::PosY: return f.posY;
  }
  return f.shape;
}

int DSpritesDataset::label(Split split, std::size_t index) const {
  return labelOf(factorsAt(rowAt(split, index)));
}

Item DSpritesDataset::item(Split split, std::size_t index) const {
  const std::uint32_t row = rowAt(split, index);
  const Factors f = factorsAt(row);
  Item out;
  out.height = out.width = kImageSize;
  out.channels = 1;
  if (fromNpz()) {
    out.pixels.assign(static_cast<std::size_t>(kImageSize) * kImageSize, 0);
    const std::uint8_t* packed = &packedImages_[static_cast<std::size_t>(slotOfRow_[row]) * kPackedImageBytes];
    for (std::size_t p = 0; p < out.pixels.size(); ++p)
      if (packed[p / kBitsPerByte] & (1u << (p % kBitsPerByte))) out.pixels[p] = kInk;
  } else {
    out.pixels = render(f);
  }
  out.label = labelOf(f);
  // Shape as its class index; the others as DeepMind's latent values.
  out.factors = {{"shape", f.shape},
                 {"scale", scaleValue(f.scale)},
                 {"orientation", orientationValue(f.orientation)},
                 {"posX", positionValue(f.posX)},
                 {"posY", positionValue(f.posY)}};
  return out;
}

}  // namespace prisma::datasets
