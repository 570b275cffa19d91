#include "app/explorer/patching/PatchGridPlot.h"

#include <QLabel>

#include <cmath>

namespace prisma::app {

namespace {
constexpr double kHalfCell = 0.5;
constexpr int kMaxTicks = 12;
// The plot's own minimum (QCustomPlot's is its title's and colour bar's full width): three
// plots side by side share the board's width rather than widening the window.
constexpr int kMinimumWidth = 120;
constexpr int kMinimumHeight = 120;
constexpr int kPlaceholderMargin = 12;
const QColor kReachColor(255, 200, 0, 50);
const QColor kReachEdge(255, 200, 0);
const QColor kPatchedEdge(0, 0, 0);

QCPColorGradient diverging() {
  QCPColorGradient g;
  g.setColorStopAt(0.0, QColor(33, 102, 172));
  g.setColorStopAt(0.5, QColor(247, 247, 247));
  g.setColorStopAt(1.0, QColor(178, 24, 43));
  g.setNanHandling(QCPColorGradient::nhTransparent);
  return g;
}

// Viridis' key colours: perceptually ordered, readable in grey.
QCPColorGradient sequential() {
  QCPColorGradient g;
  g.setColorStopAt(0.0, QColor(68, 1, 84));
  g.setColorStopAt(0.25, QColor(59, 82, 139));
  g.setColorStopAt(0.5, QColor(33, 145, 140));
  g.setColorStopAt(0.75, QColor(94, 201, 98));
  g.setColorStopAt(1.0, QColor(253, 231, 37));
  g.setNanHandling(QCPColorGradient::nhTransparent);
  return g;
}

QString axisLabel(const QStringList& axes) {
  const QStringList rest = axes.mid(1);
  if (rest == QStringList{QStringLiteral("pos")}) return QObject::tr("position (token)");
  if (rest == QStringList{QStringLiteral("head")}) return QObject::tr("head");
  if (rest == QStringList{QStringLiteral("pos"), QStringLiteral("head")}) return QObject::tr("position \u00d7 heads + head");
  return rest.join(QStringLiteral(" \u00d7 "));
}

QSharedPointer<QCPAxisTickerFixed> integerTicker(int count) {
  auto t = QSharedPointer<QCPAxisTickerFixed>::create();
  t->setTickStep(std::max(1, static_cast<int>(std::ceil(static_cast<double>(count) / kMaxTicks))));
  t->setScaleStrategy(QCPAxisTickerFixed::ssNone);
  return t;
}
}  // namespace

PatchGridPlot::PatchGridPlot(const QString& title, QWidget* parent) : QCustomPlot(parent) {
  plotLayout()->insertRow(0);
  title_ = new QCPTextElement(this, title, QFont(font().family(), font().pointSize(), QFont::Bold));
  plotLayout()->addElement(0, 0, title_);
  map_ = new QCPColorMap(xAxis, yAxis);
  map_->setInterpolate(false);
  map_->setTightBoundary(false);
  scale_ = new QCPColorScale(this);
  plotLayout()->addElement(1, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  map_->setColorScale(scale_);
  auto* group = new QCPMarginGroup(this);
  axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  yAxis->setRangeReversed(true);  // layer 0 on top, as the model reads
  yAxis->setLabel(tr("layer"));
  reach_ = new QCPItemRect(this);
  reach_->setPen(QPen(kReachEdge, 1, Qt::DashLine));
  reach_->setBrush(kReachColor);
  reach_->setVisible(false);
  patched_ = new QCPItemRect(this);
  patched_->setPen(QPen(kPatchedEdge, 2));
  patched_->setVisible(false);
  connect(this, &QCustomPlot::mousePress, this, &PatchGridPlot::onPress);
  setMinimumSize(kMinimumWidth, kMinimumHeight);
  placeholder_ = new QLabel(this);
  placeholder_->setObjectName(QStringLiteral("plotPlaceholder"));
  placeholder_->setAlignment(Qt::AlignCenter);
  placeholder_->setWordWrap(true);
  placeholder_->setMargin(kPlaceholderMargin);
  placeholder_->setAutoFillBackground(true);  // covers the empty axes
  placeholder_->setForegroundRole(QPalette::PlaceholderText);
  clearGrid();
}

void PatchGridPlot::setTitle(const QString& title) {
  title_->setText(title);
  replot(QCustomPlot::rpQueuedReplot);
}

QString PatchGridPlot::title() const { return title_->text(); }

void PatchGridPlot::setPlaceholder(const QString& text) { placeholder_->setText(text); }

void PatchGridPlot::resizeEvent(QResizeEvent* event) {
  QCustomPlot::resizeEvent(event);
  placeholder_->setGeometry(rect());
}

void PatchGridPlot::clearGrid() {
  rows_ = cols_ = 0;
  map_->data()->clear();
  map_->setVisible(false);
  clearReach();
  placeholder_->setGeometry(rect());
  placeholder_->show();
  placeholder_->raise();
  replot(QCustomPlot::rpQueuedReplot);
}

void PatchGridPlot::setGrid(const PatchingGrid& grid, Scale scale, const QString& valueLabel) {
  if (!grid.isValid()) return clearGrid();
  const int rows = grid.rows(), cols = grid.cols();
  if (rows != rows_ || cols != cols_) {
    map_->data()->setSize(cols, rows);
    map_->data()->setRange(QCPRange(0, cols - 1), QCPRange(0, rows - 1));
    xAxis->setRange(-kHalfCell, cols - kHalfCell);
    yAxis->setRange(-kHalfCell, rows - kHalfCell);
    xAxis->setTicker(integerTicker(cols));
    yAxis->setTicker(integerTicker(rows));
    rows_ = rows;
    cols_ = cols;
  }
  xAxis->setLabel(axisLabel(grid.axes));
  double low = 0.0, high = 0.0, extent = 0.0;
  bool any = false;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float v = grid.at(r, c);
      map_->data()->setCell(c, r, v);
      if (std::isnan(v)) continue;
      low = any ? std::min<double>(low, v) : v;
      high = any ? std::max<double>(high, v) : v;
      extent = std::max(extent, std::abs(static_cast<double>(v)));
      any = true;
    }
  }
  if (scale == Scale::Diverging) {
    map_->setGradient(diverging());
    extent = extent > 0 ? extent : 1.0;
    map_->setDataRange(QCPRange(-extent, extent));  // centred on 0: white is "no effect"
  } else {
    map_->setGradient(sequential());
    map_->setDataRange(any && high > low ? QCPRange(low, high) : QCPRange(low - 1, low + 1));
  }
  scale_->axis()->setLabel(valueLabel);
  map_->setVisible(true);
  placeholder_->hide();
  replot(QCustomPlot::rpQueuedReplot);
}

double PatchGridPlot::shownValue(int row, int col) const { return map_->data()->cell(col, row); }

QPoint PatchGridPlot::cellCenter(int row, int col) const {
  return QPoint(static_cast<int>(std::lround(xAxis->coordToPixel(col))), static_cast<int>(std::lround(yAxis->coordToPixel(row))));
}

void PatchGridPlot::showReach(int row, int col) {
  if (!hasGrid()) return;
  reach_->topLeft->setCoords(-kHalfCell, row + kHalfCell);
  reach_->bottomRight->setCoords(cols_ - kHalfCell, rows_ - kHalfCell);
  reach_->setVisible(row + 1 < rows_);
  patched_->topLeft->setCoords(col - kHalfCell, row - kHalfCell);
  patched_->bottomRight->setCoords(col + kHalfCell, row + kHalfCell);
  patched_->setVisible(col >= 0);
  replot(QCustomPlot::rpQueuedReplot);
}

void PatchGridPlot::clearReach() {
  reach_->setVisible(false);
  patched_->setVisible(false);
  replot(QCustomPlot::rpQueuedReplot);
}

void PatchGridPlot::onPress(QMouseEvent* event) {
  if (!hasGrid() || event->button() != Qt::LeftButton) return;
  const double x = xAxis->pixelToCoord(event->position().x()), y = yAxis->pixelToCoord(event->position().y());
  const int col = static_cast<int>(std::lround(x)), row = static_cast<int>(std::lround(y));
  if (row < 0 || row >= rows_ || col < 0 || col >= cols_) return;
  emit cellClicked(row, col);
}

}  // namespace prisma::app
