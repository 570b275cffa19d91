#include "widgets/TopKBars.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

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

QRect TopKBars::nameRect(int i) const {
  return QRect(kMargin, kMargin + i * kRowHeight, barArea().left() - 2 * kMargin, kRowHeight);
}

bool TopKBars::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(event);
    const int row = (help->pos().y() - kMargin) / kRowHeight;
    if (help->pos().y() >= kMargin && row >= 0 && row < scores_.size()) {
      QToolTip::showText(help->globalPos(),
                         QStringLiteral("%1 \u2014 %2%").arg(scores_[row].name).arg(scores_[row].probability * kPercent, 0, 'f', 1),
                         this);
    } else {
      QToolTip::hideText();
      event->ignore();
    }
    return true;
  }
  return QWidget::event(event);
}

int TopKBars::barWidth(int i) const {
  return int(std::lround(barArea().width() * std::clamp(scores_[i].probability, 0.0, 1.0)));
}

void TopKBars::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QRect bars = barArea();
  for (int i = 0; i < scores_.size(); ++i) {
    const int y = kMargin + i * kRowHeight;
    const QRect name = nameRect(i);
    p.setPen(palette().text().color());
    p.drawText(name, Qt::AlignRight | Qt::AlignVCenter, fontMetrics().elidedText(scores_[i].name, Qt::ElideMiddle, name.width()));
    p.fillRect(QRect(bars.left(), y + 3, barWidth(i), kRowHeight - 6), palette().highlight());
    p.drawText(QRect(bars.right() + kMargin, y, kPercentWidth, kRowHeight), Qt::AlignLeft | Qt::AlignVCenter,
               QString::number(scores_[i].probability * kPercent, 'f', 1) + QLatin1Char('%'));
  }
}

}  // namespace prisma::widgets
