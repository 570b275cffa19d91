// `prisma-explorer`: the desktop application.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/runtime/Runtime.h"

#include "app/gui/MainWindow.h"

#include <QApplication>

int main(int argc, char** argv) {
  prisma::runtime::reexecWithTunedBlasIfNeeded(argv);
  const int threads = prisma::runtime::configureThreads();

  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("Prisma"));
  QApplication::setApplicationName(QStringLiteral("Prisma Explorer"));
  QApplication::setApplicationVersion(QStringLiteral(PRISMA_VERSION));

  const auto blas = prisma::runtime::blasInfo();
  prisma::app::RuntimeSummary summary;
  summary.blas = QString::fromStdString(blas.vendor + (blas.core.empty() ? "" : " " + blas.core));
  summary.threads = threads;

  prisma::app::MainWindow window(summary);
  window.show();
  return app.exec();
}
