#include "widgets/ColorBar.h"

#include <QPainter>

namespace prisma::widgets {

namespace {
constexpr int kBarWidth = 14;
constexpr int kMargin = 6;
constexpr int kTicks = 3;  // low, middle, high
constexpr int kSignificantDigits = 3;
}  // namespace

ColorBar::ColorBar(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Expanding);
}

void ColorBar::setColorMap(const ColorMap& map) {
  map_ = map;
  update();
}

void ColorBar::setRange(double low, double high) {
  low_ = low;
  high_ = high;
  update();
}

void ColorBar::setLabel(const QString& label) {
  label_ = label;
  update();
}

QString ColorBar::formatValue(double value) { return QString::number(value, 'g', kSignificantDigits); }

void ColorBar::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const int textHeight = fontMetrics().height();
  const int top = kMargin + (label_.isEmpty() ? textHeight / 2 : textHeight + textHeight / 2);
  const int bottom = height() - kMargin - textHeight / 2;
  if (bottom <= top) return;
  const QRect bar(kMargin, top, kBarWidth, bottom - top);
  // The diverging map is centred on zero: draw the values the heatmaps would get.
  for (int y = bar.top(); y <= bar.bottom(); ++y) {
    const double t = 1.0 - double(y - bar.top()) / std::max(1, bar.height() - 1);
    p.setPen(map_.map(low_ + t * (high_ - low_), low_, high_));
    p.drawLine(bar.left(), y, bar.right(), y);
  }
  p.setPen(palette().windowText().color());
  p.setBrush(Qt::NoBrush);
  p.drawRect(bar.adjusted(0, 0, -1, -1));
  for (int i = 0; i < kTicks; ++i) {
    const double t = double(i) / (kTicks - 1);
    const int y = bar.bottom() - int(t * (bar.height() - 1));
    p.drawLine(bar.right(), y, bar.right() + 3, y);
    p.drawText(QPoint(bar.right() + 6, y + fontMetrics().ascent() / 2), formatValue(low_ + t * (high_ - low_)));
  }
  if (!label_.isEmpty()) p.drawText(QPoint(kMargin, kMargin + fontMetrics().ascent()), label_);
}

}  // namespace prisma::widgets
