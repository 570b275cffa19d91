// The Training tab driven as a user would (offscreen): a tiny Induction run started from
// the form, paused and resumed, stopped, its last checkpoint opened in the explorer, then
// resumed again and stopped by closing the window. The curves must hold exactly the rows
// the trainer wrote to metrics.csv (one point per evaluation and column, same doubles),
// also across the resume; a run of another objective (a sparse autoencoder's MSE, L0,
// explained variance) gets plots of its own columns; the form must refuse what
// TrainConfig::validate refuses; smoothing must be TensorBoard's debiased EMA.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/io/ResourcePaths.h"
#include "model/train/Checkpoint.h"
#include "model/train/RunLog.h"

#include "app/explorer/ExplorerController.h"
#include "app/explorer/training/PresetForm.h"
#include "app/explorer/training/RunFolder.h"
#include "app/explorer/training/TrainingController.h"
#include "app/explorer/training/TrainingPlots.h"
#include "app/explorer/training/TrainingView.h"
#include "app/gui/MainWindow.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTextBlock>
#include <QSlider>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <memory>

using namespace prisma;
using prisma::app::MainWindow;
using prisma::app::TrainingOutcome;
using prisma::app::TrainingPlots;
using prisma::app::TrainingStatus;
using prisma::app::TrainingView;

namespace {
constexpr int kWaitMs = 60000;
constexpr int kPauseHoldMs = 600;     // no update may happen while paused
constexpr qint64 kSteps = 300;
constexpr qint64 kLogEvery = 20;
constexpr qint64 kPauseAfter = 20;   // steps before pausing
constexpr qint64 kStopAfter = 70;    // steps before stopping
constexpr qint64 kResumeFor = 30;    // steps after the resume before closing the window

// Every column of a classifier run's metrics.csv after the fixed ones.
const QStringList kClassifierColumns = {"lr", "grad_norm", "train_batch_loss", "train_loss", "train_acc",
                                        "train_top5", "test_loss", "test_acc", "test_top5"};

bool sameDouble(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }
}  // namespace

class TestTrainingView : public QObject {
  Q_OBJECT

private:
  QTemporaryDir runs_;
  std::unique_ptr<MainWindow> window_;
  TrainingView* view_ = nullptr;
  qint64 stoppedAt_ = 0;

  // Every curve of the current run equals metrics.csv, column for column, row for row, bit
  // for bit; and every column has its curve.
  void compareWithCsv() {
    const auto rows = train::readMetricsCsv(QDir(view_->runDir()).filePath(QStringLiteral("metrics.csv")).toStdString());
    QVERIFY(rows.size() >= 2);
    const int run = view_->currentRun();
    QCOMPARE(view_->plots()->plotNames(), (QStringList{"loss", "acc", "lr", "grad_norm"}));
    for (const QString& column : kClassifierColumns) {
      const QCPGraph* graph = view_->plots()->graph(run, column);
      QVERIFY2(graph, qPrintable(column));
      const auto data = graph->data();
      QCOMPARE(data->size(), static_cast<int>(rows.size()));
      for (int i = 0; i < data->size(); ++i) {
        QCOMPARE(data->at(i)->key, static_cast<double>(rows[i].step));
        const double csv = app::toTrainingMetrics(rows[i]).value(column);
        if (!sameDouble(data->at(i)->value, csv))
          QFAIL(qPrintable(QStringLiteral("column %1 row %2: plot %3, csv %4")
                               .arg(column).arg(i).arg(data->at(i)->value, 0, 'g', 17).arg(csv, 0, 'g', 17)));
      }
    }
    // One point per log step (0, 20, 40, ...) plus the steps a session ended at, in order.
    int64_t logSteps = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) QVERIFY(rows[i].step > rows[i - 1].step);
      if (rows[i].step % kLogEvery == 0) ++logSteps;
    }
    QCOMPARE(logSteps, rows.back().step / kLogEvery + 1);
  }

private slots:
  // The tab opens on the preset that learns within its own steps on a CPU, not on the first by
  // name (circle) nor on the 1-layer attention-only induction preset (test ~0.5).
  void opensOnTheInductionPreset() {
    TrainingView fresh;
    QCOMPARE(fresh.findChild<QComboBox*>(QStringLiteral("presetCombo"))->currentText(), QStringLiteral("induction-2L"));
    QCOMPARE(fresh.form()->presetName(), QStringLiteral("induction-2L"));
  }

  // A log line longer than the panel wraps: nothing is cut off behind a scroll bar.
  void logLinesWrap() {
    TrainingView fresh;
    fresh.resize(1000, 700);
    fresh.show();
    QVERIFY(QTest::qWaitForWindowExposed(&fresh));
    const QString line = QStringLiteral("step 20: train loss 1.3501 acc 0.3125 top5 1.0000 | test loss 1.2 acc 0.4 top5 1.0 ").repeated(4);
    fresh.logPanel()->appendPlainText(line);
    QTest::qWait(50);
    QCOMPARE(fresh.logPanel()->horizontalScrollBar()->maximum(), 0);
    const QTextBlock last = fresh.logPanel()->document()->lastBlock();
    QVERIFY(last.layout() && last.layout()->lineCount() > 1);
  }

  // Legends sit outside the plot area (they covered the curves), and a curve with no value
  // yet (a learning rate before the first update) has no empty legend entry.
  void legendsLeaveTheCurvesVisible() {
    TrainingPlots plots;
    QVector<app::TrainingMetrics> rows(5);
    for (int i = 0; i < rows.size(); ++i) {
      rows[i].step = 10 * i;
      rows[i].setValue(QStringLiteral("train_loss"), 2.0 - 0.3 * i);
      rows[i].setValue(QStringLiteral("test_loss"), 2.1 - 0.3 * i);
      rows[i].setValue(QStringLiteral("lr"), app::TrainingMetrics::kMissing);
    }
    plots.addRun(QStringLiteral("run"), rows);
    plots.resize(800, 600);
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.flush();
    QCustomPlot* loss = plots.plot(QStringLiteral("loss"));
    QVERIFY(loss->legend->visible());
    QCOMPARE(loss->legend->itemCount(), 2);
    QVERIFY2(!loss->legend->outerRect().intersects(loss->axisRect()->rect()),
             qPrintable(QStringLiteral("legend %1,%2 %3x%4").arg(loss->legend->outerRect().x()).arg(loss->legend->outerRect().y())
                            .arg(loss->legend->outerRect().width()).arg(loss->legend->outerRect().height())));
    QCustomPlot* lr = plots.plot(QStringLiteral("lr"));
    QVERIFY(lr);
    QVERIFY(lr->legend->itemCount() == 0 || !lr->legend->visible());
    // Entries fit the plot's width: one run's curves are named by their part alone, several
    // runs' by run and part.
    QCOMPARE(plots.graph(0, QStringLiteral("test_loss"))->name(), QStringLiteral("test loss"));
    QVERIFY2(loss->legend->outerRect().right() <= loss->width(), qPrintable(QString::number(loss->legend->outerRect().right())));
    plots.addRun(QStringLiteral("second"), rows);
    QCOMPARE(plots.graph(0, QStringLiteral("test_loss"))->name(), QStringLiteral("run: test loss"));
    QCOMPARE(plots.graph(1, QStringLiteral("test_loss"))->name(), QStringLiteral("second: test loss"));
  }

  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaTest"));
    QVERIFY(runs_.isValid());
    window_ = std::make_unique<MainWindow>(app::RuntimeSummary{});
    window_->show();
    window_->showTrainingView();
    view_ = window_->trainingView();
    QVERIFY(view_->selectPreset(QStringLiteral("induction")));
  }

  void formFlagsInvalidValues_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value");
    QTest::newRow("negative lr") << "optimization.lr" << "-0.001";
    QTest::newRow("patch not dividing image") << "model.patch_size" << "5";
    QTest::newRow("gamma above 1") << "optimization.schedule.gamma" << "1.5";
    QTest::newRow("not a number") << "optimization.batch_size" << "sixty-four";
  }
  void formFlagsInvalidValues() {
    QFETCH(QString, field);
    QFETCH(QString, value);
    app::PresetForm* form = view_->form();
    auto* start = view_->findChild<QPushButton*>(QStringLiteral("startButton"));
    QVERIFY(form->valid());
    QVERIFY(start->isEnabled());
    const QString before = qobject_cast<QLineEdit*>(form->editor(field))->text();
    QVERIFY(form->setField(field, value));
    QVERIFY(!form->valid());
    QCOMPARE(form->errorField(), field);
    QVERIFY(!form->editor(field)->styleSheet().isEmpty());
    QVERIFY(!start->isEnabled());
    // Next to Start, in words: which field (not its dotted path) and what is wrong.
    auto* problem = view_->findChild<QLabel*>(QStringLiteral("startProblem"));
    QVERIFY(problem);
    QVERIFY(problem->isVisible());
    const QString words = field.section('.', -1).replace('_', ' ');
    QVERIFY2(problem->text().contains(words, Qt::CaseInsensitive) && !problem->text().contains(field), qPrintable(problem->text()));
    const QPoint startAt = start->mapTo(view_, QPoint(0, 0)), problemAt = problem->mapTo(view_, QPoint(0, 0));
    QVERIFY2(std::abs(problemAt.y() - startAt.y()) < 3 * start->height(), qPrintable(QStringLiteral("%1 vs %2").arg(problemAt.y()).arg(startAt.y())));
    QVERIFY(!view_->start());
    QVERIFY(form->setField(field, before));
    QVERIFY(!problem->isVisible());
    QVERIFY(form->valid());
    QVERIFY(form->editor(field)->styleSheet().isEmpty());
  }

  void smoothingIsDebiasedEma() {
    TrainingPlots plots;
    QVector<app::TrainingMetrics> rows(3);
    for (int i = 0; i < 3; ++i) {
      rows[i].step = 10 * i;
      rows[i].setValue(QStringLiteral("train_loss"), i + 1);  // 1, 2, 3
    }
    const int run = plots.addRun(QStringLiteral("known"), rows);
    plots.setSmoothing(0.5);
    // w = 0.5: last = 0.5, 1.25, 2.125; debiased by 1 - 0.5^n = 0.5, 0.75, 0.875.
    const double expected[] = {1.0, 1.25 / 0.75, 2.125 / 0.875};
    const auto data = plots.graph(run, QStringLiteral("train_loss"))->data();
    QCOMPARE(data->size(), 3);
    for (int i = 0; i < 3; ++i) QVERIFY(std::abs(data->at(i)->value - expected[i]) < 1e-12);
    plots.setSmoothing(0.0);
    QCOMPARE(plots.graph(run, QStringLiteral("train_loss"))->data()->at(2)->value, 3.0);
    QVERIFY(plots.readoutAt(QStringLiteral("loss"), 12).startsWith(QStringLiteral("step 10")));
  }

  // A constant learning rate (1e-4 at every row) is drawn on an axis around that value, not
  // flattened onto 0 by QCustomPlot keeping its previous span.
  void constantSeriesGetsItsOwnRange() {
    constexpr double kLr = 1e-4;
    TrainingPlots plots;
    QVector<app::TrainingMetrics> rows(4);
    for (int i = 0; i < rows.size(); ++i) {
      rows[i].step = 10 * i;
      rows[i].setValue(QStringLiteral("lr"), kLr);
    }
    plots.addRun(QStringLiteral("constant"), rows);
    plots.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plots));
    plots.flush();
    const QCPRange y = plots.plot(QStringLiteral("lr"))->yAxis->range();
    QVERIFY2(y.lower < kLr && kLr < y.upper, qPrintable(QStringLiteral("%1..%2").arg(y.lower).arg(y.upper)));
    QVERIFY2(y.size() <= kLr, qPrintable(QStringLiteral("span %1").arg(y.size())));
  }

  // A run of another objective -- a sparse autoencoder logging MSE and L1 per part, L0 per
  // training batch, explained variance and the fraction of dead latents -- written by the
  // trainer's RunLog and read back as the dashboard reads a run folder: each quantity gets a
  // plot of its own holding the logged values, parts told apart by pen style, with no
  // classifier plot left over.
  void otherObjectivePlotsItsOwnScalars() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::vector<train::ScalarColumn> columns = {
        {"train_batch_l0", "train/batch_l0"}, {"train_mse", "train/mse"}, {"train_l1", "train/l1"},
        {"test_mse", "test/mse"},           {"test_l1", "test/l1"},     {"test_explained_variance", "test/explained_variance"},
        {"test_dead_fraction", "test/dead_fraction"}};
    constexpr int kRows = 4;
    {
      auto log = train::RunLog::create(dir.path().toStdString(), columns);
      for (int i = 0; i < kRows; ++i) {
        train::LogRow row;
        row.step = 10 * i;
        row.lr = 1e-3;
        if (i > 0) row.setScalar("train_batch_l0", 30.0 - i);
        for (size_t c = 1; c < columns.size(); ++c) row.setScalar(columns[c].column, 1.0 / (i + 1) + 0.01 * double(c));
        log->append(row);
      }
    }
    QString error;
    const app::RunFolder folder = app::RunFolder::read(dir.path(), error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    TrainingPlots plots;
    const int run = plots.addRun(folder.name, folder.metrics);
    // The loss first (every run logs its training-batch loss), the loop's plots last.
    QCOMPARE(plots.plotNames(), (QStringList{"loss", "l0", "mse", "l1", "explained_variance", "dead_fraction", "lr",
                                             "grad_norm"}));
    QVERIFY(!plots.plot(QStringLiteral("acc")));
    const auto rows = train::readMetricsCsv(QDir(dir.path()).filePath(QStringLiteral("metrics.csv")).toStdString());
    QCOMPARE(static_cast<int>(rows.size()), kRows);
    for (const auto& c : columns) {
      const QCPGraph* graph = plots.graph(run, QString::fromStdString(c.column));
      QVERIFY2(graph, c.column.c_str());
      QCOMPARE(graph->data()->size(), kRows);
      for (int i = 0; i < kRows; ++i)
        QVERIFY2(sameDouble(graph->data()->at(i)->value, rows[size_t(i)].scalar(c.column)), c.column.c_str());
    }
    QCOMPARE(plots.graph(run, QStringLiteral("train_mse"))->pen().style(), Qt::SolidLine);
    QCOMPARE(plots.graph(run, QStringLiteral("test_mse"))->pen().style(), Qt::DashLine);
    QCOMPARE(plots.graph(run, QStringLiteral("train_batch_l0"))->pen().style(), Qt::DotLine);
    const QString readout = plots.readoutAt(QStringLiteral("mse"), 21);
    QVERIFY2(readout.startsWith(QStringLiteral("step 20")) && readout.contains(QStringLiteral("test mse 0.3633")),
             qPrintable(readout));
  }

  void startPauseResume() {
    app::PresetForm* form = view_->form();
    QVERIFY(form->setField(QStringLiteral("optimization.max_steps"), QString::number(kSteps)));
    QVERIFY(form->setField(QStringLiteral("logging.log_every"), QString::number(kLogEvery)));
    QVERIFY(form->setField(QStringLiteral("logging.eval_batches"), QStringLiteral("2")));
    QVERIFY(form->setField(QStringLiteral("logging.checkpoint_every"), QStringLiteral("0")));
    QVERIFY(form->valid());
    view_->setOutputDir(runs_.filePath(QStringLiteral("induction-run")));
    // One LibTorch thread: no OpenMP workers spinning against the GUI thread on a busy machine.
    view_->setThreads(1);
    QVERIFY(view_->start());
    QVERIFY(view_->running());
    QTRY_VERIFY_WITH_TIMEOUT(view_->lastStatus().step >= kPauseAfter, kWaitMs);

    view_->pause();
    QTRY_VERIFY_WITH_TIMEOUT(view_->lastStatus().phase == TrainingStatus::Phase::Paused, kWaitMs);
    const qint64 held = view_->lastStatus().step;
    QSignalSpy updates(view_->controller(), &app::TrainingController::statusChanged);
    QTest::qWait(kPauseHoldMs);
    QCOMPARE(view_->lastStatus().step, held);
    QVERIFY(updates.count() > 0);  // the trainer keeps reporting while paused ...
    for (const auto& args : updates)  // ... and never an update
      QCOMPARE(args.at(0).value<TrainingStatus>().phase, TrainingStatus::Phase::Paused);

    QVERIFY(view_->resume());
    QTRY_VERIFY_WITH_TIMEOUT(view_->lastStatus().step > held, kWaitMs);
  }

  void stopWritesCheckpointThatOpens() {
    QTRY_VERIFY_WITH_TIMEOUT(view_->lastStatus().step >= kStopAfter, kWaitMs);
    QSignalSpy finished(view_, &TrainingView::runFinished);
    view_->stop();
    QVERIFY(finished.wait(kWaitMs));
    const auto outcome = finished.takeFirst().at(0).value<TrainingOutcome>();
    QCOMPARE(outcome.stopReason, QStringLiteral("stopped"));
    QVERIFY(outcome.steps >= kStopAfter && outcome.steps < kSteps);
    stoppedAt_ = outcome.steps;
    // A stopped run has no ETA, and says it was stopped in words.
    QVERIFY2(!view_->progressBar()->format().contains(QStringLiteral("ETA")), qPrintable(view_->progressBar()->format()));
    QVERIFY2(view_->progressBar()->format().contains(QStringLiteral("Stopped")), qPrintable(view_->progressBar()->format()));
    QVERIFY(!view_->logPanel()->toPlainText().contains(QStringLiteral("(stopped)")));

    // The final checkpoint is the list's last entry, at the stop step, on disk.
    QVERIFY(!view_->checkpoints().isEmpty());
    const auto last = view_->checkpoints().back();
    QCOMPARE(last.step, stoppedAt_);
    QVERIFY(QFileInfo::exists(QDir(last.path).filePath(QStringLiteral("model.safetensors"))));
    QCOMPARE(view_->checkpointList()->count(), view_->checkpoints().size());
    // Log-spaced ones came first: 1, 2, 4, ..., 64 before a stop at >= 70.
    QCOMPARE(view_->checkpoints().front().step, qint64(1));

    compareWithCsv();

    QSignalSpy loaded(window_->controller(), &app::ExplorerController::modelLoaded);
    QListWidget* list = view_->checkpointList();
    QListWidgetItem* item = list->item(list->count() - 1);
    emit list->itemDoubleClicked(item);
    QVERIFY(loaded.wait(kWaitMs));
    const auto summary = loaded.takeFirst().at(0).value<app::ModelSummary>();
    QCOMPARE(QDir::cleanPath(summary.source), QDir::cleanPath(last.path));
    QCOMPARE(summary.classes, 4);

    // The scrubber reloads the model at the checkpoint it is moved to: the step-1 one.
    QSlider* scrubber = view_->checkpointScrubber();
    QCOMPARE(scrubber->maximum(), static_cast<int>(view_->checkpoints().size()) - 1);
    scrubber->setValue(0);
    QVERIFY(loaded.wait(kWaitMs));
    QCOMPARE(QDir::cleanPath(loaded.takeFirst().at(0).value<app::ModelSummary>().source),
             QDir::cleanPath(view_->checkpoints().front().path));
  }

  void resumeContinuesCurvesAndCloseStops() {
    const int run = view_->currentRun();
    const int pointsBefore = view_->plots()->graph(run, QStringLiteral("test_loss"))->data()->size();
    // The folder field had been changed; while the run resumes it shows the run's folder.
    auto* output = view_->findChild<QLineEdit*>(QStringLiteral("outputDir"));
    output->selectAll();
    QTest::keyClicks(output, runs_.filePath(QStringLiteral("another")));
    QVERIFY(view_->resume());  // not paused, stopped: continues the run in its folder
    QVERIFY(view_->running());
    QCOMPARE(QDir::cleanPath(view_->outputDir()), QDir::cleanPath(view_->runDir()));
    QTRY_VERIFY_WITH_TIMEOUT(view_->lastStatus().step >= stoppedAt_ + kResumeFor, kWaitMs);
    QCOMPARE(view_->currentRun(), run);  // the same curves continue
    QVERIFY(view_->plots()->graph(run, QStringLiteral("test_loss"))->data()->size() > pointsBefore);

    // Closing asks; "no" keeps the run and the window.
    int asked = 0;
    view_->setCloseQuestion([&asked] { ++asked; return false; });
    QVERIFY(!window_->close());
    QCOMPARE(asked, 1);
    QVERIFY(view_->running());
    QVERIFY(window_->isVisible());

    // "Yes" stops the run; the window closes once its final checkpoint is written.
    view_->setCloseQuestion([&asked] { ++asked; return true; });
    QSignalSpy finished(view_, &TrainingView::runFinished);
    QVERIFY(!window_->close());
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(finished.takeFirst().at(0).value<TrainingOutcome>().stopReason, QStringLiteral("stopped"));
    QTRY_VERIFY_WITH_TIMEOUT(!window_->isVisible(), kWaitMs);
    QCOMPARE(asked, 2);
    QVERIFY(view_->checkpoints().back().step > stoppedAt_);
    compareWithCsv();
  }

  // A shipped mouse opens as a run: its curve and its weights-only checkpoint series, which
  // can be scrubbed but not resumed (resume would fail for want of optimizer state).
  void shippedMouseOpensAsARunThatCannotResume() {
    QTRY_VERIFY_WITH_TIMEOUT(!view_->running(), kWaitMs);
    const QString mouse = QString::fromStdString(prisma::io::mouseDirectory("mnist-1L-attn"));
    QString error;
    QVERIFY2(view_->openRun(mouse, error), qPrintable(error));
    QCOMPARE(size_t(view_->checkpoints().size()), prisma::train::listCheckpoints(mouse.toStdString()).size());
    QVERIFY(!view_->checkpoints().isEmpty());
    QVERIFY(!view_->resume());
    QVERIFY(!view_->running());
  }

  // An opened run: the Preset box matches the form (the run's own settings), and a Start that
  // fails changes nothing -- checkpoints, Resume and the plotted runs stay as they were.
  void openedRunKeepsItsStateWhenAStartFails() {
    const QString dir = runs_.filePath(QStringLiteral("induction-run"));
    auto* presets = view_->findChild<QComboBox*>(QStringLiteral("presetCombo"));
    QVERIFY(view_->selectPreset(QStringLiteral("circle")));
    QString error;
    QVERIFY2(view_->openRun(dir, error), qPrintable(error));
    QVERIFY2(presets->currentText().contains(QStringLiteral("from run")), qPrintable(presets->currentText()));
    QCOMPARE(view_->form()->presetName(), QStringLiteral("induction"));
    QCOMPARE(static_cast<qint64>(view_->form()->config()->optimization.max_steps), kSteps);
    auto* resume = view_->findChild<QPushButton*>(QStringLiteral("resumeButton"));
    QVERIFY(resume->isEnabled());
    const int checkpoints = view_->checkpointList()->count(), runs = view_->plots()->runCount();
    QVERIFY(checkpoints > 0);
    // A folder the trainer cannot create: the run fails at once.
    view_->setOutputDir(QStringLiteral("/proc/prisma-cannot-create/run"));
    QSignalSpy finished(view_, &TrainingView::runFinished);
    if (view_->start()) {
      QVERIFY(finished.wait(kWaitMs));
      QVERIFY(finished.takeFirst().at(0).value<TrainingOutcome>().failed());
    }
    QCOMPARE(view_->checkpointList()->count(), checkpoints);
    QVERIFY(resume->isEnabled());
    QCOMPARE(view_->plots()->runCount(), runs);
    QCOMPARE(QDir::cleanPath(view_->runDir()), QDir::cleanPath(dir));
  }

  // Start on a folder that holds a run asks instead of failing: Cancel changes nothing, "new
  // folder" trains beside it, "resume" continues that run.
  void startOnAFolderWithARunAsks() {
    const QString dir = QDir::cleanPath(runs_.filePath(QStringLiteral("induction-run")));
    QString error;
    QVERIFY2(view_->openRun(dir, error), qPrintable(error));
    const int checkpoints = view_->checkpointList()->count(), runs = view_->plots()->runCount();
    QStringList asked;
    auto answer = [&](TrainingView::StartChoice choice) {
      view_->setStartQuestion([&asked, choice](const QString& folder) {
        asked << folder;
        return choice;
      });
    };
    answer(TrainingView::StartChoice::Cancel);
    QVERIFY(!view_->start());
    QCOMPARE(asked, QStringList{dir});
    QCOMPARE(view_->checkpointList()->count(), checkpoints);
    QCOMPARE(view_->plots()->runCount(), runs);
    QVERIFY(!view_->running());

    QSignalSpy finished(view_, &TrainingView::runFinished);
    answer(TrainingView::StartChoice::NewFolder);
    QVERIFY(view_->start());
    QCOMPARE(view_->runDir(), dir + QStringLiteral("-2"));
    QCOMPARE(QDir::cleanPath(view_->outputDir()), view_->runDir());
    view_->stop();
    QVERIFY(finished.wait(kWaitMs));
    QVERIFY(!finished.takeFirst().at(0).value<TrainingOutcome>().failed());

    answer(TrainingView::StartChoice::Resume);
    view_->setOutputDir(dir);
    QVERIFY(view_->start());
    QCOMPARE(view_->runDir(), dir);
    QVERIFY(view_->running());
    view_->stop();
    QVERIFY(finished.wait(kWaitMs));
    const auto outcome = finished.takeFirst().at(0).value<TrainingOutcome>();
    QVERIFY2(!outcome.failed(), qPrintable(outcome.error));
    QCOMPARE(asked.size(), 3);
  }
};

QTEST_MAIN(TestTrainingView)
#include "tst_training_view.moc"
