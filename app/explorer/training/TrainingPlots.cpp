#include "app/explorer/training/TrainingPlots.h"

#include <qcustomplot.h>

#include <QElapsedTimer>
#include <QGridLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QScrollArea>
#include <QShowEvent>
#include <QVBoxLayout>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>

namespace prisma::app {

namespace {

constexpr int kLegendFontPt = 7;
constexpr int kLegendIconWidth = 24;
constexpr int kLegendIconHeight = 8;
constexpr int kStepTicks = 3;
constexpr double kNsPerMs = 1e6;
constexpr int kPlotMinHeight = 160;
constexpr double kThinPen = 1.5;
constexpr double kAccuracyMax = 1.0;
// The legend sits in a row of its own under the axes (inside them it covered the curves);
// a stretch this small gives that row its minimum height and the axes the rest.
constexpr int kLegendRow = 2;
constexpr double kLegendRowStretch = 0.001;
constexpr int kLegendColumns = 2;
// A plot may be narrower than its legend's two columns (an SAE run's nine plots at a
// 1024 px window): its legend then takes one column, and the plot no minimum of its own.
constexpr int kPlotMinWidth = 150;
constexpr int kNarrowPlotWidth = 260;
constexpr int kNarrowStepTicks = 2;
// Two legend columns where they fit the plot's width, else one.
void fitLegend(QCustomPlot* p) {
  // setWrap alone only affects items added later; setFillOrder(..., true) re-flows them.
  const auto wrap = [p](int columns) {
    if (p->legend->wrap() == columns) return;
    p->legend->setWrap(columns);
    p->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
  };
  wrap(kLegendColumns);
  if (p->legend->minimumOuterSizeHint().width() > p->width()) wrap(1);
  // Long runs' step labels (4 digits) collide on a narrow plot at three ticks.
  p->xAxis->ticker()->setTickCount(p->width() < kNarrowPlotWidth ? kNarrowStepTicks : kStepTicks);
}

// A flat series is shown this fraction of its value above and below it (or ±1 around 0).
constexpr double kFlatMarginFraction = 0.1;

// The value axis fitted to the data. A series that never changes -- the learning rate of a
// constant schedule -- has no span of its own, and QCustomPlot's rescale then keeps the
// axis's previous span (e.g. -2..2), flattening a value of 1e-4 onto 0.
void fitValueAxis(QCustomPlot* p) {
  p->yAxis->rescale(true);
  QCPRange data;
  bool any = false;
  for (int g = 0; g < p->graphCount(); ++g) {
    if (!p->graph(g)->visible()) continue;
    bool found = false;
    const QCPRange r = p->graph(g)->getValueRange(found);
    if (!found) continue;
    data = any ? QCPRange(std::min(data.lower, r.lower), std::max(data.upper, r.upper)) : r;
    any = true;
  }
  if (!any || data.size() > 0.0) return;
  const double margin = data.lower != 0.0 ? std::abs(data.lower) * kFlatMarginFraction : 1.0;
  p->yAxis->setRange(data.lower - margin, data.lower + margin);
}

// How a column is drawn: its part ("train", "test", training batches or none) sets the pen
// style, its quantity the plot. A second quantity sharing a plot (top-5 beside top-1
// accuracy) gets the dotted variants of its part's style.
struct ColumnInfo {
  QString plot;
  Qt::PenStyle style = Qt::SolidLine;
  bool loop = false;  // lr and grad_norm: the loop's, shown after the objective's plots
};

const char* const kBatchPrefix = "train_batch_";
const char* const kTrainPrefix = "train_";
const char* const kTestPrefix = "test_";
const char* const kAccuracy = "acc";

// Quantities drawn in another quantity's plot.
const std::map<QString, QString> kSharedPlots = {{QStringLiteral("top5"), QString::fromLatin1(kAccuracy)}};
// Titles of the quantities the classifier trainer logs; others show their own name.
const std::map<QString, const char*> kTitles = {{QStringLiteral("loss"), "Loss"},
                                                {QString::fromLatin1(kAccuracy), "Accuracy"},
                                                {QStringLiteral("lr"), "Learning rate"},
                                                {QStringLiteral("grad_norm"), "Gradient norm"},
                                                // a sparse autoencoder's (SaeObjective)
                                                {QStringLiteral("mse"), "MSE"},
                                                {QStringLiteral("l0"), "L0"},
                                                {QStringLiteral("l1"), "L1"}};
// Fractions: a fixed [0, 1] axis, never logarithmic.
bool isUnitRange(const QString& plot) { return plot == QLatin1String(kAccuracy); }

ColumnInfo columnInfo(const QString& column) {
  enum { Train, Test, Batch, None } part = None;
  QString quantity = column;
  for (const auto& [prefix, p] : {std::pair{kBatchPrefix, Batch}, std::pair{kTrainPrefix, Train},
                                  std::pair{kTestPrefix, Test}}) {
    if (column.startsWith(QLatin1String(prefix)) && column.size() > int(std::strlen(prefix))) {
      quantity = column.mid(int(std::strlen(prefix)));
      part = p;
      break;
    }
  }
  ColumnInfo info;
  const auto shared = kSharedPlots.find(quantity);
  const bool secondary = shared != kSharedPlots.end();
  info.plot = secondary ? shared->second : quantity;
  info.loop = part == None && (quantity == QLatin1String("lr") || quantity == QLatin1String("grad_norm"));
  switch (part) {
    case Test: info.style = secondary ? Qt::DashDotLine : Qt::DashLine; break;
    case Batch: info.style = secondary ? Qt::DashDotDotLine : Qt::DotLine; break;
    default: info.style = secondary ? Qt::DotLine : Qt::SolidLine; break;
  }
  return info;
}

QString plotTitle(const QString& plot) {
  const auto known = kTitles.find(plot);
  if (known != kTitles.end()) return TrainingPlots::tr(known->second);
  QString title = plot;
  title.replace(QLatin1Char('_'), QLatin1Char(' '));
  if (!title.isEmpty()) title[0] = title[0].toUpper();
  return title;
}

// A curve's legend name: its column in words ("test loss", "train batch mse").
QString seriesName(const QString& column) {
  QString name = column;
  name.replace(QLatin1Char('_'), QLatin1Char(' '));
  return name;
}

// Runs are told apart by colour: the current run first, earlier ones after it.
const std::array<QRgb, 6> kRunColors = {0x1f77b4, 0xd62728, 0x2ca02c, 0x9467bd, 0xff7f0e, 0x17becf};

}  // namespace

TrainingPlots::TrainingPlots(QWidget* parent) : QWidget(parent) {
  // The plots scroll on their own (vertically): an SAE run's nine keep their height in a
  // 700 px window while the progress bar, log and checkpoints under them stay in view.
  auto* area = new QScrollArea(this);
  area->setObjectName(QStringLiteral("plotsScroll"));
  area->setFrameShape(QFrame::NoFrame);
  area->setWidgetResizable(true);
  area->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  auto* canvas = new QWidget(area);
  grid_ = new QGridLayout(canvas);
  grid_->setContentsMargins(0, 0, 0, 0);
  area->setWidget(canvas);
  empty_ = new QLabel(tr("No run yet: start one, or open a run folder."), this);
  empty_->setAlignment(Qt::AlignCenter);
  grid_->addWidget(empty_, 0, 0);
  readout_ = new QLabel(tr("Hover a plot to read its values; drag to pan, wheel to zoom, double-click to reset."), this);
  readout_->setObjectName(QStringLiteral("plotReadout"));
  readout_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  // Wrapped, so the hint's length sets no minimum width on the dashboard.
  readout_->setWordWrap(true);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(area, 1);
  layout->addWidget(readout_);

  replotTimer_.setSingleShot(true);
  replotTimer_.setInterval(kReplotIntervalMs);
  connect(&replotTimer_, &QTimer::timeout, this, &TrainingPlots::replotNow);
}

TrainingPlots::~TrainingPlots() = default;

QStringList TrainingPlots::plotNames() const {
  QStringList names;
  for (const Plot& p : plots_) names << p.name;
  return names;
}

QCustomPlot* TrainingPlots::plot(const QString& name) const {
  for (const Plot& p : plots_)
    if (p.name == name) return p.widget;
  return nullptr;
}

QCPGraph* TrainingPlots::graph(int run, const QString& column) const {
  const auto& curves = runs_.at(run).curves;
  const auto it = curves.find(column);
  return it == curves.end() ? nullptr : it->second.graph;
}

TrainingPlots::Plot& TrainingPlots::plotFor(const QString& column) {
  const QString name = columnInfo(column).plot;
  for (Plot& p : plots_)
    if (p.name == name) return p;
  Plot plot;
  plot.name = name;
  plot.unitRange = isUnitRange(name);
  auto* p = new QCustomPlot(this);
  p->setObjectName(QStringLiteral("plot_") + name);
  p->setMinimumHeight(kPlotMinHeight);
  p->setMinimumWidth(kPlotMinWidth);
  p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  p->plotLayout()->insertRow(0);
  p->plotLayout()->addElement(0, 0, new QCPTextElement(p, plotTitle(name), QFont(font().family(), -1, QFont::Bold)));
  p->xAxis->setLabel(tr("step"));
  p->legend->setVisible(false);  // until a curve has a value
  p->legend->setFont(QFont(font().family(), kLegendFontPt));
  p->legend->setBrush(Qt::NoBrush);
  p->legend->setBorderPen(Qt::NoPen);
  p->legend->setRowSpacing(0);
  p->legend->setIconSize(kLegendIconWidth, kLegendIconHeight);
  p->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  p->legend->setWrap(kLegendColumns);
  p->axisRect()->insetLayout()->take(p->legend);
  p->plotLayout()->addElement(kLegendRow, 0, p->legend);
  p->plotLayout()->setRowStretchFactor(kLegendRow, kLegendRowStretch);
  p->xAxis->ticker()->setTickCount(kStepTicks);  // step labels of long runs must not collide
  if (plot.unitRange) p->yAxis->setRange(0.0, kAccuracyMax);
  p->installEventFilter(this);
  p->setMouseTracking(true);
  connect(p, &QCustomPlot::mouseMove, this, [this, p, name](QMouseEvent* e) {
    readout_->setText(readoutAt(name, p->xAxis->pixelToCoord(e->pos().x())));
  });
  connect(p, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { resetView(); });
  plot.widget = p;
  const int i = static_cast<int>(plots_.size());
  if (i == 0) {
    grid_->removeWidget(empty_);
    empty_->hide();
  }
  grid_->addWidget(p, i / 2, i % 2);
  plots_.push_back(plot);
  applyScale(plots_.back());
  return plots_.back();
}

TrainingPlots::Curve& TrainingPlots::curveFor(Run& run, const QString& column) {
  auto it = run.curves.find(column);
  if (it != run.curves.end()) return it->second;
  QCustomPlot* p = plotFor(column).widget;
  QCPGraph* g = p->addGraph();
  g->setPen(QPen(run.color, kThinPen, columnInfo(column).style));
  g->setName(curveName(run, column));
  g->removeFromLegend();  // listed once it has a value: no entry for an empty curve
  return run.curves[column] = Curve{g, {}, false};
}

bool TrainingPlots::eventFilter(QObject* watched, QEvent* event) {
  // A user's zoom or pan holds the view: new points no longer rescale that plot.
  if (event->type() == QEvent::Wheel || event->type() == QEvent::MouseButtonPress) {
    for (Plot& p : plots_)
      if (watched == p.widget) p.userView = true;
  }
  if (event->type() == QEvent::Resize) {
    for (Plot& p : plots_)
      if (watched == p.widget) fitLegend(p.widget);
  }
  return QWidget::eventFilter(watched, event);
}

// One run: the curves are told apart by their part ("test loss"); several: by run too, so
// the legend under a narrow plot is not cut off for a label repeated on every line.
QString TrainingPlots::curveName(const Run& run, const QString& column) const {
  return runs_.size() > 1 ? run.label + QStringLiteral(": ") + seriesName(column) : seriesName(column);
}

void TrainingPlots::relabel() {
  for (const Run& r : runs_)
    for (const auto& [column, c] : r.curves) c.graph->setName(curveName(r, column));
}

int TrainingPlots::addRun(const QString& label, const QVector<TrainingMetrics>& metrics) {
  Run run;
  run.label = label;
  run.color = QColor(kRunColors[nextColor_++ % kRunColors.size()]);
  runs_.push_back(std::move(run));
  relabel();
  const int index = runCount() - 1;
  setRunMetrics(index, metrics);
  return index;
}

void TrainingPlots::removeLastRun() {
  if (runs_.empty()) return;
  for (auto& [column, c] : runs_.back().curves) plotFor(column).widget->removeGraph(c.graph);
  runs_.pop_back();
  relabel();
  nextColor_ = std::max(0, nextColor_ - 1);  // the next run takes its colour
  markDirty();
}

void TrainingPlots::addPoint(Run& run, const TrainingMetrics& m) {
  const double w = smoothing_;
  // The objective's quantities first, the loop's learning rate and gradient norm last, so
  // plots appear in that order whatever the column order.
  for (const bool loop : {false, true}) {
    for (const TrainingScalar& s : m.scalars) {
      if (columnInfo(s.column).loop != loop) continue;
      Curve& c = curveFor(run, s.column);
      double shown = s.value;
      if (std::isfinite(s.value) && w > 0.0) {
        c.ema.last = w * c.ema.last + (1.0 - w) * s.value;
        c.ema.count += 1;
        shown = c.ema.last / (1.0 - std::pow(w, c.ema.count));
      }
      // NaN (no value yet, e.g. the learning rate before the first update) is a gap.
      c.graph->addData(static_cast<double>(m.step), shown);
      if (!c.listed && std::isfinite(shown)) c.listed = c.graph->addToLegend();
    }
  }
}

void TrainingPlots::appendMetrics(int run, const TrainingMetrics& metrics) {
  Run& r = runs_.at(run);
  r.metrics.push_back(metrics);
  addPoint(r, metrics);
  markDirty();
}

void TrainingPlots::setRunMetrics(int run, const QVector<TrainingMetrics>& metrics) {
  Run& r = runs_.at(run);
  r.metrics = metrics;
  rebuild(r);
  markDirty();
}

void TrainingPlots::rebuild(Run& run) {
  for (auto& [column, c] : run.curves) {
    c.ema = {};
    c.graph->data()->clear();
  }
  for (const auto& m : run.metrics) addPoint(run, m);
}

void TrainingPlots::setSmoothing(double weight) {
  if (weight == smoothing_) return;
  smoothing_ = weight;
  for (Run& r : runs_) rebuild(r);
  markDirty();
}

void TrainingPlots::setLogScale(bool on) {
  logScale_ = on;
  for (Plot& p : plots_) applyScale(p);
  markDirty();
}

void TrainingPlots::applyScale(Plot& plot) {
  if (plot.unitRange) return;
  QCPAxis* y = plot.widget->yAxis;
  y->setScaleType(logScale_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (logScale_) y->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  else y->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  plot.userView = false;
}

void TrainingPlots::resetView() {
  for (Plot& p : plots_) p.userView = false;
  markDirty();
}

QString TrainingPlots::readoutAt(const QString& plot, double step) const {
  QStringList parts;
  double shownStep = std::nan("");
  for (const Run& r : runs_) {
    for (const auto& [column, c] : r.curves) {
      if (columnInfo(column).plot != plot) continue;
      const auto data = c.graph->data();
      if (data->isEmpty()) continue;
      // The point nearest `step`: the first at or after it, or the one before.
      auto it = data->findBegin(step, false);
      if (it == data->constEnd()) --it;
      if (it != data->constBegin()) {
        auto before = it - 1;
        if (std::abs(before->key - step) < std::abs(it->key - step)) it = before;
      }
      if (!std::isfinite(shownStep)) shownStep = it->key;
      parts << QStringLiteral("%1 %2").arg(c.graph->name()).arg(it->value, 0, 'g', 5);
    }
  }
  if (parts.isEmpty()) return {};
  return tr("step %1 \u2014 %2").arg(shownStep, 0, 'f', 0).arg(parts.join(QStringLiteral(", ")));
}

void TrainingPlots::markDirty() {
  dirty_ = true;
  if (!replotTimer_.isActive()) replotTimer_.start();
}

void TrainingPlots::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (dirty_) replotNow();
}

void TrainingPlots::replotNow() {
  // Hidden (another tab): the points wait, and the plots catch up when shown.
  if (!dirty_ || !isVisible()) return;
  dirty_ = false;
  QElapsedTimer timer;
  timer.start();
  for (Plot& plot : plots_) {
    QCustomPlot* p = plot.widget;
    p->legend->setVisible(p->legend->itemCount() > 0);
    fitLegend(p);
    if (!plot.userView) {
      p->xAxis->rescale(true);
      if (plot.unitRange) p->yAxis->setRange(0.0, kAccuracyMax);
      else fitValueAxis(p);
    }
    p->replot();
  }
  ++replots_;
  longestReplotMs_ = std::max(longestReplotMs_, timer.nsecsElapsed() / kNsPerMs);
}

}  // namespace prisma::app
