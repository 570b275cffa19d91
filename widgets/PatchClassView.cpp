#include "widgets/PatchClassView.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace prisma::widgets {

namespace {
constexpr int kMargin = 4;
constexpr double kGoldenRatioConjugate = 0.618033988749895;
constexpr int kTintAlpha = 110;
constexpr int kMinLabelSide = 18;  // patches smaller than this get no text
constexpr int kSaturation = 200;
constexpr int kValue = 230;
constexpr int kHueRange = 360;
}  // namespace

PatchClassView::PatchClassView(QWidget* parent) : QWidget(parent) { setMouseTracking(true); }

void PatchClassView::setImage(const QImage& image) {
  image_ = image;
  update();
}

void PatchClassView::setClasses(int rows, int cols, const QVector<int>& classes, const QVector<float>& scores,
                                const QStringList& names) {
  const bool ok = rows > 0 && cols > 0 && classes.size() == rows * cols && scores.size() == rows * cols;
  rows_ = ok ? rows : 0;
  cols_ = ok ? cols : 0;
  classes_ = ok ? classes : QVector<int>();
  scores_ = ok ? scores : QVector<float>();
  names_ = names;
  update();
}

QColor PatchClassView::classColor(int cls) {
  const double hue = std::fmod(cls * kGoldenRatioConjugate, 1.0);
  return QColor::fromHsv(static_cast<int>(hue * kHueRange) % kHueRange, kSaturation, kValue);
}

QRect PatchClassView::imageRect() const {
  const QRect area = rect().adjusted(kMargin, kMargin, -kMargin, -kMargin);
  const QSize source = image_.isNull() ? QSize(std::max(1, cols_), std::max(1, rows_)) : image_.size();
  QRect r(QPoint(0, 0), source.scaled(area.size(), Qt::KeepAspectRatio));
  r.moveCenter(area.center());
  return r;
}

QRect PatchClassView::patchRect(int row, int col) const {
  if (rows_ == 0) return {};
  const QRect img = imageRect();
  const int x0 = img.left() + img.width() * col / cols_, x1 = img.left() + img.width() * (col + 1) / cols_;
  const int y0 = img.top() + img.height() * row / rows_, y1 = img.top() + img.height() * (row + 1) / rows_;
  return QRect(QPoint(x0, y0), QPoint(x1 - 1, y1 - 1));
}

void PatchClassView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().window());
  const QRect img = imageRect();
  if (!image_.isNull()) p.drawImage(img, image_);
  for (int r = 0; r < rows_; ++r)
    for (int c = 0; c < cols_; ++c) {
      const QRect cell = patchRect(r, c);
      QColor tint = classColor(classAt(r, c));
      tint.setAlpha(kTintAlpha);
      p.fillRect(cell, tint);
      if (cell.width() >= kMinLabelSide && cell.height() >= kMinLabelSide) {
        p.setPen(Qt::white);
        p.drawText(cell, Qt::AlignCenter, QString::number(classAt(r, c)));
      }
    }
}

void PatchClassView::mouseMoveEvent(QMouseEvent* event) {
  const QPoint pos = event->position().toPoint();
  const QRect img = imageRect();
  if (rows_ == 0 || !img.contains(pos)) return;
  const int col = std::min(cols_ - 1, (pos.x() - img.left()) * cols_ / img.width());
  const int row = std::min(rows_ - 1, (pos.y() - img.top()) * rows_ / img.height());
  const int cls = classAt(row, col);
  QToolTip::showText(event->globalPosition().toPoint(),
                     tr("%1 (class %2): logit %3").arg(names_.value(cls)).arg(cls).arg(scores_.value(row * cols_ + col), 0, 'g', 4),
                     this);
  emit patchHovered(row, col);
}

}  // namespace prisma::widgets
