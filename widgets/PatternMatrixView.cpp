#include "widgets/PatternMatrixView.h"

#include "widgets/ColorBar.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>

namespace prisma::widgets {

namespace {
constexpr int kMargin = 4;
constexpr int kTick = 4;        // tick mark length on the axes
constexpr int kLabelGap = 2;    // between a tick and its label
constexpr int kLabelSpacing = 4;  // labels closer than this to the previous one are skipped
constexpr qreal kHoverPen = 1.5;
constexpr int kDimAlpha = 150;  // the read-out hint when nothing is hovered
}  // namespace

PatternMatrixView::PatternMatrixView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  bar_ = new ColorBar(this);
  bar_->setObjectName(QStringLiteral("patternMatrixBar"));
  bar_->setRange(low_, high_);
}

void PatternMatrixView::setPattern(int tokens, const QVector<float>& values) {
  tokens_ = values.size() == tokens * tokens ? tokens : 0;
  values_ = tokens_ > 0 ? values : QVector<float>();
  if (hovered_.x() >= tokens_ || hovered_.y() >= tokens_) setHovered({-1, -1});
  rebuild();
  setToolTip(hoverText());
  update();
}

void PatternMatrixView::setTokenLayout(bool hasCls, int registers, int gridRows, int gridCols) {
  hasCls_ = hasCls;
  registers_ = std::max(0, registers);
  gridRows_ = std::max(0, gridRows);
  gridCols_ = std::max(0, gridCols);
  update();
}

void PatternMatrixView::setColorMap(const ColorMap& map) {
  map_ = map;
  bar_->setColorMap(map);
  rebuild();
  update();
}

void PatternMatrixView::setRange(double low, double high) {
  low_ = low;
  high_ = high;
  bar_->setRange(low, high);
  rebuild();
  update();
}

void PatternMatrixView::rebuild() {
  if (tokens_ == 0) {
    image_ = QImage();
    bar_->setDataRange(std::nullopt);
    return;
  }
  image_ = QImage(tokens_, tokens_, QImage::Format_RGB32);
  for (int q = 0; q < tokens_; ++q) {
    auto* line = reinterpret_cast<QRgb*>(image_.scanLine(q));
    for (int k = 0; k < tokens_; ++k) line[k] = map_.map(values_[q * tokens_ + k], low_, high_).rgb();
  }
  const auto [lo, hi] = std::minmax_element(values_.begin(), values_.end());
  bar_->setDataRange(std::make_pair(double(*lo), double(*hi)));
}

QVector<PatternMatrixView::Group> PatternMatrixView::groups() const {
  const int prefix = (hasCls_ ? 1 : 0) + registers_;
  QVector<Group> g;
  if (tokens_ == 0 || prefix + gridRows_ * gridCols_ != tokens_ || gridCols_ == 0) return g;
  if (hasCls_) g.push_back({0, 1, tr("CLS")});
  if (registers_ > 0) g.push_back({hasCls_ ? 1 : 0, registers_, tr("reg")});
  for (int r = 0; r < gridRows_; ++r) g.push_back({prefix + r * gridCols_, gridCols_, tr("r%1").arg(r)});
  return g;
}

QString PatternMatrixView::tokenName(int token) const {
  if (token < 0 || token >= tokens_) return {};
  const int prefix = (hasCls_ ? 1 : 0) + registers_;
  if (prefix + gridRows_ * gridCols_ != tokens_ || gridCols_ == 0) return tr("token %1").arg(token);
  if (hasCls_ && token == 0) return tr("CLS");
  if (token < prefix) return tr("register %1").arg(token - (hasCls_ ? 1 : 0));
  const int patch = token - prefix;
  return tr("patch (row %1, col %2)").arg(patch / gridCols_).arg(patch % gridCols_);
}

QString PatternMatrixView::hoverText() const {
  if (hovered_.x() < 0 || tokens_ == 0) return {};
  const int q = hovered_.y(), k = hovered_.x();
  return tr("query %1 \u2192 key %2: %3")
      .arg(tokenName(q), tokenName(k), ColorBar::formatValue(values_[q * tokens_ + k]));
}

QVector<QPair<int, QString>> PatternMatrixView::axisTicks() const {
  QVector<QPair<int, QString>> ticks;
  for (const Group& g : groups()) ticks.push_back({g.first, g.label});
  return ticks;
}

int PatternMatrixView::readoutHeight() const { return fontMetrics().height() + kMargin; }

int PatternMatrixView::leftAxisWidth() const {
  // The rotated "query" title, then the widest label ("CLS", "reg", "r13").
  int widest = fontMetrics().horizontalAdvance(tr("CLS"));
  for (const Group& g : groups()) widest = std::max(widest, fontMetrics().horizontalAdvance(g.label));
  return fontMetrics().height() + widest + kLabelGap + kTick;
}

int PatternMatrixView::bottomAxisHeight() const { return kTick + kLabelGap + 2 * fontMetrics().height(); }

QRect PatternMatrixView::matrixRect() const {
  const int barWidth = bar_->sizeHint().width();
  const QRect area(kMargin + leftAxisWidth(), kMargin + readoutHeight(),
                   width() - 2 * kMargin - leftAxisWidth() - barWidth, height() - 2 * kMargin - readoutHeight() - bottomAxisHeight());
  const int side = std::max(0, std::min(area.width(), area.height()));
  // Centred vertically, level with the image beside it.
  return QRect(area.left(), area.top() + (area.height() - side) / 2, side, side);
}

void PatternMatrixView::resizeEvent(QResizeEvent*) {
  const QRect m = matrixRect();
  const int barWidth = bar_->sizeHint().width();
  bar_->setGeometry(m.right() + 1, m.top() - fontMetrics().height() / 2, barWidth,
                    std::max(bar_->minimumSizeHint().height(), m.height() + fontMetrics().height()));
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
  const QFontMetrics fm = fontMetrics();
  const QRect readout(kMargin, matrixRect().top() - readoutHeight(), width() - 2 * kMargin, fm.height());
  const QString text = hoverText();
  QColor hint = palette().windowText().color();
  if (text.isEmpty()) hint.setAlpha(kDimAlpha);
  p.setPen(hint);
  p.drawText(readout, Qt::AlignLeft | Qt::AlignVCenter,
             fm.elidedText(text.isEmpty() ? tr("Hover a cell: row = query token, column = key token") : text,
                           Qt::ElideRight, readout.width()));
  if (image_.isNull()) return;
  const QRect m = matrixRect();
  p.drawImage(m, image_);

  // Axes: a tick at each group's start, its label centred on the group; labels that would
  // touch the previous one are left out (197 tokens on 300 px cannot all be named).
  p.setPen(palette().windowText().color());
  QRect lastLeft, lastBottom;
  for (const Group& g : groups()) {
    const QRect firstCell = cellRect(g.first, g.first);
    const QRect lastCell = cellRect(g.first + g.count - 1, g.first + g.count - 1);
    p.drawLine(m.left() - kTick, firstCell.top(), m.left() - 1, firstCell.top());
    p.drawLine(firstCell.left(), m.bottom() + 1, firstCell.left(), m.bottom() + kTick);
    const int labelWidth = fm.horizontalAdvance(g.label);
    const int cy = (firstCell.top() + lastCell.bottom()) / 2;
    const QRect left(m.left() - kTick - kLabelGap - labelWidth, cy - fm.height() / 2, labelWidth, fm.height());
    if (lastLeft.isNull() || left.top() >= lastLeft.bottom() + kLabelSpacing) {
      p.drawText(left, Qt::AlignRight | Qt::AlignVCenter, g.label);
      lastLeft = left;
    }
    const int cx = (firstCell.left() + lastCell.right()) / 2;
    const QRect bottom(cx - labelWidth / 2, m.bottom() + kTick + kLabelGap, labelWidth, fm.height());
    if (lastBottom.isNull() || bottom.left() >= lastBottom.right() + kLabelSpacing) {
      p.drawText(bottom, Qt::AlignCenter, g.label);
      lastBottom = bottom;
    }
  }
  const QRect keyTitle(m.left(), m.bottom() + kTick + kLabelGap + fm.height(), m.width(), fm.height());
  p.drawText(keyTitle, Qt::AlignCenter, tr("key \u2192"));
  p.save();
  p.translate(kMargin, m.center().y());
  p.rotate(-90);
  p.drawText(QRect(-m.height() / 2, 0, m.height(), fm.height()), Qt::AlignCenter, tr("\u2190 query"));
  p.restore();

  if (hovered_.x() >= 0) {
    p.setPen(QPen(Qt::white, kHoverPen));
    p.setBrush(Qt::NoBrush);
    p.drawRect(cellRect(hovered_.y(), hovered_.x()));
  }
}

void PatternMatrixView::setHovered(QPoint cell) {
  if (cell == hovered_) return;
  hovered_ = cell;
  setToolTip(hoverText());
  update();
  emit cellHovered(cell.y(), cell.x());
}

void PatternMatrixView::mouseMoveEvent(QMouseEvent* event) {
  const QRect m = matrixRect();
  const QPoint pos = event->position().toPoint();
  // The inverse of cellRect's rounding: the last cell whose first pixel, floor(side·i / T),
  // is at or before the offset d, i.e. i = floor(((d + 1)·T − 1) / side). Dividing d·T by
  // the side instead picks the previous cell whenever cells are only a pixel or two wide.
  const auto cellAt = [this](int offset, int side) { return std::min(tokens_ - 1, ((offset + 1) * tokens_ - 1) / side); };
  QPoint cell(-1, -1);
  if (tokens_ > 0 && m.contains(pos)) cell = QPoint(cellAt(pos.x() - m.left(), m.width()), cellAt(pos.y() - m.top(), m.height()));
  setHovered(cell);
}

void PatternMatrixView::leaveEvent(QEvent*) { setHovered({-1, -1}); }

}  // namespace prisma::widgets
