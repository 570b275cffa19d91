#pragma once
// The explorer's main window. For now the frame every later view docks into: the central
// tabs, the status bar with the compute set-up, and remembered geometry.

#include <QMainWindow>

class QLabel;

namespace prisma::app {

struct RuntimeSummary {
  QString blas;     // e.g. "OpenBLAS SkylakeX"
  int threads = 0;  // LibTorch intra-op threads
};

class MainWindow : public QMainWindow {
  Q_OBJECT

public:
  explicit MainWindow(const RuntimeSummary& runtime, QWidget* parent = nullptr);

protected:
  void closeEvent(QCloseEvent* event) override;

private:
  void createMenus();
  void restoreSettings();

  QLabel* runtimeLabel_ = nullptr;
};

}  // namespace prisma::app
