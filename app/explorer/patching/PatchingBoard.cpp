// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/interp/PatchComponent.h"

#include "app/explorer/patching/PatchingBoard.h"

#include "app/explorer/ExplorerController.h"
#include "app/explorer/patching/PatchGridPlot.h"
#include "app/explorer/patching/PatchImageView.h"
#include "app/explorer/patching/PatchSourceSlot.h"

#include "widgets/TopKBars.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTextStream>
#include <QVBoxLayout>

#include <cmath>

namespace prisma::app {

namespace {
constexpr int kControlsWidth = 300;
constexpr int kMsPerSecond = 1000;
constexpr int kCsvPrecision = 9;
constexpr int kShownDigits = 5;

// Those of `names` the free-form region patch takes (interp::patchesPositions), in order.
QStringList positionKinds(const QStringList& names) {
  QStringList out;
  for (const QString& n : names)
    if (interp::patchesPositions(interp::componentKindFromName(n.toStdString()))) out << n;
  return out;
}

QStringList allComponentNames() {
  QStringList out;
  for (const std::string& n : interp::componentNames()) out << QString::fromStdString(n);
  return out;
}

QString seconds(qint64 ms) { return QStringLiteral("%1 s").arg(static_cast<double>(ms) / kMsPerSecond, 0, 'f', 1); }

// exact − attribution, cell by cell: where the linear approximation misses.
PatchingGrid difference(const PatchingGrid& exact, const PatchingGrid& attribution) {
  PatchingGrid d = exact;
  auto values = std::make_shared<std::vector<float>>(exact.values->size());
  for (size_t i = 0; i < values->size(); ++i) (*values)[i] = (*exact.values)[i] - (*attribution.values)[i];
  d.values = values;
  return d;
}
}  // namespace

PatchingBoard::PatchingBoard(ExplorerController* controller, QWidget* parent) : QWidget(parent), controller_(controller) {
  setObjectName(QStringLiteral("patchingBoard"));
  clean_ = new PatchSourceSlot(tr("Clean"), this);
  clean_->setObjectName(QStringLiteral("cleanSlot"));
  clean_->imageView()->setSelectable(true);
  clean_->imageView()->setToolTip(tr("Select patches, then drag them onto the corrupted image"));
  corrupt_ = new PatchSourceSlot(tr("Corrupted"), this);
  corrupt_->setObjectName(QStringLiteral("corruptSlot"));
  auto* swap = new QPushButton(tr("\u21c4"), this);
  swap->setObjectName(QStringLiteral("swapButton"));
  swap->setToolTip(tr("Swap clean and corrupted"));

  component_ = new QComboBox(this);
  component_->setObjectName(QStringLiteral("componentBox"));
  for (const std::string& name : interp::componentNames()) component_->addItem(QString::fromStdString(name));
  metric_ = new QComboBox(this);
  metric_->setObjectName(QStringLiteral("metricBox"));
  metric_->addItem(tr("logit difference A \u2212 B"), static_cast<int>(PatchMetricKind::LogitDiff));
  metric_->addItem(tr("normalised logit difference"), static_cast<int>(PatchMetricKind::NormalizedLogitDiff));
  metric_->addItem(tr("probability of A"), static_cast<int>(PatchMetricKind::Probability));
  classA_ = new QComboBox(this);
  classB_ = new QComboBox(this);
  previewButton_ = new QPushButton(tr("Preview"), this);
  previewButton_->setToolTip(tr("Attribution patching: one backward pass for the whole grid"));
  runButton_ = new QPushButton(tr("Run exact"), this);
  runButton_->setObjectName(QStringLiteral("runExactButton"));
  cancelButton_ = new QPushButton(tr("Cancel"), this);
  cancelButton_->setObjectName(QStringLiteral("cancelButton"));
  progress_ = new QProgressBar(this);
  progress_->setRange(0, 1);
  progress_->setValue(0);
  eta_ = new QLabel(this);
  compare_ = new QCheckBox(tr("Exact vs attribution"), this);
  compare_->setObjectName(QStringLiteral("compareToggle"));
  csvButton_ = new QPushButton(tr("CSV…"), this);
  pngButton_ = new QPushButton(tr("PNG…"), this);
  spatialKind_ = new QComboBox(this);
  spatialKind_->addItems(positionKinds(allComponentNames()));
  spatialLayer_ = new QSpinBox(this);
  spatialButton_ = new QPushButton(tr("Patch selection"), this);
  status_ = new QLabel(this);
  status_->setWordWrap(true);

  auto* controls = new QWidget(this);
  controls->setFixedWidth(kControlsWidth);
  auto* form = new QFormLayout(controls);
  form->setContentsMargins(0, 0, 0, 0);
  form->addRow(tr("Component"), component_);
  form->addRow(tr("Metric"), metric_);
  form->addRow(tr("Class A"), classA_);
  form->addRow(tr("Class B"), classB_);
  auto* runRow = new QHBoxLayout;
  runRow->addWidget(previewButton_);
  runRow->addWidget(runButton_);
  runRow->addWidget(cancelButton_);
  form->addRow(runRow);
  form->addRow(progress_);
  form->addRow(eta_);
  form->addRow(compare_);
  auto* exportRow = new QHBoxLayout;
  exportRow->addWidget(new QLabel(tr("Export"), controls));
  exportRow->addWidget(csvButton_);
  exportRow->addWidget(pngButton_);
  form->addRow(exportRow);
  auto* spatial = new QGroupBox(tr("Region patch"), controls);
  auto* spatialForm = new QFormLayout(spatial);
  auto* hint = new QLabel(tr("Select patches on the clean image and drag them onto the corrupted one."), spatial);
  hint->setWordWrap(true);
  spatialForm->addRow(hint);
  spatialForm->addRow(tr("Component"), spatialKind_);
  spatialForm->addRow(tr("Layer"), spatialLayer_);
  spatialForm->addRow(spatialButton_);
  form->addRow(spatial);
  form->addRow(status_);

  auto* top = new QHBoxLayout;
  top->addWidget(clean_, 1);
  top->addWidget(swap);
  top->addWidget(corrupt_, 1);
  top->addWidget(controls);

  plots_ = new QWidget(this);
  mainPlot_ = new PatchGridPlot(tr("activation patching"), plots_);
  mainPlot_->setObjectName(QStringLiteral("patchingPlot"));
  attributionPlot_ = new PatchGridPlot(tr("attribution patching"), plots_);
  differencePlot_ = new PatchGridPlot(tr("exact \u2212 attribution"), plots_);
  auto* plotRow = new QHBoxLayout(plots_);
  plotRow->setContentsMargins(0, 0, 0, 0);
  plotRow->addWidget(mainPlot_);
  plotRow->addWidget(attributionPlot_);
  plotRow->addWidget(differencePlot_);
  attributionPlot_->hide();
  differencePlot_->hide();

  cleanBars_ = new widgets::TopKBars(this);
  corruptBars_ = new widgets::TopKBars(this);
  patchedBars_ = new widgets::TopKBars(this);
  patchedBars_->setObjectName(QStringLiteral("patchedBars"));
  patchedLabel_ = new QLabel(tr("Click a cell, or drop a region, to run one patch."), this);
  patchedLabel_->setObjectName(QStringLiteral("patchedLabel"));
  auto* predictions = new QHBoxLayout;
  auto column = [&](const QString& title, QWidget* bars, QWidget* extra = nullptr) {
    auto* v = new QVBoxLayout;
    v->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(title), this));
    v->addWidget(bars);
    if (extra) v->addWidget(extra);
    predictions->addLayout(v, 1);
  };
  column(tr("Clean prediction"), cleanBars_);
  column(tr("Corrupted prediction"), corruptBars_);
  column(tr("Patched prediction"), patchedBars_, patchedLabel_);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top, 2);
  layout->addWidget(plots_, 3);
  layout->addLayout(predictions, 1);

  connect(clean_, &PatchSourceSlot::requestDropped, this, [this](const ImageRequest& r) { setSource(Source::Clean, r); });
  connect(corrupt_, &PatchSourceSlot::requestDropped, this, [this](const ImageRequest& r) { setSource(Source::Corrupt, r); });
  connect(corrupt_, &PatchSourceSlot::regionDropped, this, &PatchingBoard::patchRegion);
  connect(swap, &QPushButton::clicked, this, &PatchingBoard::swapSources);
  connect(component_, &QComboBox::currentTextChanged, this, &PatchingBoard::setupChanged);
  connect(metric_, &QComboBox::currentIndexChanged, this, [this] {
    classB_->setEnabled(setup().metric != PatchMetricKind::Probability);
    setupChanged();
  });
  connect(classA_, &QComboBox::currentIndexChanged, this, &PatchingBoard::setupChanged);
  connect(classB_, &QComboBox::currentIndexChanged, this, &PatchingBoard::setupChanged);
  connect(previewButton_, &QPushButton::clicked, this, &PatchingBoard::preview);
  connect(runButton_, &QPushButton::clicked, this, &PatchingBoard::runExact);
  connect(cancelButton_, &QPushButton::clicked, this, &PatchingBoard::cancel);
  connect(compare_, &QCheckBox::toggled, this, &PatchingBoard::showGrids);
  connect(mainPlot_, &PatchGridPlot::cellClicked, this, &PatchingBoard::patchCell);
  connect(spatialButton_, &QPushButton::clicked, this, [this] { patchRegion(clean_->imageView()->selection()); });
  connect(csvButton_, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getSaveFileName(this, tr("Export Grid"), QStringLiteral("patching.csv"), tr("CSV (*.csv)"));
    if (!file.isEmpty() && !exportCsv(file)) emit failed(tr("%1: cannot write the file").arg(file));
  });
  connect(pngButton_, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getSaveFileName(this, tr("Export Plot"), QStringLiteral("patching.png"), tr("PNG images (*.png)"));
    if (!file.isEmpty() && !exportPng(file)) emit failed(tr("%1: cannot write the image").arg(file));
  });

  connect(controller_, &ExplorerController::patchingPairReady, this, &PatchingBoard::onPairReady);
  connect(controller_, &ExplorerController::patchingProgress, this, &PatchingBoard::onProgress);
  connect(controller_, &ExplorerController::patchingGridReady, this, &PatchingBoard::onGridReady);
  connect(controller_, &ExplorerController::patchedRunReady, this, &PatchingBoard::onPatchedRun);
  connect(controller_, &ExplorerController::patchingFailed, this, &PatchingBoard::onFailed);
  updateButtons();
}

PatchingBoard::~PatchingBoard() { stopSweep(); }

void PatchingBoard::setModel(const ModelSummary& model) {
  // A reload of the same path may be a retrained model: nothing cached survives it.
  cache_.clear();
  modelSource_ = model.source + QChar('|') + model.name;
  hasModel_ = true;
  prepare();
}

void PatchingBoard::setSource(Source which, const ImageRequest& request) {
  slot(which)->setRequest(request);
  prepare();
}

void PatchingBoard::swapSources() {
  if (!clean_->hasRequest() || !corrupt_->hasRequest()) return;
  const ImageRequest clean = clean_->request();
  clean_->setRequest(corrupt_->request());
  corrupt_->setRequest(clean);
  prepare();
}

void PatchingBoard::setComponent(const QString& name) {
  if (component_->findText(name) < 0) component_->addItem(name);  // the worker reports unknown names
  component_->setCurrentText(name);
}

void PatchingBoard::setMetric(PatchMetricKind kind) { metric_->setCurrentIndex(metric_->findData(static_cast<int>(kind))); }

PatchingSetup PatchingBoard::setup() const {
  PatchingSetup s;
  s.component = component_->currentText();
  s.metric = static_cast<PatchMetricKind>(metric_->currentData().toInt());
  s.classA = classA_->currentData().isValid() ? classA_->currentData().toInt() : -1;
  s.classB = classB_->currentData().isValid() ? classB_->currentData().toInt() : -1;
  s.batchSize = batchSize_;
  return s;
}

QString PatchingBoard::cacheKey() const {
  return QStringList{modelSource_, clean_->sourceKey(), corrupt_->sourceKey(), component_->currentText(), setup().metricKey()}
      .join(QChar('|'));
}

QString PatchingBoard::valueLabel() const {
  switch (setup().metric) {
    case PatchMetricKind::LogitDiff: return tr("logit diff");
    case PatchMetricKind::NormalizedLogitDiff: return tr("fraction restored");
    case PatchMetricKind::Probability: return tr("probability");
  }
  return {};
}

QString PatchingBoard::plotTitle(const QString& what) const {
  return QStringLiteral("%1 of %2: %3").arg(what, component_->currentText(), setup().metricLabel(pair_.classNames));
}

void PatchingBoard::stopSweep() {
  if (stop_) stop_->store(true);
  sweepId_ = 0;
}

void PatchingBoard::prepare() {
  stopSweep();
  pairReady_ = false;
  previewId_ = patchId_ = 0;
  exact_ = attribution_ = {};
  patched_ = {};
  showGrids();
  patchedBars_->setScores({});
  if (!hasModel_ || !clean_->hasRequest() || !corrupt_->hasRequest()) {
    status_->setText(hasModel_ ? tr("Drop a clean and a corrupted image.") : tr("Open a model."));
    pairId_ = 0;
    updateButtons();
    return;
  }
  status_->setText(tr("Running the clean and corrupted images…"));
  pairId_ = controller_->preparePatching(clean_->request(), corrupt_->request());
  updateButtons();
}

void PatchingBoard::onPairReady(const PatchingPairInfo& info) {
  if (info.requestId != pairId_) return;
  pairId_ = 0;
  pair_ = info;
  pairReady_ = true;
  clean_->setInfo(info.clean, info.gridRows, info.gridCols, info.hasCls);
  corrupt_->setInfo(info.corrupt, info.gridRows, info.gridCols, info.hasCls);
  cleanBars_->setScores(info.clean.topk);
  corruptBars_->setScores(info.corrupt.topk);
  {
    const QSignalBlocker block(component_);
    const QString current = component_->currentText();
    requestedComponent_ = current;
    component_->clear();
    component_->addItems(info.components);
    component_->setCurrentText(info.components.contains(current) ? current : info.components.value(0));
    const QString kind = spatialKind_->currentText();
    spatialKind_->clear();
    spatialKind_->addItems(positionKinds(info.components));
    spatialKind_->setCurrentText(kind);
    spatialLayer_->setRange(0, std::max(0, info.layers - 1));
  }
  fillClassBoxes();
  status_->setText(tr("Ready."));
  if (!info.components.contains(requestedComponent_)) {
    const QString message = tr("%1: this model has no such component (it has %2)")
                                .arg(requestedComponent_, info.components.join(QStringLiteral(", ")));
    status_->setText(message);
    // Screenshot mode must not silently sweep another component.
    if (runExactWhenReady_) {
      emit failed(message);
      return;
    }
  }
  emit pairPrepared();
  setupChanged();
  if (runExactWhenReady_) runExact();
}

void PatchingBoard::fillClassBoxes() {
  const QSignalBlocker a(classA_), b(classB_);
  classA_->clear();
  classB_->clear();
  // The classes either image predicts: what a logit difference is naturally about.
  QVector<int> classes = pair_.clean.topkClasses;
  for (int c : pair_.corrupt.topkClasses)
    if (!classes.contains(c)) classes << c;
  for (int c : classes) {
    const QString name = pair_.classNames.value(c, QString::number(c));
    classA_->addItem(name, c);
    classB_->addItem(name, c);
  }
  const int a0 = pair_.clean.topkClasses.value(0, -1);
  int b0 = pair_.corrupt.topkClasses.value(0, -1);
  if (b0 == a0)
    for (int c : pair_.corrupt.topkClasses)
      if (c != a0) {
        b0 = c;
        break;
      }
  classA_->setCurrentIndex(classA_->findData(a0));
  classB_->setCurrentIndex(classB_->findData(b0));
}

void PatchingBoard::setupChanged() {
  if (!pairReady_) return;
  if (sweepId_) {
    stopSweep();
    status_->setText(tr("Sweep cancelled: the setup changed."));
  }
  previewId_ = patchId_ = 0;
  patched_ = {};
  patchedBars_->setScores({});
  corrupt_->imageView()->setHighlighted({});
  const Cached cached = cache_.value(cacheKey());
  exact_ = cached.exact;
  attribution_ = cached.attribution;
  showGrids();
  if (!attribution_.isValid()) preview();
  else status_->setText(exact_.isValid() ? tr("Cached exact sweep.") : tr("Cached preview."));
  updateButtons();
}

void PatchingBoard::preview() {
  if (!pairReady_) return;
  previewId_ = controller_->runPatchingSweep(setup(), false, nullptr);
  status_->setText(tr("Attribution patching…"));
}

void PatchingBoard::runExact() {
  if (!pairReady_ || sweepId_) return;
  const Cached cached = cache_.value(cacheKey());
  if (cached.exact.isValid()) {
    exact_ = cached.exact;
    showGrids();
    emit exactFinished();
    return;
  }
  stop_ = std::make_shared<std::atomic<bool>>(false);
  exact_ = {};
  sweepId_ = controller_->runPatchingSweep(setup(), true, stop_);
  sweepClock_.start();
  progress_->setRange(0, 1);
  progress_->setValue(0);
  eta_->setText(tr("Starting…"));
  status_->setText(tr("Exact sweep of %1…").arg(component_->currentText()));
  updateButtons();
}

void PatchingBoard::cancel() {
  if (!sweepId_) return;
  stopSweep();
  eta_->setText(tr("Cancelled at %1 / %2 cells").arg(exact_.done).arg(exact_.total));
  status_->setText(tr("Sweep cancelled."));
  updateButtons();
}

void PatchingBoard::onProgress(const PatchingGrid& grid) {
  if (grid.requestId != sweepId_ || !sweepId_) return;
  exact_ = grid;
  mainPlot_->setTitle(plotTitle(tr("exact activation patching (running)")));
  mainPlot_->setGrid(grid, setup().metric == PatchMetricKind::NormalizedLogitDiff ? PatchGridPlot::Scale::Diverging
                                                                                    : PatchGridPlot::Scale::Sequential,
                     valueLabel());
  progress_->setRange(0, static_cast<int>(grid.total));
  progress_->setValue(static_cast<int>(grid.done));
  const qint64 elapsed = sweepClock_.elapsed();
  const qint64 left = grid.done > 0 ? elapsed * (grid.total - grid.done) / grid.done : 0;
  eta_->setText(tr("%1 / %2 cells, %3 elapsed, ETA %4").arg(grid.done).arg(grid.total).arg(seconds(elapsed), seconds(left)));
  emit sweepProgress(grid.done, grid.total);
}

void PatchingBoard::onGridReady(const PatchingGrid& grid) {
  if (grid.requestId == 0) return;
  if (grid.requestId == sweepId_) {
    sweepId_ = 0;
    exact_ = grid;
    if (!grid.stopped) cache_[cacheKey()].exact = grid;
    progress_->setRange(0, static_cast<int>(grid.total));
    progress_->setValue(static_cast<int>(grid.done));
    eta_->setText(tr("%1 cells in %2").arg(grid.done).arg(seconds(sweepClock_.elapsed())));
    status_->setText(tr("Exact sweep done. Click a cell to run that patch."));
  } else if (grid.requestId == previewId_) {
    previewId_ = 0;
    attribution_ = grid;
    cache_[cacheKey()].attribution = grid;
    if (!sweepId_) status_->setText(tr("Preview ready."));
  } else {
    return;  // a cancelled sweep or an outdated preview
  }
  showGrids();
  updateButtons();
  if (grid.attribution) emit previewFinished();
  else emit exactFinished();
}

void PatchingBoard::showGrids() {
  const auto scale = setup().metric == PatchMetricKind::NormalizedLogitDiff ? PatchGridPlot::Scale::Diverging
                                                                             : PatchGridPlot::Scale::Sequential;
  if (exact_.isValid()) {
    mainPlot_->setTitle(plotTitle(sweepId_ ? tr("exact activation patching (running)") : tr("exact activation patching")));
    mainPlot_->setGrid(exact_, scale, valueLabel());
  } else if (attribution_.isValid()) {
    mainPlot_->setTitle(plotTitle(tr("attribution patching (preview)")));
    mainPlot_->setGrid(attribution_, scale, valueLabel());
  } else {
    mainPlot_->clearGrid();
  }
  const PatchingGrid& any = exact_.isValid() ? exact_ : attribution_;
  clean_->setMetricText(any.isValid() ? tr("metric: %1").arg(any.cleanMetric, 0, 'g', kShownDigits) : QString());
  corrupt_->setMetricText(any.isValid() ? tr("metric: %1").arg(any.corruptMetric, 0, 'g', kShownDigits) : QString());
  const bool comparable = exact_.isValid() && !sweepId_ && exact_.done == exact_.total && attribution_.isValid() &&
                          attribution_.values->size() == exact_.values->size();
  compare_->setEnabled(comparable);
  const bool compare = comparable && compare_->isChecked();
  attributionPlot_->setVisible(compare);
  differencePlot_->setVisible(compare);
  if (compare) {
    mainPlot_->setTitle(tr("exact activation patching"));  // three plots share the width
    attributionPlot_->setGrid(attribution_, scale, valueLabel());
    differencePlot_->setGrid(difference(exact_, attribution_), PatchGridPlot::Scale::Diverging, tr("exact \u2212 attribution"));
  }
}

void PatchingBoard::updateButtons() {
  const bool running = sweepId_ != 0;
  runButton_->setEnabled(pairReady_ && !running);
  previewButton_->setEnabled(pairReady_);
  cancelButton_->setEnabled(running);
  spatialButton_->setEnabled(pairReady_);
  csvButton_->setEnabled(exact_.isValid() || attribution_.isValid());
  pngButton_->setEnabled(exact_.isValid() || attribution_.isValid());
}

void PatchingBoard::patchCell(int row, int col) {
  const PatchingGrid& shown = exact_.isValid() ? exact_ : attribution_;
  if (!pairReady_ || !shown.isValid() || row < 0 || row >= shown.rows() || col < 0 || col >= shown.cols()) return;
  patchId_ = controller_->runPatchedCell(setup(), shown.cellAt(row, col));
  mainPlot_->showReach(row, col);
  patchedLabel_->setText(tr("Patching %1 cell %2, %3…").arg(component_->currentText()).arg(row).arg(col));
}

void PatchingBoard::patchRegion(const QRect& patches) {
  if (!pairReady_ || patches.isEmpty()) return;
  clean_->imageView()->setSelection(patches);
  const QVector<int> tokens = clean_->imageView()->selectionTokens();
  if (tokens.isEmpty()) return;
  const int layer = spatialLayer_->value();
  patchId_ = controller_->runSpatialPatch(setup(), spatialKind_->currentText(), layer, tokens);
  if (mainPlot_->hasGrid()) mainPlot_->showReach(layer, -1);
  patchedLabel_->setText(tr("Patching %1 patches of %2 at layer %3…").arg(tokens.size()).arg(spatialKind_->currentText()).arg(layer));
}

void PatchingBoard::onPatchedRun(const PatchedRun& run) {
  if (run.requestId != patchId_ || !patchId_) return;
  patchId_ = 0;
  patched_ = run;
  patchedBars_->setScores(run.topk);
  QStringList cell;
  for (int i : run.cell) cell << QString::number(i);
  patchedLabel_->setText(tr("%1 [%2]: patched metric %3 (clean %4, corrupted %5)")
                             .arg(run.component, cell.join(QStringLiteral(", ")))
                             .arg(run.metric, 0, 'g', kShownDigits)
                             .arg(run.cleanMetric, 0, 'g', kShownDigits)
                             .arg(run.corruptMetric, 0, 'g', kShownDigits));
  corrupt_->imageView()->setHighlighted(run.positions);
  emit patchedRunShown();
}

void PatchingBoard::onFailed(const QString& message, quint64 id) {
  if (id == 0) return;
  if (id == pairId_) pairId_ = 0;
  else if (id == sweepId_) sweepId_ = 0;
  else if (id == previewId_) previewId_ = 0;
  else if (id == patchId_) patchId_ = 0;
  else return;
  status_->setText(message);
  updateButtons();
  emit failed(message);
}

bool PatchingBoard::exportCsv(const QString& file) const {
  const PatchingGrid& shape = exact_.isValid() ? exact_ : attribution_;
  if (!shape.isValid()) return false;
  QFile f(file);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) return false;
  QTextStream out(&f);
  out.setRealNumberPrecision(kCsvPrecision);
  out << shape.axes.join(QChar(','));
  if (exact_.isValid()) out << ",exact";
  if (attribution_.isValid()) out << ",attribution";
  out << "\n";
  for (int r = 0; r < shape.rows(); ++r) {
    for (int c = 0; c < shape.cols(); ++c) {
      for (int i : shape.cellAt(r, c)) out << i << ',';
      QStringList values;
      if (exact_.isValid()) values << QString::number(exact_.at(r, c), 'g', kCsvPrecision);
      if (attribution_.isValid()) values << QString::number(attribution_.at(r, c), 'g', kCsvPrecision);
      out << values.join(QChar(',')) << "\n";
    }
  }
  return out.status() == QTextStream::Ok;
}

bool PatchingBoard::exportPng(const QString& file) { return plots_->grab().toImage().save(file); }

}  // namespace prisma::app
