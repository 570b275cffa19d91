#include "widgets/PatternMatrixView.h"

#include <QMouseEvent>
#include <QPainter>

namespace prisma::widgets {

namespace {
constexpr int kMargin = 4;
}

PatternMatrixView::PatternMatrixView(QWidget* parent) : QWidget(parent) { setMouseTracking(true); }

void PatternMatrixView::setPattern(int tokens, const QVector<float>& values) {
  tokens_ = values.size() == tokens * tokens ? tokens : 0;
  values_ = values;
  rebuild();
  update();
}

void PatternMatrixView::setColorMap(const ColorMap& map) {
  map_ = map;
  rebuild();
  update();
}

void PatternMatrixView::setRange(double low, double high) {
  low_ = low;
  high_ = high;
  rebuild();
  update();
}

void PatternMatrixView::rebuild() {
  if (tokens_ == 0) {
    image_ = QImage();
    return;
  }
  image_ = QImage(tokens_, tokens_, QImage::Format_RGB32);
  for (int q = 0; q < tokens_; ++q) {
    auto* line = reinterpret_cast<QRgb*>(image_.scanLine(q));
    for (int k = 0; k < tokens_; ++k) line[k] = map_.map(values_[q * tokens_ + k], low_, high_).rgb();
  }
}

QRect PatternMatrixView::matrixRect() const {
  const int side = std::max(0, std::min(width(), height()) - 2 * kMargin);
  QRect r(0, 0, side, side);
  r.moveCenter(rect().center());
  return r;
}

QRect PatternMatrixView::cellRect(int query, int key) const {
  const QRect m = matrixRect();
  if (tokens_ == 0) return {};
  const int x0 = m.left() + m.width() * key / tokens_, x1 = m.left() + m.width() * (key + 1) / tokens_;
  const int y0 = m.top() + m.height() * query / tokens_, y1 = m.top() + m.height() * (query + 1) / tokens_;
  return QRect(QPoint(x0, y0), QPoint(x1 - 1, y1 - 1));
}

void PatternMatrixView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  if (image_.isNull()) return;
  p.drawImage(matrixRect(), image_);
  if (hovered_.x() >= 0) {
    p.setPen(QPen(Qt::white, 1.5));
    p.drawRect(cellRect(hovered_.y(), hovered_.x()));
  }
}

void PatternMatrixView::mouseMoveEvent(QMouseEvent* event) {
  const QRect m = matrixRect();
  const QPoint pos = event->position().toPoint();
  QPoint cell(-1, -1);
  if (tokens_ > 0 && m.contains(pos))
    cell = QPoint(std::min(tokens_ - 1, (pos.x() - m.left()) * tokens_ / m.width()),
                  std::min(tokens_ - 1, (pos.y() - m.top()) * tokens_ / m.height()));
  if (cell == hovered_) return;
  hovered_ = cell;
  update();
  emit cellHovered(cell.y(), cell.x());
}

void PatternMatrixView::leaveEvent(QEvent*) {
  if (hovered_.x() < 0) return;
  hovered_ = {-1, -1};
  update();
  emit cellHovered(-1, -1);
}

}  // namespace prisma::widgets
