#include "widgets/TopKBars.h"

#include <QPainter>

namespace prisma::widgets {

namespace {
constexpr int kRowHeight = 22;
constexpr int kMargin = 6;
constexpr int kNameFraction = 2;  // the name column takes 1/kNameFraction of the width
constexpr int kPercentWidth = 52;
constexpr int kPercent = 100;
}  // namespace

TopKBars::TopKBars(QWidget* parent) : QWidget(parent) {}

void TopKBars::setScores(const QVector<ClassScore>& scores) {
  scores_ = scores;
  updateGeometry();
  update();
}

QSize TopKBars::sizeHint() const { return {240, kMargin * 2 + kRowHeight * std::max<int>(1, scores_.size())}; }

QRect TopKBars::barArea() const {
  const int left = width() / kNameFraction;
  return QRect(left, kMargin, std::max(0, width() - left - kPercentWidth - kMargin), height() - 2 * kMargin);
}

int TopKBars::barWidth(int i) const {
  return int(std::lround(barArea().width() * std::clamp(scores_[i].probability, 0.0, 1.0)));
}

void TopKBars::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QRect bars = barArea();
  for (int i = 0; i < scores_.size(); ++i) {
    const int y = kMargin + i * kRowHeight;
    const QRect nameRect(kMargin, y, bars.left() - 2 * kMargin, kRowHeight);
    p.setPen(palette().text().color());
    p.drawText(nameRect, Qt::AlignRight | Qt::AlignVCenter,
               fontMetrics().elidedText(scores_[i].name, Qt::ElideRight, nameRect.width()));
    p.fillRect(QRect(bars.left(), y + 3, barWidth(i), kRowHeight - 6), palette().highlight());
    p.drawText(QRect(bars.right() + kMargin, y, kPercentWidth, kRowHeight), Qt::AlignLeft | Qt::AlignVCenter,
               QString::number(scores_[i].probability * kPercent, 'f', 1) + QLatin1Char('%'));
  }
}

}  // namespace prisma::widgets
