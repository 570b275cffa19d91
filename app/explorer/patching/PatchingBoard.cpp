#include "app/explorer/patching/PatchingBoard.h"

#include "app/explorer/patching/PatchGridPlot.h"
#include "app/explorer/patching/PatchImageView.h"
#include "app/explorer/patching/PatchSourceSlot.h"
#include "app/explorer/patching/QueuedPatchingBackend.h"

#include "widgets/AtomicSave.h"
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

#include <algorithm>
#include <cmath>
#include <iterator>

namespace prisma::app {

namespace {
constexpr int kControlsWidth = 300;
constexpr int kCsvPrecision = 9;
constexpr int kShownDigits = 5;

// The metrics the board offers; the combo box's data is the row.
struct MetricChoice {
  const char* label;
  interp::MetricKind kind;
  bool normalized;
};
constexpr MetricChoice kMetricChoices[] = {
    {QT_TRANSLATE_NOOP("PatchingBoard", "logit difference A \u2212 B"), interp::MetricKind::LogitDiff, false},
    {QT_TRANSLATE_NOOP("PatchingBoard", "normalised logit difference"), interp::MetricKind::LogitDiff, true},
    {QT_TRANSLATE_NOOP("PatchingBoard", "probability of A"), interp::MetricKind::Prob, false},
    // For models whose output is a feature (no classes): the default there.
    {QT_TRANSLATE_NOOP("PatchingBoard", "cosine to the clean output"), interp::MetricKind::CosineToClean, false},
};

void fillKinds(QComboBox* box, const std::vector<interp::ComponentKind>& kinds) {
  for (interp::ComponentKind k : kinds) box->addItem(componentName(k), static_cast<int>(k));
}

std::vector<interp::ComponentKind> positionKinds(const std::vector<interp::ComponentKind>& kinds) {
  std::vector<interp::ComponentKind> out;
  for (interp::ComponentKind k : kinds)
    if (interp::patchesPositions(k)) out.push_back(k);
  return out;
}

interp::ComponentKind kindIn(const QComboBox* box) { return static_cast<interp::ComponentKind>(box->currentData().toInt()); }

// exact − attribution, cell by cell: where the linear approximation misses.
PatchingGrid difference(const PatchingGrid& exact, const PatchingGrid& attribution) {
  PatchingGrid d = exact;
  auto values = std::make_shared<std::vector<float>>(exact.values->size());
  for (size_t i = 0; i < values->size(); ++i) (*values)[i] = (*exact.values)[i] - (*attribution.values)[i];
  d.values = values;
  return d;
}
}  // namespace

PatchingBoard::PatchingBoard(ExplorerController* controller, QWidget* parent)
    : QWidget(parent), backend_(std::make_unique<QueuedPatchingBackend>(controller, nullptr)),
      presenter_(std::make_unique<PatchingPresenter>(backend_.get())) {
  backend_->setPresenter(presenter_.get());
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
  fillKinds(component_, interp::allComponentKinds());
  metric_ = new QComboBox(this);
  metric_->setObjectName(QStringLiteral("metricBox"));
  for (int i = 0; i < static_cast<int>(std::size(kMetricChoices)); ++i) metric_->addItem(tr(kMetricChoices[i].label), i);
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
  eta_->setObjectName(QStringLiteral("sweepEta"));
  compare_ = new QCheckBox(tr("Exact vs attribution"), this);
  compare_->setObjectName(QStringLiteral("compareToggle"));
  csvButton_ = new QPushButton(tr("CSV…"), this);
  pngButton_ = new QPushButton(tr("PNG…"), this);
  spatialKind_ = new QComboBox(this);
  fillKinds(spatialKind_, positionKinds(interp::allComponentKinds()));
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
  cleanBars_->setObjectName(QStringLiteral("cleanPredictionBars"));
  corruptBars_ = new widgets::TopKBars(this);
  corruptBars_->setObjectName(QStringLiteral("corruptPredictionBars"));
  patchedBars_ = new widgets::TopKBars(this);
  patchedBars_->setObjectName(QStringLiteral("patchedBars"));
  patchedLabel_ = new QLabel(patchHint(), this);
  patchedLabel_->setObjectName(QStringLiteral("patchedLabel"));
  // The patch's text wraps inside its column: a longer one must not widen it.
  patchedLabel_->setWordWrap(true);
  patchedLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  auto* predictions = new QHBoxLayout;
  auto column = [&](const QString& title, QWidget* bars, QWidget* extra = nullptr) {
    auto* v = new QVBoxLayout;
    auto* heading = new QLabel(QStringLiteral("<b>%1</b>").arg(title), this);
    heading->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    bars->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    v->addWidget(heading);
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
  connect(component_, &QComboBox::currentIndexChanged, this, &PatchingBoard::readSetup);
  connect(metric_, &QComboBox::currentIndexChanged, this, &PatchingBoard::readSetup);
  connect(classA_, &QComboBox::currentIndexChanged, this, &PatchingBoard::readSetup);
  connect(classB_, &QComboBox::currentIndexChanged, this, &PatchingBoard::readSetup);
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

  PatchingPresenter* p = presenter_.get();
  connect(p, &PatchingPresenter::pairChanged, this, &PatchingBoard::onPairChanged);
  connect(p, &PatchingPresenter::gridsChanged, this, &PatchingBoard::showGrids);
  connect(p, &PatchingPresenter::stateChanged, this, &PatchingBoard::onStateChanged);
  connect(p, &PatchingPresenter::sweepProgress, this, &PatchingBoard::onProgress);
  connect(p, &PatchingPresenter::patchedRunChanged, this, &PatchingBoard::onPatchedRunChanged);
  connect(p, &PatchingPresenter::statusChanged, status_, &QLabel::setText);
  connect(p, &PatchingPresenter::statusChanged, this, &PatchingBoard::showNextStep);
  connect(p, &PatchingPresenter::exactFinished, this, &PatchingBoard::showFinishedSweep);
  connect(p, &PatchingPresenter::pairPrepared, this, &PatchingBoard::pairPrepared);
  connect(p, &PatchingPresenter::sweepProgress, this, &PatchingBoard::sweepProgress);
  connect(p, &PatchingPresenter::exactFinished, this, &PatchingBoard::exactFinished);
  connect(p, &PatchingPresenter::previewFinished, this, &PatchingBoard::previewFinished);
  connect(p, &PatchingPresenter::patchedRunShown, this, &PatchingBoard::patchedRunShown);
  connect(p, &PatchingPresenter::failed, this, &PatchingBoard::failed);
  status_->setText(p->status());
  onStateChanged();
  showNextStep();
}

QString PatchingBoard::patchHint() const { return tr("Click a cell, or drop a region, to run one patch."); }

void PatchingBoard::showNextStep() { mainPlot_->setPlaceholder(presenter_->nextStep()); }

void PatchingBoard::resetResults() {
  progress_->setRange(0, 1);
  progress_->setValue(0);
  eta_->clear();
  patchedLabel_->setText(patchHint());
  for (widgets::TopKBars* bars : {cleanBars_, corruptBars_, patchedBars_}) bars->setScores({});
  clean_->clearResults();
  corrupt_->clearResults();
  corrupt_->imageView()->setHighlighted({});
  mainPlot_->clearReach();
}

PatchingBoard::~PatchingBoard() = default;

void PatchingBoard::setModel(const ModelSummary& model) {
  presenter_->setModel(model);
  // No classes (a feature model): the class metrics have nothing to read.
  if (model.classes == 0) setMetric(interp::MetricKind::CosineToClean, false);
  else if (setup().metric.kind == interp::MetricKind::CosineToClean) setMetric(interp::MetricKind::LogitDiff, false);
}

void PatchingBoard::setSource(Source which, const ImageRequest& request) {
  slot(which)->setRequest(request);
  presenter_->setSource(which, request);
}

void PatchingBoard::swapSources() {
  if (!presenter_->hasSource(Source::Clean) || !presenter_->hasSource(Source::Corrupt)) return;
  const ImageRequest clean = clean_->request();
  clean_->setRequest(corrupt_->request());
  corrupt_->setRequest(clean);
  presenter_->swapSources();
}

void PatchingBoard::setComponent(const QString& name) {
  QStringList known;
  for (const std::string& n : interp::componentNames()) known << QString::fromStdString(n);
  if (!known.contains(name)) {
    // Queued like every other failure, so a caller that connects after asking (or an
    // event loop not yet running) still hears of it.
    const QString message = tr("%1: no such component (known: %2)").arg(name, known.join(QStringLiteral(", ")));
    QMetaObject::invokeMethod(this, [this, message] { emit failed(message); }, Qt::QueuedConnection);
    return;
  }
  setComponent(interp::componentKindFromName(name.toStdString()));
}

void PatchingBoard::setComponent(interp::ComponentKind kind) {
  if (!presenter_->setComponent(kind)) return;
  const QSignalBlocker block(component_);
  const int row = component_->findData(static_cast<int>(kind));
  if (row >= 0) component_->setCurrentIndex(row);
}

void PatchingBoard::setMetric(interp::MetricKind kind, bool normalized) {
  for (int i = 0; i < static_cast<int>(std::size(kMetricChoices)); ++i)
    if (kMetricChoices[i].kind == kind && kMetricChoices[i].normalized == normalized) metric_->setCurrentIndex(i);
  presenter_->setMetric(kind, normalized);  // also a metric the box does not offer
}

// The boxes changed: tell the presenter (one call per change, each a no-op when equal).
void PatchingBoard::readSetup() {
  const MetricChoice& m = kMetricChoices[std::max(0, metric_->currentData().toInt())];
  classB_->setEnabled(interp::classesNeeded(m.kind) == 2);
  classA_->setEnabled(interp::classesNeeded(m.kind) > 0);
  if (component_->currentIndex() >= 0 && !presenter_->setComponent(kindIn(component_))) return;
  presenter_->setMetric(m.kind, m.normalized);
  if (classA_->currentIndex() >= 0)
    presenter_->setClasses(classA_->currentData().toInt(), classB_->currentData().isValid() ? classB_->currentData().toInt() : -1);
}

QString PatchingBoard::valueLabel() const {
  const interp::MetricSpec m = setup().metric;
  if (m.normalized) return tr("fraction restored");
  switch (m.kind) {
    case interp::MetricKind::LogitDiff: return tr("logit diff");
    case interp::MetricKind::Logit: return tr("logit");
    case interp::MetricKind::Prob: return tr("probability");
    case interp::MetricKind::CrossEntropy: return tr("loss");
    case interp::MetricKind::CosineToClean: return tr("cosine to clean");
  }
  return {};
}

QString PatchingBoard::plotTitle(const QString& what) const {
  return QStringLiteral("%1 of %2: %3").arg(what, componentName(setup().component), setup().metricLabel(pairInfo().classNames));
}

void PatchingBoard::onPairChanged() {
  showNextStep();
  // A new model or image: nothing the previous pair gave stays on screen. The slots keep
  // their images until the new pair is in.
  if (!presenter_->pairReady()) return resetResults();
  const PatchingPairInfo& info = pairInfo();
  clean_->setInfo(info.clean, info.gridRows, info.gridCols, info.hasCls);
  corrupt_->setInfo(info.corrupt, info.gridRows, info.gridCols, info.hasCls);
  cleanBars_->setScores(info.clean.topk);
  corruptBars_->setScores(info.corrupt.topk);
  fillComponentBoxes();
  fillClassBoxes();
}

void PatchingBoard::fillComponentBoxes() {
  const PatchingPairInfo& info = pairInfo();
  const QSignalBlocker a(component_), b(spatialKind_);
  component_->clear();
  fillKinds(component_, info.components);
  component_->setCurrentIndex(component_->findData(static_cast<int>(setup().component)));
  const QVariant kind = spatialKind_->currentData();
  spatialKind_->clear();
  fillKinds(spatialKind_, positionKinds(info.components));
  spatialKind_->setCurrentIndex(std::max(0, spatialKind_->findData(kind)));
  spatialLayer_->setRange(0, std::max(0, info.layers - 1));
}

void PatchingBoard::fillClassBoxes() {
  const PatchingPairInfo& pair = pairInfo();
  const QSignalBlocker a(classA_), b(classB_);
  classA_->clear();
  classB_->clear();
  // The classes either image predicts: what a logit difference is naturally about.
  QVector<int> classes = pair.clean.topkClasses;
  for (int c : pair.corrupt.topkClasses)
    if (!classes.contains(c)) classes << c;
  for (int c : classes) {
    const QString name = pair.classNames.value(c, QString::number(c));
    classA_->addItem(name, c);
    classB_->addItem(name, c);
  }
  const std::vector<int>& chosen = setup().metric.classes;
  classA_->setCurrentIndex(classA_->findData(chosen.size() > 0 ? chosen[0] : -1));
  classB_->setCurrentIndex(classB_->findData(chosen.size() > 1 ? chosen[1] : pair.corrupt.topkClasses.value(0, -1)));
}

void PatchingBoard::preview() { presenter_->preview(); }

void PatchingBoard::runExact() { presenter_->runExact(); }

void PatchingBoard::cancel() {
  if (!sweepRunning()) return;
  presenter_->cancel();
  eta_->setText(exactGrid().isValid() ? tr("Cancelled at %1 / %2 cells").arg(exactGrid().done).arg(exactGrid().total)
                                      : tr("Cancelled before the first batch"));
}

void PatchingBoard::onStateChanged() {
  const bool ready = presenter_->pairReady(), running = presenter_->sweepRunning();
  if (running && !exactGrid().isValid()) {
    progress_->setRange(0, 1);
    progress_->setValue(0);
    eta_->setText(tr("Starting\u2026"));
  }
  runButton_->setEnabled(ready && !running);
  previewButton_->setEnabled(ready);
  cancelButton_->setEnabled(running);
  spatialButton_->setEnabled(ready);
  const bool any = presenter_->shownGrid().isValid();
  csvButton_->setEnabled(any);
  pngButton_->setEnabled(any);
  if (!ready) {
    patchedBars_->setScores({});
    corrupt_->imageView()->setHighlighted({});
  }
}

void PatchingBoard::showFinishedSweep() {
  const PatchingGrid& g = exactGrid();
  progress_->setRange(0, static_cast<int>(g.total));
  progress_->setValue(static_cast<int>(g.done));
  eta_->setText(presenter_->exactFromCache() ? tr("%1 cells, from the cache").arg(g.done)
                                             : tr("%1 cells in %2").arg(g.done).arg(shortDuration(presenter_->sweepElapsedMs())));
}

void PatchingBoard::onProgress(qint64 done, qint64 total) {
  progress_->setRange(0, static_cast<int>(total));
  progress_->setValue(static_cast<int>(done));
  const qint64 elapsed = presenter_->sweepElapsedMs();
  const qint64 left = done > 0 ? elapsed * (total - done) / done : 0;
  eta_->setText(tr("%1 / %2 cells, %3 elapsed, ETA %4").arg(done).arg(total).arg(shortDuration(elapsed), clockDuration(left)));
}

void PatchingBoard::showGrids() {
  const PatchingGrid& exact = exactGrid();
  const PatchingGrid& attribution = attributionGrid();
  const auto scale = setup().metric.normalized ? PatchGridPlot::Scale::Diverging : PatchGridPlot::Scale::Sequential;
  if (exact.isValid()) {
    mainPlot_->setTitle(plotTitle(sweepRunning() ? tr("exact activation patching (running)") : tr("exact activation patching")));
    mainPlot_->setGrid(exact, scale, valueLabel());
  } else if (attribution.isValid()) {
    mainPlot_->setTitle(plotTitle(tr("attribution patching (preview)")));
    mainPlot_->setGrid(attribution, scale, valueLabel());
  } else {
    // Under the placeholder, but what the plot (and an export) says must not be a sweep
    // that was stopped by a model, image or setup change.
    mainPlot_->setTitle(tr("activation patching"));
    mainPlot_->clearGrid();
  }
  if (!exact.isValid() && !sweepRunning()) {
    // No exact grid (another component or metric, not swept yet): its count and time go too.
    progress_->setRange(0, 1);
    progress_->setValue(0);
    eta_->clear();
  } else if (!sweepRunning() && presenter_->exactFromCache()) {
    // A setup changed mid-sweep to one swept before: the stopped sweep's count and ETA go.
    showFinishedSweep();
  }
  const PatchingGrid& any = presenter_->shownGrid();
  clean_->setMetricText(any.isValid() ? tr("metric: %1").arg(any.cleanMetric, 0, 'g', kShownDigits) : QString());
  corrupt_->setMetricText(any.isValid() ? tr("metric: %1").arg(any.corruptMetric, 0, 'g', kShownDigits) : QString());
  const bool comparable = presenter_->comparable();
  compare_->setEnabled(comparable);
  const bool compare = comparable && compare_->isChecked();
  attributionPlot_->setVisible(compare);
  differencePlot_->setVisible(compare);
  if (compare) {
    mainPlot_->setTitle(tr("exact activation patching"));  // three plots share the width
    attributionPlot_->setGrid(attribution, scale, valueLabel());
    differencePlot_->setGrid(difference(exact, attribution), PatchGridPlot::Scale::Diverging, tr("exact \u2212 attribution"));
  }
}

void PatchingBoard::patchCell(int row, int col) {
  const PatchingGrid& shown = presenter_->shownGrid();
  if (!pairReady() || !shown.isValid() || row < 0 || row >= shown.rows() || col < 0 || col >= shown.cols()) return;
  presenter_->patchCell(row, col);
  mainPlot_->showReach(row, col);
  patchedLabel_->setText(tr("Patching %1 cell %2, %3\u2026").arg(componentName(setup().component)).arg(row).arg(col));
}

void PatchingBoard::patchRegion(const QRect& patches) {
  if (!pairReady() || patches.isEmpty()) return;
  clean_->imageView()->setSelection(patches);
  const QVector<int> tokens = clean_->imageView()->selectionTokens();
  if (tokens.isEmpty() || spatialKind_->currentIndex() < 0) return;
  const int layer = spatialLayer_->value();
  const interp::ComponentKind kind = kindIn(spatialKind_);
  presenter_->patchRegion(kind, layer, tokens);
  if (mainPlot_->hasGrid()) mainPlot_->showReach(layer, -1);
  patchedLabel_->setText(tr("Patching %1 patches of %2 at layer %3\u2026").arg(tokens.size()).arg(componentName(kind)).arg(layer));
}

void PatchingBoard::onPatchedRunChanged() {
  const PatchedRun& run = lastPatchedRun();
  if (run.requestId == 0) {  // cleared: the setup or the pair changed
    patchedBars_->setScores({});
    patchedLabel_->setText(patchHint());
    corrupt_->imageView()->setHighlighted({});
    mainPlot_->clearReach();
    return;
  }
  patchedBars_->setScores(run.topk);
  QStringList cell;
  for (int i : run.cell) cell << QString::number(i);
  patchedLabel_->setText(tr("%1 [%2]: patched metric %3 (clean %4, corrupted %5)")
                             .arg(run.component, cell.join(QStringLiteral(", ")))
                             .arg(run.metric, 0, 'g', kShownDigits)
                             .arg(run.cleanMetric, 0, 'g', kShownDigits)
                             .arg(run.corruptMetric, 0, 'g', kShownDigits));
  corrupt_->imageView()->setHighlighted(run.positions);
}

bool PatchingBoard::exportCsv(const QString& file) const {
  const PatchingGrid& exact = exactGrid();
  const PatchingGrid& attribution = attributionGrid();
  const PatchingGrid& shape = presenter_->shownGrid();
  if (!shape.isValid()) return false;
  return widgets::saveTextAtomically(file, [&](QTextStream& out) {
    out.setRealNumberPrecision(kCsvPrecision);
    out << shape.axes.join(QChar(','));
    if (exact.isValid()) out << ",exact";
    if (attribution.isValid()) out << ",attribution";
    out << "\n";
    for (int r = 0; r < shape.rows(); ++r) {
      for (int c = 0; c < shape.cols(); ++c) {
        for (int i : shape.cellAt(r, c)) out << i << ',';
        QStringList values;
        if (exact.isValid()) values << QString::number(exact.at(r, c), 'g', kCsvPrecision);
        if (attribution.isValid()) values << QString::number(attribution.at(r, c), 'g', kCsvPrecision);
        out << values.join(QChar(',')) << "\n";
      }
    }
  });
}

bool PatchingBoard::exportPng(const QString& file) { return widgets::saveImageAtomically(plots_->grab().toImage(), file); }

}  // namespace prisma::app
