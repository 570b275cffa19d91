#pragma once
// dSprites: 64×64 binary sprites over the full grid of 3 shapes × 6 scales ×
// 40 orientations × 32 × 32 positions (737,280 combinations). Generated procedurally on
// demand, or read from DeepMind's dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz when a
// user has it. Any factor can be the label; a seed fixes the subsample and the split.

#include "datasets/Dataset.h"
#include "datasets/Random.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace prisma::datasets {

enum class DSpritesFactor { Shape, Scale, Orientation, PosX, PosY };

std::string toString(DSpritesFactor factor);  // "shape", "scale", "orientation", "posX", "posY"
// Accepts those names in any letter case; throws std::invalid_argument otherwise.
DSpritesFactor dspritesFactorFromString(const std::string& name);

struct DSpritesOptions {
  DSpritesFactor labelFactor = DSpritesFactor::Shape;  // the original task
  std::size_t subsample = 0;                           // items to keep; 0 keeps all
  double testFraction = 0.25;                          // the original's train_test_split
  std::uint64_t seed = kDefaultSeed;
  std::string npzPath;  // DeepMind's file; empty generates the sprites
};

class DSpritesDataset : public Dataset {
public:
  static constexpr int kImageSize = 64;
  static constexpr int kShapeCount = 3;  // square, ellipse, heart
  static constexpr int kScaleCount = 6;
  static constexpr int kOrientationCount = 40;
  static constexpr int kPositionCount = 32;
  static constexpr std::size_t kCombinationCount = static_cast<std::size_t>(kShapeCount) *
                                                   kScaleCount * kOrientationCount *
                                                   kPositionCount * kPositionCount;
  static constexpr double kMinScale = 0.5;
  static constexpr double kMaxScale = 1.0;
  // Geometry of the procedural sprites, in pixels: a scale-1 square is twice
  // kMaxHalfExtent wide; centres run from kMinCentre (position 0) to kMaxCentre
  // (position 1), far enough from the border that a scale-1 square at 45° still fits.
  static constexpr double kMaxHalfExtent = 9.0;
  static constexpr double kMinCentre = 13.0;
  static constexpr double kMaxCentre = kImageSize - kMinCentre;
  static constexpr std::uint8_t kInk = 255;

  // One grid point as class indices, in DeepMind's latent order.
  struct Factors {
    int shape = 0;
    int scale = 0;
    int orientation = 0;
    int posX = 0;  // column
    int posY = 0;  // row, growing downwards
  };
  // DeepMind's index order: posY fastest, then posX, orientation, scale, shape.
  static Factors factorsOf(std::size_t combination);
  static std::size_t combinationOf(const Factors& factors);
  // Latent values as DeepMind defines them: linspace(0.5, 1, 6), linspace(0, 2π, 40),
  // linspace(0, 1, 32).
  static double scaleValue(int scale);
  static double orientationValue(int orientation);
  static double positionValue(int position);
  // The procedural sprite: 64×64, 0 or kInk.
  static std::vector<std::uint8_t> render(const Factors& factors);

  explicit DSpritesDataset(const DSpritesOptions& options = {});

  std::string name() const override { return "dsprites"; }
  std::size_t size(Split split) const override;
  std::vector<std::string> classNames() const override;
  ImageShape imageShape() const override { return {kImageSize, kImageSize, 1}; }
  Item item(Split split, std::size_t index) const override;
  int label(Split split, std::size_t index) const override;
  std::vector<std::string> factorNames() const override;

  DSpritesFactor labelFactor() const { return options_.labelFactor; }
  bool fromNpz() const { return !options_.npzPath.empty(); }

private:
  static constexpr std::size_t kPackedImageBytes = kImageSize * kImageSize / 8;
  using PackedFactors = std::array<std::uint8_t, 5>;

  void loadNpz();
  Factors factorsAt(std::uint32_t row) const;
  std::uint32_t rowAt(Split split, std::size_t index) const;
  int labelOf(const Factors& factors) const;

  DSpritesOptions options_;
  std::vector<std::uint32_t> train_;  // grid combinations, or rows of the npz
  std::vector<std::uint32_t> test_;
  // npz only: every row's factors, and the kept rows' images one bit per pixel.
  std::vector<PackedFactors> rowFactors_;
  std::vector<std::uint32_t> slotOfRow_;
  std::vector<std::uint8_t> packedImages_;
};

}  // namespace prisma::datasets
