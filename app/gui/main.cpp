// `prisma-explorer`: the desktop application, plus its screenshot mode and hover benchmark.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/runtime/Runtime.h"

#include "app/explorer/AttentionView.h"
#include "app/explorer/ImagesPanel.h"
#include "app/explorer/ZeroShotPanel.h"
#include "app/explorer/features/FeaturesView.h"
#include "app/explorer/patching/PatchGridPlot.h"
#include "app/explorer/patching/PatchingBoard.h"
#include "app/explorer/training/PresetForm.h"
#include "app/explorer/training/SaeRunForm.h"
#include "app/explorer/training/TrainingBench.h"
#include "app/explorer/training/TrainingPlots.h"
#include "app/explorer/training/TrainingView.h"
#include "app/gui/HoverBench.h"
#include "app/gui/LaunchOptions.h"
#include "app/gui/MainWindow.h"

#include "widgets/AtomicSave.h"

#include <QApplication>
#include <QImage>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>
#include <memory>

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kScreenshotTimeoutMs = 10 * 60 * 1000;  // a cold ViT-B load on two slow cores

using prisma::app::LaunchOptions;
using prisma::app::MainWindow;

void fail(const QString& message, int code) {
  std::fprintf(stderr, "prisma-explorer: %s\n", qPrintable(message));
  QCoreApplication::exit(code);
}

// Opens what the options name; false when they name nothing (an interactive start).
bool openFromOptions(MainWindow& window, const LaunchOptions& o) {
  bool any = false;
  if (!o.randomModel.isEmpty()) window.openRandomModel(o.randomModel), any = true;
  else if (!o.model.isEmpty()) window.openModel(o.model), any = true;
  if (!o.image.isEmpty()) {
    window.openImage(prisma::app::ImageRequest::file(o.image));
    any = true;
  } else if (!o.dataset.isEmpty()) {
    const QStringList parts = o.dataset.split('/');
    if (window.imagesPanel()->showDataset(parts.value(0), parts.value(1, QStringLiteral("test"))))
      window.imagesPanel()->selectItem(parts.value(2, QStringLiteral("0")).toInt());
    any = true;
  }
  return any;
}

void applyViewOptions(MainWindow& window, const LaunchOptions& o) {
  auto* view = window.attentionView();
  if (o.queryCls) view->setClsPinned(true);
  else {
    view->setClsPinned(false);
    view->setQuery(o.query);
  }
  if (o.layer >= 0 || o.head >= 0) view->selectHead(std::max(0, o.layer), std::max(0, o.head));
}

// --view patching: the model, both sources and the component on the Patching tab; with
// --screenshot, the exact sweep runs and the window is saved once it has finished.
int runPatchingView(QApplication& app, MainWindow& window, const LaunchOptions& o) {
  if (o.model.isEmpty() && o.randomModel.isEmpty()) {
    std::fprintf(stderr, "prisma-explorer: --view patching needs --model\n");
    return kExitUsage;
  }
  auto* board = window.patchingBoard();
  try {
    board->setSource(prisma::app::PatchingBoard::Source::Clean, prisma::app::requestFromSpec(o.clean));
    board->setSource(prisma::app::PatchingBoard::Source::Corrupt, prisma::app::requestFromSpec(o.corrupt));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prisma-explorer: %s\n", e.what());
    return kExitUsage;
  }
  board->setComponent(o.component);
  window.showPatchingBoard();
  if (!o.screenshot.isEmpty()) {
    board->setRunExactWhenReady(true);
    QObject::connect(board, &prisma::app::PatchingBoard::exactFinished, &app, [&window, board, o] {
      QTimer::singleShot(0, &window, [&window, board, o] {
        board->mainPlot()->replot();  // the map's last batch may still be a queued replot
        if (!prisma::widgets::saveImageAtomically(window.grab().toImage(), o.screenshot)) fail(QStringLiteral("%1: cannot write the screenshot").arg(o.screenshot), kExitError);
        else QCoreApplication::exit(0);
      });
    });
  }
  if (!o.randomModel.isEmpty()) window.openRandomModel(o.randomModel);
  else window.openModel(o.model);
  return app.exec();
}

// --view features: the model and image on the Features tab, with --sae (default: the SAE
// bundled with the mouse), --feature and --query ROW,COL (the pinned patch); with
// --screenshot the window is saved once the tab has shown the feature, its top images and
// its ablation.
int runFeaturesView(QApplication& app, MainWindow& window, const LaunchOptions& o) {
  auto* view = window.featuresView();
  if (!o.sae.isEmpty()) view->setSaeOverride(o.sae);
  if (o.feature >= 0) view->setInitialFeature(o.feature);
  window.showFeaturesView();
  if (o.query)
    QObject::connect(view, &prisma::app::FeaturesView::imageEncoded, view, [view, o] { view->pinPatch(o.query); });
  if (!o.screenshot.isEmpty()) {
    QObject::connect(view, &prisma::app::FeaturesView::failed, &app, [](const QString& m) { fail(m, kExitError); });
    QObject::connect(view, &prisma::app::FeaturesView::settled, &app, [&window, o] {
      QTimer::singleShot(0, &window, [&window, o] {
        if (!prisma::widgets::saveImageAtomically(window.grab().toImage(), o.screenshot)) fail(QStringLiteral("%1: cannot write the screenshot").arg(o.screenshot), kExitError);
        else QCoreApplication::exit(0);
      });
    });
  }
  if (!openFromOptions(window, o) || (o.model.isEmpty() && o.randomModel.isEmpty())) {
    std::fprintf(stderr, "prisma-explorer: --view features needs --model and --image or --dataset\n");
    return kExitUsage;
  }
  return app.exec();
}

// --view training and --bench-training: the Training tab with --train-preset and its
// overrides; with --screenshot the run trains into a temporary folder and the window is
// saved at its end, with --bench-training the GUI thread's stalls are printed instead.
int runTrainingView(QApplication& app, MainWindow& window, const LaunchOptions& o) {
  using prisma::app::TrainingOutcome;
  auto* view = window.trainingView();
  window.showTrainingView();
  // --train-sae HOOK: the SAE form on --model (default: the form's) instead of a preset.
  const bool sae = !o.trainSae.isEmpty();
  if (sae) {
    view->setUpSaeRun(o.model, o.trainSae);
    prisma::app::SaeRunSettings s = view->saeForm()->settings();
    if (o.trainSteps > 0) s.maxSteps = int(o.trainSteps);
    if (o.trainLogEvery > 0) s.logEvery = int(o.trainLogEvery);
    view->saeForm()->setSettings(s);
  } else if (!o.trainPreset.isEmpty() && !view->selectPreset(o.trainPreset)) {
    std::fprintf(stderr, "prisma-explorer: --train-preset: unknown preset '%s'\n", qPrintable(o.trainPreset));
    return kExitUsage;
  }
  if (!sae && o.trainSteps > 0) view->form()->setField(QStringLiteral("optimization.max_steps"), QString::number(o.trainSteps));
  if (!sae && o.trainLogEvery > 0) view->form()->setField(QStringLiteral("logging.log_every"), QString::number(o.trainLogEvery));
  if (o.screenshot.isEmpty() && !o.benchTraining) return app.exec();

  QTemporaryDir runs;
  const QString runDir = runs.filePath(sae ? QStringLiteral("sae") : o.trainPreset);
  if (o.benchTraining) {
    auto* bench = new prisma::app::TrainingBench(*view, &app);
    QObject::connect(bench, &prisma::app::TrainingBench::finished, &app, [](const prisma::app::TrainingBenchResult& r) {
      std::printf("%s\n", qPrintable(r.describe()));
      QCoreApplication::exit(r.error.isEmpty() ? 0 : kExitError);
    });
    bench->start(runDir);
    return app.exec();
  }
  QObject::connect(view, &prisma::app::TrainingView::runFinished, &app, [&window, view, o](const TrainingOutcome& r) {
    if (r.failed()) return fail(r.error, kExitError);
    QTimer::singleShot(0, &window, [&window, view, o] {
      view->plots()->flush();
      if (!prisma::widgets::saveImageAtomically(window.grab().toImage(), o.screenshot)) fail(QStringLiteral("%1: cannot write the screenshot").arg(o.screenshot), kExitError);
      else QCoreApplication::exit(0);
    });
  });
  view->setOutputDir(runDir);
  if (sae) {
    // The form knows the model's hooks once its probe answers: start then.
    auto started = std::make_shared<bool>(false);
    const auto startWhenReady = [view, started] {
      if (*started || view->saeForm()->probing()) return;
      *started = true;
      if (!view->start()) fail(view->saeForm()->problem(), kExitError);
    };
    QObject::connect(view->saeForm(), &prisma::app::SaeRunForm::validityChanged, view, startWhenReady);
    startWhenReady();
    return app.exec();
  }
  if (!view->start()) {
    std::fprintf(stderr, "prisma-explorer: %s\n", qPrintable(view->form()->error()));
    return kExitError;
  }
  return app.exec();
}

}  // namespace

int main(int argc, char** argv) {
  prisma::runtime::reexecWithTunedBlasIfNeeded(argv);
  const int threads = prisma::runtime::configureThreads();
  prisma::runtime::configureAllocator();

  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("Prisma"));
  QApplication::setApplicationName(QStringLiteral("Prisma Explorer"));
  QApplication::setApplicationVersion(QStringLiteral(PRISMA_VERSION));

  QString error;
  const auto options = prisma::app::parseLaunchOptions(QApplication::arguments(), error);
  if (!options) {
    std::fprintf(stderr, "prisma-explorer: %s\n", qPrintable(error));
    return kExitUsage;
  }
  LaunchOptions o = *options;
  if (o.benchHover && o.randomModel.isEmpty() && o.model.isEmpty()) o.randomModel = QStringLiteral("vit-b16");
  if (o.benchHover && o.image.isEmpty() && o.dataset.isEmpty()) o.dataset = QStringLiteral("induction/test/0");

  const auto blas = prisma::runtime::blasInfo();
  prisma::app::RuntimeSummary summary;
  summary.blas = QString::fromStdString(blas.vendor + (blas.core.empty() ? "" : " " + blas.core));
  summary.threads = threads;

  MainWindow window(summary);
  if (!o.classes.isEmpty()) window.zeroShotPanel()->setClassFile(o.classes, o.classTemplate);
  if (o.size.isValid()) window.resize(o.size);  // after the remembered geometry
  window.show();
  if (o.view == QLatin1String("lens")) window.showLogitLensView();
  const bool batch = !o.screenshot.isEmpty() || o.benchHover;
  if (batch) {
    QObject::connect(&window, &MainWindow::errorShown, &app, [](const QString& m) { fail(m, kExitError); });
    QTimer::singleShot(kScreenshotTimeoutMs, &app, [] { fail(QStringLiteral("timed out waiting for the views"), kExitError); });
    QObject::connect(&window, &MainWindow::viewsReady, &app, [&window, o] {
      if (o.view == QLatin1String("features")) return;  // saved once the Features tab has settled
      applyViewOptions(window, o);
      if (o.benchHover) {
        const auto r = prisma::app::runHoverBench(window, o.hovers);
        std::printf("%s\n", qPrintable(r.describe()));
        QCoreApplication::exit(0);
        return;
      }
      // Let the layout settle and paint once before grabbing.
      QTimer::singleShot(0, &window, [&window, o] {
        if (!prisma::widgets::saveImageAtomically(window.grab().toImage(), o.screenshot)) fail(QStringLiteral("%1: cannot write the screenshot").arg(o.screenshot), kExitError);
        else QCoreApplication::exit(0);
      });
    });
  }
  if (o.view == QLatin1String("patching")) return runPatchingView(app, window, o);
  if (o.view == QLatin1String("training") || o.benchTraining) return runTrainingView(app, window, o);
  if (o.view == QLatin1String("features")) return runFeaturesView(app, window, o);
  if (!openFromOptions(window, o)) {
    if (batch) {
      std::fprintf(stderr, "prisma-explorer: screenshot mode needs --model and --image or --dataset\n");
      return kExitUsage;
    }
    window.restoreSession();
  }
  return app.exec();
}
