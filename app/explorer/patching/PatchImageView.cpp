#include "app/explorer/patching/PatchImageView.h"

#include <QApplication>
#include <QDrag>
#include <QMimeData>
#include <QMouseEvent>
#include <QPainter>

namespace prisma::app {

namespace {
constexpr int kPreferredSide = 200;
constexpr int kMinimumSide = 96;
constexpr int kFramePen = 3;
const QColor kGridColor(255, 255, 255, 60);
const QColor kHighlightColor(255, 200, 0);
const QColor kSelectionColor(0, 170, 255);
constexpr int kHighlightAlpha = 90;
constexpr int kSelectionPen = 3;
}  // namespace

PatchImageView::PatchImageView(QWidget* parent) : QWidget(parent), placeholder_(tr("Drop an image here")) {
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void PatchImageView::setPlaceholder(const QString& text) {
  placeholder_ = text;
  update();
}

void PatchImageView::setImage(const QImage& image, int gridRows, int gridCols, bool hasCls) {
  image_ = image;
  rows_ = gridRows;
  cols_ = gridCols;
  hasCls_ = hasCls;
  highlighted_.clear();
  selection_ = {};
  update();
}

void PatchImageView::clear() {
  image_ = {};
  rows_ = cols_ = 0;
  highlighted_.clear();
  selection_ = {};
  update();
}

void PatchImageView::setHighlighted(const QVector<int>& tokens) {
  highlighted_ = tokens;
  update();
}

void PatchImageView::setSelection(const QRect& patches) {
  selection_ = patches.intersected(QRect(0, 0, cols_, rows_));
  update();
  emit selectionChanged(selection_);
}

QVector<int> PatchImageView::selectionTokens() const {
  QVector<int> tokens;
  for (int r = selection_.top(); r <= selection_.bottom() && !selection_.isEmpty(); ++r)
    for (int c = selection_.left(); c <= selection_.right(); ++c) tokens << tokenOf(r, c);
  return tokens;
}

QSize PatchImageView::sizeHint() const { return {kPreferredSide, kPreferredSide}; }
QSize PatchImageView::minimumSizeHint() const { return {kMinimumSide, kMinimumSide}; }

QRect PatchImageView::imageRect() const {
  const int side = std::min(width(), height());
  return QRect((width() - side) / 2, (height() - side) / 2, side, side);
}

QRect PatchImageView::patchRect(int row, int col) const {
  if (rows_ <= 0 || cols_ <= 0) return {};
  const QRect r = imageRect();
  const int x0 = r.left() + col * r.width() / cols_, x1 = r.left() + (col + 1) * r.width() / cols_;
  const int y0 = r.top() + row * r.height() / rows_, y1 = r.top() + (row + 1) * r.height() / rows_;
  return QRect(QPoint(x0, y0), QPoint(x1 - 1, y1 - 1));
}

QPoint PatchImageView::patchAt(const QPoint& pos) const {
  const QRect r = imageRect();
  if (rows_ <= 0 || cols_ <= 0 || r.isEmpty()) return {-1, -1};
  const int col = std::clamp((pos.x() - r.left()) * cols_ / r.width(), 0, cols_ - 1);
  const int row = std::clamp((pos.y() - r.top()) * rows_ / r.height(), 0, rows_ - 1);
  return {col, row};
}

void PatchImageView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  if (image_.isNull()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
    return;
  }
  const QRect r = imageRect();
  p.drawImage(r, image_);
  p.setPen(kGridColor);
  for (int c = 1; c < cols_; ++c) p.drawLine(patchRect(0, c).left(), r.top(), patchRect(0, c).left(), r.bottom());
  for (int row = 1; row < rows_; ++row) p.drawLine(r.left(), patchRect(row, 0).top(), r.right(), patchRect(row, 0).top());

  QColor fill = kHighlightColor;
  fill.setAlpha(kHighlightAlpha);
  for (int token : highlighted_) {
    if (hasCls_ && token == 0) {
      p.setPen(QPen(kHighlightColor, kFramePen));
      p.setBrush(Qt::NoBrush);
      p.drawRect(r.adjusted(1, 1, -1, -1));
      continue;
    }
    const int patch = token - (hasCls_ ? 1 : 0);
    if (patch < 0 || patch >= rows_ * cols_) continue;
    const QRect pr = patchRect(patch / cols_, patch % cols_);
    p.fillRect(pr, fill);
    p.setPen(QPen(kHighlightColor, kFramePen));
    p.setBrush(Qt::NoBrush);
    p.drawRect(pr);
  }
  if (!selection_.isEmpty()) {
    const QRect sel = patchRect(selection_.top(), selection_.left()).united(patchRect(selection_.bottom(), selection_.right()));
    QColor selFill = kSelectionColor;
    selFill.setAlpha(kHighlightAlpha);
    p.fillRect(sel, selFill);
    p.setPen(QPen(kSelectionColor, kSelectionPen, Qt::DashLine));
    p.drawRect(sel);
  }
}

void PatchImageView::mousePressEvent(QMouseEvent* event) {
  if (!selectable_ || image_.isNull() || event->button() != Qt::LeftButton) return QWidget::mousePressEvent(event);
  const QPoint patch = patchAt(event->position().toPoint());
  pressPos_ = event->position().toPoint();
  dragArmed_ = selection_.contains(patch);
  if (!dragArmed_) {
    anchor_ = patch;
    setSelection(QRect(patch, patch));
  }
}

void PatchImageView::mouseMoveEvent(QMouseEvent* event) {
  if (!selectable_ || !(event->buttons() & Qt::LeftButton)) return QWidget::mouseMoveEvent(event);
  if (dragArmed_) {
    if ((event->position().toPoint() - pressPos_).manhattanLength() < QApplication::startDragDistance()) return;
    dragArmed_ = false;
    auto* mime = new QMimeData;
    mime->setData(kPatchRegionMime, QStringLiteral("%1,%2,%3,%4")
                                        .arg(selection_.top()).arg(selection_.left())
                                        .arg(selection_.bottom()).arg(selection_.right()).toLatin1());
    auto* drag = new QDrag(this);
    drag->setMimeData(mime);
    drag->exec(Qt::CopyAction);
    return;
  }
  if (anchor_.x() < 0) return;
  const QPoint patch = patchAt(event->position().toPoint());
  setSelection(QRect(anchor_, patch).normalized());
}

void PatchImageView::mouseReleaseEvent(QMouseEvent* event) {
  anchor_ = {-1, -1};
  dragArmed_ = false;
  QWidget::mouseReleaseEvent(event);
}

}  // namespace prisma::app
