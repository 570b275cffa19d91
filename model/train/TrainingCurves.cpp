// A deliberately small plotter: two panels, linear axes, ticks at "nice" values, a legend.

#include "model/train/TrainingCurves.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace prisma::train {
namespace {

constexpr int kWidth = 1200, kHeight = 480;
constexpr int kTitleHeight = 36;
constexpr int kMarginLeft = 70, kMarginRight = 20, kMarginTop = 30, kMarginBottom = 50;
constexpr int kTicks = 5;
constexpr double kFontScale = 0.45;
constexpr int kLegendRow = 18;
const cv::Scalar kBackground(255, 255, 255), kAxis(60, 60, 60), kGrid(225, 225, 225), kText(30, 30, 30);

struct Series {
  const char* label;
  double (*value)(const LogRow&);
  cv::Scalar colour;  // BGR
  int thickness;
};

// 1, 2 or 5 times a power of ten, so tick labels read well.
double niceStep(double span) {
  if (!(span > 0)) return 1.0;
  const double raw = span / kTicks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * p) return m * p;
  return 10.0 * p;
}

std::string label(double v) {
  char buf[32];
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) std::snprintf(buf, sizeof buf, "%.0e", v);
  else std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void drawPanel(cv::Mat& img, const cv::Rect& area, const std::vector<LogRow>& rows, const std::vector<Series>& series,
               const std::string& title, bool unitRange) {
  double x0 = 0, x1 = 1, y0 = unitRange ? 0.0 : INFINITY, y1 = unitRange ? 1.0 : -INFINITY;
  if (!rows.empty()) {
    x0 = double(rows.front().step);
    x1 = double(rows.back().step);
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (!unitRange) {
    for (const auto& r : rows)
      for (const auto& s : series) {
        const double v = s.value(r);
        if (std::isfinite(v)) {
          y0 = std::min(y0, v);
          y1 = std::max(y1, v);
        }
      }
    if (!std::isfinite(y0)) y0 = 0, y1 = 1;
    y0 = std::min(0.0, y0);
    if (y1 <= y0) y1 = y0 + 1;
  }
  const cv::Rect plot(area.x + kMarginLeft, area.y + kMarginTop, area.width - kMarginLeft - kMarginRight,
                      area.height - kMarginTop - kMarginBottom);
  auto px = [&](double x) { return plot.x + int(std::lround((x - x0) / (x1 - x0) * plot.width)); };
  auto py = [&](double y) { return plot.y + plot.height - int(std::lround((y - y0) / (y1 - y0) * plot.height)); };

  const double ys = niceStep(y1 - y0), xs = niceStep(x1 - x0);
  for (double y = std::ceil(y0 / ys) * ys; y <= y1 + 1e-12; y += ys) {
    cv::line(img, {plot.x, py(y)}, {plot.x + plot.width, py(y)}, kGrid, 1);
    cv::putText(img, label(y), {area.x + 8, py(y) + 4}, cv::FONT_HERSHEY_SIMPLEX, kFontScale, kText, 1, cv::LINE_AA);
  }
  for (double x = std::ceil(x0 / xs) * xs; x <= x1 + 1e-9; x += xs) {
    cv::line(img, {px(x), plot.y}, {px(x), plot.y + plot.height}, kGrid, 1);
    const std::string t = label(x);
    cv::putText(img, t, {px(x) - 4 * int(t.size()), plot.y + plot.height + 18}, cv::FONT_HERSHEY_SIMPLEX, kFontScale,
                kText, 1, cv::LINE_AA);
  }
  cv::rectangle(img, plot, kAxis, 1);
  cv::putText(img, title, {plot.x, area.y + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.55, kText, 1, cv::LINE_AA);
  cv::putText(img, "step", {plot.x + plot.width / 2 - 15, plot.y + plot.height + 38}, cv::FONT_HERSHEY_SIMPLEX,
              kFontScale, kText, 1, cv::LINE_AA);

  int legendY = plot.y + 16;
  for (const auto& s : series) {
    std::vector<cv::Point> pts;
    for (const auto& r : rows) {
      const double v = s.value(r);
      if (std::isfinite(v)) pts.emplace_back(px(double(r.step)), py(v));
    }
    if (pts.size() > 1) cv::polylines(img, pts, false, s.colour, s.thickness, cv::LINE_AA);
    for (const auto& p : pts) cv::circle(img, p, 2, s.colour, cv::FILLED, cv::LINE_AA);
    if (pts.empty()) continue;
    const int lx = plot.x + plot.width - 150;
    cv::line(img, {lx, legendY - 4}, {lx + 24, legendY - 4}, s.colour, 2, cv::LINE_AA);
    cv::putText(img, s.label, {lx + 30, legendY}, cv::FONT_HERSHEY_SIMPLEX, kFontScale, kText, 1, cv::LINE_AA);
    legendY += kLegendRow;
  }
}

}  // namespace

std::string renderTrainingCurvesPng(const std::vector<LogRow>& rows, const std::string& title) {
  cv::Mat img(kHeight, kWidth, CV_8UC3, kBackground);
  cv::putText(img, title, {12, 24}, cv::FONT_HERSHEY_SIMPLEX, 0.6, kText, 1, cv::LINE_AA);
  const int half = kWidth / 2;
  // A classifier run's metrics.csv columns (ClassifierObjective).
  const std::vector<Series> loss = {
      {"train batches", [](const LogRow& r) { return r.batch_loss; }, cv::Scalar(200, 200, 200), 1},
      {"train", [](const LogRow& r) { return r.scalar("train_loss"); }, cv::Scalar(180, 119, 31), 2},
      {"test", [](const LogRow& r) { return r.scalar("test_loss"); }, cv::Scalar(14, 127, 255), 2}};
  const std::vector<Series> acc = {
      {"train", [](const LogRow& r) { return r.scalar("train_acc"); }, cv::Scalar(180, 119, 31), 2},
      {"test", [](const LogRow& r) { return r.scalar("test_acc"); }, cv::Scalar(14, 127, 255), 2},
      {"test top-5", [](const LogRow& r) { return r.scalar("test_top5"); }, cv::Scalar(44, 160, 44), 1}};
  drawPanel(img, cv::Rect(0, kTitleHeight, half, kHeight - kTitleHeight), rows, loss, "cross-entropy loss", false);
  drawPanel(img, cv::Rect(half, kTitleHeight, half, kHeight - kTitleHeight), rows, acc, "accuracy", true);
  std::vector<uchar> png;
  if (!cv::imencode(".png", img, png)) throw Error("curves", "", "PNG encoding failed");
  return std::string(png.begin(), png.end());
}

void writeTrainingCurves(const std::string& path, const std::vector<LogRow>& rows, const std::string& title) {
  io::writeTextAtomically(path, renderTrainingCurvesPng(rows, title));
}

}  // namespace prisma::train
