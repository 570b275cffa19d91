// The Training tab's sparse autoencoder runs, driven through its widgets offscreen: the
// Features tab's hand-off (setUpSaeRun) fills the form from the model (its hook points,
// its dataset), a run of a few dozen steps on the bundled Induction mouse plots what the
// run folder's metrics.csv holds, bit for bit, and its summary shows the last evaluation's
// numbers; Stop leaves a run that resumes; the form is remembered. And the tab fits a
// 1024 x 700 window without a sideways scroll bar, for either kind of run.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/io/ResourcePaths.h"
#include "model/train/RunLog.h"

#include "app/explorer/features/FeaturesView.h"
#include "app/explorer/training/RunFolder.h"
#include "app/explorer/training/SaeRunForm.h"
#include "app/explorer/training/TrainingPlots.h"
#include "app/explorer/training/TrainingView.h"
#include "app/gui/MainWindow.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace prisma;
using prisma::app::MainWindow;
using prisma::app::TrainingOutcome;
using prisma::app::TrainingView;

namespace {
constexpr int kWaitMs = 60000;
constexpr int kSmallWidth = 1024, kSmallHeight = 700;
const QString kModel = QStringLiteral("mouse:induction-2L");
const QString kHook = QStringLiteral("blocks.1.hook_resid_pre");
constexpr int kSteps = 40;
constexpr int kLogEvery = 10;
constexpr int kStopAfter = 15;     // steps before Stop in the long run
constexpr int kLongSteps = 100000;  // a run that only ends by Stop
constexpr int kSummaryDigits = 4;  // as TrainingView's summary prints them
// What the SAE objective logs (SaeObjective::evaluationScalarNames, per part) and the plots
// the issue asks for.
const QStringList kSaeColumns = {"train_batch_mse", "train_batch_l1", "train_batch_l0", "train_batch_dead_fraction",
                                 "test_mse", "test_l1", "test_l0", "test_explained_variance", "test_dead_fraction", "lr"};
const QStringList kSaePlots = {"mse", "l1", "l0", "explained_variance", "dead_fraction", "lr"};

bool sameDouble(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

template <typename W>
W* child(const QWidget& parent, const char* name) {
  W* w = parent.findChild<W*>(QString::fromLatin1(name));
  if (!w) qFatal("no child %s", name);
  return w;
}

// The form as a user would fill it for a short run.
void fillShortRun(TrainingView& view, int steps) {
  child<QSpinBox>(view, "saeSteps")->setValue(steps);
  child<QSpinBox>(view, "saeLogEvery")->setValue(kLogEvery);
  child<QSpinBox>(view, "saeEvalBatches")->setValue(2);
  child<QSpinBox>(view, "saeBatch")->setValue(16);
  child<QSpinBox>(view, "saeWarmup")->setValue(5);
  child<QSpinBox>(view, "saeExpansion")->setValue(2);
  view.setThreads(1);  // no OpenMP workers spinning against the GUI thread
}
}  // namespace

class TestSaeTrainingView : public QObject {
  Q_OBJECT

private:
  QTemporaryDir runs_;

private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaTest"));
    QVERIFY(runs_.isValid());
  }
  // Each test starts from the form's defaults, not from what the one before remembered.
  void init() { QSettings().remove(QStringLiteral("training/sae")); }

  // The Features tab's "Train one..." lands here: SAE mode, the model's hook points (no
  // attention maps), the hook asked for, the model's own dataset; no hook asked for
  // proposes the last block's residual stream.
  void setUpSaeRunSetsTheForm() {
    TrainingView view;
    QCOMPARE(view.runKind(), TrainingView::RunKind::Vit);
    // No model is loaded for the SAE form until it is used: one probe, of the model asked for.
    QSignalSpy probes(view.saeForm(), &app::SaeRunForm::probeRequested);
    QVERIFY(!view.saeForm()->probing());
    view.setUpSaeRun(kModel, QStringLiteral("blocks.0.hook_resid_post"));
    QCOMPARE(view.runKind(), TrainingView::RunKind::Sae);
    QCOMPARE(probes.count(), 1);
    QCOMPARE(probes.at(0).at(0).toString(), kModel);
    QCOMPARE(child<QComboBox>(view, "trainKind")->currentIndex(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(!view.saeForm()->probing(), kWaitMs);
    auto* hook = child<QComboBox>(view, "saeHook");
    QCOMPARE(hook->currentText(), QStringLiteral("blocks.0.hook_resid_post"));
    QVERIFY(hook->findText(kHook) >= 0);
    QVERIFY(hook->findText(QStringLiteral("blocks.1.attn.hook_z")) >= 0);
    QCOMPARE(hook->findText(QStringLiteral("blocks.0.attn.hook_pattern")), -1);
    QCOMPARE(child<QLineEdit>(view, "saeModel")->text(), kModel);
    QCOMPARE(child<QComboBox>(view, "saeDataset")->currentText(), QStringLiteral("induction"));
    QVERIFY2(view.saeForm()->valid(), qPrintable(view.saeForm()->problem()));
    QVERIFY(child<QPushButton>(view, "startButton")->isEnabled());
    QVERIFY2(view.outputDir().contains(QStringLiteral("sae-induction-2L-blocks.0.hook_resid_post")), qPrintable(view.outputDir()));

    view.setUpSaeRun(kModel, QString());
    QTRY_VERIFY_WITH_TIMEOUT(!view.saeForm()->probing(), kWaitMs);
    QCOMPARE(hook->currentText(), kHook);

    // A hook the model lacks stops Start, and says why.
    hook->setCurrentText(QStringLiteral("blocks.7.hook_resid_pre"));
    QVERIFY(!view.saeForm()->valid());
    QVERIFY(!child<QPushButton>(view, "startButton")->isEnabled());
    QVERIFY2(child<QLabel>(view, "startProblem")->text().contains(QStringLiteral("blocks.7.hook_resid_pre")),
             qPrintable(child<QLabel>(view, "startProblem")->text()));
  }

  // What the CLI refuses, the tab refuses with the field named: a model that does not
  // load stops Start before anything runs; a TopK k above d_sae fails the run with "k".
  void badSettingsAreNamed() {
    TrainingView view;
    view.setUpSaeRun(QStringLiteral("/nonexistent/model-folder"), QString());
    QTRY_VERIFY_WITH_TIMEOUT(!view.saeForm()->probing(), kWaitMs);
    QVERIFY(!view.saeForm()->valid());
    QVERIFY2(view.saeForm()->problem().startsWith(QStringLiteral("Model: ")), qPrintable(view.saeForm()->problem()));
    QVERIFY(!view.start());

    view.setUpSaeRun(kModel, kHook);
    QTRY_VERIFY_WITH_TIMEOUT(!view.saeForm()->probing(), kWaitMs);
    QVERIFY2(view.saeForm()->valid(), qPrintable(view.saeForm()->problem()));
    fillShortRun(view, kSteps);
    child<QComboBox>(view, "saeActivation")->setCurrentText(QStringLiteral("topk"));
    child<QSpinBox>(view, "saeExpansion")->setValue(1);
    child<QSpinBox>(view, "saeK")->setValue(129);  // d_sae = 1 x d_model 128
    view.setOutputDir(runs_.filePath(QStringLiteral("sae-bad-k")));
    QSignalSpy finished(&view, &TrainingView::runFinished);
    QVERIFY(view.start());
    QVERIFY(finished.wait(kWaitMs));
    const auto outcome = finished.takeFirst().at(0).value<TrainingOutcome>();
    QVERIFY(outcome.failed());
    QVERIFY2(outcome.error.contains(QStringLiteral("k")) && outcome.error.contains(QStringLiteral("d_sae")),
             qPrintable(outcome.error));
    QVERIFY(!app::RunFolder::isRun(runs_.filePath(QStringLiteral("sae-bad-k"))));
  }

  // The form's fields as they were left come back in the next session, even without a run.
  void formIsRememberedWithoutARun() {
    {
      TrainingView view;
      view.setUpSaeRun(kModel, QStringLiteral("blocks.0.hook_mlp_out"));
      child<QComboBox>(view, "saeTokens")->setCurrentText(QStringLiteral("patches"));
      child<QLineEdit>(view, "saeL1")->setText(QStringLiteral("3e-4"));
      QTRY_VERIFY_WITH_TIMEOUT(!view.saeForm()->probing(), kWaitMs);
    }
    TrainingView next;
    const app::SaeRunSettings s = next.saeForm()->settings();
    QCOMPARE(s.hook, QStringLiteral("blocks.0.hook_mlp_out"));
    QCOMPARE(s.tokens, QStringLiteral("patches"));
    QCOMPARE(s.l1, 3e-4);
    QCOMPARE(next.runKind(), TrainingView::RunKind::Vit);  // the tab still opens on ViT training
  }

  // A short run: every SAE curve equals metrics.csv, the summary shows its last row, the
  // folder holds the SAE, and "Open in Features" hands that folder on.
  void saeRunPlotsWhatItWrites() {
    TrainingView view;
    view.resize(kSmallWidth, kSmallHeight);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setUpSaeRun(kModel, kHook);
    QTRY_VERIFY_WITH_TIMEOUT(!view.saeForm()->probing(), kWaitMs);
    fillShortRun(view, kSteps);
    const QString dir = runs_.filePath(QStringLiteral("sae-short"));
    view.setOutputDir(dir);
    QSignalSpy finished(&view, &TrainingView::runFinished);
    QVERIFY(view.start());
    QVERIFY(view.running());
    QVERIFY(!child<QComboBox>(view, "trainKind")->isEnabled());
    QVERIFY(finished.wait(kWaitMs));
    const auto outcome = finished.takeFirst().at(0).value<TrainingOutcome>();
    QVERIFY2(!outcome.failed(), qPrintable(outcome.error));
    QCOMPARE(outcome.stopReason, QStringLiteral("max_steps"));
    QCOMPARE(outcome.steps, qint64(kSteps));
    QVERIFY(view.currentRunIsSae());
    QVERIFY(app::RunFolder::isSaeRun(dir));
    QVERIFY(app::RunFolder::hasSae(dir));
    QVERIFY(QFileInfo::exists(QDir(dir).filePath(QStringLiteral("sae.safetensors"))));

    const auto rows = train::readMetricsCsv(QDir(dir).filePath(QStringLiteral("metrics.csv")).toStdString());
    QCOMPARE(int(rows.size()), kSteps / kLogEvery + 1);
    const int run = view.currentRun();
    const QStringList plots = view.plots()->plotNames();
    for (const QString& p : kSaePlots) QVERIFY2(plots.contains(p), qPrintable(p + " in " + plots.join(", ")));
    for (const QString& column : kSaeColumns) {
      const QCPGraph* graph = view.plots()->graph(run, column);
      QVERIFY2(graph, qPrintable(column));
      QCOMPARE(graph->data()->size(), int(rows.size()));
      for (int i = 0; i < graph->data()->size(); ++i) {
        QCOMPARE(graph->data()->at(i)->key, double(rows[size_t(i)].step));
        const double csv = app::toTrainingMetrics(rows[size_t(i)]).value(column);
        QVERIFY2(sameDouble(graph->data()->at(i)->value, csv), qPrintable(QStringLiteral("%1 row %2").arg(column).arg(i)));
      }
    }
    // The summary: the last evaluation's numbers, as the run folder holds them.
    const app::TrainingMetrics last = app::toTrainingMetrics(rows.back());
    QLabel* summary = view.saeSummary();
    QVERIFY(summary->isVisible());
    for (const auto& [label, column] : {std::pair{"L0", "test_l0"}, std::pair{"explained variance", "test_explained_variance"},
                                        std::pair{"MSE", "test_mse"}, std::pair{"dead fraction", "test_dead_fraction"}}) {
      const QString shown = QStringLiteral("%1 %2").arg(QLatin1String(label)).arg(last.value(QLatin1String(column)), 0, 'g', kSummaryDigits);
      QVERIFY2(summary->text().contains(shown), qPrintable(summary->text() + " lacks " + shown));
    }
    QVERIFY(summary->text().startsWith(QStringLiteral("Step %1").arg(kSteps)));
    QVERIFY2(view.progressBar()->format().contains(QStringLiteral("Finished at step %1").arg(kSteps)),
             qPrintable(view.progressBar()->format()));

    QPushButton* open = view.openInFeaturesButton();
    QVERIFY(open->isVisible() && open->isEnabled());
    QSignalSpy opened(&view, &TrainingView::openSaeRequested);
    QTest::mouseClick(open, Qt::LeftButton);
    QCOMPARE(opened.count(), 1);
    QCOMPARE(QDir::cleanPath(opened.at(0).at(0).toString()), QDir::cleanPath(dir));
    QCOMPARE(opened.at(0).at(1).toString(), kModel);

    // The form is remembered: a new tab starts from these values.
    {
      TrainingView again;
      const app::SaeRunSettings s = again.saeForm()->settings();
      QCOMPARE(s.model, kModel);
      QCOMPARE(s.hook, kHook);
      QCOMPARE(s.dataset, QStringLiteral("induction"));
      QCOMPARE(s.maxSteps, kSteps);
      QCOMPARE(s.logEvery, kLogEvery);
      QCOMPARE(s.batch, 16);
      QCOMPARE(s.expansion, 2);
    }

    // The run folder opens again as an SAE run: its settings in the form, its summary, the
    // Features hand-off.
    {
      TrainingView other;
      QString error;
      QVERIFY2(other.openRun(dir, error), qPrintable(error));
      QCOMPARE(other.runKind(), TrainingView::RunKind::Sae);
      QVERIFY(other.currentRunIsSae());
      const app::SaeRunSettings opened = other.saeForm()->settings();
      QCOMPARE(opened.model, kModel);
      QCOMPARE(opened.hook, kHook);
      QCOMPARE(opened.maxSteps, kSteps);
      QCOMPARE(opened.dSae, 2 * 128);  // expansion 2 of the mouse's d_model
      QCOMPARE(other.saeSummary()->text(), summary->text());
      QVERIFY(!other.openInFeaturesButton()->isHidden());
      // A ViT run opened after it brings the ViT form back.
      const QString mouse = QString::fromStdString(io::mouseDirectory("induction-1L"));
      QVERIFY2(other.openRun(mouse, error), qPrintable(error));
      QCOMPARE(other.runKind(), TrainingView::RunKind::Vit);
      QVERIFY(!other.currentRunIsSae());
      QVERIFY(other.openInFeaturesButton()->isHidden());
      QVERIFY(other.saeSummary()->isHidden());
    }
  }

  // The window's hand-offs: the Features tab's "Train one..." opens the Training tab set
  // up for that model and hook; "Open in Features" loads the SAE's model (none is loaded
  // here) and opens the trained SAE in the Features tab.
  void handOffBetweenFeaturesAndTraining() {
    MainWindow w({QStringLiteral("test"), 1});
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("centralTabs"));
    QVERIFY(tabs);
    emit w.featuresView()->trainSaeRequested(kModel, QStringLiteral("blocks.0.hook_resid_post"));
    QCOMPARE(tabs->currentWidget()->objectName(), QStringLiteral("trainingViewScroll"));
    TrainingView* view = w.trainingView();
    QCOMPARE(view->runKind(), TrainingView::RunKind::Sae);
    QTRY_VERIFY_WITH_TIMEOUT(!view->saeForm()->probing(), kWaitMs);
    QCOMPARE(view->saeForm()->settings().hook, QStringLiteral("blocks.0.hook_resid_post"));
    QCOMPARE(view->saeForm()->settings().model, kModel);

    const QString dir = runs_.filePath(QStringLiteral("sae-short"));  // saeRunPlotsWhatItWrites's run
    QVERIFY(app::RunFolder::hasSae(dir));
    emit view->openSaeRequested(dir, kModel);
    auto* page = qobject_cast<QScrollArea*>(tabs->currentWidget());
    QVERIFY(page);
    QCOMPARE(page->widget(), static_cast<QWidget*>(w.featuresView()));
    QTRY_VERIFY_WITH_TIMEOUT(w.featuresView()->hasSae() && QDir::cleanPath(w.featuresView()->sae().source) == QDir::cleanPath(dir),
                             kWaitMs);
    QCOMPARE(w.featuresView()->sae().hook, kHook);
    QCOMPARE(w.featuresView()->sae().dSae, 2 * 128);
  }

  // Stop mid-run writes a checkpoint with the optimizer state; Resume continues the run in
  // its folder (the SAE's own config, read back from preset.json) and its curves.
  void stopLeavesAResumableRun() {
    TrainingView view;
    view.setUpSaeRun(kModel, kHook);
    QTRY_VERIFY_WITH_TIMEOUT(!view.saeForm()->probing(), kWaitMs);
    fillShortRun(view, kLongSteps);
    child<QComboBox>(view, "saeActivation")->setCurrentText(QStringLiteral("topk"));
    child<QSpinBox>(view, "saeK")->setValue(8);
    const QString dir = runs_.filePath(QStringLiteral("sae-stopped"));
    view.setOutputDir(dir);
    QVERIFY(view.start());
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStatus().step >= kStopAfter, kWaitMs);
    QVERIFY2(view.progressBar()->format().contains(QStringLiteral("ETA")), qPrintable(view.progressBar()->format()));
    QSignalSpy finished(&view, &TrainingView::runFinished);
    view.stop();
    QVERIFY(finished.wait(kWaitMs));
    const auto outcome = finished.takeFirst().at(0).value<TrainingOutcome>();
    QCOMPARE(outcome.stopReason, QStringLiteral("stopped"));
    const qint64 stoppedAt = outcome.steps;
    QVERIFY(stoppedAt >= kStopAfter && stoppedAt < kLongSteps);
    QString error;
    const app::RunFolder folder = app::RunFolder::read(dir, error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(folder.resumable);
    QCOMPARE(folder.checkpoints.back().step, stoppedAt);
    QVERIFY(child<QPushButton>(view, "resumeButton")->isEnabled());
    // TopK has no L1 term: its L1 curve is zero throughout.
    const QCPGraph* l1 = view.plots()->graph(view.currentRun(), QStringLiteral("train_batch_l1"));
    QVERIFY(l1 && l1->data()->size() > 1);
    int logged = 0;
    for (int i = 0; i < l1->data()->size(); ++i) {
      const double v = l1->data()->at(i)->value;
      if (std::isnan(v)) continue;  // the step-0 evaluation precedes any batch
      QCOMPARE(v, 0.0);
      ++logged;
    }
    QVERIFY(logged > 0);

    const int run = view.currentRun();
    QVERIFY(view.resume());
    QVERIFY(view.running());
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStatus().step > stoppedAt + 2, kWaitMs);
    QCOMPARE(view.currentRun(), run);
    view.stop();
    QVERIFY(finished.wait(kWaitMs));
    const auto second = finished.takeFirst().at(0).value<TrainingOutcome>();
    QVERIFY2(!second.failed(), qPrintable(second.error));
    QVERIFY(second.steps > stoppedAt);
    // TopK: the SAE's config says so after the resume too.
    QFile sae(QDir(dir).filePath(QStringLiteral("sae.json")));
    QVERIFY(sae.open(QIODevice::ReadOnly));
    QVERIFY(sae.readAll().contains("topk"));
  }

  // At 1024 x 700 (the narrow first start: docks in the left column) the Training tab
  // shrinks to its page: no sideways scroll bar, for a ViT run's form and plots, and for an
  // SAE's form with its nine plots.
  void fitsAt1024x700_data() {
    QTest::addColumn<bool>("sae");
    QTest::newRow("vit") << false;
    QTest::newRow("sae") << true;
  }
  void fitsAt1024x700() {
    QFETCH(bool, sae);
    MainWindow w({QStringLiteral("test"), 1});
    w.resize(kSmallWidth, kSmallHeight);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.showTrainingView();
    TrainingView* view = w.trainingView();
    QVector<app::TrainingMetrics> rows(3);
    for (int i = 0; i < rows.size(); ++i) {
      rows[i].step = i * kLogEvery;
      const QStringList columns = sae ? kSaeColumns + QStringList{"grad_norm", "train_batch_loss", "test_dense_fraction"}
                                      : QStringList{"lr", "grad_norm", "train_batch_loss", "train_loss", "test_loss",
                                                    "train_acc", "test_acc"};
      for (const QString& c : columns) rows[i].setValue(c, 1.0 / (i + 1));
    }
    if (sae) view->setUpSaeRun(kModel, kHook);
    view->plots()->addRun(QStringLiteral("a run with a long name to show in the legend"), rows);
    view->plots()->flush();
    QTest::qWait(50);
    auto* area = w.findChild<QScrollArea*>(QStringLiteral("trainingViewScroll"));
    QVERIFY(area);
    QCOMPARE(area->widget(), static_cast<QWidget*>(view));
    QCOMPARE(w.width(), kSmallWidth);
    QVERIFY2(area->horizontalScrollBar()->maximum() == 0,
             qPrintable(QStringLiteral("viewport %1 px, page needs %2 px")
                            .arg(area->viewport()->width())
                            .arg(view->minimumSizeHint().width())));
    if (sae) QTRY_VERIFY_WITH_TIMEOUT(!view->saeForm()->probing(), kWaitMs);
  }
};

QTEST_MAIN(TestSaeTrainingView)
#include "tst_sae_training_view.moc"
