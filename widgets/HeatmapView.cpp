#include "widgets/HeatmapView.h"

#include <QMouseEvent>
#include <QPainter>

namespace prisma::widgets {

namespace {
constexpr int kMargin = 4;
constexpr int kGridAlpha = 60;
constexpr qreal kOutlineWidth = 2.0;
const QColor kQueryOutline(255, 255, 255);
const QColor kHighlightOutline(255, 64, 64);
}  // namespace

HeatmapView::HeatmapView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setAttribute(Qt::WA_OpaquePaintEvent);
}

void HeatmapView::setImage(const QImage& image) {
  image_ = image;
  update();
}

void HeatmapView::setHeat(const PatchGridValues& heat) {
  heat_ = heat;
  rebuildHeatImage();
  update();
}

void HeatmapView::setRange(double low, double high) {
  low_ = low;
  high_ = high;
  rebuildHeatImage();
  update();
}

void HeatmapView::setColorMap(const ColorMap& map) {
  colorMap_ = map;
  rebuildHeatImage();
  update();
}

void HeatmapView::setOpacity(double opacity) {
  opacity_ = std::clamp(opacity, 0.0, 1.0);
  update();
}

void HeatmapView::setGridVisible(bool visible) {
  gridVisible_ = visible;
  update();
}

void HeatmapView::setQueryPatch(std::optional<QPoint> patch) {
  query_ = patch;
  update();
}

void HeatmapView::setHighlightedPatches(const QVector<QPoint>& patches) {
  highlighted_ = patches;
  update();
}

QColor HeatmapView::heatColor(int row, int col) const {
  return colorMap_.map(heat_.at(row, col), low_, high_);
}

void HeatmapView::rebuildHeatImage() {
  if (heat_.isEmpty()) {
    heatImage_ = QImage();
    return;
  }
  heatImage_ = QImage(heat_.cols, heat_.rows, QImage::Format_ARGB32);
  for (int r = 0; r < heat_.rows; ++r) {
    auto* line = reinterpret_cast<QRgb*>(heatImage_.scanLine(r));
    for (int c = 0; c < heat_.cols; ++c) line[c] = colorMap_.mapRgba(heat_.at(r, c), low_, high_);
  }
}

QRect HeatmapView::imageRect() const {
  const QRect area = rect().adjusted(kMargin, kMargin, -kMargin, -kMargin);
  // Square patch grids on square inputs; keep the image's aspect ratio in general.
  const QSize source = !image_.isNull() ? image_.size()
                       : !heat_.isEmpty() ? QSize(heat_.cols, heat_.rows)
                                          : QSize(1, 1);
  const QSize fitted = source.scaled(area.size(), Qt::KeepAspectRatio);
  QRect r(QPoint(0, 0), fitted);
  r.moveCenter(area.center());
  return r;
}

QRect HeatmapView::patchRect(int row, int col) const {
  if (heat_.isEmpty()) return {};
  const QRect img = imageRect();
  const int x0 = img.left() + img.width() * col / heat_.cols;
  const int x1 = img.left() + img.width() * (col + 1) / heat_.cols;
  const int y0 = img.top() + img.height() * row / heat_.rows;
  const int y1 = img.top() + img.height() * (row + 1) / heat_.rows;
  return QRect(QPoint(x0, y0), QPoint(x1 - 1, y1 - 1));
}

std::optional<QPoint> HeatmapView::patchAt(const QPoint& pos) const {
  const QRect img = imageRect();
  if (heat_.isEmpty() || !img.contains(pos)) return std::nullopt;
  const int col = std::min(heat_.cols - 1, (pos.x() - img.left()) * heat_.cols / img.width());
  const int row = std::min(heat_.rows - 1, (pos.y() - img.top()) * heat_.rows / img.height());
  return QPoint(col, row);
}

void HeatmapView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  const QRect img = imageRect();
  if (!image_.isNull()) {
    p.setRenderHint(QPainter::SmoothPixmapTransform, image_.width() > img.width());
    p.drawImage(img, image_);
  }
  if (!heatImage_.isNull()) {
    p.setRenderHint(QPainter::SmoothPixmapTransform, false);
    p.setOpacity(image_.isNull() ? 1.0 : opacity_);
    p.drawImage(img, heatImage_);
    p.setOpacity(1.0);
  }
  if (gridVisible_ && !heat_.isEmpty()) {
    p.setPen(QColor(255, 255, 255, kGridAlpha));
    for (int c = 1; c < heat_.cols; ++c) {
      const int x = img.left() + img.width() * c / heat_.cols;
      p.drawLine(x, img.top(), x, img.bottom());
    }
    for (int r = 1; r < heat_.rows; ++r) {
      const int y = img.top() + img.height() * r / heat_.rows;
      p.drawLine(img.left(), y, img.right(), y);
    }
  }
  auto outline = [&](const QPoint& patch, const QColor& color) {
    if (heat_.isEmpty() || patch.x() < 0 || patch.y() < 0 || patch.x() >= heat_.cols || patch.y() >= heat_.rows)
      return;
    p.setPen(QPen(color, kOutlineWidth));
    p.setBrush(Qt::NoBrush);
    p.drawRect(patchRect(patch.y(), patch.x()));
  };
  for (const QPoint& h : highlighted_) outline(h, kHighlightOutline);
  if (query_) outline(*query_, kQueryOutline);
}

void HeatmapView::mouseMoveEvent(QMouseEvent* event) {
  const auto patch = patchAt(event->position().toPoint());
  if (patch == hovered_) return;
  hovered_ = patch;
  if (patch) emit patchHovered(patch->y(), patch->x());
  else emit patchHovered(-1, -1);
}

void HeatmapView::mousePressEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  if (const auto patch = patchAt(event->position().toPoint())) emit patchClicked(patch->y(), patch->x());
}

void HeatmapView::leaveEvent(QEvent*) {
  if (!hovered_) return;
  hovered_.reset();
  emit patchHovered(-1, -1);
}

}  // namespace prisma::widgets
