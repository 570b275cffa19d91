#pragma once
// The zero-shot head of a CLIP in the explorer: when a model with a text tower loads, its
// class prompts (the user's list, remembered in QSettings, or ImageNet-1k's) become a
// linear head on a background job with progress and Cancel (jobs::installZeroShotHead);
// heads are cached on the model thread per model files + template + classes, so going
// back to a list or a model costs nothing. Once installed, the new summary is announced
// as ExplorerController::modelLoaded, so every tab drops what it computed with the image
// embedding and the Prediction dock, logit lens, DLA and patching board read class logits.
//
// The panel sits under the Prediction dock's bars: what head is installed, the build's
// progress with Cancel, and "Edit classes…" (also editAction(), for a menu).

#include "app/explorer/ExplorerTypes.h"

#include <QStringList>
#include <QWidget>

class QAction;
class QLabel;
class QProgressBar;
class QPushButton;

namespace prisma::app {

class ExplorerController;

class ZeroShotPanel : public QWidget {
  Q_OBJECT

public:
  explicit ZeroShotPanel(ExplorerController* controller, QWidget* parent = nullptr);

  // Opens the class list dialog; enabled while a CLIP is loaded.
  QAction* editAction() const { return editAction_; }
  // The classes wanted for every CLIP (empty: ImageNet-1k) and the template; rebuilds the
  // head of a loaded CLIP. Remembered in QSettings when `remember`.
  void setClasses(const QStringList& classes, const QString& tmpl, bool remember = true);
  // A class file (one name per line), read on the model thread; not remembered (the
  // launch option --classes FILE).
  void setClassFile(const QString& path, const QString& tmpl = {});
  QStringList classes() const { return classes_; }
  QString templateText() const { return template_; }
  // A head is being built for the loaded model (views wait for it before they settle).
  bool building() const { return jobId_ != 0; }
  // Cancel goes back to the installed head's list (and re-installs that head from the
  // cache, in case the cancelled build had already put its own in).


public slots:
  void editClasses();
  void cancel();

signals:
  void failed(const QString& message);
  // Prompts embedded so far by the build under way (throttled; none for a cached head).
  void progressed(int done, int total);

private:
  void onModelLoaded(const ModelSummary& s);
  bool installed(const ModelSummary& s) const;
  void post();
  void showIdle();

  ExplorerController* controller_;
  QLabel* status_;
  QProgressBar* bar_;
  QPushButton* cancel_;
  QPushButton* edit_;
  QAction* editAction_;
  QStringList classes_;
  QString template_;
  QString classFile_;
  bool clipLoaded_ = false;
  ModelSummary loaded_;
  // The request that made the installed head, while the loaded model has one.
  bool hasInstalled_ = false;
  QStringList installedClasses_;
  QString installedTemplate_;
  quint64 jobId_ = 0;
};

}  // namespace prisma::app
