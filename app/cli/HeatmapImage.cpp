#include "app/cli/HeatmapImage.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <vector>

namespace prisma::cli {

namespace {

constexpr int kSingleSize = 384;      // px, the large view
constexpr int kThumbSize = 96;        // px, one head in the grid
constexpr int kMargin = 8;
constexpr int kTitleHeight = 28;
constexpr int kLabelWidth = 34;       // row labels of the grid
constexpr int kBarWidth = 18;
constexpr int kBarTextWidth = 80;
constexpr double kHeatOpacity = 0.6;  // the image stays readable under the colours
constexpr double kFontScale = 0.45;
const cv::Scalar kBackground(255, 255, 255);
const cv::Scalar kInk(30, 30, 30);
constexpr int kColourMap = cv::COLORMAP_INFERNO;

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

void text(cv::Mat& canvas, const std::string& s, cv::Point at) {
  cv::putText(canvas, s, at, cv::FONT_HERSHEY_SIMPLEX, kFontScale, kInk, 1, cv::LINE_AA);
}

// A vertical colour bar `height` tall, high values on top, with its range written beside.
cv::Mat colourBar(int height, ColourRange range) {
  cv::Mat bar(height, kBarWidth + kBarTextWidth, CV_8UC3, kBackground);
  cv::Mat ramp(height, 1, CV_8UC1);
  for (int y = 0; y < height; ++y) ramp.at<uchar>(y) = cv::saturate_cast<uchar>(255.0 * (height - 1 - y) / (height - 1));
  cv::Mat coloured;
  cv::applyColorMap(ramp, coloured, kColourMap);
  cv::resize(coloured, coloured, cv::Size(kBarWidth, height), 0, 0, cv::INTER_NEAREST);
  coloured.copyTo(bar(cv::Rect(0, 0, kBarWidth, height)));
  cv::rectangle(bar, cv::Rect(0, 0, kBarWidth, height), kInk, 1);
  text(bar, number(range.hi), {kBarWidth + 4, 12});
  text(bar, number(0.5f * (range.lo + range.hi)), {kBarWidth + 4, height / 2 + 4});
  text(bar, number(range.lo), {kBarWidth + 4, height - 3});
  return bar;
}

cv::Mat toMat(const torch::Tensor& map) {  // [g, g] -> CV_32F
  const torch::Tensor m = map.to(torch::kFloat32).contiguous();
  return cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_32F, m.data_ptr<float>()).clone();
}

}  // namespace

ColourRange rangeOf(const torch::Tensor& values) {
  ColourRange r{values.min().item<float>(), values.max().item<float>()};
  if (!(r.hi > r.lo)) r.hi = r.lo + 1.0f;
  return r;
}

cv::Mat displayImage(const torch::Tensor& pixels, const datasets::Preprocess& pre) {
  const int64_t C = pixels.size(0);
  torch::Tensor x = pixels.to(torch::kFloat32).clone();  // [C, H, W]
  for (int64_t c = 0; c < C; ++c) {
    const float mean = c < int64_t(pre.mean.size()) ? pre.mean[c] : 0.0f;
    const float std = c < int64_t(pre.std.size()) ? pre.std[c] : 1.0f;
    x[c] = x[c] * std + mean;
  }
  x = (x.clamp(0, 1) * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();  // [H, W, C]
  cv::Mat hwc(static_cast<int>(x.size(0)), static_cast<int>(x.size(1)), C == 1 ? CV_8UC1 : CV_8UC3, x.data_ptr());
  cv::Mat bgr;
  if (C == 1) cv::cvtColor(hwc, bgr, cv::COLOR_GRAY2BGR);
  else cv::cvtColor(hwc, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

cv::Mat heatmapOverlay(const cv::Mat& image, const torch::Tensor& map, ColourRange range, int size) {
  cv::Mat base;
  cv::resize(image, base, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
  cv::Mat m = toMat(map);
  m = (m - range.lo) * (255.0 / (range.hi - range.lo));
  cv::Mat m8;
  m.convertTo(m8, CV_8U);  // saturates outside the range
  cv::resize(m8, m8, cv::Size(size, size), 0, 0, cv::INTER_NEAREST);
  cv::Mat heat;
  cv::applyColorMap(m8, heat, kColourMap);
  cv::Mat out;
  cv::addWeighted(base, 1.0 - kHeatOpacity, heat, kHeatOpacity, 0.0, out);
  return out;
}

cv::Mat renderHeatmap(const cv::Mat& image, const torch::Tensor& map, const std::string& title) {
  const ColourRange range = rangeOf(map);
  const int width = kMargin + kSingleSize + kMargin + kBarWidth + kBarTextWidth + kMargin;
  const int height = kTitleHeight + kSingleSize + kMargin;
  cv::Mat canvas(height, width, CV_8UC3, kBackground);
  text(canvas, title, {kMargin, kTitleHeight - 10});
  heatmapOverlay(image, map, range, kSingleSize).copyTo(canvas(cv::Rect(kMargin, kTitleHeight, kSingleSize, kSingleSize)));
  colourBar(kSingleSize, range)
      .copyTo(canvas(cv::Rect(2 * kMargin + kSingleSize, kTitleHeight, kBarWidth + kBarTextWidth, kSingleSize)));
  return canvas;
}

cv::Mat renderHeatmapGrid(const cv::Mat& image, const torch::Tensor& maps, const std::string& title,
                          const std::string& row_label, const std::string& col_label) {
  const int rows = static_cast<int>(maps.size(0)), cols = static_cast<int>(maps.size(1));
  const ColourRange range = rangeOf(maps);
  const int cell = kThumbSize + kMargin / 2;
  const int grid_w = cols * cell, grid_h = rows * cell;
  const int width = kLabelWidth + grid_w + kMargin + kBarWidth + kBarTextWidth + kMargin;
  const int top = 2 * kTitleHeight;  // title, then column labels
  const int height = top + std::max(grid_h, 3 * kTitleHeight) + kMargin;
  cv::Mat canvas(height, width, CV_8UC3, kBackground);
  text(canvas, title, {kMargin, kTitleHeight - 10});
  for (int c = 0; c < cols; ++c) text(canvas, col_label + std::to_string(c), {kLabelWidth + c * cell + kThumbSize / 3, top - 8});
  for (int r = 0; r < rows; ++r) {
    text(canvas, row_label + std::to_string(r), {4, top + r * cell + kThumbSize / 2 + 4});
    for (int c = 0; c < cols; ++c)
      heatmapOverlay(image, maps[r][c], range, kThumbSize)
          .copyTo(canvas(cv::Rect(kLabelWidth + c * cell, top + r * cell, kThumbSize, kThumbSize)));
  }
  const int bar_h = std::max(grid_h - kMargin / 2, 3 * kTitleHeight);
  colourBar(bar_h, range).copyTo(canvas(cv::Rect(kLabelWidth + grid_w + kMargin, top, kBarWidth + kBarTextWidth, bar_h)));
  return canvas;
}

void writePng(const std::string& path, const cv::Mat& image) {
  // Encoded in memory, then written through the atomic writer: imwrite does not report a
  // full disk reliably and would leave a truncated PNG under the final name.
  std::vector<unsigned char> png;
  bool ok = false;
  try {
    ok = cv::imencode(".png", image, png);
  } catch (const cv::Exception& e) {
    throw Error(path, "", std::string("cannot encode the PNG: ") + e.what());
  }
  if (!ok) throw Error(path, "", "cannot encode the PNG");
  io::writeFileAtomically(path, [&](const auto& append) { append(png.data(), png.size()); });
}

}  // namespace prisma::cli
