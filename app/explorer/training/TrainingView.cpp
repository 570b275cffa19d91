#include "app/explorer/training/TrainingView.h"

#include "app/explorer/training/PresetForm.h"
#include "app/explorer/training/RunFolder.h"
#include "app/explorer/training/SaeRunForm.h"
#include "app/explorer/training/TrainingController.h"
#include "app/explorer/training/TrainingPlots.h"

#include "model/train/Presets.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QSystemTrayIcon>
#include <QTime>
#include <QVBoxLayout>

#include <cmath>
#include <utility>

namespace prisma::app {

namespace {
// The side panel's share of the splitter at first; it may shrink below (the tab fits a
// 1024 px window beside the docks without a sideways scroll bar).
constexpr int kSidePanelWidth = 300;
constexpr int kMainPanelWidth = 700;
constexpr int kSidePanelMinWidth = 270;  // the forms' labels and fields stay readable
constexpr int kCheckpointsWidth = 240;
constexpr int kCheckpointsMinWidth = 120;
// The plots take most of the height, the log and checkpoints the rest (at 700 px the log's
// preferred height left the plots a strip).
constexpr int kPlotsStretch = 3;
constexpr int kLogStretch = 1;
constexpr int kSummaryDigits = 4;
constexpr int kLogLines = 5000;
constexpr int kSmoothingSteps = 100;      // slider ticks for EMA weights 0 … 0.99
constexpr int kMaxThreads = 256;
constexpr int kTrayMessageMs = 8000;
constexpr int kSecondsPerMinute = 60;
constexpr int kSecondsPerHour = 3600;
const char* const kRunsParent = "runs";
// The preset the tab opens on: it learns its task (test ~0.99, tst_train_learning) within its
// own 1,500 updates in a few minutes on a CPU. (circle, first by name, says itself that it is
// slow there; the 1-layer attention-only induction preset stays near 0.5.)
const char* const kDefaultPreset = "induction-2L";
// The test-part scalars an SAE run's summary names, with their labels.
const std::pair<const char*, const char*> kSaeSummary[] = {{"test_mse", "MSE"},
                                                           {"test_l1", "L1"},
                                                           {"test_l0", "L0"},
                                                           {"test_explained_variance", "explained variance"},
                                                           {"test_dead_fraction", "dead fraction"}};
// Marks the Preset box's entry for an opened run's own preset.json (its path).
constexpr int kFromRunRole = Qt::UserRole + 1;

// A trainer's stop reason in words.
QString stopReasonInWords(const QString& reason) {
  if (reason == QLatin1String("max_steps")) return TrainingView::tr("max_steps reached");
  if (reason == QLatin1String("epochs")) return TrainingView::tr("all epochs done");
  if (reason == QLatin1String("early_stopping")) return TrainingView::tr("early stopping: the watched accuracy stopped improving");
  if (reason == QLatin1String("stopped")) return TrainingView::tr("Stop pressed");
  return reason;
}

QString duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("\u2014");
  const qint64 s = static_cast<qint64>(std::llround(seconds));
  if (s >= kSecondsPerHour)
    return QStringLiteral("%1 h %2 min").arg(s / kSecondsPerHour).arg((s % kSecondsPerHour) / kSecondsPerMinute, 2, 10, QChar('0'));
  return QStringLiteral("%1:%2").arg(s / kSecondsPerMinute).arg(s % kSecondsPerMinute, 2, 10, QChar('0'));
}
}  // namespace

TrainingView::TrainingView(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("trainingView"));
  controller_ = new TrainingController(this);
  plots_ = new TrainingPlots(this);
  plots_->setObjectName(QStringLiteral("trainingPlots"));

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(createSidePanel());
  split->addWidget(createMainPanel());
  split->setStretchFactor(1, 1);
  split->setChildrenCollapsible(false);
  split->setSizes({kSidePanelWidth, kMainPanelWidth});
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(split);

  connect(controller_, &TrainingController::statusChanged, this, &TrainingView::onStatus);
  connect(controller_, &TrainingController::evaluated, this, [this](const TrainingMetrics& m) {
    if (currentRun_ >= 0) plots_->appendMetrics(currentRun_, m);
  });
  connect(controller_, &TrainingController::checkpointWritten, this, &TrainingView::onCheckpoint);
  connect(controller_, &TrainingController::logLine, this, &TrainingView::appendLog);
  connect(controller_, &TrainingController::finished, this, &TrainingView::onFinished);
  connect(form_, &PresetForm::validityChanged, this, &TrainingView::updateButtons);
  connect(saeForm_, &SaeRunForm::validityChanged, this, &TrainingView::updateButtons);
  connect(saeForm_, &SaeRunForm::probeRequested, controller_, &TrainingController::probe);
  connect(controller_, &TrainingController::probed, saeForm_, &SaeRunForm::applyProbe);

  for (const auto& p : train::listPresets()) presets_->addItem(QString::fromStdString(p.name), QString::fromStdString(p.path));
  presets_->setCurrentIndex(std::max(0, presets_->findText(QLatin1String(kDefaultPreset))));
  connect(presets_, &QComboBox::currentIndexChanged, this, &TrainingView::choosePreset);
  if (presets_->count() > 0) choosePreset(presets_->currentIndex());
  saeForm_->restore();
  updateButtons();
}

TrainingView::~TrainingView() {
  // The SAE form as it was left (a Start remembers it too), if it was used at all.
  if (saeForm_->active()) saeForm_->remember();
}

QWidget* TrainingView::createSidePanel() {
  auto* panel = new QWidget(this);
  panel->setMinimumWidth(kSidePanelMinWidth);
  auto* layout = new QVBoxLayout(panel);

  auto* kindRow = new QFormLayout;
  kind_ = new QComboBox(panel);
  kind_->setObjectName(QStringLiteral("trainKind"));
  kind_->addItem(tr("ViT mouse"));
  kind_->addItem(tr("Sparse autoencoder"));
  kind_->setToolTip(tr("A ViT from a training preset, or a sparse autoencoder on a hook of a model (prisma sae train)"));
  kindRow->addRow(tr("Train"), kind_);
  layout->addLayout(kindRow);
  kindPages_ = new QStackedWidget(panel);
  layout->addWidget(kindPages_, 1);

  auto* vitPage = new QWidget(kindPages_);
  auto* vitLayout = new QVBoxLayout(vitPage);
  vitLayout->setContentsMargins(0, 0, 0, 0);
  auto* top = new QFormLayout;
  presets_ = new QComboBox(vitPage);
  presets_->setObjectName(QStringLiteral("presetCombo"));
  presets_->setMinimumContentsLength(1);
  presets_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  top->addRow(tr("Preset"), presets_);
  vitLayout->addLayout(top);
  form_ = new PresetForm(vitPage);
  form_->setObjectName(QStringLiteral("presetForm"));
  auto* scroll = new QScrollArea(vitPage);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setWidget(form_);
  vitLayout->addWidget(scroll, 1);
  kindPages_->addWidget(vitPage);

  saeForm_ = new SaeRunForm(kindPages_);
  saeForm_->setObjectName(QStringLiteral("saeForm"));
  auto* saeScroll = new QScrollArea(kindPages_);
  saeScroll->setWidgetResizable(true);
  saeScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  saeScroll->setWidget(saeForm_);
  kindPages_->addWidget(saeScroll);
  connect(kind_, &QComboBox::currentIndexChanged, this, [this](int i) {
    kindPages_->setCurrentIndex(i);
    if (i == 1) saeForm_->activate();
    if (!outputEdited_) output_->setText(freshOutputDir());
    updateButtons();
  });

  auto* outputRow = new QHBoxLayout;
  output_ = new QLineEdit(panel);
  output_->setObjectName(QStringLiteral("outputDir"));
  connect(output_, &QLineEdit::textEdited, this, [this] { outputEdited_ = true; });
  auto* browse = new QPushButton(tr("\u2026"), panel);
  browse->setToolTip(tr("Choose the run folder"));
  connect(browse, &QPushButton::clicked, this, &TrainingView::chooseOutputDir);
  outputRow->addWidget(output_, 1);
  outputRow->addWidget(browse);
  auto* bottom = new QFormLayout;
  bottom->addRow(tr("Run folder"), outputRow);
  threads_ = new QSpinBox(panel);
  threads_->setRange(0, kMaxThreads);
  threads_->setSpecialValueText(tr("auto"));
  bottom->addRow(tr("Threads"), threads_);
  layout->addLayout(bottom);

  // Two rows of two: four buttons in a row set the panel's narrowest width.
  auto* buttons = new QGridLayout;
  auto button = [&](const QString& text, const QString& name) {
    auto* b = new QPushButton(text, panel);
    b->setObjectName(name);
    const int i = buttons->count();
    buttons->addWidget(b, i / 2, i % 2);
    return b;
  };
  startButton_ = button(tr("Start"), QStringLiteral("startButton"));
  pauseButton_ = button(tr("Pause"), QStringLiteral("pauseButton"));
  resumeButton_ = button(tr("Resume"), QStringLiteral("resumeButton"));
  stopButton_ = button(tr("Stop"), QStringLiteral("stopButton"));
  connect(startButton_, &QPushButton::clicked, this, [this] { start(); });
  connect(pauseButton_, &QPushButton::clicked, this, &TrainingView::pause);
  connect(resumeButton_, &QPushButton::clicked, this, [this] { resume(); });
  connect(stopButton_, &QPushButton::clicked, this, &TrainingView::stop);
  layout->addLayout(buttons);
  // Why Start is disabled, in words, where the user looks (the form's own message may be
  // scrolled out of sight).
  startProblem_ = new QLabel(panel);
  startProblem_->setObjectName(QStringLiteral("startProblem"));
  startProblem_->setWordWrap(true);
  startProblem_->setStyleSheet(QStringLiteral("color: #b00000;"));
  startProblem_->hide();
  layout->addWidget(startProblem_);
  openRunButton_ = new QPushButton(tr("Open Run Folder\u2026"), panel);
  openRunButton_->setToolTip(tr("Open an earlier run: its curves stay overlaid, and a stopped run can be resumed"));
  connect(openRunButton_, &QPushButton::clicked, this, &TrainingView::chooseRunToOpen);
  layout->addWidget(openRunButton_);
  openInFeatures_ = new QPushButton(tr("Open in Features"), panel);
  openInFeatures_->setObjectName(QStringLiteral("openInFeatures"));
  openInFeatures_->setToolTip(tr("Browse the trained SAE's features in the Features tab"));
  openInFeatures_->hide();
  connect(openInFeatures_, &QPushButton::clicked, this, [this] {
    SaeRunSettings settings;
    QString error;
    if (!RunFolder::readSaeSettings(runDir_, settings, error)) appendLog(error);
    emit openSaeRequested(runDir_, settings.model);
  });
  layout->addWidget(openInFeatures_);
  saeSummary_ = new QLabel(panel);
  saeSummary_->setObjectName(QStringLiteral("saeSummary"));
  saeSummary_->setWordWrap(true);
  saeSummary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  saeSummary_->hide();
  layout->addWidget(saeSummary_);
  return panel;
}

QWidget* TrainingView::createMainPanel() {
  auto* panel = new QWidget(this);
  auto* layout = new QVBoxLayout(panel);

  auto* controls = new QHBoxLayout;
  logScale_ = new QCheckBox(tr("Log scale"), panel);
  logScale_->setObjectName(QStringLiteral("logScale"));
  connect(logScale_, &QCheckBox::toggled, plots_, &TrainingPlots::setLogScale);
  smoothing_ = new QSlider(Qt::Horizontal, panel);
  smoothing_->setObjectName(QStringLiteral("smoothing"));
  smoothing_->setRange(0, kSmoothingSteps - 1);
  smoothingLabel_ = new QLabel(panel);
  connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
    const double w = double(v) / kSmoothingSteps;
    plots_->setSmoothing(w);
    smoothingLabel_->setText(QString::number(w, 'f', 2));
  });
  smoothingLabel_->setText(QString::number(0.0, 'f', 2));
  controls->addWidget(logScale_);
  controls->addSpacing(style()->pixelMetric(QStyle::PM_LayoutHorizontalSpacing) * 4);
  controls->addWidget(new QLabel(tr("Smoothing"), panel));
  controls->addWidget(smoothing_, 1);
  controls->addWidget(smoothingLabel_);
  layout->addLayout(controls);
  layout->addWidget(plots_, kPlotsStretch);

  progress_ = new QProgressBar(panel);
  progress_->setObjectName(QStringLiteral("trainingProgress"));
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(tr("No run"));
  layout->addWidget(progress_);

  auto* bottom = new QHBoxLayout;
  log_ = new QPlainTextEdit(panel);
  log_->setObjectName(QStringLiteral("trainingLog"));
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(kLogLines);
  // Lines wrap: a horizontal scroll bar hid the end of long lines behind the checkpoints.
  log_->setLineWrapMode(QPlainTextEdit::WidgetWidth);
  log_->setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
  bottom->addWidget(log_, 1);

  auto* box = new QGroupBox(tr("Checkpoints"), panel);
  auto* boxLayout = new QVBoxLayout(box);
  checkpointList_ = new QListWidget(box);
  checkpointList_->setObjectName(QStringLiteral("checkpointList"));
  checkpointList_->setToolTip(tr("Double-click to open the checkpoint in the explorer"));
  connect(checkpointList_, &QListWidget::itemDoubleClicked, this, [this](QListWidgetItem* item) {
    // The scrubber follows the list: moving it opens the checkpoint (valueChanged below).
    const int row = checkpointList_->row(item);
    if (scrubber_->isEnabled() && row != scrubber_->value()) scrubber_->setValue(row);
    else emit openModelRequested(item->data(Qt::UserRole).toString());
  });
  scrubber_ = new QSlider(Qt::Horizontal, box);
  scrubber_->setObjectName(QStringLiteral("checkpointScrubber"));
  scrubber_->setToolTip(tr("Scrub through the run's checkpoints: each one reloads in the explorer"));
  scrubber_->setRange(0, 0);
  scrubber_->setEnabled(false);
  // While dragging only the label follows; the model reloads where the slider is let go.
  scrubber_->setTracking(false);
  scrubberLabel_ = new QLabel(box);
  connect(scrubber_, &QSlider::sliderMoved, this, [this](int v) {
    if (v >= 0 && v < checkpoints_.size()) scrubberLabel_->setText(checkpoints_[v].name);
  });
  connect(scrubber_, &QSlider::valueChanged, this, [this](int v) {
    if (v < 0 || v >= checkpoints_.size() || !scrubber_->isEnabled()) return;
    scrubberLabel_->setText(checkpoints_[v].name);
    checkpointList_->setCurrentRow(v);
    emit openModelRequested(checkpoints_[v].path);
  });
  boxLayout->addWidget(checkpointList_, 1);
  boxLayout->addWidget(scrubber_);
  boxLayout->addWidget(scrubberLabel_);
  bottom->addWidget(box);
  box->setMaximumWidth(kCheckpointsWidth);
  box->setMinimumWidth(kCheckpointsMinWidth);
  layout->addLayout(bottom, kLogStretch);
  return panel;
}

void TrainingView::setRunKind(RunKind kind) { kind_->setCurrentIndex(kind == RunKind::Sae ? 1 : 0); }

TrainingView::RunKind TrainingView::runKind() const { return kind_->currentIndex() == 1 ? RunKind::Sae : RunKind::Vit; }

void TrainingView::setCurrentModel(const QString& source) {
  // A model made up in memory ("(random ...)") is nothing a run can load.
  if (!source.startsWith(QLatin1Char('('))) saeForm_->offerModel(source);
}

void TrainingView::setUpSaeRun(const QString& modelSource, const QString& hookName) {
  if (controller_->running()) {
    appendLog(tr("A run is training: the SAE run can be set up once it ends"));
    return;
  }
  saeForm_->setModel(modelSource.isEmpty() ? QString::fromLatin1(SaeRunSettings::kDefaultModel) : modelSource, hookName);
  setRunKind(RunKind::Sae);
  if (!outputEdited_) output_->setText(freshOutputDir());
  updateButtons();
}

bool TrainingView::selectPreset(const QString& name) {
  const int i = presets_->findText(name);
  if (i < 0) return false;
  if (i == presets_->currentIndex()) choosePreset(i);
  else presets_->setCurrentIndex(i);
  return true;
}

void TrainingView::choosePreset(int index) {
  if (index < 0) return;
  const QString fromRun = presets_->itemData(index, kFromRunRole).toString();
  QString error;
  if (!form_->loadPreset(fromRun.isEmpty() ? presets_->itemText(index) : fromRun, error)) appendLog(error);
  if (!outputEdited_) output_->setText(freshOutputDir());
  updateButtons();
}

// The Preset box names what the form holds: an opened run's own settings, not the preset
// chosen before.
void TrainingView::showRunPreset(const QString& dir, const QString& name) {
  const QSignalBlocker block(presets_);
  for (int i = presets_->count() - 1; i >= 0; --i)
    if (!presets_->itemData(i, kFromRunRole).toString().isEmpty()) presets_->removeItem(i);
  presets_->addItem(tr("%1 (from run %2)").arg(name, QFileInfo(QDir::cleanPath(dir)).fileName()));
  const int i = presets_->count() - 1;
  presets_->setItemData(i, RunFolder::presetPath(dir), kFromRunRole);
  presets_->setItemData(i, dir, Qt::ToolTipRole);
  presets_->setCurrentIndex(i);
}

QString TrainingView::freshOutputDir() const {
  // Absolute: the folder stays the same one whichever folder the program was started from.
  const QString parent = QDir(QString::fromLatin1(kRunsParent)).absolutePath();
  if (runKind() == RunKind::Sae) return RunFolder::defaultSaeDir(saeForm_->settings(), parent);
  const auto config = form_->config();
  if (!config) return output_->text();
  return RunFolder::defaultDir(*config, parent);
}

void TrainingView::setOutputDir(const QString& dir) {
  output_->setText(dir);
  outputEdited_ = true;
}

QString TrainingView::outputDir() const { return output_->text(); }

void TrainingView::setThreads(int threads) { threads_->setValue(threads); }

void TrainingView::chooseOutputDir() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Run Folder"), output_->text());
  if (!dir.isEmpty()) setOutputDir(dir);
}

void TrainingView::chooseRunToOpen() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Run Folder"), QString::fromLatin1(kRunsParent));
  if (dir.isEmpty()) return;
  QString error;
  if (!openRun(dir, error)) {
    appendLog(error);
    emit statusMessage(error);
  }
}

bool TrainingView::running() const { return controller_->running(); }
bool TrainingView::paused() const { return controller_->paused(); }

void TrainingView::updateButtons() {
  const bool run = controller_->running();
  const bool held = controller_->paused();
  const bool sae = runKind() == RunKind::Sae;
  const bool valid = sae ? saeForm_->valid() : form_->valid();
  startButton_->setEnabled(!run && valid);
  pauseButton_->setEnabled(run && !held);
  resumeButton_->setEnabled(run ? held : canResume_);
  stopButton_->setEnabled(run);
  presets_->setEnabled(!run);
  form_->setEnabled(!run);
  kind_->setEnabled(!run);
  saeForm_->setEnabled(!run);
  openInFeatures_->setVisible(currentRunSae_ && !run && RunFolder::hasSae(runDir_));
  output_->setEnabled(!run);
  threads_->setEnabled(!run);
  openRunButton_->setEnabled(!run);
  const bool blocked = !run && !valid;
  startProblem_->setText(blocked ? tr("Cannot start \u2014 %1").arg(sae ? saeForm_->problem() : form_->problem()) : QString());
  startProblem_->setVisible(blocked);
}

bool TrainingView::start() {
  if (controller_->running()) return false;
  const bool sae = runKind() == RunKind::Sae;
  if (sae ? !saeForm_->valid() : !form_->valid()) {
    appendLog(tr("Cannot start: %1").arg(sae ? saeForm_->problem() : form_->problem()));
    return false;
  }
  if (!outputEdited_ || output_->text().isEmpty()) output_->setText(freshOutputDir());
  QString dir = QDir::cleanPath(output_->text());
  // The trainer refuses a folder that already holds a run: a default folder gets a suffix;
  // one the user chose (or opened) asks whether to resume that run or start beside it.
  if (RunFolder::isRun(dir)) {
    const StartChoice choice = outputEdited_ ? askAboutExistingRun(dir) : StartChoice::NewFolder;
    if (choice == StartChoice::Cancel) return false;
    if (choice == StartChoice::Resume) return resumeFolder(dir);
    const QString base = dir;
    for (int n = 2; RunFolder::isRun(dir); ++n) dir = base + QStringLiteral("-%1").arg(n);
    output_->setText(dir);
  }
  beforeStart_ = {true, runDir_, currentRun_, canResume_, currentRunSae_, checkpoints_};
  if (sae) saeForm_->remember();
  runDir_ = dir;
  setCheckpoints({});
  currentRun_ = plots_->addRun(QFileInfo(runDir_).fileName());
  return launch(false);
}

TrainingView::StartChoice TrainingView::askAboutExistingRun(const QString& dir) {
  if (startQuestion_) return startQuestion_(dir);
  QMessageBox box(QMessageBox::Question, tr("The folder holds a run"),
                  tr("%1 already holds a training run. Resume that run, or train into a new folder beside it?").arg(dir),
                  QMessageBox::Cancel, this);
  QPushButton* resumeIt = box.addButton(tr("Resume It"), QMessageBox::AcceptRole);
  QPushButton* newFolder = box.addButton(tr("New Folder"), QMessageBox::ActionRole);
  box.setDefaultButton(newFolder);
  box.exec();
  if (box.clickedButton() == resumeIt) return StartChoice::Resume;
  if (box.clickedButton() == newFolder) return StartChoice::NewFolder;
  return StartChoice::Cancel;
}

bool TrainingView::resumeFolder(const QString& dir) {
  if (QDir::cleanPath(dir) != QDir::cleanPath(runDir_)) {
    QString error;
    const RunFolder folder = RunFolder::read(dir, error);
    if (!error.isEmpty()) {
      appendLog(error);
      return false;
    }
    runDir_ = QDir::cleanPath(dir);
    currentRun_ = -1;  // its curves are new here
    canResume_ = folder.resumable;
  }
  if (!canResume_) appendLog(tr("%1: its last checkpoint keeps no optimizer state; it cannot be resumed").arg(runDir_));
  return resume();
}

bool TrainingView::launch(bool resume) {
  TrainingRequest request;
  const bool sae = resume ? RunFolder::isSaeRun(runDir_) : runKind() == RunKind::Sae;
  if (sae) {
    request.kind = TrainingRequest::Kind::Sae;
    if (!resume) request.sae = saeForm_->settings();
  } else if (resume) {
    train::TrainConfig config;
    try {
      config = train::loadPreset(RunFolder::presetPath(runDir_).toStdString());
    } catch (const std::exception& e) {
      appendLog(QString::fromStdString(e.what()));
      return false;
    }
    request.config = config;
  } else {
    request.config = *form_->config();
  }
  request.runDir = runDir_;
  request.resume = resume;
  request.threads = threads_->value();
  if (resume) beforeStart_ = {};
  output_->setText(runDir_);  // the field names the folder being written
  canResume_ = false;
  closeAfterStop_ = false;
  currentRunSae_ = sae;
  saeSummary_->hide();
  if (resume) appendLog(tr("Resuming %1").arg(runDir_));
  else if (sae)
    appendLog(tr("Training an SAE on %1 of %2 into %3").arg(request.sae.hook, request.sae.model, runDir_));
  else appendLog(tr("Training %1 into %2").arg(form_->presetName(), runDir_));
  controller_->start(request);
  updateButtons();
  return true;
}

void TrainingView::pause() {
  if (!controller_->running()) return;
  controller_->pause();
  appendLog(tr("Pausing"));
  updateButtons();
}

bool TrainingView::resume() {
  if (controller_->running()) {
    if (!controller_->paused()) return false;
    controller_->resume();
    appendLog(tr("Resumed"));
    updateButtons();
    return true;
  }
  if (!canResume_ || runDir_.isEmpty()) return false;
  // The trainer continues metrics.csv from the latest checkpoint; the curves do the same.
  QString error;
  const RunFolder folder = RunFolder::read(runDir_, error);
  if (!error.isEmpty()) {
    appendLog(error);
    return false;
  }
  if (currentRun_ < 0) currentRun_ = plots_->addRun(folder.name);
  const qint64 from = folder.checkpoints.isEmpty() ? 0 : folder.checkpoints.back().step;
  QVector<TrainingMetrics> kept;
  for (const auto& m : folder.metrics)
    if (m.step <= from) kept.push_back(m);
  plots_->setRunMetrics(currentRun_, kept);
  setCheckpoints(folder.checkpoints);
  return launch(true);
}

void TrainingView::stop() {
  if (!controller_->running()) return;
  controller_->stop();  // a paused run stops too: the trainer's pause loop ends on a stop
  appendLog(tr("Stopping: the trainer writes a final checkpoint"));
  updateButtons();
}

bool TrainingView::openRun(const QString& dir, QString& error) {
  if (controller_->running()) {
    error = tr("Stop the current run before opening another");
    return false;
  }
  const RunFolder folder = RunFolder::read(dir, error);
  if (!error.isEmpty()) return false;
  runDir_ = QDir::cleanPath(dir);
  beforeStart_ = {};
  currentRunSae_ = RunFolder::isSaeRun(runDir_);
  QString presetError;
  if (currentRunSae_) {
    // The form shows the opened run's settings (a Start from them trains beside it).
    SaeRunSettings settings;
    if (RunFolder::readSaeSettings(runDir_, settings, presetError)) saeForm_->setSettings(settings);
    else appendLog(presetError);
    setRunKind(RunKind::Sae);
  } else {
    setRunKind(RunKind::Vit);
    if (form_->loadPreset(RunFolder::presetPath(dir), presetError))
      showRunPreset(runDir_, form_->presetName());
    else appendLog(presetError);
  }
  setOutputDir(runDir_);
  currentRun_ = plots_->addRun(folder.name, folder.metrics);
  setCheckpoints(folder.checkpoints);
  // A shipped mouse's series keeps weights only: it can be scrubbed and opened, not resumed.
  const bool weightsOnly = !folder.checkpoints.isEmpty() && !folder.resumable;
  canResume_ = folder.resumable;
  showSaeSummary();
  appendLog(tr("Opened %1: %2 evaluations, %3 checkpoints").arg(runDir_).arg(folder.metrics.size()).arg(folder.checkpoints.size()));
  if (weightsOnly)
    appendLog(tr("Its checkpoints keep weights only (no optimizer state): they open in the explorer, but the run cannot "
                 "be resumed. To train on from one, start a new run from it with prisma train --from."));
  updateButtons();
  return true;
}

void TrainingView::onStatus(const TrainingStatus& s) {
  status_ = s;
  progress_->setRange(0, static_cast<int>(std::max<qint64>(1, s.totalSteps)));
  progress_->setValue(static_cast<int>(s.step));
  QString text;
  switch (s.phase) {
    case TrainingStatus::Phase::Preparing:
      text = s.message.isEmpty() ? tr("Preparing") : s.message;
      break;
    case TrainingStatus::Phase::Paused:
      text = tr("Paused at step %1 / %2").arg(s.step).arg(s.totalSteps);
      break;
    case TrainingStatus::Phase::Training:
      text = tr("step %1 / %2 \u00b7 epoch %3 \u00b7 %4 img/s \u00b7 ETA %5")
                 .arg(s.step)
                 .arg(s.totalSteps)
                 .arg(s.epoch, 0, 'f', 2)
                 .arg(std::isfinite(s.imagesPerS) ? QString::number(s.imagesPerS, 'f', 0) : QStringLiteral("\u2014"))
                 .arg(duration(s.etaS));
      break;
    case TrainingStatus::Phase::Finished:  // the outcome (finished, stopped, failed) follows
      text = tr("step %1 / %2 \u00b7 epoch %3 \u00b7 writing the final checkpoint").arg(s.step).arg(s.totalSteps).arg(s.epoch, 0, 'f', 2);
      break;
  }
  progress_->setFormat(text);
  updateButtons();
}

void TrainingView::onCheckpoint(const TrainingCheckpoint& c) {
  QVector<TrainingCheckpoint> all = checkpoints_;
  // A stop at a step that already has one rewrites it: keep one entry per name.
  for (int i = 0; i < all.size(); ++i)
    if (all[i].name == c.name) all.remove(i--);
  all.push_back(c);
  setCheckpoints(all);
}

void TrainingView::setCheckpoints(const QVector<TrainingCheckpoint>& checkpoints) {
  checkpoints_ = checkpoints;
  const QSignalBlocker blockList(checkpointList_);
  const QSignalBlocker blockScrubber(scrubber_);
  checkpointList_->clear();
  for (const auto& c : checkpoints_) {
    auto* item = new QListWidgetItem(tr("step %1 \u00b7 %2 samples").arg(c.step).arg(c.samples), checkpointList_);
    item->setData(Qt::UserRole, c.path);
    item->setToolTip(c.path);
  }
  scrubber_->setRange(0, std::max(0, static_cast<int>(checkpoints_.size()) - 1));
  scrubber_->setValue(scrubber_->maximum());
  scrubber_->setEnabled(!checkpoints_.isEmpty());
  scrubberLabel_->setText(checkpoints_.isEmpty() ? tr("No checkpoints yet") : checkpoints_.back().name);
}

void TrainingView::onFinished(const TrainingOutcome& outcome) {
  QString message, bar;
  const qint64 total = status_.totalSteps;
  if (outcome.failed()) {
    message = tr("Training failed: %1").arg(outcome.error);
    bar = tr("Failed");
  } else if (outcome.stopReason == QLatin1String("stopped")) {
    message = tr("Training stopped at step %1 (%2): %3").arg(outcome.steps).arg(stopReasonInWords(outcome.stopReason), runDir_);
    bar = tr("Stopped at step %1 / %2").arg(outcome.steps).arg(total);
  } else if (outcome.stoppedEarly()) {
    message = tr("Training ended early at step %1 (%2): %3").arg(outcome.steps).arg(stopReasonInWords(outcome.stopReason), runDir_);
    bar = tr("Stopped early at step %1 / %2").arg(outcome.steps).arg(total);
  } else {
    message = tr("Training finished at step %1 (%2): %3").arg(outcome.steps).arg(stopReasonInWords(outcome.stopReason), runDir_);
    bar = tr("Finished at step %1").arg(outcome.steps);
  }
  appendLog(message);
  notify(message);
  progress_->setFormat(bar);
  const bool nothingWritten = currentRun_ >= 0 && currentRun_ == plots_->runCount() - 1 &&
                              plots_->metrics(currentRun_).isEmpty() && checkpoints_.isEmpty();
  if (outcome.failed() && beforeStart_.valid && nothingWritten) {
    // The run left nothing: show what was there before its Start (the opened run, its
    // checkpoints, Resume), not an empty run.
    plots_->removeLastRun();
    runDir_ = beforeStart_.runDir;
    currentRun_ = beforeStart_.currentRun;
    setCheckpoints(beforeStart_.checkpoints);
    canResume_ = beforeStart_.canResume;
    currentRunSae_ = beforeStart_.sae;
  } else {
    // Any run that wrote a checkpoint can continue (with more steps, or after a stop).
    canResume_ = !checkpoints_.isEmpty();
  }
  beforeStart_ = {};
  showSaeSummary();
  if (!outputEdited_) output_->setText(freshOutputDir());
  updateButtons();
  emit runFinished(outcome);
  if (closeAfterStop_) {
    closeAfterStop_ = false;
    emit readyToClose();
  }
}

// The last evaluation of an SAE run, in the terms `prisma sae train` prints at its end.
void TrainingView::showSaeSummary() {
  const TrainingMetrics* last = nullptr;
  if (currentRunSae_ && currentRun_ >= 0 && currentRun_ < plots_->runCount())
    for (const TrainingMetrics& m : plots_->metrics(currentRun_))
      if (std::isfinite(m.value(QStringLiteral("test_l0")))) last = &m;
  if (!last) {
    saeSummary_->hide();
    return;
  }
  QStringList parts;
  for (const auto& [column, label] : kSaeSummary)
    parts << QStringLiteral("%1 %2").arg(tr(label)).arg(last->value(QLatin1String(column)), 0, 'g', kSummaryDigits);
  saeSummary_->setText(tr("Step %1, test: %2").arg(last->step).arg(parts.join(QStringLiteral(", "))));
  saeSummary_->show();
}

bool TrainingView::confirmClose() {
  if (!controller_->running()) return true;
  const bool stopIt = closeQuestion_ ? closeQuestion_() : QMessageBox::question(
      this, tr("Training in progress"),
      tr("A run is training. Stop it (its final checkpoint is written) and close?"),
      QMessageBox::Yes | QMessageBox::No, QMessageBox::No) == QMessageBox::Yes;
  if (!stopIt) return false;
  closeAfterStop_ = true;
  stop();
  return false;
}

void TrainingView::appendLog(const QString& line) {
  log_->appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss  ")) + line);
}

void TrainingView::notify(const QString& message) {
  emit statusMessage(message);
  if (!QSystemTrayIcon::isSystemTrayAvailable() || !QSystemTrayIcon::supportsMessages()) return;
  if (!tray_) {
    tray_ = new QSystemTrayIcon(style()->standardIcon(QStyle::SP_ComputerIcon), this);
    tray_->show();
  }
  tray_->showMessage(tr("Prisma Explorer"), message, QSystemTrayIcon::Information, kTrayMessageMs);
}

}  // namespace prisma::app
