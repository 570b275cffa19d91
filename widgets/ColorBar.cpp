#include "widgets/ColorBar.h"

#include <QPainter>

#include <algorithm>

namespace prisma::widgets {

namespace {
constexpr int kBarWidth = 14;
constexpr int kMargin = 6;
constexpr int kBracketGap = 2;    // between the data bracket and the bar
constexpr int kBracketWidth = 4;  // the bracket's serifs
constexpr qreal kBracketPen = 2.0;
constexpr int kTicks = 3;  // low, middle, high
constexpr int kSignificantDigits = 3;
}  // namespace

ColorBar::ColorBar(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Expanding);
  updateToolTip();
}

void ColorBar::setColorMap(const ColorMap& map) {
  map_ = map;
  update();
}

void ColorBar::setRange(double low, double high) {
  low_ = low;
  high_ = high;
  updateToolTip();
  update();
}

void ColorBar::setLabel(const QString& label) {
  label_ = label;
  update();
}

void ColorBar::setTickTexts(const QStringList& texts) {
  tickTexts_ = texts;
  update();
}

void ColorBar::setDataRange(std::optional<std::pair<double, double>> range) {
  data_ = range;
  updateToolTip();
  update();
}

void ColorBar::updateToolTip() {
  QString tip = tr("Colours span %1 to %2").arg(formatValue(low_), formatValue(high_));
  if (data_)
    tip += tr("; the values shown span %1 to %2 (the bracket)").arg(formatValue(data_->first), formatValue(data_->second));
  setToolTip(tip);
}

QString ColorBar::formatValue(double value) { return QString::number(value, 'g', kSignificantDigits); }

QRect ColorBar::barRect() const {
  const int textHeight = fontMetrics().height();
  const int top = kMargin + (label_.isEmpty() ? textHeight / 2 : textHeight + textHeight / 2);
  const int bottom = height() - kMargin - textHeight / 2;
  const int left = kMargin + kBracketWidth + kBracketGap;
  return QRect(left, top, kBarWidth, std::max(0, bottom - top));
}

int ColorBar::yOf(double value) const {
  const QRect bar = barRect();
  const double span = high_ - low_;
  const double t = span > 0.0 ? std::clamp((value - low_) / span, 0.0, 1.0) : 0.0;
  return bar.bottom() - static_cast<int>(t * (bar.height() - 1));
}

void ColorBar::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QRect bar = barRect();
  if (bar.height() <= 1) return;
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
    const QString text = tickTexts_.size() == kTicks ? tickTexts_[i] : formatValue(low_ + t * (high_ - low_));
    p.drawText(QPoint(bar.right() + 6, y + fontMetrics().ascent() / 2), text);
  }
  if (data_) {
    // A bracket from the smallest to the largest value drawn, at least a pen wide.
    const int y0 = yOf(data_->second), y1 = std::max(yOf(data_->first), y0 + 1);
    const int x = bar.left() - kBracketGap - 1;
    p.setPen(QPen(palette().windowText().color(), kBracketPen));
    p.drawLine(x, y0, x, y1);
    p.drawLine(x - kBracketWidth + 1, y0, x, y0);
    p.drawLine(x - kBracketWidth + 1, y1, x, y1);
  }
  if (!label_.isEmpty()) p.drawText(QPoint(kMargin, kMargin + fontMetrics().ascent()), label_);
}

}  // namespace prisma::widgets
