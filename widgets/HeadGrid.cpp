#include "widgets/HeadGrid.h"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>

#include <climits>

namespace prisma::widgets {

namespace {
constexpr int kMinLabelWidth = 32;
constexpr int kLabelPadding = 8;
constexpr int kSpacing = 3;
constexpr int kMinCell = 24;
constexpr int kPreferredCell = 56;
// Below this thumbnails are hard to read: rather scroll than shrink further.
constexpr int kComfortableCell = 48;
constexpr qreal kSelectionWidth = 2.0;
// Cell labels: light text on a dark translucent box, readable over any thumbnail.
constexpr int kLabelInset = 1;
constexpr int kLabelBoxPadding = 2;
constexpr int kLabelBoxAlpha = 180;
constexpr qreal kLabelFontScale = 0.85;  // cell labels a little smaller than row labels
// The query outline: a dark halo under a white line, visible on dark and bright maps.
constexpr qreal kQueryHaloWidth = 3.0;
constexpr qreal kQueryLineWidth = 1.5;
constexpr int kQueryHaloAlpha = 160;
constexpr int kMinScrollAreaSide = 120;
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
  emit contentChanged();
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

void HeadGrid::setColumnHeaders(const QStringList& headers) {
  if (headers == headers_) return;
  headers_ = headers;
  updateGeometry();
  update();
  emit contentChanged();
}

void HeadGrid::setQueryPatch(std::optional<QPoint> patch) {
  query_ = patch;
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

int HeadGrid::headerHeight() const { return headers_.isEmpty() ? 0 : fontMetrics().height(); }

QFont HeadGrid::cellLabelFont() const {
  QFont f = font();
  if (f.pointSizeF() > 0) f.setPointSizeF(f.pointSizeF() * kLabelFontScale);
  else f.setPixelSize(std::max(1, static_cast<int>(f.pixelSize() * kLabelFontScale)));
  return f;
}

QString HeadGrid::shownCellLabel(int row, int column) const {
  if (row < 0 || row >= rows_.size() || column < 0 || column >= rows_[row].cellLabels.size()) return {};
  const QString& text = rows_[row].cellLabels[column];
  const QRect cell = cellRect(row, column).adjusted(kLabelInset, kLabelInset, -kLabelInset, -kLabelInset);
  const QString shown =
      QFontMetrics(cellLabelFont()).elidedText(text, Qt::ElideRight, cell.width() - 2 * kLabelBoxPadding);
  // An ellipsis alone says nothing: leave the thumbnail clear (the tooltip names it).
  return shown == QStringLiteral("\u2026") ? QString() : shown;
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
  const int byHeight = (height() - headerHeight() - kSpacing * (rows + 1)) / rows;
  return std::max(kMinCell, std::min(byWidth, byHeight));
}

int HeadGrid::fittedCellSize(const QSize& area) const {
  const int cols = maxColumns();
  const int rows = std::max(1, int(rows_.size()));
  const int byWidth = (area.width() - labelWidth() - kSpacing * (cols + 1)) / cols;
  const int byHeight = (area.height() - headerHeight() - kSpacing * (rows + 1)) / rows;
  const int fit = std::min(byWidth, byHeight);
  if (fit >= kComfortableCell) return fit;
  return std::clamp(byWidth, kMinCell, kComfortableCell);
}

QSize HeadGrid::sizeForCell(int side) const {
  const int cols = maxColumns(), rows = std::max(1, int(rows_.size()));
  return {labelWidth() + cols * (side + kSpacing) + kSpacing, headerHeight() + rows * (side + kSpacing) + kSpacing};
}

QSize HeadGrid::sizeHint() const { return sizeForCell(kPreferredCell); }

QSize HeadGrid::minimumSizeHint() const { return sizeForCell(kMinCell); }

QRect HeadGrid::cellRect(int row, int column) const {
  const int s = cellSize();
  return QRect(labelWidth() + kSpacing + column * (s + kSpacing), headerHeight() + kSpacing + row * (s + kSpacing), s, s);
}

QRect HeadGrid::cellLabelRect(int row, int column) const {
  const QString shown = shownCellLabel(row, column);
  if (shown.isEmpty()) return {};
  const QFontMetrics fm(cellLabelFont());
  const QRect cell = cellRect(row, column).adjusted(kLabelInset, kLabelInset, -kLabelInset, -kLabelInset);
  const int w = std::min(cell.width(), fm.horizontalAdvance(shown) + 2 * kLabelBoxPadding);
  return QRect(cell.topLeft(), QSize(w, std::min(cell.height(), fm.height())));
}

QPoint HeadGrid::cellAt(const QPoint& pos) const {
  const int s = cellSize();
  const int column = (pos.x() - labelWidth() - kSpacing) / (s + kSpacing);
  const int row = (pos.y() - headerHeight() - kSpacing) / (s + kSpacing);
  if (pos.x() < labelWidth() || row < 0 || row >= rows_.size() || column < 0 || column >= columnCount(row) ||
      !cellRect(row, column).contains(pos))
    return {-1, -1};
  return {column, row};
}

void HeadGrid::resizeEvent(QResizeEvent*) { scaledImage_ = QImage(); }

bool HeadGrid::event(QEvent* event) {
  if (event->type() != QEvent::ToolTip) return QWidget::event(event);
  const QPoint pos = static_cast<QHelpEvent*>(event)->pos();
  const int s = cellSize();
  const int row = (pos.y() - headerHeight() - kSpacing) / (s + kSpacing);
  QString tip;
  if (pos.y() >= headerHeight() && row >= 0 && row < rows_.size()) {
    tip = rows_[row].toolTip;
    const QPoint cell = cellAt(pos);
    // An elided label shows in full.
    if (cell.x() >= 0 && cell.x() < rows_[row].cellLabels.size() && !rows_[row].cellLabels[cell.x()].isEmpty())
      tip = tip.isEmpty() ? rows_[row].cellLabels[cell.x()] : rows_[row].cellLabels[cell.x()] + QStringLiteral("\n") + tip;
  }
  if (tip.isEmpty()) {
    QToolTip::hideText();
    event->ignore();
  } else {
    QToolTip::showText(static_cast<QHelpEvent*>(event)->globalPos(), tip, this);
  }
  return true;
}

void HeadGrid::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  const int s = cellSize();
  const QFontMetrics fm = fontMetrics();
  if (!image_.isNull() && scaledImage_.width() != s)
    scaledImage_ = image_.scaled(s, s, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
  p.setPen(palette().text().color());
  for (int c = 0; c < headers_.size(); ++c) {
    const QRect under = cellRect(0, c);
    p.drawText(QRect(under.left(), 0, under.width(), headerHeight()), Qt::AlignCenter,
               fm.elidedText(headers_[c], Qt::ElideRight, under.width()));
  }
  for (int r = 0; r < rows_.size(); ++r) {
    const QRect first = cellRect(r, 0);
    p.setPen(palette().text().color());
    p.drawText(QRect(0, first.top(), labelWidth() - kSpacing, s), Qt::AlignRight | Qt::AlignVCenter, rows_[r].label);
    for (int c = 0; c < rows_[r].cells.size(); ++c) {
      const QRect cell = cellRect(r, c);
      if (!scaledImage_.isNull()) p.drawImage(cell.topLeft(), scaledImage_);
      p.setOpacity(scaledImage_.isNull() ? 1.0 : opacity_);
      p.drawImage(cell, thumbnails_[r][c]);  // nearest-neighbour: one block per patch
      p.setOpacity(1.0);
      const PatchGridValues& values = rows_[r].cells[c];
      if (query_ && rows_[r].showsQuery && !values.isEmpty() && query_->x() >= 0 && query_->y() >= 0 &&
          query_->x() < values.cols && query_->y() < values.rows) {
        const QRect patch(QPoint(cell.left() + cell.width() * query_->x() / values.cols,
                                 cell.top() + cell.height() * query_->y() / values.rows),
                          QPoint(cell.left() + cell.width() * (query_->x() + 1) / values.cols - 1,
                                 cell.top() + cell.height() * (query_->y() + 1) / values.rows - 1));
        p.setBrush(Qt::NoBrush);
        p.setPen(QPen(QColor(0, 0, 0, kQueryHaloAlpha), kQueryHaloWidth));
        p.drawRect(patch);
        p.setPen(QPen(Qt::white, kQueryLineWidth));
        p.drawRect(patch);
      }
      const QRect box = cellLabelRect(r, c);
      if (!box.isEmpty()) {
        p.fillRect(box, QColor(0, 0, 0, kLabelBoxAlpha));
        p.setPen(Qt::white);
        p.setFont(cellLabelFont());
        p.drawText(box, Qt::AlignCenter, shownCellLabel(r, c));
        p.setFont(font());
      }
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

HeadGridScrollArea::HeadGridScrollArea(HeadGrid* grid, QWidget* parent) : QScrollArea(parent), grid_(grid) {
  setWidgetResizable(false);
  setFrameShape(QFrame::NoFrame);
  setFocusPolicy(Qt::NoFocus);  // arrow keys belong to the grid
  setWidget(grid_);
  connect(grid_, &HeadGrid::contentChanged, this, &HeadGridScrollArea::relayout);
  connect(grid_, &HeadGrid::cellSelected, this, [this](int row, int column) {
    const QRect cell = grid_->cellRect(row, column);
    ensureVisible(cell.center().x(), cell.center().y(), cell.width() / 2 + kSpacing, cell.height() / 2 + kSpacing);
  });
  relayout();
}

QSize HeadGridScrollArea::sizeHint() const { return grid_->sizeHint(); }

QSize HeadGridScrollArea::minimumSizeHint() const { return {kMinScrollAreaSide, kMinScrollAreaSide}; }

void HeadGridScrollArea::resizeEvent(QResizeEvent* event) {
  QScrollArea::resizeEvent(event);
  relayout();
}

void HeadGridScrollArea::relayout() {
  const QSize full = maximumViewportSize();  // the viewport without scroll bars
  QSize area = full;
  int side = grid_->fittedCellSize(area);
  if (grid_->sizeForCell(side).height() > full.height()) {
    // A vertical scroll bar will take some of the width.
    area.setWidth(full.width() - verticalScrollBar()->sizeHint().width());
    side = grid_->fittedCellSize(area);
  }
  const QSize need = grid_->sizeForCell(side);
  grid_->resize(std::max(need.width(), area.width()), std::max(need.height(), area.height()));
}

}  // namespace prisma::widgets
