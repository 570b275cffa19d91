// Model input preprocessing. Resizing follows Pillow's resampler (Resample.c), because
// the reference preprocessors (Hugging Face's image processors, timm/torchvision on PIL
// images) resize with PIL: a separable filter -- horizontal pass, then vertical -- whose
// window widens with the downscale factor, so shrinking is antialiased; each output is a
// normalised weighted sum, clipped to the input's range after each pass as PIL clips to
// 8 bits. OpenCV's INTER_LINEAR / INTER_AREA differ from it by far more than the 0.02
// mean absolute difference the fixtures allow.

#include "datasets/Preprocess.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace prisma::datasets {

namespace {

struct ResampleFilter {
  double support;  // half-width of the kernel at scale 1
  double (*kernel)(double);
};

double triangle(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic with a = -0.5, Pillow's BICUBIC.
double keysCubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

constexpr ResampleFilter kBilinear = {1.0, triangle};
constexpr ResampleFilter kBicubic = {2.0, keysCubic};

// For each output index: the first input index and the normalised weights of its window
// (Pillow's precompute_coeffs).
struct Coefficients {
  std::vector<int> first;
  std::vector<std::vector<float>> weights;
};

Coefficients coefficients(int in_size, int out_size, const ResampleFilter& f) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = f.support * filter_scale;
  Coefficients c;
  c.first.resize(out_size);
  c.weights.resize(out_size);
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    // Truncation toward zero, as Pillow's (int) casts.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    std::vector<float> w;
    double total = 0.0;
    for (int i = lo; i < hi; ++i) {
      const double v = f.kernel((i - center + 0.5) / filter_scale);
      w.push_back(static_cast<float>(v));
      total += v;
    }
    if (total != 0.0)
      for (auto& v : w) v = static_cast<float>(v / total);
    c.first[o] = lo;
    c.weights[o] = std::move(w);
  }
  return c;
}

// One separable pass along rows (horizontal) or columns of a float image; values are
// clipped to [0, 1] afterwards, where PIL clips to 8 bits.
cv::Mat resamplePass(const cv::Mat& src, int out_size, bool horizontal, const ResampleFilter& f) {
  const int channels = src.channels();
  const Coefficients c = coefficients(horizontal ? src.cols : src.rows, out_size, f);
  cv::Mat dst(horizontal ? src.rows : out_size, horizontal ? out_size : src.cols, src.type());
  for (int y = 0; y < dst.rows; ++y) {
    float* out = dst.ptr<float>(y);
    for (int x = 0; x < dst.cols; ++x) {
      const int o = horizontal ? x : y;
      const auto& w = c.weights[o];
      for (int ch = 0; ch < channels; ++ch) {
        double sum = 0.0;
        for (size_t k = 0; k < w.size(); ++k) {
          const int i = c.first[o] + static_cast<int>(k);
          const float v = horizontal ? src.ptr<float>(y)[i * channels + ch] : src.ptr<float>(i)[x * channels + ch];
          sum += w[k] * v;
        }
        out[x * channels + ch] = static_cast<float>(std::clamp(sum, 0.0, 1.0));
      }
    }
  }
  return dst;
}

// PIL's NEAREST: the input pixel under each output pixel's centre.
cv::Mat nearest(const cv::Mat& src, int height, int width) {
  cv::Mat dst(height, width, src.type());
  const int channels = src.channels();
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(static_cast<int>((y + 0.5) * src.rows / height), src.rows - 1);
    for (int x = 0; x < width; ++x) {
      const int sx = std::min(static_cast<int>((x + 0.5) * src.cols / width), src.cols - 1);
      for (int ch = 0; ch < channels; ++ch) dst.ptr<float>(y)[x * channels + ch] = src.ptr<float>(sy)[sx * channels + ch];
    }
  }
  return dst;
}

cv::Mat pilResize(const cv::Mat& src, int height, int width, Interpolation interpolation) {
  if (interpolation == Interpolation::Nearest) return nearest(src, height, width);
  const ResampleFilter& f = interpolation == Interpolation::Bicubic ? kBicubic : kBilinear;
  cv::Mat out = src;
  if (out.cols != width) out = resamplePass(out, width, /*horizontal=*/true, f);
  if (out.rows != height) out = resamplePass(out, height, /*horizontal=*/false, f);
  return out;
}

}  // namespace

std::string inputSizeProblem(int height, int width) {
  if (height >= 1 && width >= 1 && height <= kMaxInputSide && width <= kMaxInputSide) return "";
  return std::to_string(height) + "x" + std::to_string(width) + " is not a model input size (each side 1.." +
         std::to_string(kMaxInputSide) + ")";
}

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
  if (const std::string problem = inputSizeProblem(pre.height, pre.width); !problem.empty())
    throw std::invalid_argument("toModelInput: " + problem);

  cv::Mat src;
  if (image.channels() == pre.channels) src = image;
  else if (pre.channels == 1) cv::cvtColor(image, src, cv::COLOR_RGB2GRAY);
  else cv::cvtColor(image, src, cv::COLOR_GRAY2RGB);

  cv::Mat resized = src;
  if (src.rows != pre.height || src.cols != pre.width) {
    cv::Mat f32 = src;
    if (src.depth() != CV_32F) src.convertTo(f32, CV_32F);
    resized = pilResize(f32, pre.height, pre.width, pre.interpolation);
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
