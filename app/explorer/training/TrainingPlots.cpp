#include "app/explorer/training/TrainingPlots.h"

#include <qcustomplot.h>

#include <QElapsedTimer>
#include <QGridLayout>
#include <QLabel>
#include <QShowEvent>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace prisma::app {

namespace {

constexpr int kLegendFontPt = 7;
constexpr int kLegendAlpha = 170;
constexpr int kLegendIconWidth = 24;
constexpr int kLegendIconHeight = 8;
constexpr int kStepTicks = 3;
constexpr double kNsPerMs = 1e6;
constexpr int kPlotMinHeight = 160;
constexpr double kThinPen = 1.5;
constexpr double kAccuracyMax = 1.0;
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

struct SeriesInfo {
  const char* name;
  TrainingPlots::Plot plot;
  Qt::PenStyle style;
};
// Train solid, test dashed; top-5 dotted.
const std::array<SeriesInfo, TrainingPlots::kSeriesCount> kSeries = {{
    {"train loss", TrainingPlots::Plot::Loss, Qt::SolidLine},
    {"test loss", TrainingPlots::Plot::Loss, Qt::DashLine},
    {"train acc", TrainingPlots::Plot::Accuracy, Qt::SolidLine},
    {"test acc", TrainingPlots::Plot::Accuracy, Qt::DashLine},
    {"train top-5", TrainingPlots::Plot::Accuracy, Qt::DotLine},
    {"test top-5", TrainingPlots::Plot::Accuracy, Qt::DashDotLine},
    {"lr", TrainingPlots::Plot::LearningRate, Qt::SolidLine},
    {"grad norm", TrainingPlots::Plot::GradNorm, Qt::SolidLine},
}};
const std::array<const char*, TrainingPlots::kPlotCount> kPlotTitles = {"Loss", "Accuracy", "Learning rate",
                                                                         "Gradient norm"};
// Runs are told apart by colour: the current run first, overlays after it.
const std::array<QRgb, 6> kRunColors = {0x1f77b4, 0xd62728, 0x2ca02c, 0x9467bd, 0xff7f0e, 0x17becf};

bool logCapable(TrainingPlots::Plot p) { return p != TrainingPlots::Plot::Accuracy; }

}  // namespace

double TrainingPlots::seriesValue(const TrainingMetrics& m, Series s) {
  switch (s) {
    case Series::TrainLoss: return m.trainLoss;
    case Series::TestLoss: return m.testLoss;
    case Series::TrainTop1: return m.trainTop1;
    case Series::TestTop1: return m.testTop1;
    case Series::TrainTop5: return m.trainTop5;
    case Series::TestTop5: return m.testTop5;
    case Series::LearningRate: return m.lr;
    case Series::GradNorm: return m.gradNorm;
  }
  return TrainingMetrics::kMissing;
}

TrainingPlots::Plot TrainingPlots::plotOf(Series s) { return kSeries[static_cast<int>(s)].plot; }

TrainingPlots::TrainingPlots(QWidget* parent) : QWidget(parent) {
  auto* grid = new QGridLayout;
  for (int i = 0; i < kPlotCount; ++i) {
    auto* p = new QCustomPlot(this);
    p->setObjectName(QStringLiteral("plot%1").arg(i));
    p->setMinimumHeight(kPlotMinHeight);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    p->plotLayout()->insertRow(0);
    p->plotLayout()->addElement(0, 0, new QCPTextElement(p, tr(kPlotTitles[i]), QFont(font().family(), -1, QFont::Bold)));
    p->xAxis->setLabel(tr("step"));
    p->legend->setVisible(true);
    p->legend->setFont(QFont(font().family(), kLegendFontPt));
    p->legend->setBrush(QColor(255, 255, 255, kLegendAlpha));  // curves stay visible behind it
    p->legend->setRowSpacing(0);
    p->legend->setIconSize(kLegendIconWidth, kLegendIconHeight);
    p->xAxis->ticker()->setTickCount(kStepTicks);  // step labels of long runs must not collide
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    if (static_cast<Plot>(i) == Plot::Accuracy) p->yAxis->setRange(0.0, kAccuracyMax);
    p->installEventFilter(this);
    p->setMouseTracking(true);
    connect(p, &QCustomPlot::mouseMove, this, [this, i](QMouseEvent* e) {
      const QString text = readoutAt(static_cast<Plot>(i), plots_[i]->xAxis->pixelToCoord(e->pos().x()));
      readout_->setText(text);
      emit readoutChanged(text);
    });
    connect(p, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { resetView(); });
    plots_[i] = p;
    grid->addWidget(p, i / 2, i % 2);
  }
  readout_ = new QLabel(tr("Hover a plot to read its values; drag to pan, wheel to zoom, double-click to reset."), this);
  readout_->setObjectName(QStringLiteral("plotReadout"));
  readout_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(grid, 1);
  layout->addWidget(readout_);

  replotTimer_.setSingleShot(true);
  replotTimer_.setInterval(kReplotIntervalMs);
  connect(&replotTimer_, &QTimer::timeout, this, &TrainingPlots::replotNow);
}

TrainingPlots::~TrainingPlots() = default;

bool TrainingPlots::eventFilter(QObject* watched, QEvent* event) {
  // A user's zoom or pan holds the view: new points no longer rescale that plot.
  if (event->type() == QEvent::Wheel || event->type() == QEvent::MouseButtonPress) {
    for (int i = 0; i < kPlotCount; ++i)
      if (watched == plots_[i]) userView_[i] = true;
  }
  return QWidget::eventFilter(watched, event);
}

int TrainingPlots::addRun(const QString& label, const QVector<TrainingMetrics>& metrics) {
  Run run;
  run.label = label;
  run.color = QColor(kRunColors[nextColor_++ % kRunColors.size()]);
  for (int s = 0; s < kSeriesCount; ++s) {
    QCustomPlot* p = plots_[static_cast<int>(kSeries[s].plot)];
    QCPGraph* g = p->addGraph();
    QPen pen(run.color, kThinPen, kSeries[s].style);
    g->setPen(pen);
    g->setName(label + QStringLiteral(": ") + tr(kSeries[s].name));
    run.graphs[s] = g;
  }
  runs_.push_back(std::move(run));
  const int index = runCount() - 1;
  setRunMetrics(index, metrics);
  return index;
}

void TrainingPlots::setRunLabel(int run, const QString& label) {
  Run& r = runs_.at(run);
  r.label = label;
  for (int s = 0; s < kSeriesCount; ++s) r.graphs[s]->setName(label + QStringLiteral(": ") + tr(kSeries[s].name));
  markDirty();
}

void TrainingPlots::removeRun(int run) {
  Run& r = runs_.at(run);
  for (int s = 0; s < kSeriesCount; ++s) plots_[static_cast<int>(kSeries[s].plot)]->removeGraph(r.graphs[s]);
  runs_.erase(runs_.begin() + run);
  markDirty();
}

void TrainingPlots::addPoint(Run& run, const TrainingMetrics& m) {
  const double w = smoothing_;
  for (int s = 0; s < kSeriesCount; ++s) {
    const double y = seriesValue(m, static_cast<Series>(s));
    double shown = y;
    if (std::isfinite(y) && w > 0.0) {
      Ema& e = run.ema[s];
      e.last = w * e.last + (1.0 - w) * y;
      e.count += 1;
      shown = e.last / (1.0 - std::pow(w, e.count));
    }
    // NaN (no value yet, e.g. the learning rate before the first update) is a gap.
    run.graphs[s]->addData(static_cast<double>(m.step), shown);
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
  run.ema = {};
  for (QCPGraph* g : run.graphs) g->data()->clear();
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
  applyScales();
  markDirty();
}

void TrainingPlots::applyScales() {
  for (int i = 0; i < kPlotCount; ++i) {
    if (!logCapable(static_cast<Plot>(i))) continue;
    QCPAxis* y = plots_[i]->yAxis;
    y->setScaleType(logScale_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (logScale_) y->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else y->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    userView_[i] = false;
  }
}

void TrainingPlots::resetView() {
  userView_.fill(false);
  markDirty();
}

QString TrainingPlots::readoutAt(Plot plot, double step) const {
  QStringList parts;
  double shownStep = std::nan("");
  for (const Run& r : runs_) {
    for (int s = 0; s < kSeriesCount; ++s) {
      if (kSeries[s].plot != plot) continue;
      const auto data = r.graphs[s]->data();
      if (data->isEmpty()) continue;
      // The point nearest `step`: the first at or after it, or the one before.
      auto it = data->findBegin(step, false);
      if (it == data->constEnd()) --it;
      if (it != data->constBegin()) {
        auto before = it - 1;
        if (std::abs(before->key - step) < std::abs(it->key - step)) it = before;
      }
      if (!std::isfinite(shownStep)) shownStep = it->key;
      parts << QStringLiteral("%1 %2").arg(r.graphs[s]->name()).arg(it->value, 0, 'g', 5);
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
  for (int i = 0; i < kPlotCount; ++i) {
    QCustomPlot* p = plots_[i];
    if (!userView_[i]) {
      p->xAxis->rescale(true);
      if (static_cast<Plot>(i) == Plot::Accuracy) p->yAxis->setRange(0.0, kAccuracyMax);
      else fitValueAxis(p);
    }
    p->replot();
  }
  ++replots_;
  longestReplotMs_ = std::max(longestReplotMs_, timer.nsecsElapsed() / kNsPerMs);
}

}  // namespace prisma::app
