// The explorer window driven as a user would (offscreen): open a model by path and by
// drop, pick an image, select a head, hover a patch, and check that the large view now
// shows that query's attention -- the very numbers the engine computes for it.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/io/InputSpec.h"
#include "model/interp/AttentionMaps.h"
#include "model/interp/AttentionRollout.h"
#include "model/interp/LogitLens.h"
#include "model/io/ModelLoader.h"
#include "datasets/InductionDataset.h"

#include <torch/torch.h>

#include "app/explorer/AttentionView.h"
#include "app/explorer/ExplorerController.h"
#include "app/explorer/ImagesPanel.h"
#include "app/explorer/LogitLensView.h"
#include "app/explorer/ModelsPanel.h"
#include "app/gui/LaunchOptions.h"
#include "app/gui/MainWindow.h"
#include "widgets/HeadGrid.h"
#include "widgets/HeatmapView.h"
#include "widgets/PatchClassView.h"
#include "widgets/TopKBars.h"

#include <QCheckBox>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <thread>

using namespace prisma;
using prisma::app::ImageRequest;
using prisma::app::MainWindow;

namespace {
constexpr int kWaitMs = 60000;
const QString kFixtures = QStringLiteral(PRISMA_FIXTURES_DIR);
const QString kModel = kFixtures + QStringLiteral("/hf_vit_classifier");
const QString kImage = kFixtures + QStringLiteral("/images/chelsea.png");
}  // namespace

class TestExplorer : public QObject {
  Q_OBJECT

private:
  QTemporaryDir settingsDir_;

  static bool waitReady(MainWindow& w) {
    QSignalSpy ready(&w, &MainWindow::viewsReady);
    return ready.wait(kWaitMs);
  }

private slots:
  void initTestCase() {
    // Keep the user's remembered settings out of the tests, and the tests out of theirs.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaTest"));
  }

  // A first start (no remembered session) opens the bundled 2-layer Induction mouse on the
  // first Induction test image, and that trained mouse classifies it correctly.
  void firstStartOpensTheInductionMouse() {
    QSettings().clear();
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    w.restoreSession();
    QVERIFY(waitReady(w));
    QCOMPARE(QFileInfo(w.modelSource()).fileName(), QStringLiteral("induction-2L"));
    const datasets::InductionDataset induction;
    const auto names = induction.classNames();
    const QString truth = QString::fromStdString(names.at(induction.label(datasets::Split::Test, 0)));
    QVERIFY(!w.predictionBars()->scores().isEmpty());
    QCOMPARE(w.predictionBars()->scores().first().name, truth);
    // The details list the model's notes one per line (the shipped mouse has two: its
    // provenance and its int8 storage), not joined by escaped markup.
    const auto* details = w.findChild<QTextBrowser*>(QStringLiteral("details"));
    QVERIFY(details);
    const QString text = details->toPlainText();
    QVERIFY2(!text.contains(QStringLiteral("<br>")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral(")\nweights stored as int8 on disk, float32 in memory")), qPrintable(text));
    QSettings().clear();  // the other cases start from a clean session too
  }

  void hoverShowsThatQuerysAttention() {
    MainWindow w({QStringLiteral("test"), 1});
    w.resize(1200, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.openModel(kModel);
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));
    QCOMPARE(w.modelSource(), kModel);
    QCOMPARE(w.predictionBars()->scores().size(), 5);

    auto* view = w.attentionView();
    view->setClsPinned(false);
    constexpr int kLayer = 1, kHead = 2;
    QTest::mouseClick(view->headGrid(), Qt::LeftButton, {}, view->headGrid()->cellRect(kLayer, kHead).center());
    QCOMPARE(view->headGrid()->selected(), QPoint(kHead, kLayer));

    constexpr int kRow = 2, kCol = 3;
    widgets::HeatmapView* large = view->largeView();
    QTest::mouseMove(large, large->patchRect(0, 0).center());
    QTest::mouseMove(large, large->patchRect(kRow, kCol).center());
    QTRY_COMPARE(view->query(), std::optional<QPoint>(QPoint(kCol, kRow)));

    // The engine's own answer: pattern row of that patch's token, keys over the patches.
    auto m = io::loadModel(kModel.toStdString());
    torch::NoGradGuard no_grad;
    auto run = m.model->run_with_cache(io::loadInput(kImage.toStdString(), m), filters::regex({"hook_pattern$"}));
    const int grid = m.model->cfg().grid_size();
    const torch::Tensor row = run.cache["blocks.1.attn.hook_pattern"][0][kHead][1 + kRow * grid + kCol].slice(0, 1);
    const widgets::PatchGridValues& shown = large->heat();
    QCOMPARE(shown.rows, grid);
    QCOMPARE(shown.values.size(), int(row.numel()));
    for (int i = 0; i < shown.values.size(); ++i)
      QVERIFY2(std::abs(shown.values[i] - row[i].item<float>()) < 1e-6f, qPrintable(QString::number(i)));
    // The rendered colour is the colour map's value for that number on the view's range.
    const QColor expected = widgets::ColorMap().map(row[5].item<float>(), large->rangeLow(), large->rangeHigh());
    QCOMPARE(large->heatColor(5 / grid, 5 % grid), expected);
  }

  // Rollout, head order and the logit lens in the window equal the engine's numbers.
  void wholeModelMapsAndLogitLensMatchTheEngine() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    w.openModel(kModel);
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));
    auto m = io::loadModel(kModel.toStdString());
    torch::NoGradGuard no_grad;
    auto run = m.model->run_with_cache(io::loadInput(kImage.toStdString(), m));
    const ViTConfig& cfg = m.model->cfg();

    auto* view = w.attentionView();
    view->setClsPinned(true);
    const int layers = cfg.n_layers;
    QCOMPARE(view->headGrid()->rowCount(), layers + 2);  // + rollout + relevancy
    QCOMPARE(view->headGrid()->row(layers).label, QStringLiteral("rollout"));
    const torch::Tensor rollout = interp::tokenMatrixMap(interp::attentionRollout(run.cache, cfg), cfg)[0].flatten();
    const widgets::PatchGridValues shown = view->headGrid()->row(layers).cells[0];
    for (int i = 0; i < shown.values.size(); ++i) QVERIFY(std::abs(shown.values[i] - rollout[i].item<float>()) < 1e-5f);

    // Lowest entropy first: the grid's first column of each layer is its most focused head.
    view->setHeadOrder(app::AttentionView::HeadOrder::Entropy);
    const torch::Tensor entropy = interp::summarizeHeads(run.cache, cfg).entropy;  // [layer, head]
    for (int l = 0; l < layers; ++l) {
      QCOMPARE(view->headAt(l, 0), int(entropy[l].argmin().item<int64_t>()));
      QCOMPARE(view->headGrid()->row(l).cellLabels.value(0), QStringLiteral("H%1").arg(view->headAt(l, 0)));
    }

    const auto lens = interp::logitLens(*m.model, run.cache);  // top_class [layer + 1, batch, pos]
    auto* lensView = w.logitLensView();
    for (int l : {0, layers}) {
      lensView->setLayer(l);
      const int grid = cfg.grid_size();
      for (int p = 0; p < grid * grid; ++p)
        QCOMPARE(lensView->patchView()->classAt(p / grid, p % grid), int(lens.top_class[l][0][1 + p].item<int64_t>()));
    }
  }

  void dropAModelFolderAndABadModelKeepsThePrevious() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy loaded(w.controller(), &app::ExplorerController::modelLoaded);
    auto* mime = new QMimeData;
    mime->setUrls({QUrl::fromLocalFile(kModel)});
    // The sequence a file manager's drag produces: enter (accepted), then drop.
    QDragEnterEvent enter(QPoint(100, 100), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(100, 100), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &drop);
    QVERIFY(loaded.wait(kWaitMs));
    QCOMPARE(w.modelSource(), kModel);

    QTemporaryDir bad;
    QFile config(bad.filePath(QStringLiteral("config.json")));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("{ this is not json");
    config.close();
    QSignalSpy error(&w, &MainWindow::errorShown);
    w.openModel(bad.path());
    QVERIFY(error.wait(kWaitMs));
    QVERIFY2(error.first().first().toString().contains(QStringLiteral("config.json")), qPrintable(error.first().first().toString()));
    QCOMPARE(w.modelSource(), kModel);  // the previous model stays loaded
    QVERIFY(w.findChild<QMessageBox*>(QStringLiteral("errorBox")) != nullptr);
    delete mime;
  }

  void datasetImagesRunThroughTheModel() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    w.openModel(kModel);
    QVERIFY(w.imagesPanel()->showDataset(QStringLiteral("circle"), QStringLiteral("test")));
    w.imagesPanel()->selectItem(3);
    QVERIFY(waitReady(w));
    QCOMPARE(w.attentionView()->result().title.left(12), QStringLiteral("circle/test/"));
  }

  // A long job on the model thread (a sweep) lends the thread to interactive requests
  // between its batches: a new image is shown while the sweep is still running, and the
  // status bar names what runs and what waits.
  void anImageRunsWhileASweepHoldsTheModelThread() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    QSignalSpy loaded(w.controller(), &app::ExplorerController::modelLoaded);
    w.openModel(kModel);
    QVERIFY(loaded.wait(kWaitMs));
    std::atomic<bool> release{false}, running{false};
    std::atomic<int> batches{0};
    app::ModelJob<int> sweep;
    sweep.lane = app::JobLane::Background;
    sweep.what = QStringLiteral("test sweep");
    sweep.run = [&](app::ModelState&, app::JobContext<int>& ctx) {
      running = true;
      while (!release.load() && !ctx.checkpoint()) {  // one "batch" per millisecond
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++batches;
      }
      return batches.load();
    };
    bool sweepDone = false;
    sweep.done = [&](quint64, int) { sweepDone = true; };
    w.controller()->post(&w, sweep);
    QTRY_VERIFY_WITH_TIMEOUT(running.load(), kWaitMs);
    const auto* activity = w.findChild<QLabel*>(QStringLiteral("activityLabel"));
    QVERIFY(activity);
    QTRY_COMPARE(activity->text(), QStringLiteral("test sweep"));
    w.openImage(ImageRequest::file(kImage));
    QVERIFY(waitReady(w));  // before the sweep ends: it is still looping
    QVERIFY(!sweepDone);
    QVERIFY(w.controller()->busy());
    QCOMPARE(w.attentionView()->result().title, QStringLiteral("chelsea.png"));
    release = true;
    QTRY_VERIFY_WITH_TIMEOUT(sweepDone, kWaitMs);
    QTRY_VERIFY(!w.controller()->busy());
    QTRY_COMPARE(activity->text(), QString());
  }

  // The Models panel's checkbox loads models with processed weights (fold LayerNorm,
  // centre writing weights, fold value biases): the model computes the same function, so
  // the prediction stays; the details say so, and the choice outlives the window.
  void processWeightsCheckboxReloadsTheModelProcessed() {
    QSettings().clear();
    std::optional<double> top1;
    {
      MainWindow w({QStringLiteral("test"), 1});
      w.show();
      w.openModel(kModel);
      w.openImage(ImageRequest::file(kImage));
      QVERIFY(waitReady(w));
      top1 = w.predictionBars()->scores().first().probability;
      auto* box = w.findChild<QCheckBox*>(QStringLiteral("processWeightsBox"));
      QVERIFY(box);
      QVERIFY(!box->isChecked());
      QSignalSpy loaded(w.controller(), &app::ExplorerController::modelLoaded);
      box->click();  // reloads the open model
      QVERIFY(loaded.wait(kWaitMs));
      const auto summary = loaded.first().first().value<app::ModelSummary>();
      QVERIFY2(summary.notes.join('\n').contains(QStringLiteral("weights processed")), qPrintable(summary.notes.join('\n')));
      QVERIFY(waitReady(w));
      QVERIFY(std::abs(w.predictionBars()->scores().first().probability - *top1) < 1e-4);
      QVERIFY(w.findChild<QTextBrowser*>(QStringLiteral("details"))->toPlainText().contains(QStringLiteral("weights processed")));
    }
    MainWindow again({QStringLiteral("test"), 1});
    QVERIFY(again.findChild<QCheckBox*>(QStringLiteral("processWeightsBox"))->isChecked());
    // A model whose LayerNorm cannot be folded (an early ViT-Prisma mouse without any) loads as it is.
    QSignalSpy loaded(again.controller(), &app::ExplorerController::modelLoaded);
    QSignalSpy errors(&again, &MainWindow::errorShown);
    again.openModel(kFixtures + QStringLiteral("/legacy_mice/legacy_induction_1L_attn_only_noLN"));
    QVERIFY(loaded.wait(kWaitMs));
    const QString notes = loaded.first().first().value<app::ModelSummary>().notes.join('\n');
    QVERIFY2(notes.contains(QStringLiteral("weights not processed")), qPrintable(notes));
    QCOMPARE(errors.count(), 0);
    QSettings().clear();
  }

  void launchOptions_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<bool>("valid");
    QTest::newRow("screenshot") << QStringList{"--model", "m", "--image", "i.png", "--layer", "1", "--head", "2",
                                               "--query", "3,4", "--screenshot", "o.png"} << true;
    QTest::newRow("cls") << QStringList{"--query", "cls"} << true;
    QTest::newRow("bad query") << QStringList{"--query", "3"} << false;
    QTest::newRow("negative layer") << QStringList{"--layer", "-1"} << false;
    QTest::newRow("unknown view") << QStringList{"--view", "nope"} << false;
  }

  void launchOptions() {
    QFETCH(QStringList, args);
    QFETCH(bool, valid);
    QString error;
    const auto o = app::parseLaunchOptions(QStringList{"prisma-explorer"} + args, error);
    QCOMPARE(o.has_value(), valid);
    if (!valid) QVERIFY(!error.isEmpty());
    if (valid && args.contains("3,4")) {
      QCOMPARE(o->query, std::optional<QPoint>(QPoint(4, 3)));
      QCOMPARE(o->layer, 1);
    }
  }
};

QTEST_MAIN(TestExplorer)
#include "tst_explorer.moc"
