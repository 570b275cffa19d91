// `prisma-explorer`: the desktop application, plus its screenshot mode and hover benchmark.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/runtime/Runtime.h"

#include "app/explorer/AttentionView.h"
#include "app/explorer/ImagesPanel.h"
#include "app/gui/HoverBench.h"
#include "app/gui/LaunchOptions.h"
#include "app/gui/MainWindow.h"

#include <QApplication>
#include <QImage>
#include <QTimer>

#include <cstdio>

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

}  // namespace

int main(int argc, char** argv) {
  prisma::runtime::reexecWithTunedBlasIfNeeded(argv);
  const int threads = prisma::runtime::configureThreads();

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
  window.show();
  const bool batch = !o.screenshot.isEmpty() || o.benchHover;
  if (batch) {
    QObject::connect(&window, &MainWindow::errorShown, &app, [](const QString& m) { fail(m, kExitError); });
    QTimer::singleShot(kScreenshotTimeoutMs, &app, [] { fail(QStringLiteral("timed out waiting for the views"), kExitError); });
    QObject::connect(&window, &MainWindow::viewsReady, &app, [&window, o] {
      applyViewOptions(window, o);
      if (o.benchHover) {
        const auto r = prisma::app::runHoverBench(window, o.hovers);
        std::printf("%s\n", qPrintable(r.describe()));
        QCoreApplication::exit(0);
        return;
      }
      // Let the layout settle and paint once before grabbing.
      QTimer::singleShot(0, &window, [&window, o] {
        if (!window.grab().toImage().save(o.screenshot)) fail(QStringLiteral("%1: cannot write the screenshot").arg(o.screenshot), kExitError);
        else QCoreApplication::exit(0);
      });
    });
  }
  if (!openFromOptions(window, o)) {
    if (batch) {
      std::fprintf(stderr, "prisma-explorer: screenshot mode needs --model and --image or --dataset\n");
      return kExitUsage;
    }
    window.restoreSession();
  }
  return app.exec();
}
