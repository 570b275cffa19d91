#include "app/gui/MainWindow.h"

#include <QApplication>
#include <QCloseEvent>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

namespace prisma::app {

namespace {
constexpr int kDefaultWidth = 1280;
constexpr int kDefaultHeight = 800;
}  // namespace

MainWindow::MainWindow(const RuntimeSummary& runtime, QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Prisma Explorer"));
  setObjectName(QStringLiteral("MainWindow"));
  auto* tabs = new QTabWidget(this);
  tabs->setObjectName(QStringLiteral("centralTabs"));
  tabs->setDocumentMode(true);
  setCentralWidget(tabs);

  runtimeLabel_ = new QLabel(tr("%1 \u00d7 %2 threads").arg(runtime.blas).arg(runtime.threads), this);
  runtimeLabel_->setObjectName(QStringLiteral("runtimeLabel"));
  statusBar()->addPermanentWidget(runtimeLabel_);
  statusBar()->showMessage(tr("Ready"));

  createMenus();
  resize(kDefaultWidth, kDefaultHeight);
  restoreSettings();
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Prisma Explorer"), this, [this] {
    QMessageBox::about(this, tr("About Prisma Explorer"),
                       tr("<b>Prisma Explorer</b> %1<br>Mechanistic interpretability for "
                          "Vision Transformers.")
                           .arg(QApplication::applicationVersion()));
  });
}

void MainWindow::restoreSettings() {
  QSettings settings;
  restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
  restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
  settings.setValue(QStringLiteral("window/state"), saveState());
  event->accept();
}

}  // namespace prisma::app
