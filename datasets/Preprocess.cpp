#include "datasets/Preprocess.h"

#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace prisma::datasets {

std::string toString(Interpolation interpolation) {
  switch (interpolation) {
    case Interpolation::Nearest: return "nearest";
    case Interpolation::Bilinear: return "bilinear";
    case Interpolation::Bicubic: return "bicubic";
  }
  return "bilinear";
}

Interpolation interpolationFromString(const std::string& name) {
  if (name == "nearest") return Interpolation::Nearest;
  if (name == "bilinear" || name == "linear") return Interpolation::Bilinear;
  if (name == "bicubic" || name == "cubic") return Interpolation::Bicubic;
  throw std::invalid_argument("unknown interpolation '" + name +
                              "' (expected nearest, bilinear or bicubic)");
}

std::vector<float> toModelInput(const cv::Mat& image, const Preprocess& pre) {
  if (image.empty()) throw std::invalid_argument("toModelInput: empty image");
  if (pre.channels != 1 && pre.channels != 3)
    throw std::invalid_argument("toModelInput: channels must be 1 or 3");
  if (static_cast<int>(pre.mean.size()) != pre.channels ||
      static_cast<int>(pre.std.size()) != pre.channels)
    throw std::invalid_argument("toModelInput: mean/std need one value per channel");

  cv::Mat src;
  if (image.channels() == pre.channels) src = image;
  else if (pre.channels == 1) cv::cvtColor(image, src, cv::COLOR_RGB2GRAY);
  else cv::cvtColor(image, src, cv::COLOR_GRAY2RGB);

  cv::Mat resized = src;
  if (src.rows != pre.height || src.cols != pre.width) {
    const bool shrinking = src.rows > pre.height || src.cols > pre.width;
    int flag = cv::INTER_LINEAR;
    switch (pre.interpolation) {
      case Interpolation::Nearest: flag = cv::INTER_NEAREST; break;
      // Shrinking with a plain bilinear kernel aliases; area averaging is what an
      // antialiased resize (PIL) approximates.
      case Interpolation::Bilinear: flag = shrinking ? cv::INTER_AREA : cv::INTER_LINEAR; break;
      case Interpolation::Bicubic: flag = shrinking ? cv::INTER_AREA : cv::INTER_CUBIC; break;
    }
    cv::resize(src, resized, cv::Size(pre.width, pre.height), 0, 0, flag);
  }

  std::vector<float> out(static_cast<size_t>(pre.channels) * pre.height * pre.width);
  const size_t plane = static_cast<size_t>(pre.height) * pre.width;
  for (int y = 0; y < pre.height; ++y) {
    const float* row = resized.ptr<float>(y);
    for (int x = 0; x < pre.width; ++x)
      for (int c = 0; c < pre.channels; ++c)
        out[c * plane + static_cast<size_t>(y) * pre.width + x] =
            (row[x * pre.channels + c] - pre.mean[c]) / pre.std[c];
  }
  return out;
}

}  // namespace prisma::datasets
