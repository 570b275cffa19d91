#pragma once
// A model's input preprocessing (what Hugging Face calls an image processor): resize,
// rescale, normalise, channel count. Each loaded model carries one of these.

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace prisma::datasets {

enum class Interpolation { Nearest, Bilinear, Bicubic };

struct Preprocess {
  int height = 224;
  int width = 224;
  int channels = 3;
  Interpolation interpolation = Interpolation::Bilinear;
  // Per-channel normalisation applied to pixels in [0, 1]: (x - mean) / std.
  std::vector<float> mean = {0.5f, 0.5f, 0.5f};
  std::vector<float> std = {0.5f, 0.5f, 0.5f};
};

// The largest side preprocessing resizes to. Real ViTs take 224-518 pixels; a config
// asking for 30,000 would make every image a 10 GB float tensor.
inline constexpr int kMaxInputSide = 4096;

// Why height x width is not a size preprocessing produces, or "" when it is one (each side
// 1..kMaxInputSide). Config readers call it where they read a size and throw their own
// error naming the file and the field.
std::string inputSizeProblem(int height, int width);

std::string toString(Interpolation interpolation);
Interpolation interpolationFromString(const std::string& name);  // throws on unknown names

// Turns a canonical image (see ImageIO.h) into the model's input, channel-major
// [C, H, W] float32. Grey images are repeated for RGB models and RGB images are
// converted to luma for grey models.
std::vector<float> toModelInput(const cv::Mat& image, const Preprocess& pre);

}  // namespace prisma::datasets
