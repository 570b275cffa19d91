#pragma once
// The explorer's main window: docks for models, images, prediction and details around
// the central views, a status bar with the worker's state, drag and drop of models and
// images, and remembered layout, model and image.

#include "app/explorer/ExplorerTypes.h"

#include <QMainWindow>

class QAction;
class QLabel;
class QProgressBar;
class QTabWidget;
class QTextBrowser;

namespace prisma::widgets {
class TopKBars;
}

namespace prisma::app {

class AttentionView;
class ExplorerController;
class FeaturesView;
class ImagesPanel;
class LogitLensView;
class PatchingBoard;
class ZeroShotPanel;
class ModelsPanel;
class TrainingView;

struct RuntimeSummary {
  QString blas;     // e.g. "OpenBLAS SkylakeX"
  int threads = 0;  // LibTorch intra-op threads
};

class MainWindow : public QMainWindow {
  Q_OBJECT

public:
  explicit MainWindow(const RuntimeSummary& runtime, QWidget* parent = nullptr);
  ~MainWindow() override;

  void openModel(const QString& path);
  void openRandomModel(const QString& preset);  // benchmarks: a model built in memory
  // Runs the image; the title, the remembered session image and the views change only once
  // it has run, so a file that is not an image changes nothing.
  void openImage(const ImageRequest& request);
  // The last model and image of the previous session, or the first bundled mouse with an
  // Induction image on a first start.
  void restoreSession();

  bool hasModel() const { return !modelSource_.isEmpty(); }
  const QString& modelSource() const { return modelSource_; }
  AttentionView* attentionView() const { return attention_; }
  LogitLensView* logitLensView() const { return lens_; }
  TrainingView* trainingView() const { return training_; }
  void showTrainingView();
  void showLogitLensView();
  PatchingBoard* patchingBoard() const { return patching_; }
  void showPatchingBoard();
  FeaturesView* featuresView() const { return features_; }
  void showFeaturesView();
  ImagesPanel* imagesPanel() const { return images_; }
  widgets::TopKBars* predictionBars() const { return prediction_; }
  ZeroShotPanel* zeroShotPanel() const { return zeroShot_; }
  ExplorerController* controller() const { return controller_; }
  // What Export (Ctrl+E) and Copy (Ctrl+Shift+C) produce: the current tab's content cropped
  // to what it draws, under a title line naming the tab, the model, the image and the view
  // (also stored as the image's "Title" text, which PNG keeps).
  QImage renderCurrentView();

signals:
  // A model and an image are loaded and every view shows their result.
  void viewsReady();
  void errorShown(const QString& message);

protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  // Lets Ctrl+E / Ctrl+Shift+C reach the window while a text field, whose key bindings
  // claim Ctrl+E (end of line), has the focus.
  bool eventFilter(QObject* watched, QEvent* event) override;
  void showEvent(QShowEvent* event) override;

private:
  // Below kCompactWidth, a first start (no remembered dock layout) puts Prediction and
  // Details in the left column, so the tabs get the width of two columns, not one.
  void arrangeDocksForWidth();
  void createActions();
  void createDocks();
  void showError(const QString& title, const QString& message);
  void exportView();
  void copyView();
  void pasteImage();
  void chooseModel();
  void chooseImage();
  void setBusy(bool busy);
  // The Attention and Logit lens tabs' job: the image through the current model.
  void runImage(const ImageRequest& request);
  // The image ran: it becomes the current one (title, session, Images panel highlight).
  void commitImage(const ImageRequest& request);
  // The current tab's content and its title (Attention: the large view; its grid apart).
  QImage titledCrop(const QImage& content, const QString& title) const;
  QString viewTitle() const;
  void updateTitle();
  // The tab pages sit in scroll areas: show / find a page by the view it holds.
  void showPage(QWidget* page);
  QWidget* currentPage() const;

  ExplorerController* controller_ = nullptr;
  AttentionView* attention_ = nullptr;
  LogitLensView* lens_ = nullptr;
  TrainingView* training_ = nullptr;
  PatchingBoard* patching_ = nullptr;
  FeaturesView* features_ = nullptr;
  ModelsPanel* models_ = nullptr;
  ImagesPanel* images_ = nullptr;
  widgets::TopKBars* prediction_ = nullptr;
  ZeroShotPanel* zeroShot_ = nullptr;
  QTextBrowser* details_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QProgressBar* busyBar_ = nullptr;
  QLabel* runtimeLabel_ = nullptr;
  QLabel* activityLabel_ = nullptr;

  QString modelSource_;
  QString modelName_;
  ImageRequest currentImage_;
  bool haveImage_ = false;
  bool docksPlaced_ = false;  // a remembered layout, or arrangeDocksForWidth has run
  ImageRequest pendingImage_;  // opened, not yet run (e.g. no model yet)
  bool havePending_ = false;
  QAction* exportAction_ = nullptr;
  QAction* copyAction_ = nullptr;
};

// Files a drop or Open… treats as models rather than images.
bool looksLikeModel(const QString& path);
// The file an input SPEC names (FILE.safetensors:KEY[:INDEX] -> FILE.safetensors).
QString specFile(const QString& spec);

}  // namespace prisma::app
