#include "widgets/HeadGrid.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>

namespace prisma::widgets {

namespace {
constexpr int kMinLabelWidth = 32;
constexpr int kLabelPadding = 8;
constexpr int kSpacing = 3;
constexpr int kMinCell = 24;
constexpr int kPreferredCell = 56;
constexpr qreal kSelectionWidth = 2.0;
}  // namespace

HeadGrid::HeadGrid(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void HeadGrid::setRows(const QVector<HeadGridRow>& rows) {
  rows_ = rows;
  if (selected_.y() >= rows_.size() || selected_.x() >= columnCount(selected_.y())) selected_ = {-1, -1};
  rebuildThumbnails();
  updateGeometry();
  update();
}

void HeadGrid::setImage(const QImage& image) {
  image_ = image;
  scaledImage_ = QImage();
  update();
}

void HeadGrid::setColorMap(const ColorMap& map) {
  map_ = map;
  rebuildThumbnails();
  update();
}

void HeadGrid::setRange(double low, double high) {
  low_ = low;
  high_ = high;
  rebuildThumbnails();
  update();
}

void HeadGrid::setPerCellNormalization(bool on) {
  perCell_ = on;
  rebuildThumbnails();
  update();
}

void HeadGrid::setOpacity(double opacity) {
  opacity_ = std::clamp(opacity, 0.0, 1.0);
  update();
}

void HeadGrid::setSelected(int row, int column) {
  if (row < 0 || row >= rows_.size() || column < 0 || column >= columnCount(row)) return;
  if (selected_ == QPoint(column, row)) return;
  selected_ = QPoint(column, row);
  update();
  emit cellSelected(row, column);
}

std::pair<double, double> HeadGrid::rangeFor(const HeadGridRow& row, const PatchGridValues& cell) const {
  if (!perCell_ && !row.ownRange) return {low_, high_};
  return {cell.minValue(), cell.maxValue()};
}

QColor HeadGrid::cellColor(int row, int column, int patchRow, int patchCol) const {
  const PatchGridValues& cell = rows_[row].cells[column];
  const auto [lo, hi] = rangeFor(rows_[row], cell);
  return map_.map(cell.at(patchRow, patchCol), lo, hi);
}

void HeadGrid::rebuildThumbnails() {
  thumbnails_.clear();
  for (int r = 0; r < rows_.size(); ++r) {
    QVector<QImage> row;
    for (int c = 0; c < rows_[r].cells.size(); ++c) {
      const PatchGridValues& cell = rows_[r].cells[c];
      QImage img(std::max(1, cell.cols), std::max(1, cell.rows), QImage::Format_ARGB32);
      img.fill(Qt::transparent);
      if (!cell.isEmpty()) {
        const auto [lo, hi] = rangeFor(rows_[r], cell);
        for (int y = 0; y < cell.rows; ++y) {
          auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
          for (int x = 0; x < cell.cols; ++x) line[x] = map_.mapRgba(cell.at(y, x), lo, hi);
        }
      }
      row.push_back(img);
    }
    thumbnails_.push_back(row);
  }
}

int HeadGrid::labelWidth() const {
  int w = kMinLabelWidth;
  for (const auto& r : rows_) w = std::max(w, fontMetrics().horizontalAdvance(r.label) + kLabelPadding);
  return w;
}

int HeadGrid::maxColumns() const {
  int n = 1;
  for (const auto& r : rows_) n = std::max(n, int(r.cells.size()));
  return n;
}

int HeadGrid::cellSize() const {
  const int cols = maxColumns();
  const int rows = std::max(1, int(rows_.size()));
  const int byWidth = (width() - labelWidth() - kSpacing * (cols + 1)) / cols;
  const int byHeight = (height() - kSpacing * (rows + 1)) / rows;
  return std::max(kMinCell, std::min(byWidth, byHeight));
}

QSize HeadGrid::sizeHint() const {
  const int cols = maxColumns(), rows = std::max(1, int(rows_.size()));
  return {labelWidth() + cols * (kPreferredCell + kSpacing) + kSpacing, rows * (kPreferredCell + kSpacing) + kSpacing};
}

QSize HeadGrid::minimumSizeHint() const {
  const int cols = maxColumns(), rows = std::max(1, int(rows_.size()));
  return {labelWidth() + cols * (kMinCell + kSpacing) + kSpacing, rows * (kMinCell + kSpacing) + kSpacing};
}

QRect HeadGrid::cellRect(int row, int column) const {
  const int s = cellSize();
  return QRect(labelWidth() + kSpacing + column * (s + kSpacing), kSpacing + row * (s + kSpacing), s, s);
}

QPoint HeadGrid::cellAt(const QPoint& pos) const {
  const int s = cellSize();
  const int column = (pos.x() - labelWidth() - kSpacing) / (s + kSpacing);
  const int row = (pos.y() - kSpacing) / (s + kSpacing);
  if (pos.x() < labelWidth() || row < 0 || row >= rows_.size() || column < 0 || column >= columnCount(row) ||
      !cellRect(row, column).contains(pos))
    return {-1, -1};
  return {column, row};
}

void HeadGrid::resizeEvent(QResizeEvent*) { scaledImage_ = QImage(); }

void HeadGrid::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  const int s = cellSize();
  if (!image_.isNull() && scaledImage_.width() != s)
    scaledImage_ = image_.scaled(s, s, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
  p.setPen(palette().text().color());
  for (int r = 0; r < rows_.size(); ++r) {
    const QRect first = cellRect(r, 0);
    p.drawText(QRect(0, first.top(), labelWidth() - kSpacing, s), Qt::AlignRight | Qt::AlignVCenter, rows_[r].label);
    for (int c = 0; c < rows_[r].cells.size(); ++c) {
      const QRect cell = cellRect(r, c);
      if (!scaledImage_.isNull()) p.drawImage(cell.topLeft(), scaledImage_);
      p.setOpacity(scaledImage_.isNull() ? 1.0 : opacity_);
      p.drawImage(cell, thumbnails_[r][c]);  // nearest-neighbour: one block per patch
      p.setOpacity(1.0);
      if (c < rows_[r].cellLabels.size())
        p.drawText(cell.adjusted(2, 1, 0, 0), Qt::AlignLeft | Qt::AlignTop, rows_[r].cellLabels[c]);
    }
  }
  if (selected_.y() >= 0) {
    p.setPen(QPen(palette().highlight().color(), kSelectionWidth));
    p.setBrush(Qt::NoBrush);
    p.drawRect(cellRect(selected_.y(), selected_.x()).adjusted(-1, -1, 1, 1));
  }
}

void HeadGrid::mousePressEvent(QMouseEvent* event) {
  const QPoint cell = cellAt(event->position().toPoint());
  if (cell.x() < 0) return;
  setSelected(cell.y(), cell.x());
}

void HeadGrid::mouseDoubleClickEvent(QMouseEvent* event) {
  const QPoint cell = cellAt(event->position().toPoint());
  if (cell.x() >= 0) emit cellActivated(cell.y(), cell.x());
}

void HeadGrid::keyPressEvent(QKeyEvent* event) {
  if (rows_.isEmpty()) return QWidget::keyPressEvent(event);
  int row = std::max(0, selected_.y()), column = std::max(0, selected_.x());
  switch (event->key()) {
    case Qt::Key_Left: column = std::max(0, column - 1); break;
    case Qt::Key_Right: column = std::min(columnCount(row) - 1, column + 1); break;
    case Qt::Key_Up: row = std::max(0, row - 1); break;
    case Qt::Key_Down: row = std::min(int(rows_.size()) - 1, row + 1); break;
    case Qt::Key_Return:
    case Qt::Key_Enter:
      if (selected_.y() >= 0) emit cellActivated(selected_.y(), selected_.x());
      return;
    default: return QWidget::keyPressEvent(event);
  }
  column = std::min(column, columnCount(row) - 1);  // a one-cell row keeps column 0
  setSelected(row, column);
}

}  // namespace prisma::widgets
