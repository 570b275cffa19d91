// The patching board driven as a user would (offscreen): drop the clean and corrupted
// images into their slots as a file manager would, run exact sweeps, and check that the
// colour map shows the engine's grid for the same inputs (and, where the fixture has one,
// the PyTorch reference); click a cell and a region and check the patched metric against
// the engine; cancel a sweep mid-way and check that nothing more arrives and that the
// board still runs the next sweep.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "Tolerances.h"
#include "model/interp/ActivationPatching.h"
#include "model/io/InputSpec.h"
#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include "app/explorer/DatasetThumbnailModel.h"
#include "app/explorer/ExplorerController.h"
#include "app/explorer/ImagesPanel.h"
#include "app/explorer/patching/PatchGridPlot.h"
#include "app/explorer/patching/PatchImageView.h"
#include "app/explorer/patching/PatchSourceSlot.h"
#include "app/explorer/jobs/PatchingSession.h"
#include "app/explorer/patching/PatchingBoard.h"
#include "app/gui/LaunchOptions.h"
#include "app/gui/MainWindow.h"
#include "widgets/TopKBars.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHelpEvent>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>

#include <cmath>
#include <set>
#include <memory>

using namespace prisma;
using prisma::app::MainWindow;
using prisma::app::PatchingBoard;

// The board's three metrics.
enum class PatchMetricKind { LogitDiff, NormalizedLogitDiff, Probability };

// The ways an exact sweep ends (everyWayASweepEndsLeavesRunning).
enum class SweepEnd {
  CancelBeforeFirstBatch,
  CancelBetweenBatches,
  CancelQueuedSuccessor,  // setup changed mid-sweep, a new sweep queued behind it, then Cancel
  SupersededToTheEnd,
  SetupToCached,  // setup changed mid-sweep to one whose exact grid is cached
  ModelReloaded,
  ImageDropped,
  Failed,
};

namespace {
constexpr int kWaitMs = 60000;
constexpr int kWindowWidth = 1400, kWindowHeight = 900;
constexpr int kQuietMs = 500;   // how long a cancelled sweep must stay silent
constexpr double kEngineTol = prisma::test::kEngineTolerance;
constexpr double kReferenceTol = prisma::test::kBoardReferenceTolerance;
constexpr int kCleanTop = 0, kCorruptTop = 3;  // the fixture README's labels
const QString kFixtures = QStringLiteral(PRISMA_FIXTURES_DIR);
const QString kModel = kFixtures + QStringLiteral("/hf_vit_classifier");
const QString kInputs = kModel + QStringLiteral("/reference.safetensors");
const QString kClean = kInputs + QStringLiteral(":pixel_values:0");
const QString kCorrupt = kInputs + QStringLiteral(":pixel_values:1");

interp::MetricSpec specOf(PatchMetricKind kind) {
  interp::MetricSpec s;
  s.kind = kind == PatchMetricKind::Probability ? interp::MetricKind::Prob : interp::MetricKind::LogitDiff;
  s.normalized = kind == PatchMetricKind::NormalizedLogitDiff;
  s.classes = kind == PatchMetricKind::Probability ? std::vector<int>{kCleanTop} : std::vector<int>{kCleanTop, kCorruptTop};
  return s;
}

void setMetric(PatchingBoard* board, PatchMetricKind kind) {
  const interp::MetricSpec s = specOf(kind);
  board->setMetric(s.kind, s.normalized);
}

// The engine's own run of the same pair, for reference values.
struct Engine {
  io::LoadedModel model = io::loadModel(kModel.toStdString());
  interp::PatchingPair pair = interp::runPair(*model.model, io::loadInput(kClean.toStdString(), model),
                                              io::loadInput(kCorrupt.toStdString(), model));

  interp::Metric metric(PatchMetricKind kind) const {
    return interp::makeMetric(specOf(kind), pair.clean_logits, pair.corrupt_logits);
  }
  torch::Tensor sweep(const interp::PatchComponent& comp, const interp::MetricSpec& spec) {
    return interp::activationPatch(*model.model, pair, comp, interp::makeMetric(spec, pair.clean_logits, pair.corrupt_logits))
        .values;
  }
  torch::Tensor sweep(const interp::PatchComponent& comp, PatchMetricKind kind) { return sweep(comp, specOf(kind)); }
  torch::Tensor sweep(const QString& component, PatchMetricKind kind) {
    return sweep(interp::makeComponent(interp::componentKindFromName(component.toStdString()), model.model->cfg()), kind);
  }
};

void dropOn(QWidget* target, QMimeData* mime) {
  const QPoint at = target->rect().center();
  QDragEnterEvent enter(at, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(target, &enter);
  QVERIFY(enter.isAccepted());
  QDropEvent drop(QPointF(at), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(target, &drop);
  QVERIFY(drop.isAccepted());
}

QMimeData* fileDrag(const QString& spec) {
  auto* mime = new QMimeData;
  mime->setUrls({QUrl::fromLocalFile(spec)});
  return mime;
}

// A plot's title, the text element QCustomPlot draws above it.
QString titleOf(QCustomPlot* plot) {
  auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0));
  return title ? title->text() : QString();
}

// What a widget draws, to compare two states of it.
QImage pixelsOf(QWidget* w) { return w->grab().toImage().convertToFormat(QImage::Format_RGB32); }

// Whether the sweep status reads a duration as a user would: no "0.0 s", no seconds past a
// minute ("2638.5 s"), an ETA as h:mm:ss.
bool readableDurations(const QString& text) {
  static const QRegularExpression zero(QStringLiteral("\\b0\\.0 s\\b"));
  static const QRegularExpression longSeconds(QStringLiteral("\\b\\d{3,}(\\.\\d)? s\\b"));
  return !zero.match(text).hasMatch() && !longSeconds.match(text).hasMatch();
}
}  // namespace

class TestPatchingBoard : public QObject {
  Q_OBJECT

private:
  QTemporaryDir settingsDir_;
  std::unique_ptr<MainWindow> window_;
  app::ModelSummary model_;
  std::unique_ptr<Engine> engine_;

  PatchingBoard* board() const { return window_->patchingBoard(); }

  // Runs the board's exact sweep of `component` and waits for it.
  bool runExact(const QString& component, PatchMetricKind kind) {
    board()->setComponent(component);
    setMetric(board(), kind);
    QSignalSpy done(board(), &PatchingBoard::exactFinished);
    board()->runButton()->click();
    return done.count() > 0 || done.wait(kWaitMs);
  }

  // The fixture pair on a freshly set model (nothing cached), its preview shown, the queue idle.
  void freshPair() {
    QSignalSpy prepared(board(), &PatchingBoard::pairPrepared);
    QSignalSpy previewed(board(), &PatchingBoard::previewFinished);
    board()->setSource(PatchingBoard::Source::Clean, app::ImageRequest::file(kClean));
    board()->setSource(PatchingBoard::Source::Corrupt, app::ImageRequest::file(kCorrupt));
    board()->setModel(model_);
    QTRY_VERIFY_WITH_TIMEOUT(prepared.count() > 0 && previewed.count() > 0, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!window_->controller()->busy(), kWaitMs);
  }

private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaTest"));
    engine_ = std::make_unique<Engine>();
    window_ = std::make_unique<MainWindow>(app::RuntimeSummary{QStringLiteral("test"), 1});
    window_->resize(kWindowWidth, kWindowHeight);
    window_->show();
    window_->showPatchingBoard();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    QSignalSpy loaded(window_->controller(), &app::ExplorerController::modelLoaded);
    window_->openModel(kModel);
    QVERIFY(loaded.wait(kWaitMs));
    model_ = loaded.takeFirst().at(0).value<app::ModelSummary>();
  }

  // Before any pair the map area says what to do instead of drawing an empty 0-5 grid with a
  // colour bar; a slot shows its image as soon as it is dropped, whether or not the other slot
  // is filled (a board without a model runs nothing, so only the drop can show it).
  void emptyBoardSaysWhatToDoAndShowsDroppedImages() {
    PatchingBoard fresh(window_->controller());
    fresh.resize(kWindowWidth, kWindowHeight);
    fresh.show();
    QVERIFY(QTest::qWaitForWindowExposed(&fresh));
    auto* placeholder = fresh.mainPlot()->findChild<QLabel*>(QStringLiteral("plotPlaceholder"));
    QVERIFY(placeholder);
    QVERIFY(placeholder->isVisible());
    QVERIFY(placeholder->geometry().contains(fresh.mainPlot()->rect().center()));
    QVERIFY2(placeholder->text().contains(QStringLiteral("model"), Qt::CaseInsensitive), qPrintable(placeholder->text()));

    auto* cleanView = fresh.slot(PatchingBoard::Source::Clean)->imageView();
    auto* corruptView = fresh.slot(PatchingBoard::Source::Corrupt)->imageView();
    const QImage emptyClean = pixelsOf(cleanView), emptyCorrupt = pixelsOf(corruptView);
    // A dataset thumbnail: its pixels travel with the drag.
    QVERIFY(window_->imagesPanel()->showDataset(QStringLiteral("induction"), QStringLiteral("test")));
    std::unique_ptr<QMimeData> item(window_->imagesPanel()->model()->mimeData({window_->imagesPanel()->model()->index(2)}));
    dropOn(fresh.slot(PatchingBoard::Source::Clean), item.get());
    QVERIFY(pixelsOf(cleanView) != emptyClean);
    QCOMPARE(pixelsOf(corruptView), emptyCorrupt);
    // An image file from the file manager.
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("red.png"));
    QImage red(32, 32, QImage::Format_RGB32);
    red.fill(Qt::red);
    QVERIFY(red.save(png));
    std::unique_ptr<QMimeData> file(fileDrag(png));
    dropOn(fresh.slot(PatchingBoard::Source::Corrupt), file.get());
    const QImage shown = pixelsOf(corruptView);
    QCOMPARE(shown.pixelColor(shown.rect().center()), QColor(Qt::red));
    QVERIFY(placeholder->text().contains(QStringLiteral("model"), Qt::CaseInsensitive));
  }

  // Class names cut at the end made "horizontal stripes left" and "... right" look the same:
  // the two rows must be drawn differently, and hovering a name tells it in full.
  void predictionBarsTellSimilarNamesApart() {
    widgets::TopKBars bars;
    bars.setScores({{QStringLiteral("horizontal stripes on the left"), 0.6}, {QStringLiteral("horizontal stripes on the right"), 0.3}});
    constexpr int kNarrow = 220, kRowHeight = 22, kMargin = 6;
    bars.resize(kNarrow, bars.sizeHint().height());
    bars.show();
    QVERIFY(QTest::qWaitForWindowExposed(&bars));
    const QImage drawn = pixelsOf(&bars);
    const QRect nameRow0(0, kMargin, kNarrow / 2, kRowHeight), nameRow1 = nameRow0.translated(0, kRowHeight);
    QVERIFY(drawn.copy(nameRow0) != drawn.copy(nameRow1));
    QHelpEvent help(QEvent::ToolTip, nameRow1.center(), bars.mapToGlobal(nameRow1.center()));
    QCoreApplication::sendEvent(&bars, &help);
    QTRY_VERIFY2(QToolTip::text().startsWith(QStringLiteral("horizontal stripes on the right")), qPrintable(QToolTip::text()));
    QToolTip::hideText();
  }

  void cleanupTestCase() { window_.reset(); }

  void dropBothSlots() {
    QSignalSpy prepared(board(), &PatchingBoard::pairPrepared);
    QSignalSpy previewed(board(), &PatchingBoard::previewFinished);
    std::unique_ptr<QMimeData> clean(fileDrag(kClean)), corrupt(fileDrag(kCorrupt));
    dropOn(board()->slot(PatchingBoard::Source::Clean), clean.get());
    dropOn(board()->slot(PatchingBoard::Source::Corrupt), corrupt.get());
    QVERIFY(prepared.wait(kWaitMs));
    QVERIFY(board()->pairReady());
    QCOMPARE(board()->slot(PatchingBoard::Source::Clean)->request().path, kClean);
    // The metric's classes default to the two predictions: the reference's labels.
    QCOMPARE(board()->setup().metric.classes, (std::vector<int>{kCleanTop, kCorruptTop}));
    QCOMPARE(board()->slot(PatchingBoard::Source::Clean)->bars()->scores().size(), 5);
    // The preview (attribution patching) runs at once.
    QVERIFY(previewed.count() > 0 || previewed.wait(kWaitMs));
    QVERIFY(board()->attributionGrid().isValid());
  }

  void previewEqualsReferenceAttribution() {
    board()->setComponent(QStringLiteral("resid_pre"));
    setMetric(board(), PatchMetricKind::LogitDiff);
    if (!board()->attributionGrid().isValid()) {
      QSignalSpy previewed(board(), &PatchingBoard::previewFinished);
      QVERIFY(previewed.wait(kWaitMs));
    }
    const app::PatchingGrid& g = board()->attributionGrid();
    const io::SafeTensorsFile ref((kModel + QStringLiteral("/patching_reference.safetensors")).toStdString());
    const torch::Tensor expected = ref.float_tensor("resid_pre_attribution");  // [layer, pos], the change
    const double corrupt = ref.float_tensor("corrupt_metric").item<double>();
    QCOMPARE(g.rows(), static_cast<int>(expected.size(0)));
    QCOMPARE(g.cols(), static_cast<int>(expected.size(1)));
    for (int r = 0; r < g.rows(); ++r)
      for (int c = 0; c < g.cols(); ++c)
        QVERIFY2(std::abs(g.at(r, c) - corrupt - expected[r][c].item<double>()) < kReferenceTol,
                 qPrintable(QStringLiteral("cell %1,%2").arg(r).arg(c)));
  }

  void exactGridIsTheEngines_data() {
    QTest::addColumn<QString>("component");
    QTest::addColumn<int>("metric");
    QTest::addColumn<QString>("reference");  // tensor of patching_reference.safetensors, or empty
    QTest::newRow("resid_pre, logit diff") << QStringLiteral("resid_pre") << int(PatchMetricKind::LogitDiff) << QStringLiteral("resid_pre_patch");
    QTest::newRow("head_z, logit diff") << QStringLiteral("head_z") << int(PatchMetricKind::LogitDiff) << QStringLiteral("head_z_patch");
    QTest::newRow("head_z_by_pos, normalised") << QStringLiteral("head_z_by_pos") << int(PatchMetricKind::NormalizedLogitDiff) << QString();
    QTest::newRow("attn_out, probability") << QStringLiteral("attn_out") << int(PatchMetricKind::Probability) << QString();
  }

  void exactGridIsTheEngines() {
    QFETCH(QString, component);
    QFETCH(int, metric);
    QFETCH(QString, reference);
    const auto kind = static_cast<PatchMetricKind>(metric);
    QVERIFY(runExact(component, kind));
    const torch::Tensor expected = engine_->sweep(component, kind);
    const torch::Tensor flat = expected.reshape({expected.size(0), -1});  // [layer, rest]
    app::PatchGridPlot* plot = board()->mainPlot();
    const app::PatchingGrid& g = board()->exactGrid();
    QCOMPARE(app::componentName(g.component), component);
    QCOMPARE(g.rows(), static_cast<int>(flat.size(0)));
    QCOMPARE(g.cols(), static_cast<int>(flat.size(1)));
    QCOMPARE(g.done, g.total);
    QCOMPARE(board()->progressBar()->value(), board()->progressBar()->maximum());
    for (int r = 0; r < g.rows(); ++r)
      for (int c = 0; c < g.cols(); ++c)
        QVERIFY2(std::abs(plot->shownValue(r, c) - flat[r][c].item<double>()) < kEngineTol,
                 qPrintable(QStringLiteral("cell %1,%2: shown %3, engine %4").arg(r).arg(c)
                                .arg(plot->shownValue(r, c)).arg(flat[r][c].item<double>())));
    if (!reference.isEmpty()) {
      const io::SafeTensorsFile ref((kModel + QStringLiteral("/patching_reference.safetensors")).toStdString());
      const torch::Tensor want = ref.float_tensor(reference.toStdString());
      for (int r = 0; r < g.rows(); ++r)
        for (int c = 0; c < g.cols(); ++c) QVERIFY(std::abs(plot->shownValue(r, c) - want[r][c].item<double>()) < kReferenceTol);
    }
    // Exact vs attribution side by side once both exist.
    QVERIFY(board()->compareToggle()->isEnabled());
    board()->compareToggle()->setChecked(true);
    QVERIFY(board()->differencePlot()->isVisible());
    const app::PatchingGrid& a = board()->attributionGrid();
    QVERIFY(std::abs(board()->differencePlot()->shownValue(0, 0) - (g.at(0, 0) - a.at(0, 0))) < kEngineTol);
    board()->compareToggle()->setChecked(false);
  }

  // Ticking "Exact vs attribution" puts three plots side by side: the window must keep its
  // width and the board its minimum (the plots share the width), and unticking leaves it as
  // it was.
  void compareKeepsTheWindowWidth() {
    QVERIFY(runExact(QStringLiteral("resid_pre"), PatchMetricKind::LogitDiff));
    QVERIFY(board()->compareToggle()->isEnabled());
    // At its narrowest, where any plot that wants more room widens the window.
    window_->resize(window_->minimumSizeHint().width(), kWindowHeight);
    QTest::qWait(kQuietMs / 5);
    const int width = window_->width(), boardMinimum = board()->minimumSizeHint().width();
    QTest::mouseClick(board()->compareToggle(), Qt::LeftButton, {}, QPoint(4, board()->compareToggle()->height() / 2));
    QVERIFY(board()->compareToggle()->isChecked());
    QTest::qWait(kQuietMs / 5);
    QVERIFY(board()->differencePlot()->isVisible());
    QCOMPARE(window_->width(), width);
    QVERIFY(window_->minimumSizeHint().width() <= width);
    // Nor the board (the window may scroll it rather than widen).
    QVERIFY2(board()->minimumSizeHint().width() <= boardMinimum,
             qPrintable(QStringLiteral("%1 px, was %2").arg(board()->minimumSizeHint().width()).arg(boardMinimum)));
    QVERIFY(board()->differencePlot()->width() > 0);
    QTest::mouseClick(board()->compareToggle(), Qt::LeftButton, {}, QPoint(4, board()->compareToggle()->height() / 2));
    QVERIFY(!board()->compareToggle()->isChecked());
    QTest::qWait(kQuietMs / 5);
    QCOMPARE(window_->width(), width);
    window_->resize(kWindowWidth, kWindowHeight);
  }

  void clickingACellRunsThatPatch() {
    QVERIFY(runExact(QStringLiteral("resid_pre"), PatchMetricKind::LogitDiff));  // cached: shown at once
    constexpr int kRow = 1, kCol = 5;
    const torch::Tensor expected = engine_->sweep(QStringLiteral("resid_pre"), PatchMetricKind::LogitDiff);
    QSignalSpy shown(board(), &PatchingBoard::patchedRunShown);
    app::PatchGridPlot* plot = board()->mainPlot();
    plot->replot();
    // The three prediction columns share the width equally, before and after a patch.
    auto* cleanBars = board()->findChild<widgets::TopKBars*>(QStringLiteral("cleanPredictionBars"));
    auto* corruptBars = board()->findChild<widgets::TopKBars*>(QStringLiteral("corruptPredictionBars"));
    QVERIFY(cleanBars && corruptBars);
    const int columnWidth = cleanBars->width();
    constexpr int kLayoutSlack = 2;
    QTest::mouseClick(plot, Qt::LeftButton, {}, plot->cellCenter(kRow, kCol));
    QVERIFY(shown.wait(kWaitMs));
    const app::PatchedRun& run = board()->lastPatchedRun();
    QCOMPARE(run.cell, (QVector<int>{kRow, kCol}));
    QVERIFY(std::abs(run.metric - expected[kRow][kCol].item<double>()) < kEngineTol);
    QVERIFY(board()->patchedLabel()->text().contains(QString::number(run.metric, 'g', 5)));
    QCOMPARE(board()->patchedBars()->scores().size(), 5);
    QTest::qWait(kQuietMs / 5);
    for (QWidget* w : {static_cast<QWidget*>(cleanBars), static_cast<QWidget*>(corruptBars), static_cast<QWidget*>(board()->patchedBars())})
      QVERIFY2(std::abs(w->width() - columnWidth) <= kLayoutSlack,
               qPrintable(QStringLiteral("%1: %2 px, was %3").arg(w->objectName()).arg(w->width()).arg(columnWidth)));
    // The slots show this metric on the unpatched runs.
    const interp::Metric metric = engine_->metric(PatchMetricKind::LogitDiff);
    QCOMPARE(board()->slot(PatchingBoard::Source::Clean)->metricLabel()->text(),
             QStringLiteral("metric: %1").arg(interp::metricValue(metric, engine_->pair.clean_logits), 0, 'g', 5));
    QCOMPARE(board()->slot(PatchingBoard::Source::Corrupt)->metricLabel()->text(),
             QStringLiteral("metric: %1").arg(interp::metricValue(metric, engine_->pair.corrupt_logits), 0, 'g', 5));
    // The patched position is marked on the corrupted image.
    QCOMPARE(board()->slot(PatchingBoard::Source::Corrupt)->imageView()->highlighted(), QVector<int>{kCol});
  }

  void regionDroppedOnCorruptedRunsTheFreeFormPatch() {
    // Patches (row 0..1, col 1..2) of the clean image at resid_pre of layer 0.
    const QRect patches(QPoint(1, 0), QPoint(2, 1));
    auto* cleanView = board()->slot(PatchingBoard::Source::Clean)->imageView();
    cleanView->setSelection(patches);
    const QVector<int> tokens = cleanView->selectionTokens();
    QCOMPARE(tokens, (QVector<int>{2, 3, 6, 7}));  // after CLS, 4 patches a row
    QSignalSpy shown(board(), &PatchingBoard::patchedRunShown);
    QMimeData region;
    region.setData(app::kPatchRegionMime, QByteArrayLiteral("0,1,1,2"));
    dropOn(board()->slot(PatchingBoard::Source::Corrupt), &region);
    QVERIFY(shown.wait(kWaitMs));
    const app::PatchedRun& run = board()->lastPatchedRun();
    QCOMPARE(run.positions, tokens);
    QCOMPARE(run.layer, 0);
    const auto comp = interp::makePositionsComponent(interp::ComponentKind::ResidPre, {2, 3, 6, 7},
                                                     engine_->model.model->cfg());
    const double expected = engine_->sweep(comp, board()->setup().metric)[0].item<double>();
    QVERIFY(std::abs(run.metric - expected) < kEngineTol);
  }

  void cancelStopsTheSweepAndLeavesTheBoardUsable() {
    // One cell per batch, so the sweep reports often and is still running when cancelled.
    board()->setBatchSize(1);
    board()->setComponent(QStringLiteral("head_z_by_pos"));
    setMetric(board(), PatchMetricKind::Probability);
    QSignalSpy progress(board(), &PatchingBoard::sweepProgress);
    QSignalSpy jobsEnded(window_->controller()->queue(), &app::JobQueue::finished);
    qint64 doneAtCancel = -1, total = 0;
    auto* eta = board()->findChild<QLabel*>(QStringLiteral("sweepEta"));
    QVERIFY(eta);
    QString etaWhileRunning;
    const QMetaObject::Connection cancelOnFirst =
        connect(board(), &PatchingBoard::sweepProgress, this, [&](qint64 done, qint64 all) {
          if (doneAtCancel >= 0) return;
          doneAtCancel = done;
          total = all;
          etaWhileRunning = eta->text();
          board()->cancelButton()->click();
        });
    board()->runButton()->click();
    const bool progressed = progress.wait(kWaitMs);
    disconnect(cancelOnFirst);
    QVERIFY(progressed);
    QVERIFY(doneAtCancel > 0);
    QVERIFY2(QRegularExpression(QStringLiteral("ETA \\d+:\\d\\d:\\d\\d")).match(etaWhileRunning).hasMatch(), qPrintable(etaWhileRunning));
    QVERIFY2(readableDurations(etaWhileRunning), qPrintable(etaWhileRunning));
    QVERIFY2(!titleOf(board()->mainPlot()).contains(QStringLiteral("running")), qPrintable(titleOf(board()->mainPlot())));
    QVERIFY(eta->text().startsWith(QStringLiteral("Cancelled at")));
    // The map shows the cells run so far; the rest stay empty (NaN).
    int shown = 0, empty = 0;
    for (int r = 0; r < board()->exactGrid().rows(); ++r)
      for (int c = 0; c < board()->exactGrid().cols(); ++c)
        ++(std::isnan(board()->mainPlot()->shownValue(r, c)) ? empty : shown);
    QCOMPARE(shown, static_cast<int>(doneAtCancel));
    QVERIFY(empty > 0);
    QVERIFY(!board()->sweepRunning());
    QVERIFY(board()->runButton()->isEnabled());
    QVERIFY(!board()->cancelButton()->isEnabled());
    // The model thread stops the sweep between batches: the job ends cancelled, long before
    // the grid is complete, and the queue is free for the next one.
    QTRY_VERIFY_WITH_TIMEOUT(std::any_of(jobsEnded.begin(), jobsEnded.end(), [](const QList<QVariant>& args) {
                               return args.at(1).value<app::JobQueue::End>() == app::JobQueue::End::Cancelled;
                             }), kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!window_->controller()->busy(), kWaitMs);
    QVERIFY(doneAtCancel < total);
    const int updates = progress.count();
    QTest::qWait(kQuietMs);
    QCOMPARE(progress.count(), updates);  // nothing after Cancel
    QCOMPARE(updates, 1);

    // A second sweep, now to the end, gives the engine's grid.
    board()->setBatchSize(0);
    QVERIFY(runExact(QStringLiteral("head_z_by_pos"), PatchMetricKind::Probability));
    const torch::Tensor expected = engine_->sweep(QStringLiteral("head_z_by_pos"), PatchMetricKind::Probability);
    const app::PatchingGrid& g = board()->exactGrid();
    QCOMPARE(g.done, g.total);
    const torch::Tensor flat = expected.reshape({expected.size(0), -1});
    for (int r = 0; r < g.rows(); ++r)
      for (int c = 0; c < g.cols(); ++c) QVERIFY(std::abs(board()->mainPlot()->shownValue(r, c) - flat[r][c].item<double>()) < kEngineTol);
    // A sweep of a few milliseconds does not claim "in 0.0 s".
    QVERIFY2(eta->text().contains(QStringLiteral("cells in")) && readableDurations(eta->text()), qPrintable(eta->text()));
    QVERIFY(!titleOf(board()->mainPlot()).contains(QStringLiteral("running")));
  }

  // Every way an exact sweep can end leaves the board out of its running state: the plot's
  // title loses "(running)" (checked at every state change, not only at the end), Cancel is
  // disabled and Run exact enabled, and the status and the sweep line say how it ended.
  void everyWayASweepEndsLeavesRunning_data() {
    QTest::addColumn<int>("ending");
    QTest::addColumn<QString>("status");  // regular expressions the final texts match
    QTest::addColumn<QString>("eta");
    QTest::newRow("cancel before the first batch") << int(SweepEnd::CancelBeforeFirstBatch) << "^Sweep cancelled\\.$"
                                                   << "^Cancelled before the first batch$";
    QTest::newRow("cancel between batches") << int(SweepEnd::CancelBetweenBatches) << "^Sweep cancelled\\.$"
                                            << "^Cancelled at \\d+ / \\d+ cells$";
    // The new setup's preview comes in after the Cancel: the map shows it, no exact count.
    QTest::newRow("cancel a sweep queued behind the superseded one")
        << int(SweepEnd::CancelQueuedSuccessor) << "^Preview ready\\.$" << "^$";
    QTest::newRow("superseded by a sweep that finishes") << int(SweepEnd::SupersededToTheEnd) << "^Exact sweep done\\."
                                                         << "^\\d+ cells in ";
    QTest::newRow("setup changed to a cached sweep") << int(SweepEnd::SetupToCached) << "^Cached exact sweep\\.$"
                                                     << "^\\d+ cells, from the cache$";
    QTest::newRow("model reloaded") << int(SweepEnd::ModelReloaded) << "^Preview ready\\.$" << "^$";
    QTest::newRow("image dropped") << int(SweepEnd::ImageDropped) << "^Preview ready\\.$" << "^$";
    QTest::newRow("sweep failed") << int(SweepEnd::Failed) << "class A.*class \\d+ outside" << "^$";
  }
  void everyWayASweepEndsLeavesRunning() {
    QFETCH(int, ending);
    QFETCH(QString, status);
    QFETCH(QString, eta);
    const auto end = static_cast<SweepEnd>(ending);
    auto* etaLabel = board()->findChild<QLabel*>(QStringLiteral("sweepEta"));
    auto* metricBox = board()->findChild<QComboBox*>(QStringLiteral("metricBox"));
    QVERIFY(etaLabel && metricBox);
    freshPair();
    board()->setComponent(QStringLiteral("head_z_by_pos"));
    if (end == SweepEnd::SetupToCached) {  // the sweep to come back to
      setMetric(board(), PatchMetricKind::LogitDiff);
      QVERIFY(runExact(QStringLiteral("head_z_by_pos"), PatchMetricKind::LogitDiff));
    }
    setMetric(board(), PatchMetricKind::Probability);
    if (end == SweepEnd::Failed) board()->presenter()->setClasses(model_.classes, 0);  // one past the last class
    QTRY_VERIFY_WITH_TIMEOUT(!window_->controller()->busy(), kWaitMs);  // the new setup's preview is in

    QStringList stale;  // states where no sweep runs but the title still says "(running)"
    const QMetaObject::Connection watch = connect(board()->presenter(), &app::PatchingPresenter::stateChanged, this, [&] {
      const QString title = titleOf(board()->mainPlot());
      if (!board()->sweepRunning() && title.contains(QStringLiteral("running")))
        stale << QStringLiteral("%1 (status: %2)").arg(title, board()->presenter()->status());
    });
    const int logitDiffRow = metricBox->findText(QStringLiteral("logit difference"), Qt::MatchStartsWith);
    bool acted = false;
    // What the user does once the sweep has shown its first cells.
    const QMetaObject::Connection act = connect(board(), &PatchingBoard::sweepProgress, this, [&] {
      if (acted) return;
      acted = true;
      switch (end) {
        case SweepEnd::CancelBetweenBatches: board()->cancelButton()->click(); break;
        case SweepEnd::CancelQueuedSuccessor:
        case SweepEnd::SupersededToTheEnd:
          metricBox->setCurrentIndex(logitDiffRow);  // stops this sweep at its next batch
          board()->setBatchSize(0);
          board()->runButton()->click();  // waits behind the stopping one
          QVERIFY(board()->sweepRunning());
          if (end == SweepEnd::CancelQueuedSuccessor) board()->cancelButton()->click();
          break;
        case SweepEnd::SetupToCached: metricBox->setCurrentIndex(logitDiffRow); break;
        case SweepEnd::ModelReloaded: window_->openModel(kModel); break;
        case SweepEnd::ImageDropped: {
          std::unique_ptr<QMimeData> other(fileDrag(kCorrupt));
          dropOn(board()->slot(PatchingBoard::Source::Clean), other.get());
          break;
        }
        default: break;
      }
    });
    QSignalSpy prepared(board(), &PatchingBoard::pairPrepared);
    QSignalSpy previewed(board(), &PatchingBoard::previewFinished);
    QSignalSpy finished(board(), &PatchingBoard::exactFinished);
    board()->setBatchSize(1);  // one cell per batch: still running when the user acts
    board()->runButton()->click();
    if (end == SweepEnd::CancelBeforeFirstBatch) board()->cancelButton()->click();
    if (end != SweepEnd::CancelBeforeFirstBatch && end != SweepEnd::Failed) QTRY_VERIFY_WITH_TIMEOUT(acted, kWaitMs);
    if (end == SweepEnd::ModelReloaded || end == SweepEnd::ImageDropped) {
      QTRY_VERIFY_WITH_TIMEOUT(prepared.count() > 0 && previewed.count() > 0, kWaitMs);
    }
    if (end == SweepEnd::SupersededToTheEnd) QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!window_->controller()->busy(), kWaitMs);
    QTest::qWait(kQuietMs);  // nothing late changes what follows
    disconnect(watch);
    disconnect(act);
    board()->setBatchSize(0);
    for (auto* box : window_->findChildren<QMessageBox*>(QStringLiteral("errorBox"))) box->close();

    QVERIFY2(stale.isEmpty(), qPrintable(stale.join(QStringLiteral("; "))));
    QVERIFY(!board()->sweepRunning());
    QVERIFY2(!titleOf(board()->mainPlot()).contains(QStringLiteral("running")), qPrintable(titleOf(board()->mainPlot())));
    const QString statusText = board()->presenter()->status();
    QVERIFY2(QRegularExpression(status).match(statusText).hasMatch(), qPrintable(statusText));
    QVERIFY2(QRegularExpression(eta).match(etaLabel->text()).hasMatch(), qPrintable(etaLabel->text()));
    QVERIFY(!board()->cancelButton()->isEnabled());
    QCOMPARE(board()->runButton()->isEnabled(), board()->pairReady());
    if (etaLabel->text().isEmpty()) QCOMPARE(board()->progressBar()->value(), board()->progressBar()->minimum());
    else QVERIFY(board()->progressBar()->value() > board()->progressBar()->minimum() || etaLabel->text().contains(QStringLiteral("before")));
  }

  // A model or image change drops every result of the previous pair from the board: the
  // region-patch text, the sweep's "N cells in ..." or "Cancelled at ...", the progress, the
  // prediction columns, until the new pair has run.
  void modelOrImageChangeResetsTheBoard() {
    auto* eta = board()->findChild<QLabel*>(QStringLiteral("sweepEta"));
    QVERIFY(eta);
    auto showSomething = [&] {
      QVERIFY(runExact(QStringLiteral("resid_pre"), PatchMetricKind::LogitDiff));
      QSignalSpy shown(board(), &PatchingBoard::patchedRunShown);
      board()->patchRegion(QRect(QPoint(0, 0), QPoint(1, 1)));
      QVERIFY(shown.wait(kWaitMs));
      QVERIFY(board()->patchedLabel()->text().contains(QStringLiteral("patched metric")));
      QVERIFY(!eta->text().isEmpty());
    };
    auto checkReset = [&](const char* what) {
      QVERIFY2(!board()->patchedLabel()->text().contains(QStringLiteral("metric")), what);
      QVERIFY2(!board()->patchedLabel()->text().contains(QStringLiteral("Patching")), what);
      QVERIFY2(eta->text().isEmpty(), qPrintable(eta->text()));
      QCOMPARE(board()->progressBar()->value(), board()->progressBar()->minimum());
      QVERIFY(board()->patchedBars()->scores().isEmpty());
      QVERIFY(board()->findChild<widgets::TopKBars*>(QStringLiteral("cleanPredictionBars"))->scores().isEmpty());
      QVERIFY(board()->slot(PatchingBoard::Source::Clean)->bars()->scores().isEmpty());
    };
    showSomething();
    QSignalSpy prepared(board(), &PatchingBoard::pairPrepared);
    board()->setModel(model_);
    checkReset("model");
    QVERIFY(prepared.wait(kWaitMs));
    showSomething();
    board()->setSource(PatchingBoard::Source::Clean, app::ImageRequest::file(kClean));
    checkReset("image");
    QVERIFY(prepared.wait(kWaitMs));
  }

  void exportWritesCsvAndPng() {
    QTemporaryDir dir;
    const QString csv = dir.filePath(QStringLiteral("grid.csv")), png = dir.filePath(QStringLiteral("grid.png"));
    QVERIFY(runExact(QStringLiteral("head_z"), PatchMetricKind::LogitDiff));
    QVERIFY(board()->exportCsv(csv));
    QVERIFY(board()->exportPng(png));
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).trimmed().split('\n');
    QCOMPARE(lines.value(0), QStringLiteral("layer,head,exact,attribution"));
    QCOMPARE(lines.size(), 1 + 3 * 4);
    const QStringList row = lines.value(1 + 2 * 4 + 1).split(',');  // layer 2, head 1
    QCOMPARE(row.value(0), QStringLiteral("2"));
    QCOMPARE(row.value(1), QStringLiteral("1"));
    QVERIFY(std::abs(row.value(2).toDouble() - board()->exactGrid().at(2, 1)) < kEngineTol);
    QVERIFY(!QImage(png).isNull());
  }

  void datasetThumbnailDropsIntoASlot() {
    QVERIFY(window_->imagesPanel()->showDataset(QStringLiteral("induction"), QStringLiteral("test")));
    constexpr int kRow = 4;
    auto* thumbnails = window_->imagesPanel()->model();
    const QModelIndex index = thumbnails->index(kRow);
    QVERIFY(thumbnails->flags(index) & Qt::ItemIsDragEnabled);
    std::unique_ptr<QMimeData> mime(thumbnails->mimeData({index}));
    QVERIFY(mime);
    QCOMPARE(QString::fromUtf8(mime->data(app::kDatasetItemMime)), QStringLiteral("induction/test/4"));
    QSignalSpy prepared(board(), &PatchingBoard::pairPrepared);
    dropOn(board()->slot(PatchingBoard::Source::Corrupt), mime.get());
    QVERIFY(prepared.wait(kWaitMs));
    const app::ImageRequest& r = board()->slot(PatchingBoard::Source::Corrupt)->request();
    QCOMPARE(r.dataset, QStringLiteral("induction"));
    QCOMPARE(r.row, kRow);
    QCOMPARE(r.pixels, thumbnails->image(kRow));
    QVERIFY(!board()->slot(PatchingBoard::Source::Corrupt)->bars()->scores().isEmpty());
  }

  // The session caches what its components patch and the resid_pre its patched runs start
  // from, and nothing else: no attention scores, LayerNorm or MLP-internal hooks, which
  // would dominate a large model's pair.
  void sessionCachesOnlyThePatchedHooks() {
    io::LoadedModel model = io::loadModel(kModel.toStdString());
    const torch::Tensor clean = io::loadInput(kClean.toStdString(), model);
    const torch::Tensor corrupt = io::loadInput(kCorrupt.toStdString(), model);
    const auto shared = std::make_shared<io::LoadedModel>(std::move(model));
    app::PatchingSession session(shared, clean, corrupt);
    const ViTConfig& cfg = shared->model->cfg();
    QVERIFY(session.info().components == interp::availableComponents(cfg));
    std::set<std::string> wanted;
    for (interp::ComponentKind kind : session.info().components) {
      const auto comp = interp::makeComponent(kind, cfg);
      for (int l = 0; l < cfg.n_layers; ++l) wanted.insert(comp.hook_name(l));
    }
    for (int l = 0; l < cfg.n_layers; ++l) wanted.insert("blocks." + std::to_string(l) + ".hook_resid_pre");
    for (const auto* cache : {&session.pair().clean, &session.pair().corrupt}) {
      const auto keys = cache->keys();
      QCOMPARE(std::set<std::string>(keys.begin(), keys.end()), wanted);
    }
    // Same logits as the engine's full-cache pair.
    QVERIFY(torch::allclose(session.pair().clean_logits, engine_->pair.clean_logits));
    QVERIFY(torch::allclose(session.pair().corrupt_logits, engine_->pair.corrupt_logits));
  }

  void launchOptionsParsePatchingView() {
    QString error;
    const auto o = app::parseLaunchOptions({QStringLiteral("prisma-explorer"), QStringLiteral("--view"), QStringLiteral("patching"),
                                            QStringLiteral("--clean"), kClean, QStringLiteral("--corrupt"), QStringLiteral("induction/test/3"),
                                            QStringLiteral("--component"), QStringLiteral("head_z")},
                                           error);
    QVERIFY2(o, qPrintable(error));
    QCOMPARE(o->view, QStringLiteral("patching"));
    QCOMPARE(o->clean, kClean);
    QCOMPARE(o->corrupt, QStringLiteral("induction/test/3"));
    QCOMPARE(o->component, QStringLiteral("head_z"));
    QVERIFY(!app::parseLaunchOptions({QStringLiteral("prisma-explorer"), QStringLiteral("--view"), QStringLiteral("patching")}, error));
    QVERIFY(error.contains(QStringLiteral("--clean")));
    const app::ImageRequest item = app::requestFromSpec(QStringLiteral("induction/test/3"));
    QCOMPARE(item.row, 3);
    QVERIFY(!item.pixels.isNull());
  }
};

QTEST_MAIN(TestPatchingBoard)
#include "tst_patching_board.moc"
